"""Checks for the lab exercises: call one on your answer and it tells you what is right, or
gives a hint about the most likely mistake. It never shows the solution.

    from mtl_tutor import labs
    labs.check_total_loss(my_total_loss)

Every check prints its verdict and returns True (passed) or False (not yet).
"""
import torch

from .data import Task
from .train import task_loss


def _report(ok: bool, message: str) -> bool:
    print(("Correct: " if ok else "Not yet: ") + message)
    return ok


def _call(fn, *args):
    """Call the student's function; turn an exception into a hint instead of a traceback."""
    try:
        return True, fn(*args)
    except Exception as error:  # the student's code failed: say where, not how to fix it
        return False, (f"your function raised {type(error).__name__}: {error}. Run it on the "
                       "example in the exercise and read the message.")


def _is_scalar(value) -> bool:
    return isinstance(value, torch.Tensor) and value.dim() == 0


def check_total_loss(fn) -> bool:
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
    if not isinstance(value, torch.Tensor):
        return _report(False, f"return a torch tensor (got {type(value).__name__}), so that "
                              "loss.backward() can run.")
    if not _is_scalar(value):
        return _report(False, f"the loss must be one number (a 0-d tensor), got shape "
                              f"{tuple(value.shape)}: combine the tasks' losses into one.")
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


def check_pairwise_penalty(fn) -> bool:
    """Exercise: `fn(model)` returns the soft-sharing penalty: the sum over pairs of tasks
    s < t of ||W_s - W_t||^2, over every task-stacked *weight* (never the biases) of the
    model's task-specific layers (`mt.single_task_nets`)."""
    from .models import single_task_nets
    from .penalties import pairwise_l2, stacked_weights

    torch.manual_seed(0)
    model = single_task_nets(4, (5,), [Task("a"), Task("b"), Task("c")])
    ok, value = _call(fn, model)
    if not ok:
        return _report(False, value)
    if not _is_scalar(value):
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        return _report(False, f"a penalty is one number to add to the loss, got {shape}.")
    expected = sum(pairwise_l2(w) for w in stacked_weights(model))
    if torch.isclose(value, expected):
        with torch.no_grad():
            for layer in model.modules():
                if getattr(layer, "bias", None) is not None:
                    layer.bias.add_(1.0)
        _, moved = _call(fn, model)
        if isinstance(moved, torch.Tensor) and not torch.isclose(moved, expected):
            return _report(False, "your penalty changes when only the biases change: "
                                  "apply it to the weights, not the biases.")
        return _report(True, "the penalty sums ||W_s - W_t||^2 over pairs of tasks and layers.")
    with_bias = expected + sum(
        pairwise_l2(layer.bias[..., None]) for layer in model.modules()
        if hasattr(layer, "n_tasks") and getattr(layer, "bias", None) is not None)
    if torch.isclose(value, with_bias):
        return _report(False, "your penalty includes the biases: apply it to the weights only "
                              "(biases set each task's offset, which need not be shared).")
    if torch.isclose(value, 2 * expected):
        return _report(False, "you count every pair twice (s, t and t, s): sum over s < t.")
    if torch.isclose(value * value, expected) or torch.isclose(value, expected.sqrt()):
        return _report(False, "use the *squared* distance ||W_s - W_t||^2, not the distance.")
    return _report(False, "the value does not match. Take each task-stacked weight "
                          "(tasks, in, out), and for every pair of tasks add the squared "
                          "distance between their slices.")


def check_gradient_reversal(fn) -> bool:
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
    y.backward(torch.ones_like(y))
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


def check_head_outputs(model, data) -> bool:
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
        want = (4, t.outputs) if t.kind == "multiclass" else t.target_shape(4)
        got = tuple(out[t.name].shape)
        if got != tuple(want):
            extra = (" Squeeze the last axis of a one-output head." if got == (4, 1) else "")
            return _report(False, f"task {t.name!r} ({t.kind}): predictions of shape {got} "
                                  f"for 4 examples, expected {tuple(want)}.{extra}")
    return _report(True, "one prediction per task, each of the right shape.")
