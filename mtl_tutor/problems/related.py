"""Synthetic multi-task problems, each made from a seed (nothing is downloaded).

`make_related_tasks` gives every task t the target function

    f_t(x) = sqrt(r) * g_0(x) + sqrt(1 - r) * g_t(x),

where g_0 (common to all tasks) and g_1 .. g_T (one per task) are small random "teacher"
networks drawn independently, each scaled to mean 0 and variance 1. So the relatedness r
is the expected correlation between two tasks' functions: r = 1 gives every task the same
function (only the noise and the examples differ), r = 0 gives unrelated functions.
"""
import math

import numpy as np
import torch

from ..data import MultiTaskData, Split, Task

TEACHER, TRAIN, VAL, TEST, REFERENCE = range(5)  # the purposes a seed draws for


def stream(seed: int, *keys: int) -> torch.Generator:
    """An independent random stream for one purpose of one seed, e.g. (seed, TRAIN, t) for
    task t's training draws. Task t's stream does not depend on how many tasks there are,
    so task t is the same function on the same examples whatever the number of tasks."""
    entropy = [int(k) % 2**64 for k in (seed, *keys)]
    state = np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def draw_inputs(n, n_features, n_tasks, shared_inputs, seed, split):
    """One split's inputs, (n, features) shared or (tasks, n, features) per task, and each
    task's stream for what it draws next (its noise). Each split and each task has its own
    stream: the test set does not change with n_train, nor task t's examples and noise with
    the number of tasks."""
    draws = [stream(seed, split, t) for t in range(n_tasks)]
    if shared_inputs:
        return torch.randn(n, n_features, generator=stream(seed, split)), draws
    return torch.stack([torch.randn(n, n_features, generator=g) for g in draws]), draws


class RelatedTeacher:
    """The noiseless target functions f_t(x) of `make_related_tasks`. Net i is drawn from
    its own stream (seed, TEACHER, i), so adding tasks does not change the others."""

    def __init__(self, n_tasks, n_features, hidden, outputs, relatedness, seed):
        nets = n_tasks + 1  # net 0 is common to all tasks, net t + 1 belongs to task t
        draws = [stream(seed, TEACHER, i) for i in range(nets)]
        self.w1 = torch.stack([torch.randn(n_features, hidden, generator=g) for g in draws])
        self.w1 /= math.sqrt(n_features)
        self.w2 = torch.stack([torch.randn(hidden, outputs, generator=g) for g in draws])
        reference = torch.randn(4096, n_features, generator=stream(seed, REFERENCE))
        g = torch.tanh(reference @ self.w1) @ self.w2  # (nets, 4096, outputs)
        self.mean, self.std = g.mean(dim=1, keepdim=True), g.std(dim=1, keepdim=True)
        self.relatedness = relatedness

    def net(self, x: torch.Tensor, i: int) -> torch.Tensor:
        """g_i(x), standardised: (n, outputs)."""
        return (torch.tanh(x @ self.w1[i]) @ self.w2[i] - self.mean[i]) / self.std[i]

    def __call__(self, x: torch.Tensor, task: int) -> torch.Tensor:
        """f_task(x): (n, outputs) for inputs x of shape (n, features)."""
        r = self.relatedness
        return math.sqrt(r) * self.net(x, 0) + math.sqrt(1 - r) * self.net(x, task + 1)


def _check_sizes(**sizes):
    for name, value in sizes.items():
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}.")


def _check_kind_and_noise(kind, noise):
    if kind not in ("regression", "binary", "multiclass"):
        raise ValueError(f"kind must be 'regression', 'binary' or 'multiclass', got {kind!r}.")
    if noise < 0:
        raise ValueError(f"noise is a standard deviation and cannot be negative, got {noise}.")


def sample_tasks(teacher, n_tasks, n_features, kind, outputs, n_train, n_val, n_test, noise,
                 shared_inputs, seed, info) -> MultiTaskData:
    """Draw inputs x ~ N(0, I) and noisy targets from `teacher(x, t)` for each task.

    regression: y = f_t(x) + noise; binary: y = 1[f_t(x) + noise > 0];
    multiclass: y = argmax of the `outputs` noisy scores.
    """
    tasks = [Task(f"task{t}", kind, outputs) for t in range(n_tasks)]

    def make_split(n, split):
        x, draws = draw_inputs(n, n_features, n_tasks, shared_inputs, seed, split)
        y = {}
        for t, task in enumerate(tasks):
            xt = x if shared_inputs else x[t]
            score = teacher(xt, t) + noise * torch.randn(n, outputs, generator=draws[t])
            if kind == "regression":
                y[task.name] = score[:, 0]
            elif kind == "binary":
                y[task.name] = (score[:, 0] > 0).float()
            else:
                y[task.name] = score.argmax(dim=1)
        return Split(x, y)

    train, val, test = make_split(n_train, TRAIN), make_split(n_val, VAL), make_split(n_test, TEST)
    return MultiTaskData(tasks, train, val, test, {"teacher": teacher, "noise": noise, **info})


def make_related_tasks(n_tasks=4, n_train=50, n_val=50, n_test=1000, n_features=10,
                       relatedness=1.0, kind="regression", n_classes=3, noise=0.1, hidden=8,
                       shared_inputs=False, seed=0) -> MultiTaskData:
    """Tasks whose target functions are related by `relatedness` in [0, 1].

    kind: "regression" (y = f(x) + noise), "binary" (y = 1[f(x) + noise > 0]) or
    "multiclass" (y = argmax of n_classes noisy scores). `noise` is the standard deviation
    of the Gaussian noise added to f. With `shared_inputs` all tasks see the same inputs
    (one x, several labels); otherwise each task has its own examples.
    Returns a `MultiTaskData` whose `info["teacher"]` computes the noiseless f_t.
    """
    if not 0.0 <= relatedness <= 1.0:
        raise ValueError(f"relatedness must lie in [0, 1] (1 = same function), got {relatedness}.")
    _check_kind_and_noise(kind, noise)
    _check_sizes(n_tasks=n_tasks, n_train=n_train, n_val=n_val, n_test=n_test,
                 n_features=n_features, hidden=hidden)
    outputs = n_classes if kind == "multiclass" else 1
    teacher = RelatedTeacher(n_tasks, n_features, hidden, outputs, relatedness, seed)
    return sample_tasks(teacher, n_tasks, n_features, kind, outputs, n_train, n_val, n_test,
                        noise, shared_inputs, seed, {"relatedness": relatedness})


class EnvironmentTeacher:
    """Tasks of one environment: f_t(x) = phi(x) a_t, with one random feature map
    phi(x) = tanh(x W) into `n_factors` factors shared by all tasks, and random task weights
    a_t of each task's own; each f_t is scaled to mean 0 and variance 1. The map and each
    a_t have their own random streams, so task t is the same whatever the number of tasks.
    `environments` (one number per task, default all 0) gives tasks of environment e > 0
    a map W_e of their own, drawn independently: tasks of different environments share
    nothing but the input's distribution."""

    def __init__(self, n_tasks, n_features, n_factors, outputs, seed, environments=None):
        self.environments = [0] * n_tasks if environments is None else list(environments)
        maps = [stream(seed, TEACHER) if e == 0 else stream(seed, TEACHER, -1, e)
                for e in range(max(self.environments) + 1)]
        self.w = torch.stack([torch.randn(n_features, n_factors, generator=g)
                              for g in maps]) / math.sqrt(n_features)
        self.a = torch.stack([torch.randn(n_factors, outputs, generator=stream(seed, TEACHER, t))
                              for t in range(n_tasks)])
        reference = torch.randn(4096, n_features, generator=stream(seed, REFERENCE))
        f = torch.stack([self.factors(reference, e) @ self.a[t]
                         for t, e in enumerate(self.environments)])  # (tasks, 4096, outputs)
        self.mean, self.std = f.mean(dim=1, keepdim=True), f.std(dim=1, keepdim=True)

    def factors(self, x: torch.Tensor, environment: int = 0) -> torch.Tensor:
        """phi(x): an environment's shared factors, (n, n_factors)."""
        return torch.tanh(x @ self.w[environment])

    def __call__(self, x: torch.Tensor, task: int) -> torch.Tensor:
        f = self.factors(x, self.environments[task]) @ self.a[task]
        return (f - self.mean[task]) / self.std[task]


def make_environment_tasks(n_tasks=4, n_train=50, n_val=50, n_test=1000, n_features=10,
                           n_factors=4, kind="regression", n_classes=3, noise=0.1,
                           shared_inputs=False, environments=None, seed=0) -> MultiTaskData:
    """Tasks drawn from one environment (Baxter's setting): every task is a different
    combination of the same `n_factors` hidden factors of the input. A model that has
    learned the factors needs only n_factors numbers per new task.

    environments: one number per task (default: all 0, one environment); tasks of another
    environment combine factors of their own (a control: learnable tasks unrelated to
    environment 0's). Adding one changes no task of environment 0.
    The remaining arguments are as in `make_related_tasks`; `info["teacher"].factors(x)`
    gives the true factors (of environment 0).
    """
    _check_kind_and_noise(kind, noise)
    _check_sizes(n_tasks=n_tasks, n_train=n_train, n_val=n_val, n_test=n_test,
                 n_features=n_features, n_factors=n_factors)
    if environments is not None and (len(environments) != n_tasks or min(environments) < 0):
        raise ValueError(f"environments gives each of the {n_tasks} tasks a number >= 0, "
                         f"got {environments}.")
    outputs = n_classes if kind == "multiclass" else 1
    teacher = EnvironmentTeacher(n_tasks, n_features, n_factors, outputs, seed, environments)
    return sample_tasks(teacher, n_tasks, n_features, kind, outputs, n_train, n_val, n_test,
                        noise, shared_inputs, seed,
                        {"n_factors": n_factors, "environments": teacher.environments})


def make_mixed_pair(n_train=100, n_val=100, n_test=1000, n_features=10, relatedness=0.7,
                    scale=10.0, noise=0.3, seed=0) -> MultiTaskData:
    """Two related tasks of different kinds and loss scales on shared inputs: "amount", a
    regression target of standard deviation about `scale`, and "label", a binary label.
    Their underlying functions are related as in `make_related_tasks`."""
    _check_sizes(n_train=n_train, n_val=n_val, n_test=n_test, n_features=n_features)
    if not 0.0 <= relatedness <= 1.0:
        raise ValueError(f"relatedness must lie in [0, 1], got {relatedness}.")
    teacher = RelatedTeacher(2, n_features, 8, 1, relatedness, seed)
    tasks = [Task("amount"), Task("label", "binary")]

    def split(n, part):
        x = torch.randn(n, n_features, generator=stream(seed, part))
        f = [teacher(x, t)[:, 0] + noise * torch.randn(n, generator=stream(seed, part, t))
             for t in (0, 1)]
        return Split(x, {"amount": scale * f[0], "label": (f[1] > 0).float()})

    return MultiTaskData(tasks, split(n_train, TRAIN), split(n_val, VAL), split(n_test, TEST),
                         {"teacher": teacher, "scale": scale})


MAX_CLUSTERS = 64  # make_task_family: task nets start after the clusters' nets


def make_task_family(cluster_sizes=(3, 3), n_unrelated=1, relatedness=0.9, n_train=30,
                     n_val=30, n_test=1000, n_features=10, noise=0.1, shared_inputs=True,
                     seed=0):
    """Tasks with a known group structure: clusters of related tasks
    (f_t = sqrt(r) g_cluster + sqrt(1 - r) g_t) and tasks related to nothing (f_t = g_t),
    on shared inputs by default. `info["groups"]` gives each task's cluster (-1 for an
    unrelated task)."""
    groups = [c for c, size in enumerate(cluster_sizes) for _ in range(size)]
    groups += [-1] * n_unrelated
    T, C = len(groups), len(cluster_sizes)
    if C > MAX_CLUSTERS:
        raise ValueError(f"at most {MAX_CLUSTERS} clusters, got {C}.")
    # nets 0 .. C-1 are the clusters' common parts; task t's own net is drawn from the
    # stream of net MAX_CLUSTERS + t, so adding a cluster or a task changes no other net
    nets = RelatedTeacher(MAX_CLUSTERS + T - 1, n_features, 8, 1, 1.0, seed)

    def f(x, t):
        own = nets.net(x, MAX_CLUSTERS + t)
        if groups[t] < 0:
            return own
        return math.sqrt(relatedness) * nets.net(x, groups[t]) + math.sqrt(1 - relatedness) * own

    return sample_tasks(f, T, n_features, "regression", 1, n_train, n_val, n_test, noise,
                        shared_inputs, seed, {"groups": groups, "relatedness": relatedness})


def make_task_hierarchy(n_train=50, n_val=50, n_test=1000, n_features=10, width=8,
                        low_outputs=1, noise=0.3, seed=0) -> MultiTaskData:
    """Three regression tasks at three depths of one teacher, for low supervision
    (Sogaard and Goldberg, 2016): h1 = tanh(x W1), h2 = tanh(h1 W2), h3 = tanh(h2 W3) with
    random W, and the tasks "low", "middle" and "high" read h1, h2 and h3 (random linear
    read-outs, standardised, plus noise; "low" has `low_outputs` of them, e.g. `width` for
    a low-level task that labels the whole first representation). A network can learn the
    high task by building on what the low one needs; `info["depth"]` gives each depth."""
    _check_sizes(n_train=n_train, n_val=n_val, n_test=n_test, n_features=n_features,
                 width=width, low_outputs=low_outputs)
    _check_kind_and_noise("regression", noise)
    g = torch.Generator().manual_seed(seed)
    sizes = [n_features, width, width, width]
    weights = [torch.randn(a, b, generator=g) * 1.5 / math.sqrt(a)
               for a, b in zip(sizes, sizes[1:])]
    readouts = [torch.randn(width, k, generator=g) for k in (low_outputs, 1, 1)]
    tasks = [Task("low", outputs=low_outputs), Task("middle"), Task("high")]

    def levels(x):
        h, out = x, []
        for w, a in zip(weights, readouts):
            h = torch.tanh(h @ w)
            out.append(h @ a)
        return out

    reference = levels(torch.randn(4096, n_features, generator=g))
    scale = [(r.mean(dim=0), r.std(dim=0)) for r in reference]

    def split(n, stream):
        gs = torch.Generator().manual_seed(seed * 7919 + stream)
        x = torch.randn(n, n_features, generator=gs)
        targets = {}
        for task, f, (m, s) in zip(tasks, levels(x), scale):
            y = (f - m) / s + noise * torch.randn(f.shape, generator=gs)
            targets[task.name] = y[:, 0] if task.outputs == 1 else y
        return Split(x, targets)

    return MultiTaskData(tasks, split(n_train, 1), split(n_val, 2), split(n_test, 3),
                         {"depth": {"low": 1, "middle": 2, "high": 3}})
