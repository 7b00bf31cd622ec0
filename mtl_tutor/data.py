"""Tasks and the multi-task dataset: what is learned, from which examples.

A `Task` says what one task predicts. A `Split` holds the examples of one split (train,
validation or test) for all tasks: the inputs are either shared by every task, of shape
(n, features), or one set per task, of shape (tasks, n, features); the targets are a dict
from task name to a tensor with n rows. `MultiTaskData` is the three splits together.
"""
from dataclasses import dataclass

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


class Stacked(dict):
    """A dict {task name: tensor} whose values are slices of one tensor with the tasks on
    its first axis. The tensor is kept as `.stacked`, so code that handles all tasks alike
    (a loss, a sum) can do it in one operation instead of one per task."""

    def __init__(self, names, stacked: torch.Tensor):
        super().__init__(zip(names, stacked.unbind(0)))
        self.stacked = stacked


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
        if self.per_task is None:
            self.per_task = isinstance(self.x, torch.Tensor) and self.x.dim() == 3

    @property
    def n(self) -> int:
        return self.x.shape[1] if self.per_task else self.x.shape[0]

    @property
    def shared_inputs(self) -> bool:
        return not self.per_task

    def _rows(self, index):
        return self.x[:, index] if self.per_task else self.x[index]

    def to(self, device) -> "Split":
        return Split(self.x.to(device), {name: y.to(device) for name, y in self.y.items()},
                     self.per_task)

    def batches(self, batch_size: int):
        """Shuffled minibatches of at most `batch_size` examples, as Splits.

        In-memory indexing, no DataLoader. When all targets have one shape and dtype they
        are indexed as one stacked tensor: one operation per batch instead of one per task.
        """
        names = list(self.y)
        ys = list(self.y.values())
        stackable = all(y.shape == ys[0].shape and y.dtype == ys[0].dtype for y in ys)
        stacked = torch.stack(ys) if stackable else None
        for index in torch.randperm(self.n, device=self.x.device).split(batch_size):
            if stacked is not None:
                y = Stacked(names, stacked[:, index])
            else:
                y = {name: t[index] for name, t in self.y.items()}
            yield Split(self._rows(index), y, self.per_task)


class MultiTaskData:
    """Train, validation and test splits for a list of tasks, checked on construction."""

    def __init__(self, tasks, train: Split, val: Split, test: Split, info: dict | None = None):
        self.tasks = list(tasks)
        names = [t.name for t in self.tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"Task names must be unique, got {names}.")
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
