"""Data built to isolate one of Caruana's mechanisms at a time (Part II of the book).

Each generator's first task, "main", is the one we care about, the others extra tasks whose
effect on it is measured; regression test targets are noiseless (test error = excess error)."""

import torch

from ..data import MultiTaskData, Split, Task
from .mechanism_tools import (  # noqa: F401 (the chapters call them as mechanisms.*)
    average_copies,
    encode_bits,
    error_parts,
    f1_rmse,
    f2_as,
    factor_recovery,
    first_examples,
    fit_to_noise,
    input_sensitivity_share,
    input_weight_share,
    join_tasks,
    lose_view,
    relevant_inputs_only,
    shuffle_task,
    shuffle_tasks,
)
from .related import TEST, TRAIN, VAL, RelatedTeacher, _check_sizes, draw_inputs, stream


def _stream(seed, k):
    """The random stream of split k (1 train, 2 validation, 3 test) of a seed."""
    return torch.Generator().manual_seed(seed * 7919 + k)


def _splits(make, n_train, n_val, n_test, seed):
    """Train / validation / test splits from `make(n, generator, noisy)`, each split from
    its own random stream so the test set does not depend on n_train."""
    return (make(n_train, _stream(seed, 1), True), make(n_val, _stream(seed, 2), True),
            make(n_test, _stream(seed, 3), False))


def _task_splits(make, n_train, n_val, n_test):
    """As `_splits`, for `make(n, split, noisy)` that draws each task from its own stream
    `stream(seed, split, t)` (task identity independent of the number of tasks)."""
    return make(n_train, TRAIN, True), make(n_val, VAL, True), make(n_test, TEST, False)


def make_noisy_copies(n_copies=3, n_train=40, n_val=40, n_test=1000, n_features=10,
                      noise=1.0, seed=0) -> MultiTaskData:
    """Implicit data augmentation: "main" and `n_copies` extra tasks share one target function
    and one set of inputs, but each task's labels carry their own noise.

    Extra tasks add labels, not inputs: a model that learns them all can average their
    noise. The function depends on `seed` only, so data made with another `n_copies` or
    `n_train` is the same problem.
    """
    _check_sizes(n_train=n_train, n_val=n_val, n_test=n_test, n_features=n_features)
    if n_copies < 0:
        raise ValueError(f"n_copies counts the extra tasks and cannot be negative: {n_copies}.")
    teacher = RelatedTeacher(1, n_features, 8, 1, 1.0, seed)
    names = ["main"] + [f"copy{i}" for i in range(1, n_copies + 1)]

    def make(n, g, noisy):
        x = torch.randn(n, n_features, generator=g)
        f = teacher(x, 0)[:, 0]
        scale = noise if noisy else 0.0
        return Split(x, {name: f + scale * torch.randn(n, generator=g) for name in names})

    return MultiTaskData([Task(n) for n in names], *_splits(make, n_train, n_val, n_test, seed),
                         {"teacher": teacher, "noise": noise})


def make_attention_tasks(n_tasks=4, n_relevant=3, n_irrelevant=27, n_train=30, n_val=30,
                         n_test=1000, relatedness=0.5, noise=0.3, main_noise=None,
                         extra_inputs="same", shared_inputs=True, seed=0) -> MultiTaskData:
    """Attention focusing: every task depends on the same `n_relevant` inputs (the first
    ones) through a different function, and ignores the other `n_irrelevant` inputs.

    Task t's function of the relevant inputs is sqrt(r) g_0 + sqrt(1 - r) g_t, so the tasks
    agree on *which* inputs matter even where they disagree on how. With `shared_inputs`
    every task labels the same examples; otherwise each task has examples of its own.
    `main_noise` (default: `noise`) sets the main task's own label noise.
    `extra_inputs="other"` is the control: the extra tasks read the next `n_relevant`
    inputs instead, which the main task ignores (the same functions, the wrong support).
    `extra_inputs="both"` gives both sets in one draw: "extra1" .. and their mirrors
    "other1" .., each with the same examples, function and noise as its extra task but
    reading the next `n_relevant` inputs (subset the tasks to compare them).
    `info["relevant"]` lists the main task's relevant inputs.
    """
    if extra_inputs not in ("same", "other", "both"):
        raise ValueError(f"extra_inputs must be 'same', 'other' or 'both', got "
                         f"{extra_inputs!r}.")
    if extra_inputs != "same" and n_irrelevant < n_relevant:
        raise ValueError(f"extra_inputs={extra_inputs!r} needs n_irrelevant >= n_relevant "
                         f"({n_relevant}), got {n_irrelevant}.")
    if extra_inputs == "both":
        return _attention_both(n_tasks, n_relevant, n_irrelevant, n_train, n_val, n_test,
                               relatedness, noise, main_noise, shared_inputs, seed)
    _check_sizes(n_tasks=n_tasks, n_relevant=n_relevant, n_train=n_train, n_val=n_val,
                 n_test=n_test)
    teacher = RelatedTeacher(n_tasks, n_relevant, 8, 1, relatedness, seed)
    names = ["main"] + [f"extra{i}" for i in range(1, n_tasks)]
    d = n_relevant + n_irrelevant
    scales = [noise if main_noise is None else main_noise] + [noise] * (n_tasks - 1)
    shift = n_relevant if extra_inputs == "other" else 0
    support = [slice(0, n_relevant)] + [slice(shift, shift + n_relevant)] * (n_tasks - 1)

    def make(n, split, noisy):
        x, draws = draw_inputs(n, d, n_tasks, shared_inputs, seed, split)
        y = {name: teacher((x if shared_inputs else x[t])[:, support[t]], t)[:, 0]
             + (scales[t] if noisy else 0.0) * torch.randn(n, generator=draws[t])
             for t, name in enumerate(names)}
        return Split(x, y)

    return MultiTaskData([Task(n) for n in names],
                         *_task_splits(make, n_train, n_val, n_test),
                         {"relevant": list(range(n_relevant)), "teacher": teacher})


def _attention_both(n_tasks, n_relevant, n_irrelevant, n_train, n_val, n_test,
                    relatedness, noise, main_noise, shared_inputs, seed) -> MultiTaskData:
    """`make_attention_tasks(extra_inputs="both")`: main, the extra tasks on main's inputs,
    and their mirrors on the next inputs (same examples, function and noise)."""
    _check_sizes(n_tasks=n_tasks, n_relevant=n_relevant, n_train=n_train, n_val=n_val,
                 n_test=n_test)
    teacher = RelatedTeacher(n_tasks, n_relevant, 8, 1, relatedness, seed)
    extra = [f"extra{i}" for i in range(1, n_tasks)]
    other = [f"other{i}" for i in range(1, n_tasks)]
    d = n_relevant + n_irrelevant
    scales = [noise if main_noise is None else main_noise] + [noise] * (n_tasks - 1)
    own, shifted = slice(0, n_relevant), slice(n_relevant, 2 * n_relevant)

    def make(n, split, noisy):
        x, draws = draw_inputs(n, d, n_tasks, shared_inputs, seed, split)
        y = {}
        for t, name in enumerate(["main", *extra]):
            xt = x if shared_inputs else x[t]
            e = (scales[t] if noisy else 0.0) * torch.randn(n, generator=draws[t])
            y[name] = teacher(xt[:, own], t)[:, 0] + e
            if t > 0:
                y[other[t - 1]] = teacher(xt[:, shifted], t)[:, 0] + e
        if not shared_inputs:
            x = torch.cat([x, x[1:]])  # each mirror sees its extra task's examples
        return Split(x, {name: y[name] for name in ["main", *extra, *other]})

    return MultiTaskData([Task(n) for n in ["main", *extra, *other]],
                         *_task_splits(make, n_train, n_val, n_test),
                         {"relevant": list(range(n_relevant)), "teacher": teacher})


def make_eavesdropping_tasks(n_train=60, n_val=60, n_test=1000, n_features=10, frequency=3.0,
                             noise=0.1, seed=0) -> MultiTaskData:
    """Eavesdropping: a hidden feature g(x) (a random smooth function of the inputs) that
    task "main" uses in a hard way and task "B" in an easy way.

    main = sin(frequency * g(x)): a wiggly, non-monotone function of g, so its gradients
    say little about g; B = g(x) + h(x)/2 with another feature h: a simple, monotone use
    of g; "hint" = g(x) itself (Abu-Mostafa's hint: the feature as a target). Two controls
    of the same kind and scale: "wrong hint" = h(x), the feature main does not use, and
    "unrelated" = u(x), a third smooth feature. Shared inputs; `info["feature"]` computes g.
    """
    _check_sizes(n_train=n_train, n_val=n_val, n_test=n_test, n_features=n_features)
    teacher = RelatedTeacher(3, n_features, 8, 1, 0.0, seed)

    def feature(x):
        return teacher.net(x, 1)[:, 0]

    def make(n, g, noisy):
        x = torch.randn(n, n_features, generator=g)
        scale = noise if noisy else 0.0
        f, h, u = feature(x), teacher.net(x, 2)[:, 0], teacher.net(x, 3)[:, 0]
        targets = {"main": torch.sin(frequency * f), "B": f + 0.5 * h, "hint": f,
                   "wrong hint": h, "unrelated": u}
        return Split(x, {k: v + scale * torch.randn(n, generator=g) for k, v in targets.items()})

    tasks = [Task(name) for name in ("main", "B", "hint", "wrong hint", "unrelated")]
    return MultiTaskData(tasks, *_splits(make, n_train, n_val, n_test, seed),
                         {"feature": feature, "frequency": frequency})


def make_random_label_tasks(n_tasks=4, n_train=100, n_features=20, seed=0) -> MultiTaskData:
    """Regularisation: binary labels drawn at random, independently of the inputs (shared).

    Nothing can be learned, so how well a model fits the training labels measures its
    capacity to fit noise (the empirical Rademacher idea). The validation and test splits
    are random too; they only exist to make a valid `MultiTaskData`.
    """
    _check_sizes(n_tasks=n_tasks, n_train=n_train, n_features=n_features)
    names = [f"random{t}" for t in range(n_tasks)]

    def make(n, split, noisy):
        x = torch.randn(n, n_features, generator=stream(seed, split))
        return Split(x, {name: torch.randint(0, 2, (n,), generator=stream(seed, split, t)).float()
                         for t, name in enumerate(names)})

    return MultiTaskData([Task(n, "binary") for n in names],
                         *_task_splits(make, n_train, n_train, n_train), {})


def make_redundant_views(extra_view="A", n_extra=4, n_train=100, n_val=50, n_test=1000,
                         view_size=3, relatedness=0.5, noise=0.1, seed=0) -> MultiTaskData:
    """Representation bias in Caruana's sense: "main" sees its hidden variables z twice,
    as view A (the first `view_size` inputs) and as an identical view B (the next ones), so
    a network that reads A, B or any mix of them fits "main" equally well.

    The `n_extra` extra tasks have examples of their own, in which the views are
    independent, and depend on view `extra_view` ("A" or "B") only, through functions
    related to main's by `relatedness`. `extra_view=None` gives "main" alone;
    `extra_view="both"` gives, in one draw, main, the extra tasks on view A ("onA1" ..) and
    their mirrors on view B ("onB1" ..: the same examples with the two views swapped, so the
    same function and noise, read from B). Main's
    function and examples depend on `seed` only. `info["views"]` maps each view to its
    input columns; `lose_view` replaces one view by noise to show which one a model reads.
    """
    if extra_view not in ("A", "B", "both", None):
        raise ValueError(f"extra_view must be 'A', 'B', 'both' or None, got {extra_view!r}.")
    if extra_view == "both":
        return _views_both(n_extra, n_train, n_val, n_test, view_size, relatedness, noise,
                           seed)
    _check_sizes(view_size=view_size, n_train=n_train, n_val=n_val, n_test=n_test)
    views = {"A": list(range(view_size)), "B": list(range(view_size, 2 * view_size))}
    names = ["main"] + ([f"extra{t}" for t in range(1, n_extra + 1)] if extra_view else [])
    teacher = RelatedTeacher(len(names), view_size, 8, 1, relatedness, seed)

    def make(n, split, noisy):
        xs, ys = [], {}
        for t, name in enumerate(names):
            g = stream(seed, split, t)
            x = torch.randn(n, 2 * view_size, generator=g)
            if t == 0:
                x[:, views["B"]] = x[:, views["A"]]  # two copies of the same z
            z = x[:, views["A" if t == 0 else extra_view]]
            ys[name] = teacher(z, t)[:, 0] + (noise if noisy else 0.0) * torch.randn(n, generator=g)
            xs.append(x)
        return Split(torch.stack(xs), ys, per_task=True)

    return MultiTaskData([Task(n) for n in names], *_task_splits(make, n_train, n_val, n_test),
                         {"views": views, "teacher": teacher, "noise": noise})


def _views_both(n_extra, n_train, n_val, n_test, view_size, relatedness, noise, seed):
    """`make_redundant_views(extra_view="both")`: main, extra tasks on A, mirrors on B."""
    _check_sizes(view_size=view_size, n_train=n_train, n_val=n_val, n_test=n_test)
    views = {"A": list(range(view_size)), "B": list(range(view_size, 2 * view_size))}
    on_a = [f"onA{t}" for t in range(1, n_extra + 1)]
    on_b = [f"onB{t}" for t in range(1, n_extra + 1)]
    teacher = RelatedTeacher(1 + n_extra, view_size, 8, 1, relatedness, seed)
    swap = views["B"] + views["A"]

    def make(n, split, noisy):
        xs, ys, mirrors = [], {}, []
        for t, name in enumerate(["main", *on_a]):
            g = stream(seed, split, t)
            x = torch.randn(n, 2 * view_size, generator=g)
            if t == 0:
                x[:, views["B"]] = x[:, views["A"]]  # two copies of the same z
            ys[name] = teacher(x[:, views["A"]], t)[:, 0] + \
                (noise if noisy else 0.0) * torch.randn(n, generator=g)
            xs.append(x)
            if t > 0:  # the mirror: view A's values moved to view B, and B's to A
                mirrors.append(x[:, swap])
                ys[on_b[t - 1]] = ys[name]
        return Split(torch.stack(xs + mirrors), ys, per_task=True)

    return MultiTaskData([Task(n) for n in ["main", *on_a, *on_b]],
                         *_task_splits(make, n_train, n_val, n_test),
                         {"views": views, "teacher": teacher, "noise": noise})



def make_sum_difference(n_trials=50, n_train=50, n_val=50, n_test=500, bits=10,
                        f2="output", seed=0) -> MultiTaskData:
    """Caruana's (1997, Table 6) control: F1 = sigmoid(A + B), F2 = sigmoid(A - B), with A and
    B uniform in [-5, 5], each coded in `bits` binary inputs.

    Every trial is a task of its own, with its own examples (per-task inputs), so many
    independent trials train as one batched model. f2 says how F2 is used:
    "none" (STL: the inputs predict F1), "input" (F2 is an extra input) or "output"
    (each trial predicts F1 and F2 from the bits: a two-output task, one hidden layer
    shared by both). With f2 = "input" the true F2 is an input at test time too.
    """
    _check_sizes(n_trials=n_trials, n_train=n_train, n_val=n_val, n_test=n_test, bits=bits)
    if f2 not in ("none", "input", "output"):
        raise ValueError(f"f2 must be 'none', 'input' or 'output', got {f2!r}.")
    outputs = 2 if f2 == "output" else 1
    tasks = [Task(f"trial{i}", "regression", outputs) for i in range(n_trials)]

    def trial(n, g):
        a, b = torch.rand(2, n, generator=g) * 10 - 5
        x = torch.cat([encode_bits(a, -5, 5, bits), encode_bits(b, -5, 5, bits)], dim=1)
        f1, f2_value = torch.sigmoid(a + b), torch.sigmoid(a - b)
        if f2 == "input":
            x = torch.cat([x, f2_value[:, None]], dim=1)
        return x, torch.stack([f1, f2_value], dim=1) if f2 == "output" else f1

    def make(n, split, noisy):  # each trial from its own stream
        xs, ys = zip(*(trial(n, stream(seed, split, i)) for i in range(n_trials)))
        return Split(torch.stack(xs), dict(zip([t.name for t in tasks], ys)), per_task=True)

    return MultiTaskData(tasks, *_task_splits(make, n_train, n_val, n_test), {"f2": f2})

