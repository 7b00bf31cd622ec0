"""Sweeps: run an experiment over a grid of settings and seeds into one tidy table."""
import itertools

import pandas as pd
from tqdm.auto import tqdm

from .runtime import set_seed


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


def summarize(table: pd.DataFrame, by, value: str) -> pd.DataFrame:
    """Mean, standard error (sem) and count of `value` for each group of `by` columns."""
    by = [by] if isinstance(by, str) else list(by)
    out = table.groupby(by)[value].agg(["mean", "sem", "count"]).reset_index()
    out["sem"] = out["sem"].fillna(0.0)  # a single seed has no spread to show
    return out
