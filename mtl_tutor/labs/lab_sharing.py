"""Checks for Lab 1 (hard and soft sharing): the multi-task loss; the network with one head
per task is checked in lab_sharing_heads, the soft-sharing penalty in lab_sharing_penalty."""
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
        hint = _no_gradient_to(value, preds) or _other_tasks_mistake(fn)
        if hint:
            return _report(False, hint)
        return _report(True, "the total loss is the sum of the tasks' losses, whatever their "
                             "number and order.")
    if torch.isclose(value, torch.logsumexp(losses, 0)):
        return _report(False, "you combined the losses with logsumexp, a soft maximum: it "
                              "follows the largest task's loss and gives the others almost "
                              "no gradient. Add the losses up.")
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


def _no_gradient_to(value, preds):
    """A hint when some task's prediction gets no gradient from `value`, else None."""
    names = list(preds)
    grads = torch.autograd.grad(value, [preds[n] for n in names], allow_unused=True,
                                retain_graph=True)
    cut = [n for n, g in zip(names, grads) if g is None or not g.any()]
    if cut:
        return (f"the value is right, but no gradient reaches the predictions of task(s) "
                f"{cut} (a .detach(), .item() or torch.no_grad() on them): training would "
                "ignore those tasks.")
    return None


def _other_tasks_mistake(fn):
    """Five tasks, listed in another order than the dicts' keys: a hint when the student's
    loss is wrong there (tasks hard-coded, matched by position), else None."""
    g = torch.Generator().manual_seed(1)
    tasks = [Task("e"), Task("b", "binary"), Task("d"), Task("a"), Task("c", "binary")]
    names = sorted(t.name for t in tasks)  # the dicts' order differs from the tasks' order
    kinds = {t.name: t.kind for t in tasks}
    preds = {n: torch.randn(6, generator=g).requires_grad_() for n in names}
    targets = {n: (torch.rand(6, generator=g) > 0.5).float() if kinds[n] == "binary"
               else 3 * torch.randn(6, generator=g) for n in names}
    ok, value = _call(fn, tasks, preds, targets)
    if not ok:
        return f"with five tasks in another order: {value}"
    losses = [task_loss(t, preds[t.name], targets[t.name]).detach() for t in tasks]
    if isinstance(value, torch.Tensor) and value.numel() == 1 and \
            torch.isclose(value.detach().float(), sum(losses)):
        return _no_gradient_to(value, preds) if value.requires_grad else None
    wrong = value.detach().float() if isinstance(value, torch.Tensor) else None
    try:
        by_position = sum(task_loss(t, preds[n], targets[n]).detach()
                          for t, n in zip(tasks, names))
    except (RuntimeError, ValueError):
        by_position = torch.tensor(float("nan"))
    if wrong is not None and wrong.numel() == 1 and torch.isclose(wrong, by_position):
        return ("right for the three tasks a, b, c, wrong when the tasks are listed in "
                "another order than the dicts: you match predictions to tasks by position "
                "(zip over .values()). Look each task's predictions up by its name, "
                "preds[task.name].")
    if wrong is not None and wrong.numel() == 1 and any(
            torch.isclose(wrong, sum(losses[:k])) for k in (1, 2, 3)):
        return ("right for three tasks, wrong for five: your loss has the number of tasks "
                "written in. Loop over `tasks` (the lab has eight).")
    return ("right for the three tasks a, b, c, but wrong for five tasks listed in another "
            "order: loop over `tasks` and look each one's predictions and targets up by "
            "its name.")


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
