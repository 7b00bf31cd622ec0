"""Your own data: from a pandas DataFrame to `MultiTaskData` in one call.

Two layouts of a table, both common:

- wide: one row per example and one target column per task, e.g. a pupil's scores in
  maths and reading (`targets=["maths", "reading"]`); NaN where an example has no label
  for a task;
- long: one row per example and a column that names the example's task, e.g. pupils with
  their school (`targets="score", task="school"`): each school is a task with as many
  examples as it has rows.

Both become one table of examples with shared inputs and a target column per task, NaN
where a task has no label; the losses skip those (`missing_labels`), so tasks of any
size train together without padding their data.
"""
import numpy as np
import pandas as pd
import torch

from .data import MultiTaskData, Split, Task


def from_frame(frame: pd.DataFrame, targets, features=None, *, task=None,
               kind: str = "regression", val: float | None = 0.2, test: float | None = 0.2,
               standardise: bool = True, seed: int = 0) -> MultiTaskData:
    """Tasks, inputs and train / val / test splits from a DataFrame.

    - targets: a column name (with `task`: the long layout) or a list of column names, one
      task each (the wide layout).
    - features: the input columns (default: all others); text and category columns become
      one-hot columns.
    - task: the column that names each row's task (long layout); every task gets its share
      of every split.
    - kind: "regression" or "binary" (0/1 targets), for every task.
    - val, test: the fractions of the examples held out (None or 0: no such split; without
      a val split, `fit` trains every epoch and keeps the last weights).
    - standardise: scale inputs, and regression targets, to mean 0 and standard deviation 1
      on the training split (targets per task in the wide layout, with one common scale in
      the long layout, where a task's level is part of what it learns). `data.info` keeps the scales
      (`"target_scale"`: {task: (mean, sd)}), and `evaluate` reports errors in the
      targets' original units.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"from_frame needs a pandas DataFrame, got {type(frame).__name__}; "
                        "for tensors or arrays use mt.Split(x, y) and mt.MultiTaskData.")
    if kind not in ("regression", "binary"):
        raise ValueError(f"from_frame makes regression or binary tasks, got kind={kind!r}; "
                         "for classes build mt.Task(name, 'multiclass', classes) and mt.Split.")
    long = isinstance(targets, str)
    if long != (task is not None):
        raise ValueError("Give either one target column and the task column "
                         "(targets='score', task='school') or a list of target columns, one "
                         "per task (targets=['maths', 'reading']).")
    target_columns = [targets] if long else list(targets)
    used = target_columns + ([task] if long else [])
    _check_columns(frame, used + list(features or []))
    features = [c for c in frame.columns if c not in used] if features is None else features
    if not features:
        raise ValueError("No input columns are left; name them with features=[...].")
    for column in target_columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise TypeError(f"Target column {column!r} holds {frame[column].dtype} values, not "
                            "numbers; code a binary target as 0/1 (e.g. df[col].eq('yes')"
                            ".astype(int)).")
    x = pd.get_dummies(frame[features], dtype=float)  # text and categories: one-hot
    if long:
        names = [str(v) for v in sorted(frame[task].unique())]
        y = pd.DataFrame(np.nan, index=frame.index, columns=names)
        for name, value in zip(names, sorted(frame[task].unique())):
            rows = frame[task] == value
            y.loc[rows, name] = frame.loc[rows, targets].astype(float)
        groups = frame[task].to_numpy()
    else:
        names = [str(c) for c in target_columns]
        y = frame[target_columns].astype(float).set_axis(names, axis=1)
        groups = np.zeros(len(frame))
    part = _assign_splits(groups, val or 0.0, test or 0.0, seed)
    info = {"features": list(x.columns)}
    if standardise:
        x, y, info = _standardise(x, y, part == "train", kind, info, pooled=long)

    def split(which):
        rows = part == which
        if not rows.any():
            return None
        return Split(torch.tensor(x[rows].to_numpy(), dtype=torch.float32),
                     {n: torch.tensor(y.loc[rows, n].to_numpy(), dtype=torch.float32)
                      for n in names})

    return MultiTaskData([Task(n, kind) for n in names], split("train"), split("val"),
                         split("test"), info, missing_labels=bool(y.isna().any().any()))


def from_arrays(tasks: dict, *, kind: str = "regression", val: float | None = 0.2,
                test: float | None = 0.2, standardise: bool = True,
                seed: int = 0) -> MultiTaskData:
    """Tasks with their own examples, as many as each has: {task name: (x, y)} with x of
    shape (n_t, features) and y of shape (n_t,), in any array type (NumPy, pandas, torch).

    The examples become one table in the long layout (each example labelled for its own
    task only), split and standardised as in `from_frame`.
    """
    if not isinstance(tasks, dict) or not tasks:
        raise TypeError("from_arrays takes a dict {task name: (inputs, targets)}, e.g. "
                        "{'men': (x_men, y_men), 'women': (x_women, y_women)}.")
    frames, width = [], None
    for name, pair in tasks.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"Task {name!r}: give a pair (inputs, targets), got "
                            f"{type(pair).__name__}.")
        x, y = (np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v, dtype=float)
                for v in pair)
        if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"Task {name!r}: inputs must be (n, features) and targets (n,) "
                             f"with the same n, got {x.shape} and {y.shape}.")
        if width is not None and x.shape[1] != width:
            raise ValueError(f"Task {name!r} has {x.shape[1]} input features, the first task "
                             f"{width}: every task needs the same features.")
        width = x.shape[1]
        frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(width)])
        frames.append(frame.assign(target=y, task=str(name)))
    table = pd.concat(frames, ignore_index=True)
    order = {str(n): i for i, n in enumerate(tasks)}  # keep the caller's task order
    data = from_frame(table, "target", [f"x{i}" for i in range(width)], task="task",
                      kind=kind, val=val, test=test, standardise=standardise, seed=seed)
    return data.subset(sorted(data.names, key=order.get))


def _check_columns(frame, columns):
    unknown = [c for c in columns if c not in frame.columns]
    if unknown:
        raise ValueError(f"Unknown column(s) {unknown}; the DataFrame has "
                         f"{list(frame.columns)}.")


def _assign_splits(groups, val, test, seed):
    """'train', 'val' or 'test' for each row; within each group the same fractions, and
    at least one training example per group."""
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"val and test are fractions of the examples and must leave some "
                         f"for training, got val={val}, test={test}.")
    rng = np.random.default_rng(seed)
    part = np.full(len(groups), "train", dtype=object)
    for g in pd.unique(groups):
        rows = rng.permutation(np.flatnonzero(groups == g))
        n_test = min(round(test * len(rows)), len(rows) - 1)
        n_val = min(round(val * len(rows)), len(rows) - 1 - n_test)
        part[rows[:n_test]] = "test"
        part[rows[n_test:n_test + n_val]] = "val"
    return part


def _standardise(x, y, train, kind, info, pooled):
    """Inputs, and regression targets, to mean 0 and sd 1 on the training rows. Targets
    are scaled per task (wide layout: different quantities) or with one scale for all
    (`pooled`, long layout: one quantity measured in different groups, whose differences
    in level are part of what the tasks are)."""
    mean, sd = x[train].mean(), x[train].std().replace(0.0, 1.0).fillna(1.0)
    x = (x - mean) / sd
    info = {**info, "feature_scale": (mean, sd)}
    if kind == "regression":
        if pooled:
            values = y[train].stack()  # every labelled training target
            t_mean = pd.Series(values.mean(), index=y.columns)
            t_sd = pd.Series(values.std() or 1.0, index=y.columns)
        else:
            t_mean, t_sd = y[train].mean(), y[train].std().replace(0.0, 1.0).fillna(1.0)
        y = (y - t_mean) / t_sd
        info["target_scale"] = {n: (float(t_mean[n]), float(t_sd[n])) for n in y.columns}
    return x, y, info
