"""Lab 1's check of the pairwise soft-sharing penalty: the sum over pairs of tasks of
||W_s - W_t||^2 over every task-stacked weight. A right value must also pass on more tasks and
layers, with a gradient reaching every layer; common wrong formulas get hints that name them."""
import torch

from ..data import Task
from .verdict import Verdict, _borrowed, _call, _do_it_yourself, _not_a_loss, _report, _safe


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
        hint = _penalty_gradient_mistake(value, weights) or _other_penalty_mistake(fn)
        if hint:
            return _report(False, hint)
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
    hint = _penalty_variant(value, weights)
    if hint:
        return _report(False, hint)
    return _report(False, "the value does not match. Take each task-stacked weight "
                          "(tasks, in, out), and for every pair of tasks add the squared "
                          "distance between their slices.")


def _penalty_gradient_mistake(value, weights):
    """A hint when the penalty's gradient misses some layer's weights, else None."""
    grads = torch.autograd.grad(value, weights, allow_unused=True)
    cut = [i for i, g in enumerate(grads) if g is None or not g.any()]
    if cut:
        return (f"the value is right, but no gradient reaches the weights of layer(s) {cut} "
                "(counted from 0; a .detach() or .item() on their term): the penalty would "
                "not pull those layers' tasks together.")
    return None


def _other_penalty_mistake(fn):
    """Six tasks and three task-stacked layers: a hint when the student's penalty is wrong
    there (the number of tasks or layers written in), else None."""
    from ..models import single_task_nets
    from ..penalties import pairwise_l2, stacked_weights

    torch.manual_seed(1)
    layers = single_task_nets(3, (4, 5, 3), [Task(n) for n in "uvwxyz"]).branches
    ok, value = _call(fn, layers)
    if not ok:
        return f"with six tasks and three layers: {value}"
    weights = stacked_weights(layers)
    expected = sum(pairwise_l2(w) for w in weights).detach()
    if isinstance(value, torch.Tensor) and value.numel() == 1 and \
            torch.isclose(value.detach().float(), expected):
        return _penalty_gradient_mistake(value, weights) if value.requires_grad else None
    return ("right for four tasks and two layers, wrong for six tasks and three layers: "
            "your penalty has the number of tasks or layers written in. Loop over every "
            "pair of tasks s < t of each weight (its first axis) and over every layer.")


@torch.no_grad()
def _penalty_variant(value, weights):
    """A hint when the penalty matches one of the common wrong formulas, else None."""
    flat = [w.flatten(1) for w in weights]
    pairs = [(f[:, None] - f[None]) for f in flat]
    inputs = [w.transpose(0, 1).flatten(1) for w in weights]
    variants = [
        (sum((f[1:] - f[:-1]).pow(2).sum() for f in flat),
         "you add ||W_t - W_t+1||^2 over neighbouring tasks only; the penalty sums over "
         "every pair s < t (tasks have no order)."),
        (sum((f[1:] - f[0]).pow(2).sum() for f in flat),
         "you measure each task's distance to task 0 only; the penalty sums over every "
         "pair of tasks s < t (no task is the reference)."),
        (sum((i[:, None] - i[None]).pow(2).sum() / 2 for i in inputs),
         "you pair the rows of the input axis, not the tasks: the tasks are the weight's "
         "first axis, W[s] and W[t]."),
        (sum((d.pow(2).sum() / 2).sqrt() for d in pairs),
         "you take a square root of each layer's sum: the penalty is the plain sum of the "
         "squared distances, no root anywhere."),
        (sum(f.var(0).sum() for f in flat),
         "you take the variance of the weights over tasks: it is proportional to the "
         "penalty but scaled (by 1/(T(T-1)) per pair); sum the squared distances over "
         "pairs, with no division."),
        (sum(f.var(0, correction=0).sum() for f in flat),
         "you take the variance of the weights over tasks: it is proportional to the "
         "penalty but scaled; sum the squared distances over pairs, with no division."),
        (sum(d.abs().sum() / 2 for d in pairs),
         "you sum absolute differences |W_s - W_t| (an L1 distance); the penalty uses "
         "squared differences, ||W_s - W_t||^2."),
    ]
    for wrong, hint in variants:
        if torch.isclose(value.detach(), wrong):
            return hint
    return None
