"""Checks for the lab exercises: call one on your answer and it tells you what is right, or
gives a hint about the most likely mistake. It never shows the solution.

    from mtl_tutor import labs
    labs.check_total_loss(my_total_loss)

Every check prints its verdict and returns a `Verdict`, which is true when the answer passed
(for scripts and autograders; a notebook shows only the printed message).
"""
import functools

import torch

from .data import Task
from .train import task_loss


class Verdict:
    """The result of a check: true when the answer passed."""

    def __init__(self, passed: bool, message: str):
        self.passed, self.message = passed, message

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"Verdict(passed={self.passed})"

    def _ipython_display_(self) -> None:
        pass  # the check has printed its message; showing the Verdict too would repeat it


def _report(ok: bool, message: str) -> Verdict:
    message = ("Correct: " if ok else "Not yet: ") + message
    print(message)
    return Verdict(ok, message)


def _call(fn, *args):
    """Call the student's function; turn an exception into a hint instead of a traceback."""
    try:
        return True, fn(*args)
    except NotImplementedError:
        return False, ("no answer yet: replace the `raise NotImplementedError` line of the "
                       "exercise with your code, run that cell, then run the check again.")
    except Exception as error:  # the student's code failed: say where, not how to fix it
        return False, (f"your function raised {type(error).__name__}: {error}. Run it on the "
                       "example in the exercise and read the message.")


def _is_scalar(value) -> bool:
    return isinstance(value, torch.Tensor) and value.dim() == 0


def _not_a_loss(value, what: str):
    """A hint when `value` cannot be a loss-like number (a 0-d, finite, float tensor)."""
    if isinstance(value, (int, float)):
        return (f"return a torch tensor, not a Python number: without the tensor (e.g. after "
                f".item()) the {what} has no gradient to train with.")
    if not isinstance(value, torch.Tensor):
        return f"return a torch tensor (got {type(value).__name__}), so that backward() can run."
    if not _is_scalar(value):
        return (f"the {what} must be one number (a 0-d tensor), got shape "
                f"{tuple(value.shape)}: add the parts up into one.")
    if not value.is_floating_point():
        return f"the {what} must be a floating-point tensor, got {value.dtype}."
    if not torch.isfinite(value):
        return f"the {what} is {value.item()}: look for a division by zero or a log of 0."
    return None


def _safe(check):
    """Whatever the student's answer is, a check answers with a hint, never a traceback."""
    @functools.wraps(check)
    def wrapped(*args):
        try:
            return check(*args)
        except Exception as error:
            return _report(False, f"your answer could not be compared with the expected one "
                                  f"({type(error).__name__}: {error}). Check its type and "
                                  "shape against the exercise.")
    return wrapped


@_safe
def check_total_loss(fn) -> Verdict:
    """Exercise: `fn(tasks, preds, targets)` returns the multi-task loss, the sum over tasks
    of each task's loss (mean over its examples), as one scalar tensor."""
    g = torch.Generator().manual_seed(0)
    tasks = [Task("a"), Task("b", "binary"), Task("c")]
    preds = {t.name: torch.randn(8, generator=g) for t in tasks}
    targets = {"a": torch.randn(8, generator=g), "b": (torch.rand(8, generator=g) > 0.5).float(),
               "c": 10 * torch.randn(8, generator=g)}
    ok, value = _call(fn, tasks, preds, targets)
    if not ok:
        return _report(False, value)
    hint = _not_a_loss(value, "loss")
    if hint:
        return _report(False, hint)
    losses = torch.stack([task_loss(t, preds[t.name], targets[t.name]) for t in tasks])
    if torch.isclose(value, losses.sum()):
        return _report(True, "the total loss is the sum of the three tasks' losses.")
    if torch.isclose(value, losses.mean()):
        return _report(False, "your loss is the *mean* over tasks; this exercise asks for the "
                              "sum over tasks (it changes the effective learning rate).")
    if any(torch.isclose(value, v) for v in losses):
        return _report(False, "your loss equals one task's loss: the loss must be summed over "
                              "all tasks, or the other tasks get no gradient.")
    mse_all = sum(((preds[n] - targets[n]) ** 2).mean() for n in preds)
    if torch.isclose(value, mse_all):
        return _report(False, "task 'b' is binary: use the loss that suits each task's kind "
                              "(logistic loss on logits), not squared error for every task.")
    return _report(False, "the value does not match the sum of the per-task losses. Compute "
                          "each task's loss with the loss for its kind, then add them.")


@_safe
def check_pairwise_penalty(fn) -> Verdict:
    """Exercise: `fn(layers)` returns the soft-sharing penalty of the task-specific hidden
    layers `layers` (e.g. `model.branches` of `mt.single_task_nets`): the sum over pairs of
    tasks s < t of ||W_s - W_t||^2, over every task-stacked *weight* (never the biases)."""
    from .models import single_task_nets
    from .penalties import pairwise_l2, stacked_weights

    torch.manual_seed(0)
    layers = single_task_nets(4, (5, 6), [Task("a"), Task("b"), Task("c")]).branches
    ok, value = _call(fn, layers)
    if not ok:
        return _report(False, value)
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
    return _report(False, "the value does not match. Take each task-stacked weight "
                          "(tasks, in, out), and for every pair of tasks add the squared "
                          "distance between their slices.")


@_safe
def check_gradient_reversal(fn) -> Verdict:
    """Exercise: `fn(x, scale)` is the identity in the forward pass and multiplies the
    gradient by -scale in the backward pass."""
    x = torch.randn(6, 3, requires_grad=True)
    ok, y = _call(fn, x, 0.5)
    if not ok:
        return _report(False, y)
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        return _report(False, f"the output must have the input's shape {tuple(x.shape)}, got "
                              f"{shape}.")
    if not torch.equal(y.detach(), x.detach()):
        return _report(False, "the forward pass must return the input unchanged: the layer "
                              "changes gradients only.")
    if not y.requires_grad:
        return _report(False, "the output does not carry gradients: do not detach it.")
    try:
        y.backward(torch.ones_like(y))
    except Exception as error:  # the student's backward ran here
        if "number of gradients" in str(error):
            return _report(False, "backward must return one gradient per input of forward: "
                                  "the gradient for x, and None for scale (a number needs "
                                  "no gradient).")
        return _report(False, f"the backward pass raised {type(error).__name__}: {error}")
    grad = x.grad
    if grad is None:
        return _report(False, "no gradient reached the input.")
    if torch.allclose(grad, torch.full_like(grad, -0.5)):
        return _report(True, "identity forward, gradient multiplied by -scale backward.")
    if torch.allclose(grad, torch.full_like(grad, 0.5)):
        return _report(False, "the gradient is scaled but not reversed: check its sign.")
    if torch.allclose(grad, torch.full_like(grad, -1.0)):
        return _report(False, "the gradient is reversed but `scale` is ignored.")
    if torch.allclose(grad, torch.ones_like(grad)):
        return _report(False, "the gradient passes through unchanged: the backward pass must "
                              "reverse it (a plain tensor operation cannot; use a custom "
                              "torch.autograd.Function).")
    return _report(False, f"expected a gradient of -0.5 everywhere for scale 0.5, got values "
                          f"like {grad.flatten()[0].item():.3g}.")


@_safe
def check_head_outputs(model, data) -> Verdict:
    """Exercise: a multi-task model whose forward pass returns {task name: predictions}
    with the shape each task's targets have."""
    x = data.train.x[:, :4] if data.train.per_task else data.train.x[:4]
    ok, out = _call(model, x)
    if not ok:
        return _report(False, out)
    if not isinstance(out, dict):
        return _report(False, f"return a dict {{task name: predictions}}, got "
                              f"{type(out).__name__}.")
    missing = [n for n in data.names if n not in out]
    if missing:
        return _report(False, f"no predictions for task(s) {missing}; the keys must be the "
                              f"task names {data.names}.")
    for t in data.tasks:
        if not isinstance(out[t.name], torch.Tensor):
            return _report(False, f"the predictions for task {t.name!r} must be a tensor, got "
                                  f"{type(out[t.name]).__name__}.")
        want = (4, t.outputs) if t.kind == "multiclass" else t.target_shape(4)
        got = tuple(out[t.name].shape)
        if got != tuple(want):
            extra = (" Squeeze the last axis of a one-output head." if got == (4, 1) else "")
            return _report(False, f"task {t.name!r} ({t.kind}): predictions of shape {got} "
                                  f"for 4 examples, expected {tuple(want)}.{extra}")
    return _report(True, "one prediction per task, each of the right shape.")


@_safe
def check_shuffle(fn) -> Verdict:
    """Exercise: `fn(y, seed)` returns a new tensor with the labels of `y` in a random
    order that depends only on `seed` (Caruana's control: same labels, no relation to the
    inputs), and leaves `y` itself unchanged."""
    y = torch.arange(20.0) % 7
    original = y.clone()
    ok, out = _call(fn, y, 0)
    if not ok:
        return _report(False, out)
    if not torch.equal(y, original):
        return _report(False, "your function changed `y` in place: the unshuffled labels are "
                              "needed elsewhere. Return a shuffled *copy*.")
    if not isinstance(out, torch.Tensor) or out.shape != y.shape:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        return _report(False, f"return a tensor of the labels' shape {tuple(y.shape)}, got "
                              f"{shape}.")
    if not torch.equal(out.sort().values, y.sort().values):
        return _report(False, "the labels themselves changed: a shuffle keeps every label and "
                              "only changes which example has which (index y with a random "
                              "permutation, do not draw new labels).")
    if torch.equal(out, y):
        return _report(False, "the labels are in their original order: nothing was shuffled.")
    _, again = _call(fn, y, 0)
    if not (isinstance(again, torch.Tensor) and torch.equal(again, out)):
        return _report(False, "two calls with the same seed give different orders: draw the "
                              "permutation from a generator seeded with `seed`.")
    _, other = _call(fn, y, 1)
    if isinstance(other, torch.Tensor) and torch.equal(other, out):
        return _report(False, "seeds 0 and 1 give the same order: the seed is not used.")
    return _report(True, "same labels, new order, reproducible from the seed.")


@_safe
def check_sharing_strength(fn) -> Verdict:
    """Exercise: `fn(S)` returns the sharing strength rho of a task factor S of shape
    (k, tasks): the mean cosine similarity between the columns of two *different* tasks."""
    from .tensors import sharing_strength

    g = torch.Generator().manual_seed(0)
    T = 5
    hard = torch.zeros(3, T)
    hard[0] = 1.0
    cases = {"S = I (STL)": torch.eye(T), "one row of ones (hard sharing)": hard,
             "a random S": torch.randn(3, T, generator=g)}
    for name, S in cases.items():
        ok, value = _call(fn, S.clone())
        if not ok:
            return _report(False, value)
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                return _report(False, f"rho is one number, got a tensor of shape "
                                      f"{tuple(value.shape)}: average the similarities.")
            value = value.item()
        if not isinstance(value, (int, float)):
            return _report(False, f"return a number, got {type(value).__name__}.")
        want = sharing_strength(S, normalise=False)
        if abs(value - want) < 1e-4:
            continue
        cosine = torch.nn.functional.normalize(S, dim=0)
        if abs(value - (cosine.T @ cosine).mean().item()) < 1e-4:
            return _report(False, f"for {name} you average over all pairs including a task "
                                  "with itself (cosine 1): use pairs of different tasks.")
        rows = torch.nn.functional.normalize(S, dim=1)
        gram = rows @ rows.T
        off_rows = (gram.sum() - gram.diagonal().sum()) / max(1, S.shape[0] * (S.shape[0] - 1))
        if abs(value - off_rows.item()) < 1e-4:
            return _report(False, "you compare rows; tasks are the *columns* of S "
                                  "(shape (k, tasks)).")
        dots = S.T @ S
        if abs(value - ((dots.sum() - dots.diagonal().sum()) / (T * (T - 1))).item()) < 1e-4:
            return _report(False, "you average dot products: divide each by the two columns' "
                                  "norms (cosine similarity), so rho does not depend on scale.")
        return _report(False, f"for {name} rho should be {want:.3g}, got {value:.3g}.")
    return _report(True, "0 for STL, 1 for hard sharing, and the mean cosine between tasks.")
