"""Lab 1's check of a hard-sharing network: a trunk shared by every task, one head of its
own per task, raw outputs with the targets' shapes. Each wrong structure gets a hint that
names it; an error in the student's constructor becomes a hint too."""
import itertools
from collections.abc import Mapping

import torch

from .verdict import NO_ANSWER, Verdict, _call, _report, _safe


@_safe
def check_head_outputs(model, data) -> Verdict:
    """Exercise: a hard-sharing network: a trunk shared by every task, one head of its own
    per task, a forward pass that returns {task name: predictions} with the shape each
    task's targets have (raw outputs, no activation on them).

    `model` is the class (called as `model(data.n_features, hidden, data.tasks)`, so that
    an error in its `__init__` becomes a hint) or a network already built."""
    if isinstance(model, type):
        built = _build(model, data)
        if isinstance(built, str):
            return _report(False, built)
        model = built
    training = getattr(model, "training", None)
    if training is not None:
        model.eval()  # the same input must give the same output (no dropout) in the tests
    try:
        hint = _heads_mistake(model, data)
    finally:
        if training:
            model.train()
    if hint:
        return _report(False, hint)
    return _report(True, "a shared trunk and one head per task; one prediction per task, "
                         "each of the right shape.")


HIDDEN = (16, 24)  # the check builds the class with two widths: `hidden` must be used


def _build(cls, data):
    """The student's network built by the check, or a hint (a string)."""
    nets = []
    for hidden in HIDDEN:
        torch.manual_seed(0)
        ok, net = _call(cls, data.n_features, hidden, data.tasks,
                        what=f"building {cls.__name__}(n_features, hidden, tasks) "
                             "(its __init__)")
        if not ok:
            return net
        nets.append(net)
    if isinstance(nets[0], torch.nn.Module):
        counts = [sum(p.numel() for p in net.parameters()) for net in nets]
        if counts[0] == 0:
            return NO_ANSWER + " (your network has no layers yet)"
        if counts[0] == counts[1]:
            return (f"your network has as many parameters with hidden={HIDDEN[0]} as with "
                    f"hidden={HIDDEN[1]}: the trunk's width must be the `hidden` argument.")
    return nets[0]


def _heads_mistake(model, data):
    """A hint naming what is wrong with the network, or None."""
    per_task = data.train.per_task
    x = data.train.x[:, :4] if per_task else data.train.x[:4]
    ok, out = _call(model, x, what="your forward pass")
    if not ok:
        return out
    hint = _outputs_mistake(out, data, 4)
    if hint:
        return hint
    one = x[:, :1] if per_task else x[:1]
    ok, single = _call(model, one, what="your forward pass")
    if not ok:
        return single
    if _outputs_mistake(single, data, 1):
        return ("with one example the predictions lose their example axis: `squeeze()` "
                "drops every axis of length 1; squeeze only the last one, `squeeze(-1)`.")
    if not isinstance(model, torch.nn.Module):
        return None
    hidden = _unregistered_layers(model)
    if hidden:
        return (f"the layers in `{hidden}` sit in a plain dict or list, so PyTorch does not "
                "see them: they are not in model.parameters() and would never train. Keep "
                "them in an nn.ModuleDict (or nn.ModuleList).")
    if not isinstance(getattr(model, "tasks", None), (list, tuple)):
        return ("the network needs its list of tasks as `self.tasks` (mt.fit matches the "
                "outputs to the data by task name): keep the line that sets it.")
    return _structure_mistake(model, x, data) or (_LINEAR if _is_affine(model, x) else None)


_LINEAR = ("your network is linear in its inputs: without an activation (e.g. nn.ReLU()) "
           "after the trunk's layer, the trunk and a head multiply into one linear map, and "
           "the shared layer adds nothing a linear model could not do.")


def _outputs_mistake(out, data, n):
    """A hint when `out` is not {task name: tensor of the target's shape}, else None."""
    if not isinstance(out, Mapping):
        return f"return a dict {{task name: predictions}}, got {type(out).__name__}."
    missing = [name for name in data.names if name not in out]
    if missing:
        return (f"no predictions for task(s) {missing}; the keys must be the task names "
                f"{data.names}.")
    for t in data.tasks:
        if not isinstance(out[t.name], torch.Tensor):
            return (f"the predictions for task {t.name!r} must be a tensor, got "
                    f"{type(out[t.name]).__name__}.")
        want = (n, t.outputs) if t.kind == "multiclass" else t.target_shape(n)
        got = tuple(out[t.name].shape)
        if got != tuple(want):
            extra = " Squeeze the last axis of a one-output head." if got == (n, 1) else ""
            return (f"task {t.name!r} ({t.kind}): predictions of shape {got} for {n} "
                    f"examples, expected {tuple(want)}.{extra}")
    return None


def _structure_mistake(model, x, data):
    """Shared trunk, own heads, gradients reaching every parameter: a hint, or None."""
    params = dict(model.named_parameters())
    frozen = [n for n, p in params.items() if not p.requires_grad]
    if frozen:
        return (f"the parameters {frozen[:3]} do not require gradients (frozen), so they "
                "would never train: leave requires_grad on.")
    # far from the data too, where an activation on the outputs is not flat everywhere
    probe = torch.cat([s * x for s in (1, -1, 3, -3)], dim=1 if data.train.per_task else 0)
    out = model(probe)
    reached = {}  # task -> {parameter name: which of its numbers the task's output uses}
    for name in data.names:
        if not out[name].requires_grad:
            return (f"the predictions for task {name!r} carry no gradient (a .detach() or "
                    "torch.no_grad() in forward): nothing below them would train.")
        grads = torch.autograd.grad(out[name].sum(), list(params.values()),
                                    retain_graph=True, allow_unused=True)
        reached[name] = {n: (torch.zeros_like(p, dtype=torch.bool) if g is None else g != 0)
                         for (n, p), g in zip(params.items(), grads)}
    names = list(reached)
    for a, b in itertools.combinations(names, 2):
        if torch.equal(out[a].detach(), out[b].detach()):
            return (f"tasks {a!r} and {b!r} get the same predictions: they share one head. "
                    "Give every task a head of its own (one nn.Linear per task).")
    hint = _rescaled_head(out, names)
    if hint:
        return hint
    unused = [n for n in params if not any(r[n].any() for r in reached.values())]
    if unused:
        return (f"the parameters {unused[:3]} get no gradient from any task's prediction: "
                "they are not used, or their output is detached (.detach(), torch.no_grad()) "
                "before the heads read it, so they would never train. The heads must read "
                "the trunk's output as it is.")
    shared = {n: torch.stack([r[n] for r in reached.values()]).all(0) for n in params}
    if not any(m.any() for m in shared.values()):
        several = {n: sum(r[n].int() for r in reached.values()) >= 2 for n in params}
        cut = [t for t in names if not any((reached[t][n] & several[n]).any() for n in params)]
        if cut and len(cut) < len(names):
            return (f"the predictions of task(s) {cut} get no gradient into the trunk the "
                    "other tasks use: their heads read a detached trunk output (.detach() "
                    "or torch.no_grad()), so those tasks would not train the shared layer.")
        return ("no parameter is used by every task: there is no shared trunk. Compute the "
                "trunk once and give its output to every head.")
    users = {n: sum(r[n].int() for r in reached.values()) for n in params}
    for name in names:
        if not any((r & (users[n] == 1)).any() for n, r in reached[name].items()):
            return (f"task {name!r} has no parameters of its own: every task needs its own "
                    "head after the shared trunk.")
    # a head's parameters: the tensors whose every number serves one task at most
    heads = [n for n in params if (users[n] <= 1).all()]
    own = {t: {n: r[n] for n in heads if r[n].any()} for t, r in reached.items()}
    return _activation_mistake(model, probe, own)


@torch.no_grad()
def _activation_mistake(model, x, own):
    """A hint when a task's predictions are not linear in its own head's parameters (an
    activation on the outputs), else None. `own` maps each task to {parameter name: mask
    of the numbers only its prediction uses}."""
    from torch.func import functional_call

    params = dict(model.named_parameters())
    g = torch.Generator().manual_seed(0)
    for name, mine in own.items():
        step = {n: mask * 3 * (1 + params[n].abs()) * torch.randn(mask.shape, generator=g)
                for n, mask in mine.items()}
        outs = [functional_call(model, {**params, **{n: params[n] + k * step[n]
                                                     for n in mine}}, (x,))[name]
                for k in (-1, 0, 1, 2)]
        bend = max((outs[i] - 2 * outs[i + 1] + outs[i + 2]).abs().max() for i in (0, 1))
        if bend > 1e-4 * (1 + max(o.abs().max() for o in outs)):
            never_negative = all(o.min() >= 0 for o in outs)
            what = "are never negative, and " if never_negative else ""
            return (f"the predictions for task {name!r} {what}are not a linear function of "
                    "its head: an activation (ReLU, sigmoid, tanh, softmax, a clamp) sits "
                    "on the output. A head is one plain linear layer: regression targets "
                    "can be negative, and the losses take the raw outputs (logits).")
    return None


def _unregistered_layers(model):
    """The name of an attribute that holds layers in a plain dict, list or tuple (invisible to
    model.parameters()), or None."""
    for module in model.modules():
        for name, value in vars(module).items():
            items = value.values() if isinstance(value, Mapping) else value \
                if isinstance(value, (list, tuple)) else ()
            if name != "_modules" and any(isinstance(v, torch.nn.Module) for v in items):
                return name
    return None


@torch.no_grad()
def _is_affine(model, x) -> bool:
    """True if every output satisfies f(a + b) + f(0) = f(a) + f(b) on large inputs, as only an
    affine map does (a ReLU network crosses its kinks between these points)."""
    a, b = 3 * x, -3 * x.flip(0)
    out = [model(v) for v in (a + b, torch.zeros_like(x), a, b)]
    for name in out[0]:
        left, right = out[0][name] + out[1][name], out[2][name] + out[3][name]
        if not torch.allclose(left, right, rtol=1e-4, atol=1e-4 * (1 + right.abs().max())):
            return False
    return True


@torch.no_grad()
def _rescaled_head(out, names):
    """A hint when one task's predictions are a shift or a scale of another's (one head
    shared by every task, plus a per-task offset or scale), else None."""
    for a, b in itertools.combinations(names, 2):
        u, v = out[a].detach().flatten().double(), out[b].detach().flatten().double()
        if u.numel() != v.numel() or u.numel() < 3:
            continue
        design = torch.stack([u, torch.ones_like(u)], 1)
        fit = design @ torch.linalg.lstsq(design, v[:, None]).solution
        if (v - fit[:, 0]).pow(2).sum() <= 1e-8 * (1 + (v - v.mean()).pow(2).sum()):
            return (f"the predictions of tasks {a!r} and {b!r} are a shift or a scale of one "
                    "another: one head serves every task, with a per-task offset or scale "
                    "on it. Give every task a head of its own (one nn.Linear per task) "
                    "reading the trunk's output.")
    return None
