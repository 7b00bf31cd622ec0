"""Auxiliary tasks (Part V): problems where only "main" matters and an extra task may help.

Every generator returns a `MultiTaskData` whose first task is "main"; the others are
candidate auxiliary tasks. `compare_auxiliary` trains the main task alone and with each
auxiliary set, on the same data; the chapter compares them with `mt.compare` instead
(`auxiliary_arms`: a tuned main task alone, each auxiliary task, and its null copy).
The gradient reversal layer and the domain-adversarial network live in
`mtl_tutor.adversarial` and are importable from here too.
"""
import math

import pandas as pd
import torch
from torch import nn

from ..adversarial import (  # noqa: F401 (the chapter's toolkit, in one namespace)
    AdversarialMLP,
    DomainAdversarialNet,
    GradientReversal,
    domain_accuracy,
    fit_domain_adversarial,
    make_domain_problem,
    make_shifted_domains,
    reverse_gradient,
)
from ..data import MultiTaskData, Split, Task
from ..models import ForkedMLP
from ..runtime import set_seed
from ..train import evaluate, fit
from .auxiliary_arms import *  # noqa: F403 (the comparison protocol's pieces, here too)
from .mechanisms import _splits, _stream
from .related import TEST, TRAIN, VAL, RelatedTeacher, _check_sizes, stream

# --- generators ------------------------------------------------------------------------

def _teacher(n_nets, n_features, seed, hidden=8):
    return RelatedTeacher(n_nets - 1, n_features, hidden, 1, 0.0, seed)


def _draw(n, n_main, n_features, seed, split, t, target, noise):
    """Task t's inputs and noisy targets from its own stream. With `n_main` (the main task's
    training split) only n_main examples are drawn, inputs and labels, and repeated to n
    rows so that every task takes the same number of steps per epoch."""
    g = stream(seed, split, t)
    m = n_main or n
    x = torch.randn(m, n_features, generator=g)
    y = target(x) + noise * torch.randn(m, generator=g)
    rows = torch.arange(n) % m
    return x[rows], y[rows]


def make_related_auxiliary(n_main=20, n_related=200, n_val=100, n_test=1000, n_features=10,
                           relatedness=0.9, noise=0.3, seed=0) -> MultiTaskData:
    """A main task with `n_main` examples and a related auxiliary task with `n_related`
    examples of its own (per-task inputs). The main function g_m is the same whatever the
    relatedness r; the auxiliary one is r g_m + sqrt(1 - r^2) g_a, so r is the correlation
    of the two functions and "main alone" is one problem for every r (and every n_related).
    The main task's examples (inputs and labels) are repeated to `n_related` rows."""
    _check_sizes(n_main=n_main, n_related=n_related, n_val=n_val, n_test=n_test)
    if not 0.0 <= relatedness <= 1.0:
        raise ValueError(f"relatedness must lie in [0, 1], got {relatedness}.")
    nets = _teacher(3, n_features, seed)  # nets 1 and 2: g_m and g_a

    def teacher(x, t):
        main = nets.net(x, 1)
        if t == 0:
            return main
        return relatedness * main + math.sqrt(1 - relatedness**2) * nets.net(x, 2)

    def make(n, split, noisy, n_main=None):
        scale = noise if noisy else 0.0
        (x0, y0), (x1, y1) = (_draw(n, n_main if t == 0 else None, n_features, seed, split, t,
                                    lambda x, t=t: teacher(x, t)[:, 0], scale) for t in (0, 1))
        return Split(torch.stack([x0, x1]), {"main": y0, "related": y1})

    return MultiTaskData([Task("main"), Task("related")],
                         make(n_related, TRAIN, True, n_main=n_main), make(n_val, VAL, True),
                         make(n_test, TEST, False), {"teacher": teacher})


def make_hint_problem(n_train=100, n_val=100, n_test=1000, n_features=4, seed=0):
    """Main: is g1(x) * g2(x) > 0? (a binary label that is an XOR of two signs, hard to
    learn from the label alone). Hints: the intermediate features g1 and g2 themselves."""
    teacher = _teacher(3, n_features, seed)

    def make(n, g, noisy):
        x = torch.randn(n, n_features, generator=g)
        g1, g2 = teacher.net(x, 1)[:, 0], teacher.net(x, 2)[:, 0]
        return Split(x, {"main": (g1 * g2 > 0).float(), "hint1": g1, "hint2": g2})

    tasks = [Task("main", "binary"), Task("hint1"), Task("hint2")]
    return MultiTaskData(tasks, *_splits(make, n_train, n_val, n_test, seed), {})


def make_marking_problem(n_train=100, n_val=100, n_test=1000, n_background=20,
                         marking_scale=0.3, seed=0):
    """Focusing attention: inputs are a large "background" (n_background inputs of scale 1)
    and a small "marking" (2 inputs of scale `marking_scale`). The main label is decided by
    the marking's sign (m1 + m2 > 0) in 80% of examples, and is correlated with an
    easy background direction otherwise, so the main task alone tends to settle for the
    background. The auxiliary task "marking" predicts the marking itself (2 outputs)."""
    def make(n, g, noisy):
        background = torch.randn(n, n_background, generator=g)
        m = torch.randn(n, 2, generator=g)
        decisive = (m[:, 0] + m[:, 1] > 0).float()
        easy = (background[:, 0] > 0).float()
        use_marking = torch.rand(n, generator=g) < 0.8
        main = torch.where(use_marking, decisive, easy)
        x = torch.cat([background, marking_scale * m], dim=1)
        return Split(x, {"main": main, "marking": m})

    tasks = [Task("main", "binary"), Task("marking", "regression", 2)]
    return MultiTaskData(tasks, *_splits(make, n_train, n_val, n_test, seed),
                         {"marking": [n_background, n_background + 1]})


def make_quantised_problem(n_train=60, n_val=100, n_test=1000, n_features=10, levels=3,
                           noise=0.3, seed=0):
    """Quantisation smoothing: a continuous score s(x) = f(x) + noise, of which the main task
    sees only `levels` ordered classes (low / medium / high for 3); the auxiliary task
    "score" is s itself. Class edges are the score's quantiles."""
    teacher = _teacher(2, n_features, seed)
    reference = teacher.net(torch.randn(4096, n_features, generator=torch.Generator()
                                        .manual_seed(seed + 1)), 1)[:, 0]
    edges = torch.quantile(reference, torch.linspace(0, 1, levels + 1)[1:-1])

    def make(n, g, noisy):
        x = torch.randn(n, n_features, generator=g)
        score = teacher.net(x, 1)[:, 0] + noise * torch.randn(n, generator=g)
        return Split(x, {"main": torch.bucketize(score, edges), "score": score})

    tasks = [Task("main", "multiclass", levels), Task("score")]
    return MultiTaskData(tasks, *_splits(make, n_train, n_val, n_test, seed), {"edges": edges})


def make_input_or_output_problem(n_train=50, n_val=100, n_test=1000, n_features=10,
                                 extra_noise=0.7, seed=0):
    """Predicting inputs: main = sin(2 g(x)) for a hidden feature g, and z = g(x) + noise, a
    noisy measurement of g (noise of standard deviation `extra_noise`, also at test time).
    As an input, z's noise enters every prediction; as an output, it is only label noise,
    and z tells the network to represent g.

    The inputs are x followed by z (the last column); use `without_last_input(data)` for
    "main alone" and "z as an output"."""
    teacher = _teacher(2, n_features, seed)

    def make(n, g, noisy):
        x = torch.randn(n, n_features, generator=g)
        gx = teacher.net(x, 1)[:, 0]
        z = gx + extra_noise * torch.randn(n, generator=g)
        main = torch.sin(2 * gx) + (0.1 if noisy else 0.0) * torch.randn(n, generator=g)
        return Split(torch.cat([x, z[:, None]], dim=1), {"main": main, "z": z})

    return MultiTaskData([Task("main"), Task("z")], *_splits(make, n_train, n_val, n_test, seed),
                         {})


def without_last_input(data: MultiTaskData) -> MultiTaskData:
    """The same data with the last input column removed (shared inputs)."""
    def part(split):
        return Split(split.x[..., :-1], split.y, split.per_task)
    return MultiTaskData(data.tasks, part(data.train), part(data.val), part(data.test),
                         data.info)


def make_future_problem(n_train=60, n_val=100, n_test=1000, dim=4, horizon=4, noise=0.1,
                        seed=0):
    """Using the future: a state s in R^dim moves by a fixed random nonlinear map,
    s <- tanh(1.5 s A). The input is the current state, observed with noise; the main task
    is the state's first coordinate `horizon` steps ahead; the auxiliary task "future" is
    the whole state at steps 1 .. horizon - 1, known when training (it is recorded later)
    but never at prediction time."""
    _check_sizes(dim=dim, horizon=horizon)
    g0 = torch.Generator().manual_seed(seed)
    a = torch.linalg.qr(torch.randn(dim, dim, generator=g0))[0]  # a random rotation

    def make(n, g, noisy):
        start = torch.randn(n, dim, generator=g)
        s, path = start, []
        for _ in range(horizon):
            s = torch.tanh(1.5 * s @ a)
            path.append(s)
        scale = noise if noisy else 0.0
        x = start + noise * torch.randn(n, dim, generator=g)
        future = torch.cat(path[:-1], dim=1)
        return Split(x, {"main": path[-1][:, 0] + scale * torch.randn(n, generator=g),
                         "future": future + scale * torch.randn(future.shape, generator=g)})

    tasks = [Task("main"), Task("future", "regression", dim * (horizon - 1))]
    return MultiTaskData(tasks, *_splits(make, n_train, n_val, n_test, seed),
                         {"horizon": horizon})


def make_manifold_problem(n_labelled=20, n_unlabelled=500, n_val=100, n_test=1000,
                          n_features=20, n_latent=3, noise=0.1, seed=0):
    """Representation learning: inputs lie near a curved `n_latent`-dimensional manifold in
    `n_features` dimensions; the main label is a function of the latent coordinates.

    Per-task inputs: task "main" sees the `n_labelled` labelled examples (repeated to the
    size of the unlabelled set, so both tasks take equal steps), task "reconstruct" sees
    `n_unlabelled` unlabelled examples and must reproduce them (an autoencoder objective).
    Validation and test use fresh examples for both tasks.
    """
    _check_sizes(n_labelled=n_labelled, n_unlabelled=n_unlabelled, n_latent=n_latent)
    g0 = torch.Generator().manual_seed(seed)
    lift = torch.randn(n_latent, n_features, generator=g0)
    label_net = _teacher(2, n_latent, seed + 1)

    def sample(n, g):
        z = torch.randn(n, n_latent, generator=g)
        x = torch.tanh(z @ lift) + noise * torch.randn(n, n_features, generator=g)
        return x, label_net.net(z, 1)[:, 0]

    def train_split(g):
        xl, yl = sample(n_labelled, g)
        xu, _ = sample(n_unlabelled, g)
        repeat = torch.arange(n_unlabelled) % n_labelled
        return Split(torch.stack([xl[repeat], xu]), {"main": yl[repeat], "reconstruct": xu})

    def eval_split(n, g):
        x, y = sample(n, g)
        return Split(torch.stack([x, x]), {"main": y, "reconstruct": x})

    tasks = [Task("main"), Task("reconstruct", "regression", n_features)]
    return MultiTaskData(tasks, train_split(_stream(seed, 1)), eval_split(n_val, _stream(seed, 2)),
                         eval_split(n_test, _stream(seed, 3)), {"n_labelled": n_labelled})


def make_auxiliary_family(n_main=20, n_aux=200, n_val=100, n_test=1000, n_features=10,
                          noise=0.3, relatedness=(0.0, 0.5, 0.9), thresholds=(0.0, 1.0, 2.0),
                          seed=0):
    """What makes an auxiliary task helpful: a regression main task with `n_main` examples
    and binary auxiliary tasks 1[f_aux(x) > threshold] with `n_aux` examples each, one for
    every (relatedness, threshold) pair: f_aux = sqrt(r) g_main + sqrt(1 - r) g_i, whose
    correlation with the main function is sqrt(r). A higher threshold makes positives
    rarer: a lower label entropy.

    Per-task inputs; the main task's examples are repeated to `n_aux` rows. The auxiliary
    tasks' own parts g_i are shared across thresholds. `info["auxiliary"]` lists each
    auxiliary task's relatedness and threshold."""
    _check_sizes(n_main=n_main, n_aux=n_aux, n_val=n_val, n_test=n_test)
    teacher = _teacher(len(relatedness) + 1, n_features, seed)
    aux = [(f"aux_r{r}_t{t}", i, r, t) for i, r in enumerate(relatedness) for t in thresholds]
    names = ["main"] + [a[0] for a in aux]

    def aux_target(i, r, t):
        def f(x):
            mixed = math.sqrt(r) * teacher.net(x, 0) + math.sqrt(1 - r) * teacher.net(x, i + 1)
            return (mixed[:, 0] > t).float()
        return f

    targets = [lambda x: teacher.net(x, 0)[:, 0]] + [aux_target(i, r, t) for _, i, r, t in aux]

    def make(n, split, noisy, n_main=None):
        drawn = [_draw(n, n_main if k == 0 else None, n_features, seed, split, k, f,
                       noise if noisy and k == 0 else 0.0) for k, f in enumerate(targets)]
        return Split(torch.stack([x for x, _ in drawn]),
                     {name: y for name, (_, y) in zip(names, drawn)})

    tasks = [Task("main")] + [Task(a[0], "binary") for a in aux]
    info = {"auxiliary": pd.DataFrame([(a[0], a[2], a[3]) for a in aux],
                                      columns=["task", "relatedness", "threshold"])}
    return MultiTaskData(tasks, make(n_aux, TRAIN, True, n_main=n_main), make(n_val, VAL, True),
                         make(n_test, TEST, False), info)


def label_entropy(y: torch.Tensor) -> float:
    """Entropy in bits of a binary or integer label vector's empirical distribution."""
    _, counts = torch.unique(y, return_counts=True)
    p = counts.float() / counts.sum()
    return float(-(p * p.log2()).sum())


# --- the comparison ----------------------------------------------------------------------

def compare_auxiliary(data: MultiTaskData, setups: dict, hidden, seed: int,
                      activation=nn.ReLU, **fit_kwargs) -> list:
    """Train hard sharing on each setup {name: list of tasks} (each list starts with "main")
    and return one row per setup: the main task's test error. Each model starts from the same
    seed, so the setups differ only in their tasks. Only the main task matters, so training
    stops on, and keeps the best epoch of, the main task's validation loss (`monitor`)."""
    fit_kwargs.setdefault("progress", False)
    fit_kwargs.setdefault("monitor", "main")
    rows = []
    for name, tasks in setups.items():
        if tasks[0] != "main":
            raise ValueError(f"Setup {name!r}: the first task must be 'main', got {tasks}.")
        part = data.subset(tasks)
        set_seed(seed)
        model = ForkedMLP(part.n_features, hidden, part.tasks, n_shared=len(tuple(hidden)),
                          activation=activation)
        history = fit(model, part, **fit_kwargs)
        rows.append({"setup": name, "error": evaluate(model, part).loc["main", "error"],
                     "best epoch": history.attrs["best_epoch"]})
    return rows
