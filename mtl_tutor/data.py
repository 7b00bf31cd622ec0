"""Tasks and the multi-task dataset: what is learned, from which examples.

A `Task` says what one task predicts. A `Split` holds the examples of one split (train,
validation or test) for all tasks: the inputs are either shared by every task, of shape
(n, features), or one set per task, of shape (tasks, n, features); the targets are a dict
from task name to a tensor with n rows. `MultiTaskData` is the three splits together.
"""
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

KINDS = ("regression", "binary", "multiclass")


@dataclass(frozen=True)
class Task:
    """One task: its name, its kind and its number of outputs.

    regression: `outputs` real numbers (targets of shape (n,) when outputs == 1, else (n, outputs));
    binary: one logit, targets 0.0 / 1.0 of shape (n,);
    multiclass: `outputs` class scores, integer targets in [0, outputs) of shape (n,).
    """

    name: str
    kind: str = "regression"
    outputs: int = 1

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Task {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}.")
        if self.kind == "binary" and self.outputs != 1:
            raise ValueError(f"Task {self.name!r}: a binary task has one output (a logit), "
                             f"got outputs={self.outputs}.")
        if self.kind == "multiclass" and self.outputs < 2:
            raise ValueError(f"Task {self.name!r}: a multiclass task needs outputs >= 2 classes.")
        if self.outputs < 1:
            raise ValueError(f"Task {self.name!r}: outputs must be at least 1.")

    def target_shape(self, n: int) -> tuple:
        if self.kind == "regression" and self.outputs > 1:
            return (n, self.outputs)
        return (n,)


def _check_finite(t: torch.Tensor, what: str) -> None:
    if t.is_floating_point() and not torch.isfinite(t).all():
        bad = int((~torch.isfinite(t)).sum())
        raise ValueError(f"{what} contains {bad} NaN or infinite value(s); "
                         "remove or impute them before training.")


_converted = []  # dtypes already noted by _as_tensor


def _as_tensor(value, what: str) -> torch.Tensor:
    """NumPy arrays, pandas objects and lists as tensors; other float types as float32 (the
    dtype of PyTorch's layers), with one note. Integer and boolean values are kept."""
    if not isinstance(value, torch.Tensor):
        if hasattr(value, "to_numpy"):  # a pandas Series or DataFrame
            value = value.to_numpy()
        try:
            value = torch.tensor(np.asarray(value))  # a copy: the array may be read-only
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{what} must be numbers (a tensor, a NumPy array or a pandas "
                            f"object), got {type(value).__name__}; convert text or mixed "
                            "columns to numbers first.") from None
    if value.is_floating_point() and value.dtype != torch.float32:
        if not _converted:  # one note per session, not one per split and task
            _converted.append(value.dtype)
            warnings.warn(f"mtl_tutor converts {value.dtype} data to torch.float32, the dtype "
                          "of PyTorch's layers (noted once); convert with .float() or "
                          ".astype('float32') to avoid the copy.", stacklevel=4)
        value = value.float()
    return value


class Stacked(Mapping):
    """A read-only mapping {task name: tensor} whose values are slices of one tensor, kept
    as `.stacked`, with the tasks on its last axis: (n, tasks) like a target matrix, or
    (tasks,) for one loss per task. Code that handles all tasks alike (a loss, a sum) does
    it in one operation on `.stacked`; a task's slice is cut only when it is asked for, so
    the training loop never pays for one small view per task and step."""

    def __init__(self, names, stacked: torch.Tensor):
        self.names, self.stacked = names, stacked

    def __getitem__(self, name):
        try:
            return self.stacked[..., self.names.index(name)]
        except ValueError:
            raise KeyError(name) from None

    def __iter__(self):
        return iter(self.names)

    def __len__(self):
        return len(self.names)

    def __repr__(self):
        return f"Stacked({dict(self)!r})"


@dataclass
class Split:
    """The examples of one split. `x` is (n, ...) shared by all tasks, or (tasks, n, ...)
    with one set of inputs per task (`per_task`). If `per_task` is not given, 3-D inputs
    (tasks, n, features) are per task and anything else is shared, e.g. images (n, C, H, W).
    """

    x: torch.Tensor
    y: dict
    per_task: bool | None = None

    def __post_init__(self):
        self.x = _as_tensor(self.x, "inputs x")
        if not self.x.is_floating_point():
            self.x = self.x.float()  # integer or boolean features
        if hasattr(self.y, "columns"):  # a pandas DataFrame: one task per column
            self.y = {str(c): self.y[c] for c in self.y.columns}
        if isinstance(self.y, dict):
            self.y = {name: _as_tensor(y, f"targets of task {name!r}")
                      for name, y in self.y.items()}
        else:  # a target matrix (n, tasks): MultiTaskData names its columns
            self.y = _as_tensor(self.y, "targets y")
        if self.per_task is None:
            self.per_task = self.x.dim() == 3

    @property
    def n(self) -> int:
        return self.x.shape[1] if self.per_task else self.x.shape[0]

    @property
    def shared_inputs(self) -> bool:
        return not self.per_task

    def _rows(self, index):
        return self.x[:, index] if self.per_task else self.x[index]

    def holdout(self, fraction: float, seed: int = 0) -> tuple:
        """(the rest, a random `fraction` of the examples): e.g. a validation split made from
        the training data, `train, val = train.holdout(0.2)`."""
        if not 0 < fraction < 1:
            raise ValueError(f"holdout: fraction must lie strictly between 0 and 1, got "
                             f"{fraction}.")
        order = torch.randperm(self.n, generator=torch.Generator().manual_seed(seed))
        cut = max(1, round(fraction * self.n))
        if cut >= self.n:
            raise ValueError(f"holdout: {self.n} example(s) are too few to hold out "
                             f"{fraction:.0%} and keep some for training.")

        def part(index):
            index = index.to(self.x.device)
            return Split(self._rows(index), {k: y[index] for k, y in self.y.items()},
                         self.per_task)

        return part(order[cut:]), part(order[:cut])

    def to(self, device) -> "Split":
        return Split(self.x.to(device), {name: y.to(device) for name, y in self.y.items()},
                     self.per_task)

    def batches(self, batch_size: int):
        """Shuffled minibatches of at most `batch_size` examples, as `Batch(x, y, n)`.

        In-memory indexing, no DataLoader. When all targets have one shape and dtype they
        are indexed as one stacked tensor: one operation per batch instead of one per task.
        """
        y = self.stacked_y()
        for index in torch.randperm(self.n, device=self.x.device).split(batch_size):
            y_batch = (Stacked(y.names, y.stacked[index]) if isinstance(y, Stacked)
                       else {name: t[index] for name, t in y.items()})
            yield Batch(self._rows(index), y_batch, len(index))

    def stacked_y(self):
        """The targets as one `Stacked` tensor (n, ..., tasks) when they all have one shape
        and dtype (then a loss or a minibatch is one operation, not one per task); else the
        dict itself."""
        ys = list(self.y.values())
        if all(y.shape == ys[0].shape and y.dtype == ys[0].dtype for y in ys):
            return Stacked(list(self.y), torch.stack(ys, dim=-1))
        return self.y


class Batch(NamedTuple):
    """One minibatch: inputs x, targets y {task name: tensor}, and its size n."""

    x: torch.Tensor
    y: Mapping
    n: int


class MultiTaskData:
    """Train, validation and test splits for a list of tasks, checked on construction."""

    def __init__(self, tasks, train: Split, val: Split, test: Split, info: dict | None = None):
        if isinstance(tasks, (str, Task)):
            tasks = [tasks]
        for t in tasks:
            if not isinstance(t, (Task, str)):
                raise TypeError(f"tasks must be Task objects or task names (strings), got "
                                f"{t!r}; e.g. [mt.Task('price'), mt.Task('sold', 'binary')].")
        # a bare name is a regression task
        self.tasks = [t if isinstance(t, Task) else Task(t) for t in tasks]
        names = [t.name for t in self.tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"Task names must be unique, got {names}.")
        for split_name, split in (("train", train), ("val", val), ("test", test)):
            if split is None:
                raise ValueError(
                    f"The {split_name} split is missing (None). fit needs a validation split "
                    "(to stop early and keep the best weights) and evaluate a test split; "
                    "hold part of the training data out: train, val = train.holdout(0.2).")
            if not isinstance(split, Split):
                raise TypeError(f"The {split_name} split must be an mt.Split(x, y), got "
                                f"{type(split).__name__}.")
            self._name_targets(split_name, split)
        self.train, self.val, self.test = train, val, test
        self.info = info or {}
        for split_name in ("train", "val", "test"):
            self._check(split_name, getattr(self, split_name))

    @property
    def names(self) -> list:
        return [t.name for t in self.tasks]

    @property
    def n_features(self) -> int:
        """Numbers per example (64 for 8x8 images)."""
        per_example = self.train.x.shape[2:] if self.train.per_task else self.train.x.shape[1:]
        return int(torch.tensor(per_example).prod())

    def split(self, name: str) -> Split:
        if name not in ("train", "val", "test"):
            raise ValueError(f"Unknown split {name!r}: use 'train', 'val' or 'test'.")
        return getattr(self, name)

    def subset(self, names) -> "MultiTaskData":
        """The same examples with only the tasks `names`, in that order."""
        unknown = [n for n in names if n not in self.names]
        if unknown or not names:
            raise ValueError(f"Unknown task(s) {unknown or names}; the tasks are {self.names}.")
        index = [self.names.index(n) for n in names]

        def part(split):
            x = split.x[index] if split.per_task else split.x
            return Split(x, {n: split.y[n] for n in names}, split.per_task)

        return MultiTaskData([self.tasks[i] for i in index], part(self.train), part(self.val),
                             part(self.test), self.info)

    def to(self, device) -> "MultiTaskData":
        return MultiTaskData(self.tasks, self.train.to(device), self.val.to(device),
                             self.test.to(device), self.info)

    def __repr__(self) -> str:
        kind = "shared" if self.train.shared_inputs else "per-task"
        return (f"MultiTaskData({len(self.tasks)} tasks, {self.n_features} features, {kind} "
                f"inputs, n = {self.train.n} / {self.val.n} / {self.test.n})")

    def _name_targets(self, split_name: str, split: Split) -> None:
        """A target matrix (n, tasks) or, for one task, a vector becomes {task name: column};
        binary targets given as integers or booleans become floats."""
        y = split.y
        if isinstance(y, torch.Tensor):
            if y.dim() == 1 and len(self.tasks) == 1:
                split.y = {self.names[0]: y}
            elif y.dim() == 2 and y.shape[1] == len(self.tasks):
                split.y = {name: y[:, i] for i, name in enumerate(self.names)}
            else:
                raise ValueError(
                    f"{split_name} split: targets of shape {tuple(y.shape)} do not fit "
                    f"{len(self.tasks)} task(s); give a dict {{task name: targets}} or a "
                    f"matrix with one column per task, in the order {self.names}.")
        for task in self.tasks:
            target = split.y.get(task.name)
            if task.kind == "binary" and isinstance(target, torch.Tensor) \
                    and not target.is_floating_point():
                split.y[task.name] = target.float()
            if task.kind == "multiclass" and isinstance(target, torch.Tensor) \
                    and target.dtype in (torch.int8, torch.int16, torch.int32, torch.uint8):
                split.y[task.name] = target.long()

    def _check(self, split_name: str, split: Split) -> None:
        where = f"{split_name} split"
        x = split.x
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"{where}: inputs x must be a float tensor, got "
                            f"{type(x).__name__} {getattr(x, 'dtype', '')}.")
        if split.per_task and x.shape[0] != len(self.tasks):
            raise ValueError(f"{where}: per-task inputs have shape {tuple(x.shape)}, so "
                             f"{x.shape[0]} tasks, but there are {len(self.tasks)} tasks.")
        if x.dim() < 2:
            raise ValueError(f"{where}: inputs must have shape (n, features) or "
                             f"(tasks, n, features), got {tuple(x.shape)}.")
        if split.n == 0:
            raise ValueError(f"{where} is empty: every split needs at least one example.")
        _check_finite(x, f"{where}: inputs x")
        missing = set(self.names) - set(split.y)
        extra = set(split.y) - set(self.names)
        if missing or extra:
            raise ValueError(f"{where}: targets do not match the tasks. Missing: "
                             f"{sorted(missing) or 'none'}; unknown: {sorted(extra) or 'none'}. "
                             f"Tasks are {self.names}.")
        for task in self.tasks:
            y = split.y[task.name]
            expected = task.target_shape(split.n)
            if tuple(y.shape) != expected:
                raise ValueError(f"{where}, task {task.name!r} ({task.kind}): targets have shape "
                                 f"{tuple(y.shape)}, expected {expected}.")
            if task.kind == "multiclass":
                if y.dtype != torch.long:
                    raise TypeError(f"{where}, task {task.name!r}: multiclass targets must be "
                                    f"integer class indices (torch.long), got {y.dtype}.")
                if y.min() < 0 or y.max() >= task.outputs:
                    raise ValueError(f"{where}, task {task.name!r}: class indices must lie in "
                                     f"[0, {task.outputs}), got [{int(y.min())}, {int(y.max())}].")
                continue
            if not y.is_floating_point():
                raise TypeError(f"{where}, task {task.name!r} ({task.kind}): targets must be "
                                f"float, got {y.dtype}; use y.float().")
            _check_finite(y, f"{where}, task {task.name!r}: targets")
            if task.kind == "binary" and not ((y == 0) | (y == 1)).all():
                raise ValueError(f"{where}, task {task.name!r}: binary targets must be 0 or 1.")
