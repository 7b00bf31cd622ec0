"""Auxiliary tasks under the comparison protocol (`mt.compare`).

Every experiment of Part V has the same arms, on one dataset per seed: the main task alone,
its weight decay tuned over a grid; the main task with an auxiliary task, the auxiliary
loss weight tuned over a grid of the same size; and the same with a *null* auxiliary task
of the same form (`with_shuffled`: the auxiliary targets permuted over the examples, so
that they keep their shape, scale and distribution but say nothing about the inputs). All
arms train one and the same network (every task's head; a task weighted 0 does not touch
the shared layers), from the same initial weights, with the same minibatches; training
stops on, and each configuration is chosen by, the main task's validation loss::

    data = lambda seed: with_shuffled(make_hint_problem(seed=seed), ["hint1"], seed)
    arms = auxiliary_arms(forked((32, 32)), data(0).names,
                          {"+ hint": ["hint1"], "+ shuffled hint": ["shuffled hint1"]})
    result = mt.compare(arms, data, mt.seeds(20), score=main_error, monitor="main",
                        epochs=150, patience=30)
    summary(result)  # parameters, budget, test error, choices and edges of every arm
    gains(result)  # each arm against "main alone", seed by seed
"""
import dataclasses
import math

import pandas as pd
import torch
from torch import nn

from ..compare import Arm
from ..data import MultiTaskData, Split, Task
from ..models import ForkedMLP
from ..train import evaluate
from .related import TEST, TRAIN, VAL, RelatedTeacher, stream

__all__ = ["Reported", "auxiliary_arms", "chosen", "forked", "gains", "label_for",
           "main_error", "make_entropy_problem", "shuffled", "summary", "with_shuffled"]
DECAYS = (0.0, 1e-3, 1e-2, 1e-1)  # main alone: its weight decay
WEIGHTS = (0.1, 0.3, 1.0, 3.0)  # an auxiliary arm: its auxiliary tasks' loss weight


def shuffled(name: str) -> str:
    """The name of the null copy of task `name`."""
    return f"shuffled {name}"


def with_shuffled(data: MultiTaskData, names, seed: int = 0) -> MultiTaskData:
    """`data` with a null copy of each task in `names`, named "shuffled <name>": the same
    inputs and targets, but each split's targets permuted over its examples (one
    permutation per split for all of `names`, so their joint distribution is kept)."""
    unknown = [n for n in names if n not in data.names]
    if unknown or not names:
        raise ValueError(f"with_shuffled: unknown task(s) {unknown or names}; the tasks are "
                         f"{data.names}.")
    index = [data.names.index(n) for n in names]

    def part(split, k):
        if split is None:
            return None
        order = torch.randperm(split.n, generator=stream(seed, 4242, k))
        y = {**split.y, **{shuffled(n): split.y[n][order] for n in names}}
        x = torch.cat([split.x, split.x[index]]) if split.per_task else split.x
        return Split(x, y, split.per_task)

    tasks = data.tasks + [Task(shuffled(t.name), t.kind, t.outputs)
                          for t in (data.tasks[i] for i in index)]
    return MultiTaskData(tasks, part(data.train, 1), part(data.val, 2), part(data.test, 3),
                         data.info, data.missing_labels)


class WithoutLastInput(nn.Module):
    """A model that ignores its last input column (the arms that must not see it)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model, self.tasks = model, model.tasks

    def forward(self, x):
        return self.model(x[..., :-1])


def forked(hidden, activation=nn.ReLU, drop_last_input: bool = False):
    """build(data): hard sharing (`ForkedMLP`, every hidden layer shared, one head per
    task of the data); `drop_last_input` leaves out the last input column."""
    def build(data):
        n = data.n_features - drop_last_input
        model = ForkedMLP(n, hidden, data.tasks, n_shared=len(tuple(hidden)),
                          activation=activation)
        return WithoutLastInput(model) if drop_last_input else model
    return build


def auxiliary_arms(build, names, auxiliaries: dict, decays=DECAYS, weights=WEIGHTS,
                   weight_decay: float = 1e-2, baselines: dict | None = None,
                   main: str = "main") -> list:
    """The arms: "main alone" (every other task weighted 0) tunes its weight decay over
    `decays`; each auxiliary arm {arm name: its tasks} tunes its tasks' loss weight over
    `weights` at `weight_decay` (one of `decays`, so the baseline's grid holds the
    regularisation the auxiliary arms train with). `baselines` ({arm name: build}) adds
    arms without an auxiliary task that tune weight decay too (e.g. another input)."""
    if weight_decay not in decays or len(decays) != len(weights):
        raise ValueError(f"auxiliary_arms: weight_decay {weight_decay} must be one of the "
                         f"decays {decays}, and the grids the same size (budget).")

    def loss_weights(tasks, w):
        return {n: 1.0 if n == main else w if n in tasks else 0.0 for n in names}

    alone = {"weight_decay": list(decays), "weights": [loss_weights([], 0.0)]}
    arms = [Arm("main alone", build, alone, note="baseline: weight decay tuned")]
    arms += [Arm(name, b, alone, note="baseline: weight decay tuned")
             for name, b in (baselines or {}).items()]
    for name, tasks in auxiliaries.items():
        grid = {"weight_decay": [weight_decay],
                "weights": [loss_weights(tasks, w) for w in weights]}
        note = "control: null auxiliary" if name.startswith("+ shuffled") else ""
        arms.append(Arm(name, build, grid, note=note))
    return arms


def main_error(model, data, split) -> dict:
    """compare's `score`: the main task's error alone (only it matters here)."""
    return {"error": float(evaluate(model, data, split).loc["main", "error"])}


def _knob(arm, main="main"):
    """The setting an arm tunes, its grid, and a function reading it from a choice."""
    if len(arm.grid["weight_decay"]) > 1:
        return "weight decay", list(arm.grid["weight_decay"]), lambda row: row[
            "setting weight_decay"]
    weight = lambda row: max(v for k, v in row["setting weights"].items() if k != main)  # noqa: E731
    return "aux weight", [weight({"setting weights": w}) for w in arm.grid["weights"]], weight


def chosen(result, name: str) -> str:
    """What arm `name` chose over the seeds, e.g. "aux weight 0.3: 12, 1: 8"."""
    kind, grid, read = _knob(result.arms[name])
    counts = result.chosen[result.chosen.arm == name].apply(read, axis=1).value_counts()
    return f"{kind} " + ", ".join(f"{v:g}: {counts[v]}" for v in grid if v in counts)


class Reported:
    """A comparison as `mt.Claims` and the tables report it, with the edges of the
    auxiliary loss weight's grid too (`compare` flags a numeric grid's edges, not a
    weight inside the "weights" dicts): parameters, budget and edges by arm."""

    def __init__(self, result):
        self.result = result

    def parameters(self, name):
        return self.result.parameters(name)

    def budget(self, name):
        return self.result.budget(name)

    def at_edges(self, name) -> dict:
        """{"top": seeds, "bottom": seeds} whose choice of the arm's tuned setting lay at
        that edge of its grid (the bottom only when it is not 0)."""
        kind, grid, read = _knob(self.result.arms[name])
        values = self.result.chosen[self.result.chosen.arm == name].apply(read, axis=1)
        edges = {"top": max(grid)} | ({"bottom": min(grid)} if min(grid) != 0 else {})
        return {where: int((values == value).sum()) for where, value in edges.items()}

    def edges(self, name):
        kind = _knob(self.result.arms[name])[0]
        seeds = int((self.result.chosen.arm == name).sum())
        return "; ".join(f"{kind} at its {where} in {n} of {seeds} seeds"
                         for where, n in self.at_edges(name).items() if n)


def summary(result) -> pd.DataFrame:
    """compare's summary (parameters, budget, seeds, test error) with how often each
    arm's choice lay at an edge of its grid (the auxiliary weight's included; "top 6,
    bottom 2 of 20") and what it chose."""
    table = result.summary()
    report = Reported(result)
    edges = {name: report.at_edges(name) for name in table.index}
    table["edge of grid"] = [", ".join(f"{where} {n}" for where, n in edges[name].items()
                                       if n) + f" of {seeds}" if any(edges[name].values())
                             else "none" for name, seeds in zip(table.index, table.seeds)]
    table["chosen (seeds)"] = [chosen(result, name) for name in table.index]
    return table


def gains(result, baseline: str = "main alone", arms=None,
          confidence: float = 0.95) -> pd.DataFrame:
    """Each arm against `baseline`, seed by seed (relative, `mt.paired`): the gain in %
    of the baseline's error (positive: lower error), its interval at `confidence`, and
    the seeds in which the arm's error was lower. A description: claims go through
    mt.Claims."""
    rows = []
    for name in arms or [a for a in result.arms if a != baseline]:
        cmp = dataclasses.replace(result.paired(name, baseline, relative=True),
                                  confidence=confidence)
        rows.append({"arm": name, "gain (%)": -100 * cmp.mean, "low": -100 * cmp.high,
                     "high": -100 * cmp.low, "lower in": cmp.wins, "seeds": cmp.n})
    return pd.DataFrame(rows).set_index("arm")


# --- label entropy at fixed information ---------------------------------------------------

def bits(p: torch.Tensor) -> torch.Tensor:
    """The entropy in bits of a binary label that is 1 with probability p (elementwise)."""
    p = p.clamp(1e-12, 1 - 1e-12)
    return -(p * p.log2() + (1 - p) * (1 - p).log2())


def _bisect(f, low, high, steps=60):
    """The root of an increasing function f on [low, high]."""
    for _ in range(steps):
        middle = (low + high) / 2
        low, high = (middle, high) if f(middle) < 0 else (low, middle)
    return (low + high) / 2


def label_for(g: torch.Tensor, rate: float, information: float | None = None):
    """(threshold, noise) of the label 1[g + noise * e > threshold], e ~ N(0, 1): positive
    for a fraction `rate` of the values g, and carrying `information` bits about g (the
    mutual information I(label; g) over the sample g); None: noise 0, all H(rate) bits."""
    g = g.double()
    normal = torch.distributions.Normal(0.0, 1.0)

    def threshold(noise):
        if noise == 0:
            return float(torch.quantile(g, 1 - rate))
        return _bisect(lambda t: rate - float(normal.cdf((g - t) / noise).mean()),
                       float(g.min()) - 10 * noise, float(g.max()) + 10 * noise)

    def info(noise):
        p = normal.cdf((g - threshold(noise)) / noise)
        return float(bits(torch.tensor(rate)) - bits(p).mean())

    most = float(bits(torch.tensor(rate)))
    if information is None or information >= most:
        return threshold(0.0), 0.0
    noise = math.exp(_bisect(lambda s: information - info(math.exp(s)), -9.0, 5.0))
    return threshold(noise), noise


def make_entropy_problem(n_main=20, n_aux=200, n_val=100, n_test=1000, n_features=10,
                         noise=0.3, labels=None, seed=0) -> MultiTaskData:
    """A regression main task g(x) + noise (`n_main` examples, repeated to `n_aux` rows)
    and binary auxiliary tasks 1[g(x) + s e > t] on `n_aux` examples each (per-task
    inputs). `labels` {name: (positive rate, bits of information about g, or None for
    noiseless)}; by default a balanced and a rare (10 %) noiseless label, and a balanced
    label as informative as the rare one: entropy varies at fixed information, and
    information at fixed entropy. info["labels"]: each label's rate, entropy, information
    and noise."""
    rare = float(bits(torch.tensor(0.1)))
    labels = labels or {"balanced": (0.5, None), "rare": (0.1, None),
                        "balanced, less information": (0.5, rare)}
    teacher = RelatedTeacher(1, n_features, 8, 1, 0.0, seed)
    g_ref = teacher.net(torch.randn(20000, n_features, generator=stream(seed, 4243)), 1)[:, 0]
    specs = {name: (rate, *label_for(g_ref, rate, info))
             for name, (rate, info) in labels.items()}

    def make(n, split, noisy, n_main=None):
        x, y = [], {}
        for k, name in enumerate(["main", *specs]):
            r = stream(seed, split, k)
            m = n_main if k == 0 and n_main else n
            xk = torch.randn(m, n_features, generator=r)
            g = teacher.net(xk, 1)[:, 0]
            e = torch.randn(m, generator=r)
            if k == 0:
                target = g + (noise if noisy else 0.0) * e
            else:
                _, t, s = specs[name]
                target = (g + s * e > t).float()
            rows = torch.arange(n) % m
            x.append(xk[rows])
            y[name] = target[rows]
        return Split(torch.stack(x), y)

    table = pd.DataFrame([{"task": name, "positive rate": rate,
                           "entropy (bits)": float(bits(torch.tensor(rate))),
                           "information (bits)": float(bits(torch.tensor(rate))) if s == 0
                           else labels[name][1], "noise": s}
                          for name, (rate, _, s) in specs.items()]).set_index("task")
    tasks = [Task("main")] + [Task(name, "binary") for name in specs]
    return MultiTaskData(tasks, make(n_aux, TRAIN, True, n_main=n_main),
                         make(n_val, VAL, True), make(n_test, TEST, False), {"labels": table})
