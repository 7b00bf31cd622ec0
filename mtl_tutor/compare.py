"""The comparison protocol: a fair contest between methods ("arms").

Every arm gets the same data for each seed, the same number of tuning configurations (the
budget), the same training budget and stopping rule, and the same validation signal to
choose its configuration, per seed; the test split is looked at only to report. Each arm's
capacity (its parameter count) is reported, and a choice at the edge of a grid is flagged:
the best value may lie beyond it. All seeds and configurations of an arm train at once
(`fit_replicas`)::

    decays = {"weight_decay": [0, 1e-4, 1e-3, 1e-2]}
    stl = lambda d: mt.single_task_nets(10, (64, 16), d.tasks)
    hard = lambda d: mt.hard_sharing(10, (64, 16), d.tasks)
    arms = [mt.Arm("STL", stl, decays), mt.Arm("hard sharing", hard, decays)]
    result = mt.compare(arms, lambda seed: make_related_tasks(seed=seed), mt.seeds(20),
                        epochs=150, patience=30)
    result.summary()                        # parameters, budget, choices, edges, errors
    result.paired("hard sharing", "STL")    # test error, paired by seed

A grid's keys are settings of training: "lr", "weight_decay", "penalty" (the strength of
the arm's `penalty`) and "weights" (a {task: weight} dict: fixed loss weights); any other
key is passed to `build(data, **settings)` (a width, a rank, a fork depth), or to the arm's
`weighting(data, ...)` where that function names it (a weighting's own knob, e.g.
`weighting=lambda d, model, c: CAGrad(model, model.trunk.parameters(), c=c)` with
`grid={"c": [0.2, 0.5]}`; a weighting that names `model` gets the replica's model).

Where arms learn from different parts of one draw (main alone against main with extra
tasks; labels averaged; a frozen feature map), each arm's `data` makes its view of the
seed's data, e.g. `Arm("main alone", stl, decays, data=lambda d: d.subset(["main"]))`:
every view of a seed comes from the same draw, and the score reads what the arms share.
"""
import inspect
import itertools
import math
from dataclasses import dataclass, field, replace
from typing import Callable

import pandas as pd

from .losses import equal_weights
from .models import count_parameters
from .replicas import fit_replicas, seeded_models
from .stats import paired
from .train import evaluate
from .weighting import FixedWeights

TRAINING_KEYS = ("lr", "weight_decay", "penalty", "weights")


@dataclass(frozen=True)
class Arm:
    """One method of a comparison.

    ``build(data, **settings)`` returns a fresh model (settings: the grid's keys other than
    the training ones); grid maps each tuned setting to its values, every combination one
    configuration; penalty(model) is added to the loss times the grid's "penalty";
    weighting(data), if given, makes each replica's learned weighting (a module);
    vectorise=False trains the configurations one after another (weightings that shape
    gradients); note says what the arm is for (e.g. "control: no coupling"); data(d), if
    given, is the arm's view of the seed's data d (a subset of the tasks, a transformed
    input), on which it trains, is chosen and is scored.
    """

    name: str
    build: Callable
    grid: dict = field(default_factory=dict)
    penalty: Callable | None = None
    weighting: Callable | None = None
    vectorise: bool = True
    note: str = ""
    data: Callable | None = None

    def configurations(self) -> list:
        keys = list(self.grid)
        for key in keys:
            if not isinstance(self.grid[key], (list, tuple)) or not self.grid[key]:
                raise ValueError(f"Arm {self.name!r}: grid[{key!r}] must be a non-empty list "
                                 f"of values, got {self.grid[key]!r}.")
        if "penalty" in keys and self.penalty is None:
            raise ValueError(f"Arm {self.name!r} tunes 'penalty' but has no penalty function; "
                             "give penalty=lambda model: ... (the term the strength scales).")
        return [dict(zip(keys, values)) for values in itertools.product(
            *(self.grid[k] for k in keys))]

    def weighting_keys(self) -> set:
        """The grid's keys that `weighting` takes by name: they go to it, not to build."""
        if self.weighting is None:
            return set()
        names = inspect.signature(self.weighting).parameters
        return {k for k in self.grid if k in names and k not in TRAINING_KEYS}

    def make_weighting(self, data, model, config):
        """This run's weighting: `weighting(data)`, with the model and the settings it
        names; a FixedWeights for a grid's "weights"; else the plain sum."""
        if self.weighting is None:
            return FixedWeights(config["weights"]) if "weights" in config else equal_weights
        extra = {k: config[k] for k in self.weighting_keys()}
        if "model" in inspect.signature(self.weighting).parameters:
            extra["model"] = model
        return self.weighting(data, **extra)


def default_score(model, data, split) -> dict:
    """The mean of the tasks' errors (`evaluate`), and the errors by task (for Delta_m)."""
    errors = evaluate(model, data, split)["error"]
    return {"error": float(errors.mean()), "task errors": errors.to_dict()}


def _edge(value, values) -> str:
    """'top' or 'bottom' when a numeric choice is its grid's largest or smallest value
    (the smallest only when it is not 0: no weight decay is not an edge to look beyond).
    A grid of dicts (e.g. loss weights {task: w}) has an edge per key that varies across
    the grid, named after the key: 'bottom (label)'."""
    if isinstance(value, dict) and all(isinstance(v, dict) for v in values):
        keys = [k for k in value if all(k in v for v in values)]
        return " and ".join(f"{where} ({k})" for k in keys
                         if len({repr(v[k]) for v in values}) > 1
                         and (where := _edge(value[k], [v[k] for v in values])))
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) != len(values) or len(values) < 2:
        return ""
    if value == max(values):
        return "top"
    if value == min(values) and value != 0:
        return "bottom"
    return ""


def monitored_loss(history, monitor, data) -> float:
    """The lowest validation loss that early stopping followed (`fit`'s `monitor`): the sum
    over tasks, one task's, or a weighted sum ({task: weight}, or a function data -> one)."""
    monitor = monitor(data) if callable(monitor) else monitor
    if monitor is None:
        return float(history["val_loss"].min())
    if isinstance(monitor, dict):
        return float(sum(w * history[f"val_loss[{t}]"] for t, w in monitor.items()).min())
    return float(history[f"val_loss[{monitor}]"].min())


def _train_arm(arm, datasets, seeds, select, score, settings) -> list:
    """Every configuration of `arm` for every seed, trained at once where the model's
    shape allows: one `fit_replicas` per distinct set of build settings."""
    if arm.data is not None:  # the arm's own view of each seed's data
        datasets = {seed: arm.data(d) for seed, d in datasets.items()}
    rows, groups = [], {}
    not_built = set(TRAINING_KEYS) | arm.weighting_keys()
    for number, config in enumerate(arm.configurations()):
        build_settings = {k: v for k, v in config.items() if k not in not_built}
        groups.setdefault(repr(sorted(build_settings.items())), []).append(
            (number, config, build_settings))
    for group in groups.values():
        runs = [(number, config, kw, seed) for number, config, kw in group for seed in seeds]
        models, generators = [], []
        for _, _, kw, seed in runs:
            model, generator = seeded_models(
                lambda data=datasets[seed], kw=kw: arm.build(data, **kw), [seed])
            models += model
            generators += generator
        weightings = [arm.make_weighting(datasets[s], model, c)
                      for (_, c, _, s), model in zip(runs, models)]
        histories = fit_replicas(
            models, [datasets[s] for *_, s in runs], generators=generators,
            lr=[c.get("lr", settings.get("lr", 1e-2)) for _, c, _, _ in runs],
            weight_decay=[c.get("weight_decay", 0.0) for _, c, _, _ in runs],
            weighting=weightings, penalty=arm.penalty,
            penalty_weight=[c.get("penalty", 0.0) for _, c, _, _ in runs],
            vectorise=arm.vectorise, **{k: v for k, v in settings.items() if k != "lr"})
        for (number, config, _, seed), model, history in zip(runs, models, histories):
            data = datasets[seed]
            criterion = (
                monitored_loss(history, settings.get("monitor"), data)
                if select == "val loss" and "val_loss" in history
                else select(model, data) if callable(select) else math.nan)
            rows.append({"arm": arm.name, "seed": seed, "configuration": number,
                         **{f"setting {k}": v for k, v in config.items()},
                         "validation": float(criterion), "parameters": count_parameters(model),
                         "epochs": len(history), **score(model, data, "test")})
    return rows


class Comparison:
    """The runs of a comparison: `runs` holds every configuration of every arm and seed,
    `chosen` the configuration each arm chose per seed (the lowest `validation`), with
    its test scores; `paired`, `summary` and `edges` read them."""

    def __init__(self, arms, runs: pd.DataFrame, unequal_budgets=None):
        self.arms = {arm.name: arm for arm in arms}
        self.runs, self.unequal_budgets = runs, unequal_budgets
        best = runs.groupby(["arm", "seed"], sort=False)["validation"].idxmin()
        chosen = runs.loc[best.to_numpy()].reset_index(drop=True)
        chosen["edge"] = [", ".join(
            f"{k} at its {where}" for k, values in self.arms[row["arm"]].grid.items()
            if (where := _edge(row[f"setting {k}"], values))) for _, row in chosen.iterrows()]
        self.chosen = chosen

    def paired(self, a: str, b: str, metric: str = "error", relative: bool = False):
        """`mt.paired` of arm a against arm b on a test metric of their chosen
        configurations, paired by seed."""
        for name in (a, b):
            if name not in self.arms:
                raise KeyError(f"No arm {name!r}; the arms are {list(self.arms)}.")
        return paired(self.chosen, metric, "arm", a, b, relative=relative)

    def parameters(self, arm: str) -> str:
        """The arm's parameter count, or its range over the configurations."""
        counts = self.runs.loc[self.runs.arm == arm, "parameters"]
        low, high = int(counts.min()), int(counts.max())
        return str(low) if low == high else f"{low} to {high}"

    def budget(self, arm: str) -> int:
        return len(self.arms[arm].configurations())

    def edges(self, arm: str) -> str:
        """How often the arm's choice lay at an edge of its grid, e.g. 'weight_decay at
        its top in 7 of 20 seeds' ('' when never)."""
        rows = self.chosen[self.chosen.arm == arm]
        flags = pd.Series([f for cell in rows.edge for f in cell.split(", ") if f])
        return "; ".join(f"{flag} in {n} of {len(rows)} seeds"
                         for flag, n in flags.value_counts().items())

    def restricted(self, settings: dict, arms=None, unequal_budgets: str | None = None):
        """This comparison as if `arms` (default: all) had tuned only the configurations
        with `settings` (e.g. {"penalty": 0.0}: no penalty), without training anything
        again: their grids and runs cut down, each seed's choice made again on validation,
        the other arms as they are. A cut that leaves the budgets unequal needs
        `unequal_budgets` (a reason), as `compare` does."""
        names = list(self.arms) if arms is None else list(arms)
        keep = pd.Series(True, index=self.runs.index)
        new_arms = []
        for arm in self.arms.values():
            if arm.name not in names:
                new_arms.append(arm)
                continue
            grid = dict(arm.grid)
            for key, value in settings.items():
                if key not in grid or value not in grid[key]:
                    raise ValueError(f"Arm {arm.name!r} has no configuration with {key} = "
                                     f"{value!r}; its grid is {arm.grid}.")
                grid[key] = [value]
                keep &= (self.runs.arm != arm.name) | (self.runs[f"setting {key}"] == value)
            new_arms.append(replace(arm, grid=grid))
        for name in names:
            if name not in self.arms:
                raise KeyError(f"No arm {name!r}; the arms are {list(self.arms)}.")
        budgets = {arm.name: len(arm.configurations()) for arm in new_arms}
        if len(set(budgets.values())) > 1 and not unequal_budgets:
            raise ValueError(f"Every arm gets the same number of configurations, but {budgets}: "
                             "pass unequal_budgets='why this is fair' to say why not.")
        return Comparison(new_arms, self.runs[keep], unequal_budgets or self.unequal_budgets)

    def summary(self, metric: str = "error") -> pd.DataFrame:
        """One row per arm: parameters, budget, seeds, the mean and standard error of the
        test metric of its chosen configurations, and its choices at a grid's edge."""
        rows = []
        for name in self.arms:
            chosen = self.chosen[self.chosen.arm == name][metric]
            rows.append({"arm": name, "parameters": self.parameters(name),
                         "budget": self.budget(name), "seeds": len(chosen),
                         f"test {metric}": chosen.mean(), "sem": chosen.sem(),
                         "edge of grid": self.edges(name) or "none"})
        return pd.DataFrame(rows).set_index("arm")


def compare(arms: list, data, seeds, *, select="val loss", score=default_score,
            unequal_budgets: str | None = None, **settings) -> Comparison:
    """Train every arm's configurations for every seed and choose, per seed, each arm's
    configuration with the lowest validation criterion.

    data: a function seed -> MultiTaskData (each seed draws its own data, the same for
    every arm), or one MultiTaskData for all seeds. select: "val loss" (the summed
    validation loss of the restored epoch, or `monitor`'s, the signal early stopping
    uses) or a function (model, data) -> number, lower is better, that reads only the
    validation split. score(model, data, "test") -> {metric: value}. Every arm must have
    the same number of configurations; `unequal_budgets` (a reason, shown with the
    results) allows otherwise. settings: `fit`'s (epochs, lr, batch_size, patience,
    monitor, ...), the same for every arm.
    """
    arms = list(arms)
    names = [arm.name for arm in arms]
    if len(set(names)) != len(names) or not arms:
        raise ValueError(f"compare needs arms with distinct names, got {names}.")
    budgets = {arm.name: len(arm.configurations()) for arm in arms}
    if len(set(budgets.values())) > 1 and not unequal_budgets:
        raise ValueError(f"Every arm gets the same number of configurations, but {budgets}: "
                         "widen the smaller grids (e.g. tune weight decay), or pass "
                         "unequal_budgets='why this is fair' to say why not.")
    if select != "val loss" and not callable(select):
        raise ValueError(f"select must be 'val loss' or a function (model, data) -> number, "
                         f"got {select!r}.")
    seeds = list(seeds)
    datasets = {seed: data(seed) if callable(data) else data for seed in seeds}
    settings.setdefault("progress", False)
    runs = [row for arm in arms
            for row in _train_arm(arm, datasets, seeds, select, score, settings)]
    return Comparison(arms, pd.DataFrame(runs), unequal_budgets)
