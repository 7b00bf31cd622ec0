"""The pieces `fit` and `fit_replicas` are built from, so that each loop reads as a lesson.

Everything here works on a stack of R replicas (R = 1 for `fit`): an epoch's losses are
(replicas, tasks), early stopping keeps one best epoch per replica. Each speed trick is
one named helper with the reason it exists.
"""
import contextlib
import math
import warnings

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm


def parameter_groups(model: nn.Module, weighting, lr: float, device) -> list:
    """The optimiser's parameter groups, on `device`: the model's own
    (`model.optimizer_groups(lr)`, e.g. cross-stitch units with their own rate) or all its
    parameters, plus the parameters of a learned weighting, without weight decay and at
    its own rate if it has one."""
    model.to(device)
    if isinstance(weighting, nn.Module):
        weighting.to(device)
    groups = (model.optimizer_groups(lr) if hasattr(model, "optimizer_groups")
              else [{"params": list(model.parameters())}])
    if isinstance(weighting, nn.Module):
        groups.append({"params": list(weighting.parameters()), "weight_decay": 0.0,
                       "lr": getattr(weighting, "lr", None) or lr})
    return groups


def adam(groups: list, lr: float, weight_decay: float, device) -> torch.optim.Adam:
    """Adam, fused where PyTorch has it: one kernel updates every tensor, several times
    faster than the default for a model's many small tensors, and the same bits on every
    x86-64 CPU (the default takes its square root from a vendor-specific library)."""
    fused = torch.device(device).type in ("cpu", "cuda")
    return torch.optim.Adam(groups, lr=lr, weight_decay=weight_decay, fused=fused)


def drop_gradients(optimizer: torch.optim.Optimizer) -> None:
    """`optimizer.zero_grad()` without its per-call machinery (a profiler hook and a walk
    over the groups' options): setting `.grad = None` is all it does by default."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            p.grad = None


def mode_switch(model: nn.Module):
    """A function that puts `model` in training (True) or evaluation (False) mode.

    Exactly `model.train(mode)`, but where no module overrides `train`, it sets the flag on
    a list of the modules made once: twice an epoch, walking the tree costs as much as a
    small model's validation pass.
    """
    modules = list(model.modules())
    if any(type(m).train is not nn.Module.train for m in modules):
        return model.train

    def set_mode(training):
        for m in modules:  # a plain flag: nn.Module.__setattr__'s checks are not needed
            object.__setattr__(m, "training", training)
    return set_mode


def epoch_bar(epochs: int, progress: bool):
    """The epochs 1 .. epochs, with a progress bar unless `progress` is False."""
    return tqdm(range(1, epochs + 1), desc="fit", disable=not progress, leave=False)


class EpochLosses:
    """The epoch's mean loss per task, weighted by minibatch size. The minibatches' losses
    stay on the device until the epoch ends: reading each one would wait for the device."""

    def __init__(self):
        self.losses, self.sizes = [], []

    def add(self, losses: torch.Tensor, n: int) -> None:
        self.losses.append(losses.detach())
        self.sizes.append(n)

    def mean(self) -> torch.Tensor:
        stacked = torch.stack(self.losses)  # (batches, ...)
        sizes = torch.tensor(self.sizes, dtype=stacked.dtype, device=stacked.device)
        return (sizes @ stacked.flatten(1)).view(stacked.shape[1:]) / sum(self.sizes)


class History:
    """One row per epoch and replica: epoch, train_loss and, with a validation split,
    val_loss and val_loss[<task>] (losses summed over tasks, without weights or penalty).
    `add` reads the epoch's losses from the device once, checks them for divergence, and
    returns each replica's per-task training losses and its monitored validation loss."""

    def __init__(self, names, monitor=None, replicas=1, lr=None, bar=None):
        """monitor: as `fit`'s (None, a task's name or a {task: weight} dict), or a list
        with one per replica."""
        self.names, self.lr, self.bar = list(names), lr, bar
        self.monitors = monitor if isinstance(monitor, list) else [monitor] * replicas
        self.rows = [[] for _ in range(replicas)]

    def add(self, epoch, train: torch.Tensor, val=None, active=None):
        replicas, tasks = len(self.rows), len(self.names)
        parts = [train.reshape(replicas, tasks)]
        if val is not None:
            parts.append(val.reshape(replicas, tasks))
        values = torch.cat(parts, dim=1).tolist()  # the epoch's one read from the device
        trains, monitored = [], []
        for r, v in enumerate(values):
            train_r, val_r = v[:tasks], v[tasks:]
            trains.append(train_r)
            monitored.append(self._monitored(val_r, self.monitors[r]))
            if active is not None and not active[r]:
                continue  # this replica has stopped: it keeps no more rows
            self._check_diverged(epoch, train_r, r)
            row = {"epoch": epoch, "train_loss": sum(train_r)}
            if val_r:
                row.update({"val_loss": sum(val_r),
                            **{f"val_loss[{n}]": x for n, x in zip(self.names, val_r)}})
            self.rows[r].append(row)
        if self.bar is not None and replicas == 1 and self.rows[0]:
            last = self.rows[0][-1]
            self.bar.set_postfix(train=f"{last['train_loss']:.3g}",
                                 val=f"{last.get('val_loss', math.nan):.3g}")
        return trains, monitored

    def _monitored(self, val: list, monitor) -> float:
        """The validation loss that early stopping follows: the sum over tasks, one
        task's (`monitor` a name) or a weighted sum (`monitor` a {task: weight} dict)."""
        if monitor is None or not val:
            return sum(val)
        if isinstance(monitor, dict):
            return sum(monitor[n] * v for n, v in zip(self.names, val))
        return val[self.names.index(monitor)]

    def _check_diverged(self, epoch, losses, replica):
        for name, value in zip(self.names, losses):
            if not math.isfinite(value):
                where = f" (replica {replica})" if len(self.rows) > 1 else ""
                raise FloatingPointError(
                    f"Training diverged at epoch {epoch}{where}: the loss of task {name!r} "
                    f"is {value}. Try a lower learning rate (now {self.lr}), or check the "
                    "data's scale.")

    def tables(self, stopping) -> list:
        """Each replica's history as a DataFrame; `attrs` holds its `best_epoch` and
        `stopped_early` (False when the epoch cap ended training)."""
        tables = []
        for r, rows in enumerate(self.rows):
            table = pd.DataFrame(rows)
            table.attrs["best_epoch"] = int(stopping.best_epoch[r])
            table.attrs["stopped_early"] = bool(stopping.stopped[r])
            tables.append(table)
        return tables


class EarlyStopping:
    """For each replica, the epoch with the lowest monitored validation loss and a copy of
    its weights; a replica stops when `patience` epochs pass without a new best.

    `state` maps names to the live tensors (parameters and buffers) with the replicas on
    their first axis; `for_model` views a single model's state that way (one replica).
    A replica that stops keeps its weights of that moment (or its best, with
    `restore_best`) in the snapshot, whatever the others' training does to the live ones.
    """

    def __init__(self, state: dict, patience=None, restore_best=True):
        self.state, self.patience, self.restore_best = state, patience, restore_best
        replicas = next(iter(state.values())).shape[0]
        device = next(iter(state.values())).device
        self.best_value = [math.inf] * replicas
        self.best_epoch = [0] * replicas
        self.stopped = [False] * replicas
        self.active = torch.ones(replicas, dtype=torch.bool, device=device)
        self.snapshot = None  # made at the first copy: no copy when there is no val split

    @classmethod
    def for_model(cls, model: nn.Module, patience=None, restore_best=True):
        view = {k: v.unsqueeze(0) for k, v in model.state_dict().items()}  # share memory
        return cls(view, patience, restore_best)

    def _keep(self, replicas: list) -> None:
        """Copy the live weights of these replicas into the snapshot."""
        if self.snapshot is None:
            self.snapshot = {k: v.clone() for k, v in self.state.items()}
            if len(replicas) == len(self.best_value):
                return
        if len(replicas) == len(self.best_value):  # all of them: a plain copy is faster
            for k, v in self.state.items():
                self.snapshot[k].copy_(v)
            return
        index = torch.tensor(replicas, device=self.active.device)
        for k, v in self.state.items():
            self.snapshot[k].index_copy_(0, index, v.index_select(0, index))

    def update(self, epoch: int, values: list) -> bool:
        """Record the epoch's monitored validation losses; True when every replica has
        stopped."""
        improved, stopping = [], []
        for r, value in enumerate(values):
            if self.stopped[r]:
                continue
            if value < self.best_value[r]:
                self.best_value[r], self.best_epoch[r] = value, epoch
                improved.append(r)
            elif self.patience is not None and epoch - self.best_epoch[r] >= self.patience:
                self.stopped[r] = True
                stopping.append(r)
        if improved and self.restore_best:
            self._keep(improved)
        if stopping:
            self.active[stopping] = False
            if not self.restore_best:
                self._keep(stopping)
        return all(self.stopped)

    def restore(self) -> None:
        """Give each replica its kept weights: its best epoch's (with `restore_best`), or
        those of the epoch it stopped at; a replica that ran every epoch without
        `restore_best` keeps its last."""
        if self.snapshot is None:
            return
        kept = [r for r in range(len(self.stopped))
                if (self.best_epoch[r] > 0 if self.restore_best else self.stopped[r])]
        if kept:
            index = torch.tensor(kept, device=self.active.device)
            with torch.no_grad():
                for k, v in self.state.items():
                    v.index_copy_(0, index, self.snapshot[k].index_select(0, index))


@contextlib.contextmanager
def clear_errors(names: list, history: History):
    """Turn what goes wrong inside a training loop into messages a reader can act on: a
    model that forgets a task, or Ctrl-C (which keeps the weights trained so far)."""
    try:
        yield
    except KeyError as missing:
        if missing.args and missing.args[0] in names:
            raise ValueError(f"The model's output has no prediction for task "
                             f"{missing.args[0]!r}: its forward must return {{task name: "
                             f"prediction}} for every task in model.tasks.") from None
        raise
    except KeyboardInterrupt:
        epochs = max(len(rows) for rows in history.rows)
        warnings.warn(f"Training interrupted after {epochs} epoch(s); returning the model "
                      "with the best validation loss so far and its history.", stacklevel=3)
