"""Sweeps: run an experiment over a grid of settings and seeds into one tidy table."""
import itertools

import pandas as pd
from torch import nn
from tqdm.auto import tqdm

from .models import ForkedMLP
from .runtime import set_seed
from .train import evaluate, fit


def sweep(run, seeds=(0, 1, 2), progress: bool = False, **grid) -> pd.DataFrame:
    """Call `run(seed=..., **setting)` for every combination of `grid` values and seed.

    `run` returns a dict of results (one row) or a list of dicts (several rows, e.g. one per
    method trained on the same data). Each row also records its setting and seed. The
    global seed is set before every call, so each row is repeatable on its own.

        sweep(run, seeds=range(5), n_train=[10, 50], relatedness=[0.5, 1.0])
    """
    names = list(grid)
    settings = list(itertools.product(*(grid[n] for n in names)))
    rows = []
    jobs = [(dict(zip(names, values)), seed) for values in settings for seed in seeds]
    for setting, seed in tqdm(jobs, desc="sweep", disable=not progress, leave=False):
        set_seed(seed)
        result = run(seed=seed, **setting)
        for r in (result if isinstance(result, list) else [result]):
            rows.append({**setting, "seed": seed, **r})
    return pd.DataFrame(rows)


def choose_fork(data, hidden, candidates=None, activation=None, **fit_kwargs):
    """"User-defined MTL": train a `ForkedMLP` for each number of shared hidden layers and
    keep the one with the lowest validation loss (the test split is not looked at).

    Returns (best model, table with one row per candidate: n_shared, val_loss, test_error
    (the mean over tasks) and task_errors (a dict per task, e.g. for `mt.delta_m`)).
    The test errors are reported for teaching only; the choice uses validation alone.
    """
    candidates = range(len(tuple(hidden)) + 1) if candidates is None else candidates
    fit_kwargs.setdefault("progress", False)
    rows, best, best_loss = [], None, float("inf")
    for n_shared in candidates:
        model = ForkedMLP(data.n_features, hidden, data.tasks, n_shared,
                         activation=activation or nn.ReLU)
        history = fit(model, data, **fit_kwargs)
        val_loss = history["val_loss"].min()
        errors = evaluate(model, data)["error"]
        rows.append({"n_shared": n_shared, "val_loss": val_loss, "test_error": errors.mean(),
                     "task_errors": errors.to_dict()})
        if val_loss < best_loss:
            best, best_loss = model, val_loss
    return best, pd.DataFrame(rows)
