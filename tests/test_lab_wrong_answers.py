"""The kept sets of wrong answers to the labs' exercises (Labs 1 and 3 first, then 2 and 4),
as a teacher would try them: every wrong answer must get "Not yet" with a hint that names
its mistake (the test asserts the hint's key words), and every right answer, in several
styles, "Correct".

Each case is one parametrised test, so a false positive (a wrong answer accepted) or a false
negative (a right answer refused) shows up by name."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from lab_answers import _ellipsis, _stub, judge
from torch import nn

import mtl_tutor as mt
from mtl_tutor import labs
from mtl_tutor.adversarial import GradientReversal, _ReverseGradient, flip_gradient
from mtl_tutor.adversarial import reverse_gradient as library_reversal
from mtl_tutor.losses import task_loss
from mtl_tutor.penalties import pairwise_l2 as library_pairwise
from mtl_tutor.penalties import stacked_weights

# --- Lab 1, Part 1: the multi-task loss -----------------------------------------------

def total(t, p, y):
    return sum(task_loss(k, p[k.name], y[k.name]) for k in t)


def _loop(t, p, y):
    out = torch.zeros(())
    for k in t:
        out = out + task_loss(k, p[k.name], y[k.name])
    return out


def _by_kind(t, p, y):
    out = 0
    for k in t:
        if k.kind == "binary":
            out = out + F.binary_cross_entropy_with_logits(p[k.name], y[k.name])
        else:
            out = out + F.mse_loss(p[k.name], y[k.name])
    return out


def _by_hand(t, p, y):
    out = 0.0
    for k in t:
        a, b = p[k.name], y[k.name]
        if k.kind == "binary":  # the logistic loss written out, stable form
            out = out + (F.softplus(a) - b * a).mean()
        else:
            out = out + ((a - b) ** 2).mean()
    return out


LOSS_RIGHT = {
    "generator sum": total, "loop": _loop, "by kind": _by_kind, "by hand": _by_hand,
    "stacked": lambda t, p, y: torch.stack([task_loss(k, p[k.name], y[k.name])
                                            for k in t]).sum(),
    "reversed order": lambda t, p, y: sum(task_loss(k, p[k.name], y[k.name])
                                          for k in reversed(t)),
}


def _in_place_preds(t, p, y):
    p["b"].sigmoid_()
    return total(t, p, y)


def _in_place_targets(t, p, y):
    y["c"].div_(10)
    return total(t, p, y)


def _summed_over_examples(t, p, y):
    return sum(F.mse_loss(p[k.name], y[k.name], reduction="sum") if k.kind != "binary"
               else F.binary_cross_entropy_with_logits(p[k.name], y[k.name], reduction="sum")
               for k in t)


def _sigmoid_twice(t, p, y):
    return sum(task_loss(k, p[k.name], y[k.name]) for k in t if k.kind != "binary") + \
        F.binary_cross_entropy_with_logits(torch.sigmoid(p["b"]), y["b"])


def _wrong_targets(t, p, y):
    return sum(task_loss(k, p[k.name], y["a"]) for k in t if k.kind != "binary") + \
        task_loss(t[1], p["b"], y["b"])


def _library_wrapper(t, p, y):
    return mt.losses.task_losses(t, p, y).sum()


def _library_function(t, p, y):
    return mt.losses.losses_function(t)(p, y).sum()


LOSS_WRONG = {
    "mean over tasks": (lambda t, p, y: total(t, p, y) / len(t), "mean"),
    "one task": (lambda t, p, y: task_loss(t[0], p["a"], y["a"]), "one task's loss"),
    "first two": (lambda t, p, y: total(t[:2], p, y), "leaves out"),
    "last two": (lambda t, p, y: total(t[1:], p, y), "leaves out"),
    "task counted twice": (lambda t, p, y: total(t, p, y) + task_loss(t[0], p["a"], y["a"]),
                           "twice"),
    "squared error everywhere": (lambda t, p, y: sum(((p[k.name] - y[k.name]) ** 2).mean()
                                                     for k in t), "binary"),
    "sigmoid before logistic": (_sigmoid_twice, "logits"),
    "other task's targets": (_wrong_targets, "own targets"),
    "sum over examples": (_summed_over_examples, "mean over its examples"),
    "negated": (lambda t, p, y: -total(t, p, y), "sign"),
    "product": (lambda t, p, y: torch.stack([task_loss(k, p[k.name], y[k.name])
                                             for k in t]).prod(), "does not match"),
    ".item()": (lambda t, p, y: total(t, p, y).item(), "Python number"),
    "numpy": (lambda t, p, y: np.float32(total(t, p, y).item()), "torch tensor"),
    "list of losses": (lambda t, p, y: [task_loss(k, p[k.name], y[k.name]) for k in t],
                       "torch tensor"),
    "vector": (lambda t, p, y: torch.stack([task_loss(k, p[k.name], y[k.name])
                                            for k in t]), "one number"),
    "integer": (lambda t, p, y: total(t, p, y).long(), "floating-point"),
    "nan": (lambda t, p, y: total(t, p, y) / 0 * 0, "division by zero"),
    "detached": (lambda t, p, y: total(t, p, y).detach(), "no gradient"),
    "predictions changed in place": (_in_place_preds, "in-place"),
    "targets changed in place": (_in_place_targets, "in place"),
    "library task_losses": (_library_wrapper, "mtl_tutor's own"),
    "library losses_function": (_library_function, "mtl_tutor's own"),
    "crash": (lambda t, p, y: p["nope"], "raised KeyError"),
    "stub": (_stub, "no answer yet"),
    "otter stub": (_ellipsis, "no answer yet"),
}


@pytest.mark.parametrize("name", LOSS_RIGHT)
def test_total_loss_accepts(capsys, name):
    ok, out = judge(capsys, labs.check_total_loss, LOSS_RIGHT[name])
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", LOSS_WRONG)
def test_total_loss_rejects(capsys, name):
    fn, words = LOSS_WRONG[name]
    ok, out = judge(capsys, labs.check_total_loss, fn)
    assert not ok and words in out, out


# --- Lab 1, Part 4: the pairwise soft-sharing penalty -----------------------------------

def _own_pairwise(w):
    flat = w.reshape(w.shape[0], -1)
    return flat.shape[0] * flat.pow(2).sum() - flat.sum(dim=0).pow(2).sum()


def penalty(layers):
    return sum(_own_pairwise(w) for w in stacked_weights(layers))


def _task_linears(layers):
    return [m for m in layers.modules() if isinstance(m, mt.TaskLinear)]


def _double_loop(layers):
    out = 0.0
    for layer in _task_linears(layers):
        w = layer.weight
        for s in range(w.shape[0]):
            for t in range(s + 1, w.shape[0]):
                out = out + ((w[s] - w[t]) ** 2).sum()
    return out


def _broadcast(layers):
    out = 0.0
    for layer in _task_linears(layers):
        w = layer.weight.flatten(1)
        out = out + (w[:, None] - w[None]).pow(2).sum() / 2
    return out


def _cdist(layers):
    out = 0
    for layer in _task_linears(layers):
        w = layer.weight.flatten(1)
        out = out + torch.cdist(w, w).pow(2).triu(1).sum()
    return out


def _named(layers):
    return sum(_own_pairwise(p) for n, p in layers.named_parameters() if n.endswith("weight"))


PENALTY_RIGHT = {"closed form": penalty, "double loop": _double_loop,
                 "broadcast": _broadcast, "cdist": _cdist, "named parameters": _named}


def _with_biases(layers):
    return penalty(layers) + sum(_own_pairwise(m.bias[..., None])
                                 for m in _task_linears(layers))


def _no_layers_found(layers):
    out = 0.0
    for layer in layers.modules():
        if isinstance(layer, nn.Linear):  # mt.TaskLinear is not an nn.Linear
            out = out + _own_pairwise(layer.weight)
    return out


def _no_layers_tensor(layers):
    out = torch.zeros(())
    for layer in layers.children():
        if isinstance(layer, nn.Linear):
            out = out + _own_pairwise(layer.weight)
    return out


def _mean_over_pairs(layers):
    return sum(_own_pairwise(w) / (w.shape[0] * (w.shape[0] - 1) / 2)
               for w in stacked_weights(layers))


PENALTY_WRONG = {
    "biases included": (_with_biases, "biases"),
    "all parameters": (lambda m: sum(_own_pairwise(p) for p in m.parameters()), "biases"),
    "pairs counted twice": (lambda m: 2 * penalty(m), "twice"),
    "half": (lambda m: penalty(m) / 2, "half"),
    "distance, not squared": (lambda m: penalty(m).sqrt(), "squared"),
    "mean over pairs": (_mean_over_pairs, "mean over the pairs"),
    "distance to the mean": (lambda m: sum((w - w.mean(0)).pow(2).sum()
                                           for w in stacked_weights(m)), "mean weight"),
    "weight decay": (lambda m: sum(w.pow(2).sum() for w in stacked_weights(m)),
                     "differences"),
    "first layer only": (lambda m: _own_pairwise(stacked_weights(m)[0]), "one layer"),
    "last layer only": (lambda m: _own_pairwise(stacked_weights(m)[-1]), "one layer"),
    "no layers found (float)": (_no_layers_found, "found no layers"),
    "no layers found (tensor)": (_no_layers_tensor, "found no layers"),
    ".item()": (lambda m: penalty(m).item(), ".item()"),
    "detached": (lambda m: penalty(m).detach(), "no gradient"),
    "numpy": (lambda m: np.float64(penalty(m).item()), "torch tensor"),
    "list": (lambda m: [_own_pairwise(w) for w in stacked_weights(m)], "torch tensor"),
    "vector": (lambda m: torch.stack([_own_pairwise(w) for w in stacked_weights(m)]),
               "one number"),
    "integer": (lambda m: penalty(m).long(), "floating-point"),
    "nan": (lambda m: penalty(m) * float("nan"), "division by zero"),
    "library pairwise_l2": (lambda m: sum(library_pairwise(w) for w in stacked_weights(m)),
                            "mtl_tutor's own"),
    "library sharing_penalty": (lambda m: mt.sharing_penalty(m, l2=1.0)(), "mtl_tutor's own"),
    "crash": (lambda m: m.weight, "raised AttributeError"),
    "stub": (_stub, "no answer yet"),
    "otter stub": (_ellipsis, "no answer yet"),
}


@pytest.mark.parametrize("name", PENALTY_RIGHT)
def test_pairwise_penalty_accepts(capsys, name):
    ok, out = judge(capsys, labs.check_pairwise_penalty, PENALTY_RIGHT[name])
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", PENALTY_WRONG)
def test_pairwise_penalty_rejects(capsys, name):
    fn, words = PENALTY_WRONG[name]
    ok, out = judge(capsys, labs.check_pairwise_penalty, fn)
    assert not ok and words in out, out


# --- Lab 1, Part 2: a network with one head per task ------------------------------------

DATA = mt.problems.make_related_tasks(n_tasks=3, n_train=10, shared_inputs=True, seed=0)


class Right(nn.Module):
    """The exercise's answer: the class, built by the check with (n_features, hidden,
    tasks)."""

    def __init__(self, n_features, hidden, tasks):
        super().__init__()
        self.tasks = list(tasks)
        self.trunk = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU())
        self.heads = nn.ModuleDict({t.name: nn.Linear(hidden, 1) for t in self.tasks})

    def forward(self, x):
        h = self.trunk(x)
        return {name: head(h).squeeze(-1) for name, head in self.heads.items()}


class ModuleListHeads(Right):
    def __init__(self, n_features, hidden, tasks):
        super().__init__(n_features, hidden, tasks)
        self.heads = nn.ModuleList(nn.Linear(hidden, 1) for _ in self.tasks)

    def forward(self, x):
        h = self.trunk(x)
        return {t.name: head(h)[:, 0] for t, head in zip(self.tasks, self.heads)}


class OneMatrixHeads(Right):
    """All heads as the rows of one nn.Linear(hidden, tasks)."""

    def __init__(self, n_features, hidden, tasks):
        super().__init__(n_features, hidden, tasks)
        self.heads = nn.Linear(hidden, len(self.tasks))

    def forward(self, x):
        out = self.heads(self.trunk(x))
        return {t.name: out[:, i] for i, t in enumerate(self.tasks)}


class SeparateLayers(Right):
    """No Sequential: the layer and the activation written out, heads that flatten."""

    def __init__(self, n_features, hidden, tasks):
        super().__init__(n_features, hidden, tasks)
        self.trunk = nn.Linear(n_features, hidden)
        self.heads = nn.ModuleDict({t.name: nn.Sequential(nn.Linear(hidden, 1),
                                                          nn.Flatten(0)) for t in self.tasks})

    def forward(self, x):
        h = torch.relu(self.trunk(x))
        return {name: head(h) for name, head in self.heads.items()}


class TanhTrunk(Right):
    def __init__(self, n_features, hidden, tasks):
        super().__init__(n_features, hidden, tasks)
        self.trunk = nn.Sequential(nn.Linear(n_features, hidden), nn.Tanh())


class Reshaped(Right):
    def forward(self, x):
        h = self.trunk(x)
        return {name: head(h).view(-1) for name, head in self.heads.items()}


HEADS_RIGHT = {"module dict": Right, "module list": ModuleListHeads,
               "one matrix": OneMatrixHeads, "written out": SeparateLayers,
               "tanh trunk": TanhTrunk, "view(-1)": Reshaped}


def test_heads_accepts_an_instance_and_the_library(capsys):
    for model in (Right(DATA.n_features, 64, DATA.tasks),
                  mt.hard_sharing(DATA.n_features, (16, 8), DATA.tasks)):
        ok, out = judge(capsys, labs.check_head_outputs, model, DATA)
        assert ok, out


class SharedHead(Right):
    def __init__(self, n_features, hidden, tasks):
        super().__init__(n_features, hidden, tasks)
        head = nn.Linear(hidden, 1)
        self.heads = nn.ModuleDict({t.name: head for t in self.tasks})


class OneHeadForAll(Right):
    def __init__(self, n_features, hidden, tasks):
        super().__init__(n_features, hidden, tasks)
        self.head = nn.Linear(hidden, 1)
        del self.heads

    def forward(self, x):
        out = self.head(self.trunk(x)).squeeze(-1)
        return {t.name: out for t in self.tasks}


class NoSharedTrunk(Right):
    def __init__(self, n_features, hidden, tasks):
        super().__init__(n_features, hidden, tasks)
        self.trunk = nn.ModuleDict({t.name: nn.Sequential(nn.Linear(n_features, hidden),
                                                          nn.ReLU()) for t in self.tasks})

    def forward(self, x):
        return {n: head(self.trunk[n](x)).squeeze(-1) for n, head in self.heads.items()}


class HeadsReadInputs(Right):
    def __init__(self, n_features, hidden, tasks):
        super().__init__(n_features, hidden, tasks)
        self.heads = nn.ModuleDict({t.name: nn.Linear(n_features, 1) for t in self.tasks})

    def forward(self, x):
        return {n: head(x).squeeze(-1) for n, head in self.heads.items()}


def _on_outputs(activation):
    class Activated(Right):
        def forward(self, x):
            return {n: activation(v) for n, v in super().forward(x).items()}
    return Activated


class DetachedTrunk(Right):
    def forward(self, x):
        h = self.trunk(x).detach()
        return {n: head(h).squeeze(-1) for n, head in self.heads.items()}


class NoGradTrunk(Right):
    def forward(self, x):
        with torch.no_grad():
            h = self.trunk(x)
        return {n: head(h).squeeze(-1) for n, head in self.heads.items()}


class FrozenTrunk(Right):
    def __init__(self, n_features, hidden, tasks):
        super().__init__(n_features, hidden, tasks)
        for p in self.trunk.parameters():
            p.requires_grad_(False)


class DetachedPredictions(Right):
    def forward(self, x):
        return {n: v.detach() for n, v in super().forward(x).items()}


class SqueezeAll(Right):
    def forward(self, x):
        h = self.trunk(x)
        return {n: head(h).squeeze() for n, head in self.heads.items()}


class NotSqueezed(Right):
    def forward(self, x):
        h = self.trunk(x)
        return {n: head(h) for n, head in self.heads.items()}


class TwoOutputs(Right):
    def __init__(self, n_features, hidden, tasks):
        super().__init__(n_features, hidden, tasks)
        self.heads = nn.ModuleDict({t.name: nn.Linear(hidden, 2) for t in self.tasks})


class TaskObjectsAsKeys(Right):
    def __init__(self, n_features, hidden, tasks):
        super().__init__(n_features, hidden, tasks)
        self.heads = nn.ModuleDict({t: nn.Linear(hidden, 1) for t in self.tasks})


class FixedWidth(Right):
    def __init__(self, n_features, hidden, tasks):
        super().__init__(n_features, 64, tasks)


class PlainDict(Right):
    def __init__(self, n_features, hidden, tasks):
        super().__init__(n_features, hidden, tasks)
        heads = {t.name: nn.Linear(hidden, 1) for t in self.tasks}
        del self.heads
        self.heads = heads


class LinearTrunk(Right):
    def __init__(self, n_features, hidden, tasks):
        super().__init__(n_features, hidden, tasks)
        self.trunk = nn.Linear(n_features, hidden)


class NoTasks(Right):
    def __init__(self, n_features, hidden, tasks):
        super().__init__(n_features, hidden, tasks)
        del self.tasks
        self.names = [t.name for t in tasks]

    def forward(self, x):
        h = self.trunk(x)
        return {name: head(h).squeeze(-1) for name, head in self.heads.items()}


class ListOutput(Right):
    def forward(self, x):
        return list(super().forward(x).values())


class NumpyOutput(Right):
    def forward(self, x):
        return {n: v.detach().numpy() for n, v in super().forward(x).items()}


class ForwardCrash(Right):
    def forward(self, x):
        return {n: head(x) for n, head in self.heads.items()}


class OtterStub(nn.Module):
    def __init__(self, n_features, hidden, tasks):
        super().__init__()
        self.tasks = list(tasks)  # mt.fit matches the outputs to the data by task name
        ...

    def forward(self, x):
        ...


class Stub(OtterStub):
    def __init__(self, n_features, hidden, tasks):
        super().__init__(n_features, hidden, tasks)
        raise NotImplementedError("Exercise: write your answer here, then run the check.")


HEADS_WRONG = {
    "one head shared (same module)": (SharedHead, "share one head"),
    "one head for all tasks": (OneHeadForAll, "share one head"),
    "no shared trunk": (NoSharedTrunk, "no shared trunk"),
    "heads read the inputs": (HeadsReadInputs, "no gradient"),
    "ReLU on outputs": (_on_outputs(torch.relu), "activation"),
    "sigmoid on outputs": (_on_outputs(torch.sigmoid), "activation"),
    "tanh on outputs": (_on_outputs(torch.tanh), "activation"),
    "clamp on outputs": (_on_outputs(lambda v: v.clamp(-0.5, 0.5)), "activation"),
    "softplus on outputs": (_on_outputs(F.softplus), "activation"),
    "detached trunk": (DetachedTrunk, "detached"),
    "trunk under no_grad": (NoGradTrunk, "no_grad"),
    "frozen trunk": (FrozenTrunk, "frozen"),
    "detached predictions": (DetachedPredictions, "carry no gradient"),
    "squeeze() over every axis": (SqueezeAll, "squeeze(-1)"),
    "not squeezed": (NotSqueezed, "Squeeze"),
    "two outputs per head": (TwoOutputs, "expected"),
    "error in __init__": (TaskObjectsAsKeys, "__init__"),
    "hidden ignored": (FixedWidth, "hidden"),
    "heads in a plain dict": (PlainDict, "nn.ModuleDict"),
    "no activation in the trunk": (LinearTrunk, "linear in its inputs"),
    "self.tasks removed": (NoTasks, "self.tasks"),
    "list of outputs": (ListOutput, "dict"),
    "numpy outputs": (NumpyOutput, "must be a tensor"),
    "error in forward": (ForwardCrash, "forward pass raised"),
    "stub": (Stub, "no answer yet"),
    "otter stub": (OtterStub, "no answer yet"),
}


@pytest.mark.parametrize("name", HEADS_RIGHT)
def test_heads_accepts(capsys, name):
    ok, out = judge(capsys, labs.check_head_outputs, HEADS_RIGHT[name], DATA)
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", HEADS_WRONG)
def test_heads_rejects(capsys, name):
    cls, words = HEADS_WRONG[name]
    ok, out = judge(capsys, labs.check_head_outputs, cls, DATA)
    assert not ok and words in out, out


# --- Lab 3, Part 1: gradient reversal ---------------------------------------------------

def _function(forward=lambda ctx, x, s: x.view_as(x),
              backward=lambda ctx, g: (-ctx.scale * g, None), store=True):
    """A student's autograd.Function with the given forward and backward bodies."""
    class Reversal(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            if store:
                ctx.scale = scale
            return forward(ctx, x, scale)

        @staticmethod
        def backward(ctx, grad):
            return backward(ctx, grad)

    def reverse_gradient(x, scale=1.0):
        return Reversal.apply(x, scale)
    return reverse_gradient


def _hook(x, scale):
    y = x.view_as(x)
    y.register_hook(lambda g: -scale * g)
    return y


class _ClassScale(torch.autograd.Function):
    """Keeps `scale` on the class: the last call's scale wins."""

    @staticmethod
    def forward(ctx, x, scale):
        _ClassScale.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -_ClassScale.scale * grad, None


class _LibraryInside(torch.autograd.Function):
    """A student's Function whose backward calls the library."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        g = grad.detach().requires_grad_()
        with torch.enable_grad():
            y = library_reversal(g, ctx.scale)
        return torch.autograd.grad(y, g, grad)[0] * 0 - ctx.scale * grad, None


def reverse_gradient(x, scale=1.0):
    """The student's own function, named like the library's, calling the library."""
    return mt.adversarial.reverse_gradient(x, scale)


REVERSAL_RIGHT = {
    "view_as": _function(),
    "returns x": _function(forward=lambda ctx, x, s: x),
    "clone": _function(forward=lambda ctx, x, s: x.clone()),
    "neg then mul": _function(backward=lambda ctx, g: (g.neg() * ctx.scale, None)),
    "hook": _hook,
    "detach trick": lambda x, s: x.detach() + (-s * x - (-s * x).detach()),
    "save_for_backward scale": _function(
        backward=lambda ctx, g: (g * -ctx.scale, None)),
}

REVERSAL_WRONG = {
    "wrong sign": (_function(backward=lambda ctx, g: (ctx.scale * g, None)), "minus sign"),
    "scale ignored": (_function(backward=lambda ctx, g: (-g, None)), "ignored"),
    "fixed 0.5": (_function(backward=lambda ctx, g: (-0.5 * g, None)), "fixed number"),
    "fixed 2": (_function(backward=lambda ctx, g: (-2.0 * g, None)), "fixed number"),
    "divides": (_function(backward=lambda ctx, g: (-g / ctx.scale, None)), "divide"),
    "scale squared": (_function(backward=lambda ctx, g: (-ctx.scale ** 2 * g, None)),
                      "squared"),
    "adds the reversed": (_function(backward=lambda ctx, g: (g - ctx.scale * g, None)),
                          "added"),
    "ignores the incoming gradient": (_function(
        backward=lambda ctx, g: (-ctx.scale * torch.ones_like(g), None)), "incoming"),
    "zero": (_function(backward=lambda ctx, g: (torch.zeros_like(g), None)), "zero"),
    "in-place mul_": (_function(backward=lambda ctx, g: (g.mul_(-ctx.scale), None)),
                      "in place"),
    "in-place neg_": (_function(backward=lambda ctx, g: (g.neg_().mul(ctx.scale), None)),
                      "in place"),
    "scale on the class": (lambda x, s: _ClassScale.apply(x, s), "ctx"),
    "gradient for scale first": (_function(backward=lambda ctx, g: (None, -ctx.scale * g)),
                                 "None for scale"),
    "one gradient only": (_function(backward=lambda ctx, g: -ctx.scale * g),
                          "None for scale"),
    "scale not stored": (_function(store=False), "raised AttributeError"),
    "plain identity": (lambda x, s: x * 1.0, "unchanged"),
    "negated forward": (lambda x, s: -x, "negates"),
    "scaled forward": (lambda x, s: x * s, "unchanged"),
    "detached": (lambda x, s: x.detach(), "gradients"),
    "numpy": (lambda x, s: x.detach().numpy(), "shape"),
    "sum": (lambda x, s: x.sum(), "shape"),
    "double": (lambda x, s: _function()(x, s).double(), "dtype"),
    "library": (library_reversal, "mtl_tutor's own"),
    "library under the student's name": (reverse_gradient, "mtl_tutor's own"),
    "library flip_gradient": (lambda x, s: flip_gradient(x, s), "mtl_tutor's own"),
    "library layer": (lambda x, s: GradientReversal(s)(x), "mtl_tutor's own"),
    "library Function": (lambda x, s: _ReverseGradient.apply(x, s), "mtl_tutor's own"),
    "library inside backward": (lambda x, s: _LibraryInside.apply(x, s), "mtl_tutor's own"),
    "stub": (_stub, "no answer yet"),
    "otter stub": (_ellipsis, "no answer yet"),
}


@pytest.mark.parametrize("name", REVERSAL_RIGHT)
def test_reversal_accepts(capsys, name):
    ok, out = judge(capsys, labs.check_gradient_reversal, REVERSAL_RIGHT[name])
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", REVERSAL_WRONG)
def test_reversal_rejects(capsys, name):
    fn, words = REVERSAL_WRONG[name]
    ok, out = judge(capsys, labs.check_gradient_reversal, fn)
    assert not ok and words in out, out


def test_each_exercise_has_twenty_wrong_answers():
    assert min(map(len, [LOSS_WRONG, PENALTY_WRONG, HEADS_WRONG, REVERSAL_WRONG])) >= 20


# --- Lab 2, Part 2: the label shuffle of Caruana's control ------------------------------

def shuffled(y, seed):
    return y[torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))]


def _numpy_rng(y, seed):
    return y[torch.from_numpy(np.random.default_rng(seed).permutation(len(y)))]


def _argsort(y, seed):
    return y[torch.rand(len(y), generator=torch.Generator().manual_seed(seed)).argsort()]


def _stacked(y, seed):
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed)).tolist()
    return torch.stack([y[i] for i in order])


SHUFFLE_RIGHT = {"randperm": shuffled, "numpy rng": _numpy_rng, "argsort": _argsort,
                 "loop": _stacked, "clone first": lambda y, s: shuffled(y.clone(), s),
                 "index_select": lambda y, s: y.index_select(0, torch.randperm(
                     len(y), generator=torch.Generator().manual_seed(s)))}


def _in_place(y, seed):
    y[:] = shuffled(y, seed)
    return y


def _copy_in_place(y, seed):
    y.copy_(shuffled(y, seed))
    return y.clone()


def _global_rng(y, seed):
    return y[torch.randperm(len(y))]


def _library_shuffle(y, seed):
    from mtl_tutor.problems import mechanisms
    return mechanisms.shuffle_task(y, "a", seed)


SHUFFLE_WRONG = {
    "in place": (_in_place, "in place"),
    "copied back in place": (_copy_in_place, "in place"),
    "new labels": (lambda y, s: torch.randint(0, 7, y.shape).float(), "labels themselves"),
    "sorted": (lambda y, s: y.sort().values, "not used"),
    "unchanged": (lambda y, s: y.clone(), "original order"),
    "reversed": (lambda y, s: y.flip(0), "not used"),
    "rolled": (lambda y, s: torch.roll(y, s + 1), "shift"),
    "global generator": (_global_rng, "same seed"),
    "numpy global generator": (lambda y, s: y[torch.from_numpy(
        np.random.permutation(len(y)))], "same seed"),
    "seed ignored": (lambda y, s: shuffled(y, 3), "not used"),
    "permutation returned": (lambda y, s: torch.randperm(
        len(y), generator=torch.Generator().manual_seed(s)).float(), "labels themselves"),
    "one label short": (lambda y, s: shuffled(y, s)[:-1], "shape"),
    "extra axis": (lambda y, s: shuffled(y, s)[None], "shape"),
    "numpy": (lambda y, s: shuffled(y, s).numpy(), "tensor"),
    "list": (lambda y, s: shuffled(y, s).tolist(), "tensor"),
    "integer labels": (lambda y, s: shuffled(y, s).long(), "dtype"),
    "library": (_library_shuffle, "mtl_tutor's own"),
    "crash": (lambda y, s: y.shuffle(), "raised AttributeError"),
    "stub": (_stub, "no answer yet"),
    "otter stub": (_ellipsis, "no answer yet"),
}


@pytest.mark.parametrize("name", SHUFFLE_RIGHT)
def test_shuffle_accepts(capsys, name):
    ok, out = judge(capsys, labs.check_shuffle, SHUFFLE_RIGHT[name])
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", SHUFFLE_WRONG)
def test_shuffle_rejects(capsys, name):
    fn, words = SHUFFLE_WRONG[name]
    ok, out = judge(capsys, labs.check_shuffle, fn)
    assert not ok and words in out, out


# --- Lab 4, Part 1: the mean cosine between tasks ----------------------------------------

def _gram(M):
    c = F.normalize(M, dim=0)
    return c.T @ c


def cosine(M):
    g, T = _gram(M), M.shape[1]
    return (g.sum() - g.trace()) / (T * (T - 1))


def _cosine_loop(M):
    T = M.shape[1]
    return torch.stack([F.cosine_similarity(M[:, s], M[:, t], dim=0)
                        for s in range(T) for t in range(T) if s != t]).mean()


def _cosine_upper(M):
    i, j = torch.triu_indices(M.shape[1], M.shape[1], 1)
    return _gram(M)[i, j].mean().item()


def _cosine_numpy(M):
    a = M.numpy()
    c = a / np.linalg.norm(a, axis=0)
    g, T = c.T @ c, a.shape[1]
    return float((g.sum() - np.trace(g)) / (T * (T - 1)))


MEAN_COSINE_RIGHT = {"gram": cosine, "loop": _cosine_loop, "upper triangle": _cosine_upper,
                     "numpy": _cosine_numpy, "float": lambda M: float(cosine(M)),
                     "one-element tensor": lambda M: cosine(M).reshape(1)}


def _off(M):
    g = _gram(M)
    return g.sum() - g.trace()


def _rows(M):
    c = F.normalize(M, dim=1)
    g, k = c @ c.T, M.shape[0]
    return (g.sum() - g.trace()) / (k * (k - 1))


def _dots(M):
    g, T = M.T @ M, M.shape[1]
    return (g.sum() - g.trace()) / (T * (T - 1))


def _softmax_first(M):
    return cosine(torch.softmax(M.abs(), dim=0))


T_ = lambda M: M.shape[1]  # noqa: E731

MEAN_COSINE_WRONG = {
    "with itself": (lambda M: _gram(M).mean(), "with itself"),
    "rows": (_rows, "rows"),
    "dot products": (_dots, "dot products"),
    "sum": (_off, "sum"),
    "T squared": (lambda M: _off(M) / T_(M) ** 2, "T(T - 1)"),
    "half": (lambda M: _off(M) / (2 * T_(M) * (T_(M) - 1)), "half"),
    "pairs from rows": (lambda M: _off(M) / (M.shape[0] * (M.shape[0] - 1)),
                        "number of tasks"),
    "softmax first": (_softmax_first, "normalise"),
    "absolute cosines": (lambda M: (_gram(M).abs().sum() - T_(M)) / (T_(M) * (T_(M) - 1)),
                         "mean cosine should be"),
    "matrix": (_gram, "one number"),
    "list": (lambda M: [float(cosine(M))], "return a number"),
    "string": (lambda M: "0.5", "return a number"),
    "nan": (lambda M: float("nan"), "mean cosine should be"),
    "vector": (lambda M: _gram(M).mean(0), "one number"),
    "library mean_cosine": (lambda M: mt.tensors.mean_cosine(M), "mtl_tutor's own"),
    "library weight_similarity": (mt.tensors.weight_similarity, "mtl_tutor's own"),
    "library inside a wrapper": (lambda M: 1.0 * float(mt.tensors.mean_cosine(M.clone())),
                                 "mtl_tutor's own"),
    "crash": (lambda M: M.foo, "raised AttributeError"),
    "shape error": (lambda M: torch.cat([M, M[:1]], 1) @ M, "raised RuntimeError"),
    "stub": (_stub, "no answer yet"),
    "otter stub": (_ellipsis, "no answer yet"),
}


@pytest.mark.parametrize("name", MEAN_COSINE_RIGHT)
def test_mean_cosine_accepts(capsys, name):
    ok, out = judge(capsys, labs.check_mean_cosine, MEAN_COSINE_RIGHT[name])
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", MEAN_COSINE_WRONG)
def test_mean_cosine_rejects(capsys, name):
    fn, words = MEAN_COSINE_WRONG[name]
    ok, out = judge(capsys, labs.check_mean_cosine, fn)
    assert not ok and words in out, out


def test_every_exercise_of_labs_2_and_4_has_twenty_wrong_answers():
    assert min(map(len, [SHUFFLE_WRONG, MEAN_COSINE_WRONG])) >= 20
