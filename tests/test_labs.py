"""The lab checks accept right answers and reject known-wrong ones with a specific hint."""
import torch

import mtl_tutor as mt
from mtl_tutor import labs
from mtl_tutor.auxiliary import reverse_gradient
from mtl_tutor.penalties import pairwise_l2, stacked_weights


def verdict(capsys, check, *args):
    ok = check(*args)
    return ok, capsys.readouterr().out


def right_total(tasks, preds, targets):
    return sum(mt.task_loss(t, preds[t.name], targets[t.name]) for t in tasks)


def test_total_loss(capsys):
    assert verdict(capsys, labs.check_total_loss, right_total)[0]
    cases = {
        "mean": (lambda t, p, y: right_total(t, p, y) / len(t), "mean"),
        "one task": (lambda t, p, y: mt.task_loss(t[0], p["a"], y["a"]), "summed over all tasks"),
        "vector": (lambda t, p, y: torch.stack([mt.task_loss(k, p[k.name], y[k.name])
                                                for k in t]), "one number"),
        "all mse": (lambda t, p, y: sum(((p[k.name] - y[k.name]) ** 2).mean() for k in t),
                    "binary"),
        "not a tensor": (lambda t, p, y: 1.0, "torch tensor"),
        "crash": (lambda t, p, y: p["nope"], "raised KeyError"),
    }
    for name, (fn, hint) in cases.items():
        ok, out = verdict(capsys, labs.check_total_loss, fn)
        assert not ok and hint in out, (name, out)


def right_penalty(model):
    return sum(pairwise_l2(w) for w in stacked_weights(model))


def test_pairwise_penalty(capsys):
    assert verdict(capsys, labs.check_pairwise_penalty, right_penalty)[0]

    def with_biases(model):
        layers = [m for m in model.modules() if isinstance(m, mt.TaskLinear)]
        return right_penalty(model) + sum(pairwise_l2(m.bias[..., None]) for m in layers)

    cases = {
        "biases": (with_biases, "biases"),
        "twice": (lambda m: 2 * right_penalty(m), "twice"),
        "not squared": (lambda m: right_penalty(m).sqrt(), "squared"),
        "vector": (lambda m: torch.stack([pairwise_l2(w) for w in stacked_weights(m)]),
                   "one number"),
    }
    for name, (fn, hint) in cases.items():
        ok, out = verdict(capsys, labs.check_pairwise_penalty, fn)
        assert not ok and hint in out, (name, out)


class _Plus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return ctx.scale * grad, None  # the sign error


def test_gradient_reversal(capsys):
    assert verdict(capsys, labs.check_gradient_reversal, reverse_gradient)[0]
    cases = {
        "sign": (_Plus.apply, "sign"),
        "identity": (lambda x, s: x * 1.0, "unchanged"),
        "no scale": (lambda x, s: reverse_gradient(x, 1.0), "ignored"),
        "detached": (lambda x, s: x.detach(), "gradients"),
        "changed": (lambda x, s: -x, "unchanged"),
        "shape": (lambda x, s: x.sum(), "shape"),
    }
    for name, (fn, hint) in cases.items():
        ok, out = verdict(capsys, labs.check_gradient_reversal, fn)
        assert not ok and hint in out, (name, out)


def test_head_outputs(capsys):
    data = mt.make_related_tasks(n_tasks=3, n_train=10)
    model = mt.hard_sharing(data.n_features, (8,), data.tasks)
    assert verdict(capsys, labs.check_head_outputs, model, data)[0]

    class Unsqueezed(torch.nn.Module):
        def forward(self, x):
            return {name: v[:, None] for name, v in model(x).items()}

    class Missing(torch.nn.Module):
        def forward(self, x):
            return {"task0": model(x)["task0"]}

    for wrong, hint in [(Unsqueezed(), "Squeeze"), (Missing(), "no predictions"),
                        (lambda x: x, "dict")]:
        ok, out = verdict(capsys, labs.check_head_outputs, wrong, data)
        assert not ok and hint in out, out
    bad = mt.hard_sharing(data.n_features + 1, (8,), data.tasks)  # built for the wrong inputs
    ok, out = verdict(capsys, labs.check_head_outputs, bad, data)
    assert not ok and "raised ValueError" in out
