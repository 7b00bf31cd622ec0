"""Check for Lab 5 (loss weighting): PCGrad's projection of conflicting task gradients
(Yu et al., 2020), with the other tasks visited in a fixed order."""
import itertools

import torch

from .verdict import Verdict, _borrowed, _call, _do_it_yourself, _report, _safe


def _library():
    from ..gradient_solvers import project_conflicts
    from ..weighting import PCGrad
    return [project_conflicts, PCGrad]


def project(grads, order=None, against_projected=False, own_dot=False, when=lambda d: d < 0,
            scale=lambda g: g.pow(2).sum()):
    """The reference (defaults) and its known variants: each task t, in turn, loses its
    component along every other task s (visited in `order`, default 0, 1, ...) whose
    gradient it conflicts with. `grads` is (tasks, parameters); returns a new tensor."""
    out = grads.clone()
    for t in range(len(grads)):
        for s in [s for s in order if s < len(grads)] if order else range(len(grads)):
            if s == t:
                continue
            other = out[s] if against_projected else grads[s]
            dot = (grads[t] if own_dot else out[t]) @ other
            if when(dot):
                out[t] = out[t] - dot / scale(other) * other
    return out


def _cases():
    """(name, gradients): three tasks in a fixed order, two in conflict, two that agree."""
    g = torch.Generator().manual_seed(0)
    conflict = torch.tensor([[1.0, 0.5, -0.2, 0.3], [-0.8, 0.9, 0.4, -0.1]])
    agree = torch.tensor([[1.0, 0.5, -0.2, 0.3], [0.6, 0.9, 0.4, 0.2]])
    three = torch.tensor([[1.0, 0.2, 0.0, -0.5, 0.3], [-0.9, 0.8, 0.3, 0.2, -0.4],
                          [0.5, -0.6, 0.7, 0.1, 0.2]]) + 0.01 * torch.randn(3, 5, generator=g)
    return [("three tasks", three), ("two conflicting tasks", conflict),
            ("two tasks that agree", agree)]


@_safe
def check_pcgrad(fn) -> Verdict:
    """Exercise: `fn(grads)` returns PCGrad's projected gradients, a new (tasks, parameters)
    tensor: task t's gradient, for s = 0, 1, ... (s != t) in turn, loses its component along
    the *original* g_s when their dot product is negative; `grads` is left unchanged."""
    library = _library()
    borrowed = _borrowed(fn, library)
    if borrowed:
        return _do_it_yourself(borrowed)
    for name, grads in _cases():
        given = grads.clone()
        ok, value = _call(fn, given, what="your projection", watch=library)
        if not ok:
            return _report(False, value)
        if not torch.equal(given, grads):
            return _report(False, "your function changed the input gradients in place: "
                                  "later tasks must be projected against the *original* "
                                  "gradients, and the caller still needs them. Work on a "
                                  "copy (grads.clone()).")
        hint = _shape_hint(value, grads)
        if hint:
            return _report(False, f"for {name}: {hint}")
        if not torch.allclose(value.detach().to(grads.dtype), project(grads), atol=1e-5):
            return _report(False, f"for {name}: {_mistake(value.detach(), grads)}")
    return _report(True, "only conflicting pairs are projected, against the original "
                         "gradients, in the tasks' order; the input is left as it was.")


def _shape_hint(value, grads):
    if isinstance(value, (list, tuple)):
        return ("return one tensor of shape (tasks, parameters) (torch.stack a list), not "
                f"a {type(value).__name__}.")
    if not isinstance(value, torch.Tensor):
        return f"return a torch tensor of shape {tuple(grads.shape)}, got {type(value).__name__}."
    if value.shape == grads.shape[1:]:
        if torch.allclose(value, project(grads).sum(0), atol=1e-5):
            return ("you return the sum of the projected gradients; return each task's "
                    "projected gradient (tasks, parameters): the step adds them up later.")
        return ("return one projected gradient per task, shape (tasks, parameters), not one "
                "vector.")
    if value.shape != grads.shape:
        return f"the result must have the input's shape {tuple(grads.shape)}, got " \
               f"{tuple(value.shape)}."
    if not value.is_floating_point():
        return f"return floating-point gradients, got {value.dtype}."
    return None


def _mistake(value, grads) -> str:
    """The known mistake that gives `value`, as a hint."""
    tasks = len(grads)
    dot = grads[0] @ grads[1]
    for wrong, hint in [
            (grads, "nothing was projected: when the dot product of two tasks' gradients "
                    "is negative, remove from g_t its component along g_s."),
            (project(grads, when=lambda d: True),
             "you project every pair, also those that do not conflict: project only when "
             "the dot product is negative."),
            (project(grads, when=lambda d: d > 0),
             "the condition is reversed: project when the dot product is *negative* "
             "(the gradients conflict)."),
            (project(grads, when=lambda d: d != 0),
             "you project every pair, also those that do not conflict: project only when "
             "the dot product is negative."),
            (2 * grads - project(grads),
             "the sign is reversed: *subtract* (g_t . g_s) / |g_s|^2 g_s."),
            (project(grads, scale=lambda g: g.norm()),
             "divide by the *squared* norm |g_s|^2: the projection is "
             "(g_t . g_s) / |g_s|^2 g_s."),
            (project(grads, against_projected=True),
             "project against the *original* gradients g_s, not ones already projected "
             "(Yu et al.'s Algorithm 1)."),
            (project(grads, own_dot=True),
             "recompute the dot product with the task's gradient as projected so far, "
             "not with its original gradient."),
            (torch.where((grads @ grads.T).min(1).values[:, None] < 0, 0.0, grads),
             "you drop a conflicting gradient altogether; remove only its component along "
             "the other task's gradient."),
            (torch.nn.functional.normalize(project(grads), dim=1),
             "your projected gradients are rescaled to unit length: keep their size."),
            (torch.stack([project(grads)[0], *grads[1:]]),
             "only the first task's gradient is projected: project every task's."),
            (torch.stack([grads[0], *project(grads)[1:]]) if dot < 0 else grads,
             "the first task's gradient is not projected: project every task's.")]:
        if torch.allclose(value, wrong, atol=1e-5):
            return hint
    for order in itertools.permutations(range(tasks)):
        if list(order) != sorted(order) and torch.allclose(value, project(grads, order),
                                                            atol=1e-5):
            return ("you visit the other tasks in another order (random, or reversed); this "
                    "exercise fixes it: s = 0, 1, ..., T - 1, so that the check can "
                    "compare.")
    if tasks > 2:
        return ("two tasks pass, but with three the result is wrong: loop over every "
                "other task s != t, and project task t's running result on each.")
    return "the projected gradients do not match PCGrad's."
