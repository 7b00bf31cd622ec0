"""The tasks' losses and errors: what each task's predictions are scored by.

`losses_function` picks, once, how a minibatch's per-task losses are computed: in one call
on the stacked predictions when the tasks are alike (the common case), else task by task.
Under `torch.func.vmap` the same functions score every replica of a model at once.
"""
import torch
import torch.nn.functional as F

from .split import Stacked


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
