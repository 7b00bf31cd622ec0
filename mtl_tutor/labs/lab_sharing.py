"""Checks for Lab 1 (hard and soft sharing): the multi-task loss and the pairwise
soft-sharing penalty; the network with one head per task is checked in lab_sharing_heads."""
import itertools

import torch

from ..data import Task
from ..losses import task_loss
from .verdict import (
    Verdict,
    _borrowed,
    _call,
    _do_it_yourself,
    _not_a_loss,
    _report,
    _safe,
)


@_safe
def check_total_loss(fn) -> Verdict:
    """Exercise: `fn(tasks, preds, targets)` returns the multi-task loss, the sum over tasks
    of each task's loss (mean over its examples), as one scalar tensor."""
    from ..losses import losses_function, task_losses

    borrowed = _borrowed(fn, [task_losses, losses_function])
    if borrowed:
        return _do_it_yourself(borrowed)

    g = torch.Generator().manual_seed(0)
    tasks = [Task("a"), Task("b", "binary"), Task("c")]
    preds = {t.name: torch.randn(8, generator=g).requires_grad_() for t in tasks}
    targets = {"a": torch.randn(8, generator=g), "b": (torch.rand(8, generator=g) > 0.5).float(),
               "c": 10 * torch.randn(8, generator=g)}
    kept = {n: (preds[n].detach().clone(), targets[n].clone()) for n in preds}
    ok, value = _call(fn, tasks, preds, targets, watch=[task_losses, losses_function])
    if not ok:
        return _report(False, value)
    if any(not (torch.equal(preds[n].detach(), p) and torch.equal(targets[n], y))
           for n, (p, y) in kept.items()):
        return _report(False, "your function changed the predictions or targets in place: "
                              "compute the loss from them without modifying them.")
    hint = _not_a_loss(value, "loss")
    if hint:
        return _report(False, hint)
    losses = torch.stack([task_loss(t, preds[t.name], targets[t.name]) for t in tasks]).detach()
    if torch.isclose(value, losses.sum()):
        if not value.requires_grad:
            return _report(False, "the value is right but carries no gradient: compute it "
                                  "with torch operations on the predictions (no .item(), no "
                                  ".detach()), or training cannot use it.")
        return _report(True, "the total loss is the sum of the three tasks' losses.")
    if torch.isclose(value, losses.mean()):
        return _report(False, "your loss is the *mean* over tasks; this exercise asks for the "
                              "sum over tasks, the loss mt.fit minimises (dividing by the "
                              "number of tasks weakens the loss against weight decay and any "
                              "penalty added to it; with plain SGD it also shrinks each step).")
    if any(torch.isclose(value, v) for v in losses):
        return _report(False, "your loss equals one task's loss: the loss must be summed over "
                              "all tasks, or the other tasks get no gradient.")
    mse_all = sum(((preds[n] - targets[n]) ** 2).mean() for n in preds)
    if torch.isclose(value, mse_all):
        return _report(False, "task 'b' is binary: use the loss that suits each task's kind "
                              "(logistic loss on logits), not squared error for every task.")
    hint = _total_loss_mistake(value, tasks, preds, targets, losses)
    return _report(False, hint or "the value does not match the sum of the per-task losses. "
                          "Compute each task's loss with the loss for its kind, then add them.")


@torch.no_grad()
def _total_loss_mistake(value, tasks, preds, targets, losses):
    """A hint for a total loss that matches a known mistake, or None."""
    if torch.isclose(value, -losses.sum()):
        return "your loss has the wrong sign: minimising it would make the predictions worse."
    if torch.isclose(value, 8 * losses.sum()):
        return ("each task's loss must be the mean over its examples, not the sum (the loss "
                "would grow with the number of examples).")
    names = [t.name for t in tasks]
    for weights in itertools.product((0, 1, 2), repeat=len(tasks)):
        if torch.isclose(value, (torch.tensor(weights, dtype=losses.dtype) * losses).sum()):
            if 0 in weights:
                left_out = [n for n, w in zip(names, weights) if w == 0]
                return f"your loss leaves out task(s) {left_out}: it must include every task."
            if 2 in weights:
                return "your loss counts a task twice: add each task once."
    for i, t in enumerate(tasks):
        alternatives = [targets[u] for u in names if u != t.name]
        if t.kind == "binary":
            alternatives.append(None)  # logistic loss on sigmoid(logits): squashed twice
        for y in alternatives:
            p = torch.sigmoid(preds[t.name]) if y is None else preds[t.name]
            try:
                wrong = task_loss(t, p, targets[t.name] if y is None else y)
            except Exception:
                continue
            if torch.isclose(value, losses.sum() - losses[i] + wrong):
                if y is None:
                    return (f"task {t.name!r}: the logistic loss takes the logits themselves; "
                            "you applied a sigmoid first.")
                return f"task {t.name!r}: compare its predictions with its own targets."
    return None


@_safe
def check_pairwise_penalty(fn) -> Verdict:
    """Exercise: `fn(layers)` returns the soft-sharing penalty of the task-specific hidden
    layers `layers` (e.g. `model.branches` of `mt.single_task_nets`): the sum over pairs of
    tasks s < t of ||W_s - W_t||^2, over every task-stacked *weight* (never the biases)."""
    from ..models import single_task_nets
    from ..penalties import pairwise_l2, sharing_penalty, stacked_weights

    borrowed = _borrowed(fn, [pairwise_l2, sharing_penalty])
    if borrowed:
        return _do_it_yourself(borrowed)

    torch.manual_seed(0)
    layers = single_task_nets(4, (5, 6), [Task(n) for n in "abcd"]).branches
    ok, value = _call(fn, layers, watch=[pairwise_l2, sharing_penalty])
    if not ok:
        return _report(False, value)
    if isinstance(value, (int, float, torch.Tensor)) and not isinstance(value, bool) and \
            (value.numel() == 1 if isinstance(value, torch.Tensor) else True) and \
            float(value.detach() if isinstance(value, torch.Tensor) else value) == 0.0:
        return _report(False, "your penalty is 0 for task-stacked layers whose tasks' weights "
                              "differ: it found no layers to penalise. Loop over "
                              "`layers.modules()` and keep those with "
                              "`isinstance(layer, mt.TaskLinear)` (not nn.Linear).")
    hint = _not_a_loss(value, "penalty")
    if hint:
        return _report(False, hint)
    weights = stacked_weights(layers)
    expected = sum(pairwise_l2(w) for w in weights)
    if torch.isclose(value, expected):
        if not value.requires_grad:
            return _report(False, "the value is right but carries no gradient: compute it "
                                  "with torch operations on the weights (no .item(), no "
                                  ".detach()), or training cannot use it.")
        with torch.no_grad():
            for layer in layers.modules():
                if getattr(layer, "bias", None) is not None:
                    layer.bias.add_(1.0)
        _, moved = _call(fn, layers)
        if isinstance(moved, torch.Tensor) and not torch.isclose(moved, expected):
            return _report(False, "your penalty changes when only the biases change: "
                                  "apply it to the weights, not the biases.")
        return _report(True, "the penalty sums ||W_s - W_t||^2 over pairs of tasks and layers.")
    with_bias = expected + sum(
        pairwise_l2(layer.bias[..., None]) for layer in layers.modules()
        if hasattr(layer, "n_tasks") and getattr(layer, "bias", None) is not None)
    if torch.isclose(value, with_bias):
        return _report(False, "your penalty includes the biases: apply it to the weights only "
                              "(biases set each task's offset, which need not be shared).")
    if torch.isclose(value, 2 * expected):
        return _report(False, "you count every pair twice (s, t and t, s): sum over s < t.")
    if torch.isclose(value * value, expected) or torch.isclose(value, expected.sqrt()):
        return _report(False, "use the *squared* distance ||W_s - W_t||^2, not the distance.")
    if any(torch.isclose(value, pairwise_l2(w)) for w in weights):
        return _report(False, "your penalty covers one layer only: add it up over every "
                              "task-stacked layer in `layers`.")
    n_pairs = [w.shape[0] * (w.shape[0] - 1) / 2 for w in weights]
    for wrong, hint in [
            (expected / 2, "your penalty is half the expected one: sum over the pairs s < t "
                           "the full ||W_s - W_t||^2, with no factor 1/2."),
            (sum(pairwise_l2(w) / n for w, n in zip(weights, n_pairs)),
             "you take the mean over the pairs of tasks; the penalty is their sum."),
            (sum((w - w.mean(0)).pow(2).sum() for w in weights),
             "you measure each task's distance to the mean weight; the penalty sums "
             "||W_s - W_t||^2 over every pair of tasks s < t."),
            (sum(w.pow(2).sum() for w in weights),
             "you penalise the weights themselves (weight decay); penalise the differences "
             "between the tasks' weights, W_s - W_t.")]:
        if torch.isclose(value, wrong):
            return _report(False, hint)
    return _report(False, "the value does not match. Take each task-stacked weight "
                          "(tasks, in, out), and for every pair of tasks add the squared "
                          "distance between their slices.")
