"""Training and evaluation for any model that maps inputs to {task name: prediction}.

`fit` is the whole loop, readable top to bottom: shuffle, take a minibatch, forward,
one loss per task, combine them (the weighting hook), add a penalty (the soft-sharing
hook), backward, step; at each epoch's end, validate and keep the best weights.
"""
import math
import warnings

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .data import Stacked
from .runtime import get_device


def task_loss(task, pred, y):
    """The loss that suits the task's kind: squared error, logistic, or cross-entropy."""
    if task.kind == "regression":
        return F.mse_loss(pred, y)
    if task.kind == "binary":
        return F.binary_cross_entropy_with_logits(pred, y)
    return F.cross_entropy(pred, y)


def task_error(task, pred, y):
    """The task's natural error: misclassification rate, or mean squared error."""
    if task.kind == "regression":
        return F.mse_loss(pred, y)
    if task.kind == "binary":
        return ((pred > 0).float() != y).float().mean()
    return (pred.argmax(dim=-1) != y).float().mean()


def task_losses(tasks, preds: dict, targets: dict, missing_labels: bool = False) -> torch.Tensor:
    """The tasks' losses as one vector, in task order."""
    return losses_function(tasks, missing_labels)(preds, targets)


def losses_function(tasks, missing_labels: bool = False):
    """The function (preds, targets) -> the tasks' losses as one vector, chosen once.

    Tasks of one kind with one output each (the common, homogeneous case) are computed in
    one call on the stacked predictions (n, tasks), much faster than one call per task;
    other tasks one by one with `task_loss`. With `missing_labels`, a NaN target is
    skipped: each task's loss is the mean over its labelled examples (0 when it has none).
    """
    tasks = list(tasks)
    kinds = {t.kind for t in tasks}
    if len(kinds) > 1 or any(t.outputs != 1 for t in tasks):
        one = labelled_only(task_loss) if missing_labels else task_loss
        return lambda preds, targets: torch.stack(
            [one(t, preds[t.name], targets[t.name]) for t in tasks])

    def stacked(d):  # (n, tasks)
        return d.stacked if isinstance(d, Stacked) else torch.stack(
            [d[t.name] for t in tasks], dim=-1)

    def elementwise(pred, y):
        if kinds == {"regression"}:
            return (pred - y).pow(2)
        return F.binary_cross_entropy_with_logits(pred, y, reduction="none")

    if not missing_labels:
        return lambda preds, targets: elementwise(stacked(preds), stacked(targets)).mean(dim=0)

    def masked(preds, targets):
        y = stacked(targets)
        known = ~torch.isnan(y)
        per_example = elementwise(stacked(preds), torch.where(known, y, 0.0)) * known
        return per_example.sum(dim=0) / known.sum(dim=0).clamp(min=1)
    return masked


def labelled_only(measure, when_empty=None):
    """`measure(task, pred, y)` on the examples whose target is not NaN; with none, 0 (in
    training: nothing to learn from this batch) or `when_empty`."""
    def measure_labelled(task, pred, y):
        if not y.is_floating_point():
            return measure(task, pred, y)
        known = ~torch.isnan(y)
        if known.dim() > 1:  # several outputs: an example is labelled if all of them are
            known = known.all(dim=-1)
        if not known.any():
            return pred.sum() * 0.0 if when_empty is None else torch.tensor(when_empty)
        return measure(task, pred[known], y[known])
    return measure_labelled


def equal_weights(losses: dict) -> torch.Tensor:
    """The default weighting: the plain sum of the tasks' losses."""
    if isinstance(losses, Stacked):
        return losses.stacked.sum()
    return torch.stack(list(losses.values())).sum()


def check_tasks(model, data) -> None:
    """Fail early, and clearly, when a model and a dataset disagree on the tasks."""
    model_tasks = getattr(model, "tasks", None)
    if model_tasks is None:
        raise TypeError("The model needs a `tasks` attribute (its list of Task) so that "
                        "mtl_tutor can match its outputs to the data's targets.")
    model_names = [t.name for t in model_tasks]
    if model_names != data.names:
        hint = ("the same tasks in another order; build the model with data.tasks"
                if sorted(model_names) == sorted(data.names) else
                f"unknown to the data: {sorted(set(model_names) - set(data.names))}; "
                f"missing from the model: {sorted(set(data.names) - set(model_names))}")
        raise ValueError(f"The model's tasks {model_names} do not match the data's tasks "
                         f"{data.names}: {hint}.")


def fit(model: nn.Module, data, *, epochs: int = 100, lr: float = 1e-2, batch_size: int = 32,
        weight_decay: float = 0.0, weighting=equal_weights, penalty=None,
        patience: int | None = None, restore_best: bool = True, monitor: str | None = None,
        progress: bool = True, device=None) -> pd.DataFrame:
    """Train `model` on `data.train` with Adam; return the history, one row per epoch.

    - weighting: combines the dict of per-task losses into one number (default: their sum);
      see `mtl_tutor.weighting` for learned and adaptive strategies and their hooks.
    - penalty: optional function of no arguments whose value is added to the loss (e.g. a
      soft-sharing term from `sharing_penalty`).
    - patience: stop when the validation loss has not improved for this many epochs.
    - restore_best: end with the weights of the epoch with the lowest validation loss.
      Data without a val split (`data.val is None`) train for all epochs and keep the last.
    - monitor: the task whose validation loss decides early stopping and the restored
      epoch (default: the sum over tasks), e.g. the main task when the others only help.

    The history has columns epoch, train_loss, val_loss and val_loss[<task>] for each task
    (losses are summed over tasks, without weights or penalty); `history.attrs` holds
    `best_epoch` and `stopped_early` (False when the epoch cap ended training).
    """
    check_tasks(model, data)
    if not callable(weighting):
        raise TypeError(f"weighting must be a function that combines the dict of per-task "
                        f"losses into one number (e.g. mt.equal_weights), got {weighting!r}.")
    if penalty is not None and not callable(penalty):
        raise TypeError(f"penalty must be a function of no arguments (e.g. from "
                        f"mt.sharing_penalty), got {penalty!r}.")
    if not lr > 0:
        raise ValueError(f"The learning rate must be positive, got lr={lr}.")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be at least 1, got {epochs} and "
                         f"{batch_size}.")
    if monitor is not None and monitor not in data.names:
        raise ValueError(f"monitor must name one of the tasks {data.names}, got {monitor!r}.")
    watched = "val_loss" if monitor is None else f"val_loss[{monitor}]"
    device = device or get_device()
    model.to(device)
    train = data.train.to(device)
    val = None if data.val is None else data.val.to(device)
    if val is None and (patience is not None or monitor is not None):
        raise ValueError("patience and monitor use the validation loss, but the data have "
                         "no val split; drop them, or make one with "
                         "mt.from_frame(..., val=0.2) or train.holdout(0.2).")
    # a model may ask for parameter groups, e.g. cross-stitch units with their own rate
    groups = (model.optimizer_groups(lr) if hasattr(model, "optimizer_groups")
              else [{"params": list(model.parameters())}])
    if isinstance(weighting, nn.Module):  # a weighting with parameters of its own: no
        weighting.to(device)              # weight decay, and its own learning rate if set
        groups.append({"params": list(weighting.parameters()), "weight_decay": 0.0,
                       "lr": getattr(weighting, "lr", None) or lr})
    # The fused implementation does the whole update in one kernel: several times faster
    # than the default for the many small tensors of a multi-task model.
    fused = device.type in ("cpu", "cuda")
    optimizer = torch.optim.Adam(groups, lr=lr, weight_decay=weight_decay, fused=fused)
    params = [p for group in optimizer.param_groups for p in group["params"]]

    names, losses_of = data.names, losses_function(data.tasks, data.missing_labels)
    val_y = None if val is None else val.stacked_y()
    set_mode = mode_switch(model)
    shapes_gradients = hasattr(weighting, "backward")  # it runs the backward pass itself
    columns = [f"val_loss[{name}]" for name in names]
    live = model.state_dict()  # tensors that share memory with the parameters and buffers
    rows, best_loss, best_state, best_epoch, stopped_early = [], float("inf"), None, 0, False
    bar = tqdm(range(1, epochs + 1), desc="fit", disable=not progress, leave=False)
    try:
        for epoch in bar:
            set_mode(True)
            batch_losses, batch_sizes = [], []
            for batch in train.batches(batch_size):
                losses = losses_of(model(batch.x), batch.y)
                for p in params:  # optimizer.zero_grad(), without its per-call machinery
                    p.grad = None
                if shapes_gradients:
                    weighting.backward(Stacked(names, losses))
                    if penalty is not None:
                        penalty().backward()
                else:
                    loss = weighting(Stacked(names, losses))
                    if penalty is not None:
                        loss = loss + penalty()
                    loss.backward()
                optimizer.step()
                batch_losses.append(losses.detach())
                batch_sizes.append(batch.n)

            sizes = torch.tensor(batch_sizes, dtype=batch_losses[0].dtype, device=device)
            parts = [sizes @ torch.stack(batch_losses) / train.n]
            set_mode(False)
            if val is not None:
                with torch.no_grad():
                    parts.append(losses_of(model(val.x), val_y))
            both = torch.cat(parts).tolist()  # the epoch's one read from the device
            train_losses, val_list = both[:len(names)], both[len(names):]
            _check_diverged(epoch, names, train_losses, lr)
            if hasattr(weighting, "epoch_end"):  # weightings that follow the loss curves
                weighting.epoch_end(train_losses)
            row = {"epoch": epoch, "train_loss": sum(train_losses)}
            if val is not None:
                row.update({"val_loss": sum(val_list), **dict(zip(columns, val_list))})
            rows.append(row)
            if progress:
                bar.set_postfix(train=f"{row['train_loss']:.3g}",
                                val=f"{row.get('val_loss', math.nan):.3g}")
            if val is None:  # no validation: train every epoch, keep the last weights
                continue
            if row[watched] < best_loss:
                best_loss, best_epoch = row[watched], epoch
                if best_state is None:
                    best_state = {k: v.clone() for k, v in live.items()}
                else:  # copy into the snapshot: no new tensors each time
                    for k, v in live.items():
                        best_state[k].copy_(v)
            elif patience is not None and epoch - best_epoch >= patience:
                stopped_early = True
                break
    except KeyError as missing:
        if missing.args and missing.args[0] in data.names:
            raise ValueError(f"The model's output has no prediction for task "
                             f"{missing.args[0]!r}: its forward must return {{task name: "
                             f"prediction}} for every task in model.tasks.") from None
        raise
    except KeyboardInterrupt:
        warnings.warn(f"Training interrupted after {len(rows)} epoch(s); returning the model "
                      "with the best validation loss so far and its history.", stacklevel=2)
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    history = pd.DataFrame(rows)
    history.attrs["best_epoch"] = best_epoch
    history.attrs["stopped_early"] = stopped_early
    return history


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


def _check_diverged(epoch, names, losses, lr):
    for name, value in zip(names, losses):
        if not math.isfinite(value):
            raise FloatingPointError(
                f"Training diverged at epoch {epoch}: the loss of task {name!r} is {value}. "
                f"Try a lower learning rate (now {lr}), or check the data's scale.")


@torch.no_grad()
def evaluate(model: nn.Module, data, split: str = "test", device=None) -> pd.DataFrame:
    """Per-task loss and error on one split, as a table indexed by task name.

    error is the misclassification rate for binary and multiclass tasks and the mean
    squared error for regression tasks, in the targets' original units when the data were
    standardised (`data.info["target_scale"]`, set by `mt.from_frame`). With missing labels
    the table has a column n (labelled examples per task; NaN where a task has none).
    """
    check_tasks(model, data)
    device = device or get_device()
    model.to(device).eval()
    part = data.split(split).to(device)
    preds = model(part.x)
    missing = data.missing_labels
    loss, error = ((labelled_only(task_loss, math.nan), labelled_only(task_error, math.nan))
                   if missing else (task_loss, task_error))
    scales = data.info.get("target_scale", {})
    rows = []
    for t in data.tasks:
        p, y = preds[t.name], part.y[t.name]
        unit = scales[t.name][1] ** 2 if t.name in scales and t.kind == "regression" else 1.0
        row = {"task": t.name, "kind": t.kind, "loss": loss(t, p, y).item(),
               "error": error(t, p, y).item() * unit}
        if missing:
            row["n"] = int((~torch.isnan(y)).sum()) if y.is_floating_point() else len(y)
        rows.append(row)
    return pd.DataFrame(rows).set_index("task")
