"""One split of a multi-task dataset (train, validation or test) and its minibatches.

A `Split` holds inputs x, shared by every task (n, features) or one set per task
(tasks, n, features), and targets {task name: tensor with n rows}. `Stacked` keeps the
tasks' targets or predictions as one tensor with the tasks on its last axis.
"""
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch


def _check_finite(t: torch.Tensor, what: str, hint: str = "") -> None:
    if t.is_floating_point() and not torch.isfinite(t).all():
        bad = int((~torch.isfinite(t)).sum())
        raise ValueError(f"{what} contains {bad} NaN or infinite value(s); "
                         f"remove or impute them before training{hint}.")


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

        In memory, no DataLoader: the examples are shuffled once per epoch (one gather of
        the inputs, one of the targets when they stack into one tensor) and each minibatch
        is a slice of the shuffled copy, a view that costs no copy.
        """
        order = torch.randperm(self.n, device=self.x.device)
        xs = self._rows(order).split(batch_size, dim=1 if self.per_task else 0)
        y = self.stacked_y()
        if isinstance(y, Stacked):
            ys = [Stacked(y.names, part) for part in y.stacked[order].split(batch_size)]
        else:
            columns = {name: t[order].split(batch_size) for name, t in y.items()}
            ys = [dict(zip(columns, parts)) for parts in zip(*columns.values())]
        for x, y_batch in zip(xs, ys):
            yield Batch(x, y_batch, x.shape[1] if self.per_task else len(x))

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
