"""Tasks and the multi-task dataset: what is learned, from which examples.

A `Task` says what one task predicts. A `Split` holds the examples of one split (train,
validation or test) for all tasks: the inputs are either shared by every task, of shape
(n, features), or one set per task, of shape (tasks, n, features); the targets are a dict
from task name to a tensor with n rows. `MultiTaskData` is the three splits together.
"""
from dataclasses import dataclass

import torch

from .split import Batch, Split, Stacked, _check_finite  # noqa: F401 (re-exported)

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


class MultiTaskData:
    """Train, validation and test splits for a list of tasks, checked on construction."""

    def __init__(self, tasks, train: Split, val: Split, test: Split, info: dict | None = None,
                 missing_labels: bool = False):
        """`missing_labels=True`: a NaN target means "this example has no label for this
        task" (regression and binary tasks); the losses and errors skip it. Tasks with
        different numbers of examples are one table of examples with NaN where a task has
        no label (see `mt.from_frame`)."""
        self.missing_labels = missing_labels
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
            if split is None and split_name == "train":
                raise ValueError("The train split is missing (None); give mt.Split(x, y).")
            if split is None:  # no early stopping without val; no evaluate without test
                continue
            if not isinstance(split, Split):
                raise TypeError(f"The {split_name} split must be an mt.Split(x, y), got "
                                f"{type(split).__name__}.")
            self._name_targets(split_name, split)
        self.train, self.val, self.test = train, val, test
        self.info = info or {}
        for split_name in ("train", "val", "test"):
            if getattr(self, split_name) is not None:
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
        if getattr(self, name) is None:
            raise ValueError(f"These data have no {name} split (it was None); evaluate "
                             "another split, or hold one out of the training data with "
                             "train.holdout(0.2).")
        return getattr(self, name)

    def subset(self, names) -> "MultiTaskData":
        """The same examples with only the tasks `names`, in that order."""
        unknown = [n for n in names if n not in self.names]
        if unknown or not names:
            raise ValueError(f"Unknown task(s) {unknown or names}; the tasks are {self.names}.")
        index = [self.names.index(n) for n in names]

        def part(split):
            if split is None:
                return None
            x = split.x[index] if split.per_task else split.x
            return Split(x, {n: split.y[n] for n in names}, split.per_task)

        return MultiTaskData([self.tasks[i] for i in index], part(self.train), part(self.val),
                             part(self.test), self.info, self.missing_labels)

    def to(self, device) -> "MultiTaskData":
        return MultiTaskData(self.tasks, *(s if s is None else s.to(device)
                                           for s in (self.train, self.val, self.test)),
                             self.info, self.missing_labels)

    def __repr__(self) -> str:
        kind = "shared" if self.train.shared_inputs else "per-task"
        return (f"MultiTaskData({len(self.tasks)} tasks, {self.n_features} features, {kind} "
                "inputs, n = " + " / ".join("none" if s is None else str(s.n)
                                            for s in (self.train, self.val, self.test)) + ")")

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
            if self.missing_labels:
                y = self._check_labelled(where, task, y, split_name)
            else:
                _check_finite(y, f"{where}, task {task.name!r}: targets",
                              "; if NaN marks an example without a label for this task, pass "
                              "missing_labels=True")
            if task.kind == "binary" and not ((y == 0) | (y == 1)).all():
                raise ValueError(f"{where}, task {task.name!r}: binary targets must be 0 or 1.")

    @staticmethod
    def _check_labelled(where, task, y, split_name):
        """With missing labels: no infinities, and some labels for every task in training.
        Returns the labelled targets."""
        if torch.isinf(y).any():
            raise ValueError(f"{where}, task {task.name!r}: targets contain infinite values; "
                             "remove them (NaN marks a missing label).")
        known = y[~torch.isnan(y)]
        if split_name == "train" and len(known) == 0:
            raise ValueError(f"{where}, task {task.name!r} has no labelled example: every "
                             "task needs at least one for training; drop the task.")
        return known
