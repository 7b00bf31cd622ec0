"""Checks for Lab 5 (loss weighting): Kendall et al.'s uncertainty-weighted loss and the
Delta_m metric; PCGrad's projection is checked in lab_weighting_pcgrad."""
import math

import torch

from .verdict import Verdict, _borrowed, _call, _do_it_yourself, _not_a_loss, _report, _safe

# Each case: the tasks' losses L_t and the learned s_t = log sigma_t^2 (both signs, so that
# exp(-s) and exp(s), s and s / 2, cannot agree by chance).
UNCERTAINTY_CASES = [([2.0, 0.5, 7.0], [0.4, -1.2, 1.5]), ([1.0, 30.0], [-0.7, 2.2])]


def _uncertainty_library():
    from ..weighting import UncertaintyWeighting
    return [UncertaintyWeighting]


def _expected(L, s):
    return (0.5 * torch.exp(-s) * L + 0.5 * s).sum()


# Known mistakes: (the value it gives, its hint).
_UNCERTAINTY_MISTAKES = [
    (lambda L, s: (0.5 * torch.exp(-s) * L).sum(),
     "the log sigma term is missing: without it every sigma grows without bound and all "
     "the weights 1/(2 sigma^2) fall to 0."),
    (lambda L, s: (0.5 * torch.exp(-s) * L - 0.5 * s).sum(),
     "the log sigma term has the wrong sign: it must be *added* (it is the likelihood's "
     "normaliser, which stops sigma from growing)."),
    (lambda L, s: (0.5 * torch.exp(s) * L + 0.5 * s).sum(),
     "the weight is 1/(2 sigma^2) = exp(-s)/2, with a minus sign in the exponent: yours "
     "grows with the noise level."),
    (lambda L, s: (0.5 * torch.exp(-2 * s) * L + 0.5 * s).sum(),
     "you square sigma twice: log_var already holds s = log sigma^2, so 1/sigma^2 = exp(-s),"
     " not exp(-2 s)."),
    (lambda L, s: (0.5 * torch.exp(-2 * s) * L + s).sum(),
     "you read log_var as log sigma; it is s = log sigma^2, so sigma^2 = exp(s) and "
     "log sigma = s / 2."),
    (lambda L, s: (0.5 * torch.exp(-s) * L + s).sum(),
     "the log term is log sigma = s / 2, not log sigma^2 = s."),
    (lambda L, s: (torch.exp(-s) * L + 0.5 * s).sum(),
     "the weight is 1/(2 sigma^2), with the factor 1/2 of the regression form (1/sigma^2 is "
     "the classification form)."),
    (lambda L, s: (torch.exp(-s) * L + s).sum(),
     "you dropped both factors 1/2: the loss is 1/(2 sigma^2) L + log sigma, with "
     "log sigma = s / 2."),
    (lambda L, s: (0.5 * torch.exp(-s / 2) * L + 0.5 * s).sum(),
     "the weight is 1/(2 sigma^2), not 1/(2 sigma): 1/sigma^2 = exp(-s)."),
    (lambda L, s: (0.5 * torch.exp(-s) * L + 0.5 * s).mean(),
     "you take the mean over tasks; the loss is the *sum* of the tasks' terms."),
    (lambda L, s: 0.5 * torch.exp(-s).sum() * L.sum() + 0.5 * s.sum(),
     "each task's loss gets its own weight: multiply L_t by exp(-s_t)/2 task by task, not "
     "the total loss by the total weight."),
    (lambda L, s: (0.5 * L / s.exp().sqrt() + 0.5 * s).sum(),
     "the weight is 1/(2 sigma^2) = exp(-s)/2; exp(s).sqrt() is sigma, not sigma^2."),
    (lambda L, s: (0.5 * torch.exp(-s) * L + 0.5 * s.exp()).sum(),
     "the second term is log sigma = s / 2, not sigma^2."),
    (lambda L, s: (0.5 * torch.exp(-s) * L).sum() + 0.5 * s.mean(),
     "every task adds its own log sigma_t: sum the s_t / 2, do not average them."),
]


def _value_hint(value, losses, log_var):
    """The hint of the first known mistake that gives `value`, or None."""
    for wrong, hint in _UNCERTAINTY_MISTAKES:
        if torch.isclose(value.detach().double(), wrong(losses, log_var).double(), rtol=1e-4):
            return hint
    return None


@_safe
def check_uncertainty_loss(fn) -> Verdict:
    """Exercise: `fn(losses, log_var)` returns Kendall et al.'s regression form summed over
    tasks, sum_t exp(-s_t)/2 L_t + s_t/2 with s_t = log sigma_t^2, as one scalar tensor
    whose gradient reaches both the losses and the s_t."""
    library = _uncertainty_library()
    borrowed = _borrowed(fn, library)
    if borrowed:
        return _do_it_yourself(borrowed)
    for L_values, s_values in UNCERTAINTY_CASES:
        losses = torch.tensor(L_values).requires_grad_()
        log_var = torch.tensor(s_values).requires_grad_()
        kept = losses.detach().clone(), log_var.detach().clone()
        ok, value = _call(fn, losses, log_var, what="your uncertainty_loss", watch=library)
        if not ok:
            if "in-place" in value or "inplace" in value:
                value = ("your function changes log_var (or the losses) in place, which "
                         "autograd forbids on a learned parameter: compute new tensors "
                         "(torch.exp(-log_var), not log_var.neg_()). " + value)
            return _report(False, value)
        if not (torch.equal(losses.detach(), kept[0]) and torch.equal(log_var.detach(),
                                                                      kept[1])):
            return _report(False, "your function changed the losses or log_var in place: "
                                  "compute the weighted loss without modifying its inputs.")
        if isinstance(value, torch.Tensor) and value.dim() == 1 and len(value) == len(losses):
            return _report(False, "you return one term per task, shape "
                                  f"{tuple(value.shape)}: sum them into one number.")
        if isinstance(value, torch.Tensor) and torch.isnan(value).any():
            return _report(False, "your loss is nan: log_var holds s = log sigma^2, which can "
                                  "be negative, so take no log or square root of it: "
                                  "sigma^2 = exp(s).")
        hint = _not_a_loss(value, "loss")
        if hint:
            return _report(False, hint)
        want = _expected(losses.detach(), log_var.detach())
        if not torch.isclose(value.detach().double(), want.double(), rtol=1e-4):
            return _report(False, _value_hint(value, losses.detach(), log_var.detach()) or
                           f"for losses {L_values} and log_var {s_values} the loss should be "
                           f"{want.item():.4g}, got {value.item():.4g}.")
        hint = _gradient_hint(value, losses, log_var)
        if hint:
            return _report(False, hint)
    return _report(True, "sum_t exp(-s_t)/2 L_t + s_t/2, with gradients that reach both the "
                         "tasks' losses and the log-variances.")


def _gradient_hint(value, losses, log_var):
    if not value.requires_grad:
        return ("the value is right but carries no gradient: compute it with torch "
                "operations on the inputs (no .item(), no .detach()), or nothing learns.")
    g_L, g_s = torch.autograd.grad(value, [losses, log_var], allow_unused=True)
    if g_s is None or torch.all(g_s == 0):
        return ("the value is right but no gradient reaches log_var (detached?): the sigmas "
                "could not learn.")
    if g_L is None or torch.all(g_L == 0):
        return ("the value is right but no gradient reaches the losses (detached?): the "
                "network would not learn.")
    s, L = log_var.detach(), losses.detach()
    if not (torch.allclose(g_L, 0.5 * torch.exp(-s), rtol=1e-4) and
            torch.allclose(g_s, 0.5 - 0.5 * torch.exp(-s) * L, rtol=1e-4, atol=1e-6)):
        return ("the value is right but its gradient is not (a weight detached, or a "
                "term computed outside autograd): the gradient with respect to s_t must "
                "be 1/2 - exp(-s_t) L_t / 2.")
    return None


DELTA_CASES = [
    ({"depth": 0.30, "label": 0.12, "amount": 35.0},
     {"amount": 50.0, "depth": 0.25, "label": 0.10}),
    ({"a": 2.0, "b": 0.5}, {"b": 1.0, "a": 1.0}),
]


def _delta_library():
    from ..delta_m import delta_m, delta_m_per_run
    return [delta_m, delta_m_per_run]


def _delta(errors, reference):
    return sum((errors[t] - reference[t]) / reference[t] for t in reference) / len(reference)


@_safe
def check_delta_m(fn) -> Verdict:
    """Exercise: `fn(errors, reference)` returns Delta_m, the mean over tasks of
    (error_t - reference_t) / reference_t, as a fraction (a Python or NumPy number, or a
    one-element tensor); errors and reference are dicts {task: error}, lower is better."""
    library = _delta_library()
    borrowed = _borrowed(fn, library)
    if borrowed:
        return _do_it_yourself(borrowed)
    for errors, reference in DELTA_CASES:
        given = dict(errors), dict(reference)
        ok, value = _call(fn, *given, what="your delta_m", watch=library)
        if ok and given != (errors, reference):
            ok, value = False, "your function changed its inputs."
        if not ok:
            return _report(False, value)
        number = _as_number(value)
        if isinstance(number, str):
            return _report(False, number)
        want = _delta(errors, reference)
        if not math.isclose(number, want, rel_tol=1e-5, abs_tol=1e-9):
            return _report(False, _delta_hint(number, errors, reference, want))
    return _report(True, "the mean over tasks of each task's relative change of error.")


def _as_number(value):
    """The value as a float, or a hint (a str) when it is not one number."""
    if isinstance(value, dict) or type(value).__name__ == "Series":
        return ("you return one value per task; Delta_m is their mean, one number.")
    if hasattr(value, "numel") or hasattr(value, "size") and hasattr(value, "shape"):
        size = value.numel() if hasattr(value, "numel") else value.size
        if size != 1:
            return f"Delta_m is one number, got an array of shape {tuple(value.shape)}."
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"return a number, got {type(value).__name__}."
    return float(value)


def _delta_hint(number, errors, reference, want) -> str:
    tasks = list(reference)
    rel = [(errors[t] - reference[t]) / reference[t] for t in tasks]
    by_position = [(e - r) / r for e, r in zip(errors.values(), reference.values())]
    for wrong, hint in [
            (-want, "the sign is reversed: a method with *lower* errors than the reference "
                    "must get a negative Delta_m (error minus reference)."),
            (100 * want, "give Delta_m as a fraction (-0.05 for 5 % lower errors), as "
                         "mtl_tutor does, not in percent."),
            (sum(rel), "you sum the relative changes; Delta_m is their *mean* over tasks."),
            (1 + want, "you average the ratios error / reference; subtract 1 (or take the "
                       "relative change) so that no change gives 0."),
            (sum((errors[t] - reference[t]) / errors[t] for t in tasks) / len(tasks),
             "divide each change by the *reference* error, not by the method's."),
            (sum(errors[t] - reference[t] for t in tasks) / len(tasks),
             "you average absolute differences, which the task with the largest units "
             "dominates: divide each by its reference error."),
            (sum(errors[t] - reference[t] for t in tasks) / sum(reference.values()),
             "you pool the tasks (total change over total reference), which the largest "
             "units dominate: average each task's own relative change."),
            (sum(abs(r) for r in rel) / len(tasks),
             "you take absolute values: a task that got worse and one that got better "
             "must not add up."),
            (sorted(rel)[len(rel) // 2] if len(rel) % 2 else math.nan,
             "you take the median over tasks; Delta_m is the mean."),
            (rel[0], "you use one task only; average over every task."),
            (sum(by_position) / len(tasks),
             "you match the tasks by position, but the dicts list them in different orders: "
             "look each task up by name (reference[t])."),
            (sum(math.log(errors[t] / reference[t]) for t in tasks) / len(tasks),
             "you average log ratios; Delta_m averages the relative changes themselves.")]:
        if math.isfinite(wrong) and math.isclose(number, wrong, rel_tol=1e-5, abs_tol=1e-9):
            return hint
    return (f"for errors {errors} against {reference} Delta_m should be {want:.4g}, "
            f"got {number:.4g}.")
