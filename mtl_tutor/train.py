"""Training and evaluation for any model that maps inputs to {task name: prediction}.

`fit` is the whole loop, readable top to bottom: shuffle, take a minibatch, forward,
one loss per task, combine them (the weighting hook), add a penalty (the soft-sharing
hook), backward, step; at each epoch's end, validate and keep the best weights. Its
pieces (the optimiser, early stopping, the history) live in `loop_parts`, where
`fit_replicas` finds them too.
"""
import math

import pandas as pd
import torch
from torch import nn

from .data import Stacked
from .loop_parts import (
    EarlyStopping,
    EpochLosses,
    History,
    adam,
    clear_errors,
    drop_gradients,
    epoch_bar,
    mode_switch,
    parameter_groups,
)
from .losses import equal_weights, labelled_only, losses_function, task_error, task_loss
from .runtime import get_device


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


def check_fit(model, data, weighting, penalty, lr, epochs, batch_size, patience, monitor):
    """Fail early, and clearly, on arguments `fit` cannot use."""
    check_tasks(model, data)
    if not callable(weighting):
        raise TypeError(f"weighting must be a function that combines the dict of per-task "
                        f"losses into one number (e.g. mt.FixedWeights), got {weighting!r}.")
    if penalty is not None and not callable(penalty):
        raise TypeError(f"penalty must be a function of no arguments (e.g. from "
                        f"mt.sharing_penalty), got {penalty!r}.")
    if not lr > 0:
        raise ValueError(f"The learning rate must be positive, got lr={lr}.")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be at least 1, got {epochs} and "
                         f"{batch_size}.")
    if isinstance(monitor, dict):
        if sorted(monitor) != sorted(data.names) or not all(
                isinstance(v, (int, float)) and v > 0 for v in monitor.values()):
            raise ValueError(f"A monitor dict gives every task {data.names} a positive "
                             f"weight (e.g. one over its loss scale), got {monitor!r}.")
    elif monitor is not None and monitor not in data.names:
        raise ValueError(f"monitor must name one of the tasks {data.names}, or weigh them "
                         f"all ({{task: weight}}), got {monitor!r}.")
    if data.val is None and (patience is not None or monitor is not None):
        raise ValueError("patience and monitor use the validation loss, but the data have "
                         "no val split; drop them, or make one with "
                         "mt.from_frame(..., val=0.2) or train.holdout(0.2).")


def fit(model: nn.Module, data, *, epochs: int = 100, lr: float = 1e-2, batch_size: int = 32,
        weight_decay: float = 0.0, weighting=equal_weights, penalty=None,
        patience: int | None = None, restore_best: bool = True, monitor=None,
        progress: bool = True, device=None) -> pd.DataFrame:
    """Train `model` on `data.train` with Adam; return the history, one row per epoch.

    - weighting: combines the per-task losses into one number (default: their sum); see
      `mtl_tutor.weighting` for learned and adaptive strategies and their hooks.
    - penalty: a function of no arguments whose value is added to the loss (e.g. a
      soft-sharing term from `sharing_penalty`).
    - patience: stop when the validation loss has not improved for this many epochs.
    - restore_best: end with the weights of the epoch with the lowest validation loss
      (without a val split, `data.val is None`: train every epoch and keep the last).
    - monitor: the task whose validation loss decides early stopping and the restored
      epoch (default: the sum over tasks), e.g. the main task when the others only help;
      or a dict {task: weight}, the weighted sum, e.g. each task's loss over its scale so
      that no task's units decide when training stops; or a function data -> such a
      dict (`fit_replicas` calls it on each replica's data).

    The history has columns epoch, train_loss, val_loss and val_loss[<task>] (losses summed
    over tasks, without weights or penalty); `history.attrs` holds `best_epoch` and
    `stopped_early`. `fit_replicas` trains many models this way at once.
    """
    monitor = monitor(data) if callable(monitor) else monitor
    check_fit(model, data, weighting, penalty, lr, epochs, batch_size, patience, monitor)
    device = device or get_device()
    train = data.train.to(device)
    val = None if data.val is None else data.val.to(device)
    val_y = None if val is None else val.stacked_y()
    optimizer = adam(parameter_groups(model, weighting, lr, device), lr, weight_decay, device)
    losses_of = losses_function(data.tasks, data.missing_labels)
    names, set_mode = data.names, mode_switch(model)
    bar = epoch_bar(epochs, progress)
    history = History(names, monitor, lr=lr, bar=bar)
    stopping = EarlyStopping.for_model(model, patience, restore_best)
    with clear_errors(names, history):  # Ctrl-C stops, keeping the best weights so far
        for epoch in bar:
            set_mode(True)
            epoch_losses = EpochLosses()
            for batch in train.batches(batch_size):
                losses = losses_of(model(batch.x), batch.y)  # forward: one loss per task
                drop_gradients(optimizer)  # optimizer.zero_grad(), faster
                if hasattr(weighting, "backward"):  # it shapes the gradients itself
                    weighting.backward(Stacked(names, losses))
                    if penalty is not None:
                        penalty().backward()
                else:
                    loss = weighting(Stacked(names, losses))  # one number to minimise
                    if penalty is not None:
                        loss = loss + penalty()  # e.g. soft sharing's pull between tasks
                    loss.backward()  # the gradient of every weight
                optimizer.step()  # Adam's update
                epoch_losses.add(losses, batch.n)
            set_mode(False)
            with torch.no_grad():
                val_losses = None if val is None else losses_of(model(val.x), val_y)
            train_losses, monitored = history.add(epoch, epoch_losses.mean(), val_losses)
            if hasattr(weighting, "epoch_end"):  # weightings that follow the loss curves
                weighting.epoch_end(train_losses[0])
            if val is not None and stopping.update(epoch, monitored):
                break
    stopping.restore()
    return history.tables(stopping)[0]


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
