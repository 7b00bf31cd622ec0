"""Lab 3's second exercise, the domain-adversarial loss: kept sets of right answers (each must
get "Correct") and wrong ones (each must get "Not yet" with a hint that names its mistake:
the test asserts the hint's key words)."""
import pytest
import torch
import torch.nn.functional as F
from lab_answers import _ellipsis, _stub
from torch import nn

from mtl_tutor import labs
from mtl_tutor.adversarial import fit_domain_adversarial


def judge(capsys, fn):
    ok = labs.check_dann_loss(fn)
    return bool(ok), capsys.readouterr().out


def _domains(source_x, target_x):
    return torch.cat([torch.zeros(len(source_x)), torch.ones(len(target_x))])


def dann_loss(model, source_x, source_y, target_x):
    out = model(torch.cat([source_x, target_x]))
    label = F.binary_cross_entropy_with_logits(out["label"][:len(source_x)], source_y)
    domain = F.binary_cross_entropy_with_logits(out["domain"], _domains(source_x, target_x))
    return label + domain


def _two_passes(model, source_x, source_y, target_x):
    source, target = model(source_x), model(target_x)
    label = F.binary_cross_entropy_with_logits(source["label"], source_y)
    logits = torch.cat([source["domain"], target["domain"]])
    return label + F.binary_cross_entropy_with_logits(logits, _domains(source_x, target_x))


def _modules(model, source_x, source_y, target_x):
    bce = nn.BCEWithLogitsLoss()
    out = model(torch.cat([source_x, target_x]))
    return (bce(out["label"][:len(source_x)], source_y)
            + bce(out["domain"], _domains(source_x, target_x)))


def _probabilities(model, source_x, source_y, target_x):
    out = model(torch.cat([source_x, target_x]))
    p_label = torch.sigmoid(out["label"][:len(source_x)])
    p_domain = torch.sigmoid(out["domain"])
    return (F.binary_cross_entropy(p_label, source_y)
            + F.binary_cross_entropy(p_domain, _domains(source_x, target_x)))


def _logsigmoid(model, source_x, source_y, target_x):
    out = model(torch.cat([source_x, target_x]))
    def bce(z, y):
        return -(y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z)).mean()
    return bce(out["label"][:len(source_x)], source_y) + bce(out["domain"],
                                                             _domains(source_x, target_x))


RIGHT = {"one pass": dann_loss, "two passes": _two_passes, "loss modules": _modules,
         "probabilities": _probabilities, "log-sigmoid by hand": _logsigmoid}


def _parts(model, source_x, source_y, target_x):
    out = model(torch.cat([source_x, target_x]))
    n = len(source_x)
    label = F.binary_cross_entropy_with_logits(out["label"][:n], source_y)
    domains = _domains(source_x, target_x)
    return out, n, label, domains


def _label_only(*args):
    return _parts(*args)[2]


def _domain_only(*args):
    out, n, label, domains = _parts(*args)
    return F.binary_cross_entropy_with_logits(out["domain"], domains)


def _source_domain_only(*args):
    out, n, label, domains = _parts(*args)
    return label + F.binary_cross_entropy_with_logits(out["domain"][:n], domains[:n])


def _target_domain_only(*args):
    out, n, label, domains = _parts(*args)
    return label + F.binary_cross_entropy_with_logits(out["domain"][n:], domains[n:])


def _swapped(*args):
    out, n, label, domains = _parts(*args)
    return label + F.binary_cross_entropy_with_logits(out["domain"], 1 - domains)


def _averaged(*args):
    out, n, label, domains = _parts(*args)
    return (label + F.binary_cross_entropy_with_logits(out["domain"], domains)) / 2


def _subtracted(*args):
    out, n, label, domains = _parts(*args)
    return label - F.binary_cross_entropy_with_logits(out["domain"], domains)


def _mse(model, source_x, source_y, target_x):
    out = model(torch.cat([source_x, target_x]))
    return (F.mse_loss(out["label"][:len(source_x)], source_y)
            + F.mse_loss(out["domain"], _domains(source_x, target_x)))


def _double_sigmoid(model, source_x, source_y, target_x):
    out = model(torch.cat([source_x, target_x]))
    return (F.binary_cross_entropy_with_logits(torch.sigmoid(out["label"][:len(source_x)]),
                                               source_y)
            + F.binary_cross_entropy_with_logits(torch.sigmoid(out["domain"]),
                                                 _domains(source_x, target_x)))


def _no_reversal(model, source_x, source_y, target_x):
    h = model.features(torch.cat([source_x, target_x]))
    n = len(source_x)
    label = F.binary_cross_entropy_with_logits(model.label(h[:n]).squeeze(-1), source_y)
    domain = model.domain[1:](h).squeeze(-1)
    return label + F.binary_cross_entropy_with_logits(domain, _domains(source_x, target_x))


def _detached(model, source_x, source_y, target_x):
    h = model.features(torch.cat([source_x, target_x])).detach()
    n = len(source_x)
    label = F.binary_cross_entropy_with_logits(model.label(h[:n]).squeeze(-1), source_y)
    domain = model.domain(h).squeeze(-1)
    return label + F.binary_cross_entropy_with_logits(domain, _domains(source_x, target_x))


def _summed(model, source_x, source_y, target_x):
    out = model(torch.cat([source_x, target_x]))
    return (F.binary_cross_entropy_with_logits(out["label"][:len(source_x)], source_y,
                                               reduction="sum")
            + F.binary_cross_entropy_with_logits(out["domain"], _domains(source_x, target_x),
                                                 reduction="sum"))


def _backward_inside(*args):
    loss = dann_loss(*args)
    loss.backward()
    return loss


def _stepped(model, *rest):
    loss = dann_loss(model, *rest)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    return dann_loss(model, *rest)


def _in_place(model, source_x, source_y, target_x):
    source_y.mul_(1.0).add_(0.0)
    target_x += 0.5
    return dann_loss(model, source_x, source_y, target_x)


def _per_example(model, source_x, source_y, target_x):
    out = model(torch.cat([source_x, target_x]))
    return F.binary_cross_entropy_with_logits(out["domain"], _domains(source_x, target_x),
                                              reduction="none")


WRONG = {
    "label loss only": (_label_only, "label loss alone"),
    "domain loss only": (_domain_only, "domain loss alone"),
    "domain loss on the source only": (_source_domain_only, "target batch too"),
    "domain loss on the target only": (_target_domain_only, "source batch too"),
    "domain labels swapped": (_swapped, "swapped"),
    "averaged": (_averaged, "do not average"),
    "subtracted": (_subtracted, "add the domain loss"),
    "squared error": (_mse, "binary cross-entropy"),
    "sigmoid twice": (_double_sigmoid, "binary cross-entropy"),
    "reversal skipped": (_no_reversal, "wrong gradient for the features"),
    "features detached": (_detached, "wrong gradient for the features"),
    "sums, not means": (_summed, "binary cross-entropy"),
    "backward inside": (_backward_inside, "without calling backward"),
    "optimiser step inside": (_stepped, "changed the model's weights"),
    "inputs changed in place": (_in_place, "in place"),
    "per-example losses": (_per_example, "0-d tensor"),
    "a number": (lambda *a: dann_loss(*a).item(), "not a Python number"),
    "a pair": (lambda *a: (_label_only(*a), _domain_only(*a)), "return one loss"),
    "no gradient": (lambda *a: dann_loss(*a).detach(), "no gradient"),
    "library training loop": (lambda m, sx, sy, tx: fit_domain_adversarial(m, sx, sy, tx,
                                                                          epochs=1),
                              "mtl_tutor's own"),
    "crash": (lambda model, *a: model.head, "raised AttributeError"),
    "stub": (_stub, "no answer yet"),
    "otter stub": (_ellipsis, "no answer yet"),
}


@pytest.mark.parametrize("name", RIGHT)
def test_dann_loss_accepts(capsys, name):
    ok, out = judge(capsys, RIGHT[name])
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", WRONG)
def test_dann_loss_rejects(capsys, name):
    fn, words = WRONG[name]
    ok, out = judge(capsys, fn)
    assert not ok and words in out, out


def test_twenty_wrong_answers():
    assert len(WRONG) >= 20


# --- the reversal's schedule ------------------------------------------------------------------

import math  # noqa: E402

import numpy as np  # noqa: E402

from mtl_tutor.labs.lab_auxiliary_dann import schedule_reference  # noqa: E402


def schedule(p):
    return 2 / (1 + math.exp(-10 * p)) - 1


SCHEDULE_RIGHT = {
    "math": schedule,
    "torch": lambda p: 2 * torch.sigmoid(torch.tensor(10.0 * p)) - 1,
    "numpy": lambda p: 2 / (1 + np.exp(-10 * p)) - 1,
    "tanh": lambda p: math.tanh(5 * p),
    "expit": lambda p: float(2 * (1 / (1 + math.exp(-10 * p))) - 1),
}


def judge_schedule(capsys, fn):
    ok = labs.check_reversal_schedule(fn)
    return bool(ok), capsys.readouterr().out


SCHEDULE_WRONG = {
    "no minus one": (lambda p: 2 / (1 + math.exp(-10 * p)), "subtract 1"),
    "the sigmoid": (lambda p: 1 / (1 + math.exp(-10 * p)), "sigmoid itself"),
    "exponent's sign": (lambda p: 2 / (1 + math.exp(10 * p)) - 1, "-10 p"),
    "no gamma": (lambda p: 2 / (1 + math.exp(-p)) - 1, "gamma = 10"),
    "one minus exp": (lambda p: 1 - math.exp(-10 * p), "not 1 - exp"),
    "tanh(10 p)": (lambda p: math.tanh(10 * p), "not tanh(10 p)"),
    "straight ramp": (lambda p: p, "straight ramp"),
    "constant one": (lambda p: 1.0, "must depend on the progress"),
    "gamma 5": (lambda p: 2 / (1 + math.exp(-5 * p)) - 1, "should be"),
    "in percent": (lambda p: 2 / (1 + math.exp(-10 * p * 100)) - 1, "should be"),
    "decreasing": (lambda p: 1 - schedule(p), "should be"),
    "negated": (lambda p: -schedule(p), "should be"),
    "squared": (lambda p: schedule(p) ** 2, "should be"),
    "halved": (lambda p: schedule(p) / 2, "should be"),
    "zero": (lambda p: 0.0, "should be"),
    "a string": (lambda p: "0.5", "one number"),
    "a list": (lambda p: [schedule(p)], "one number"),
    "a bool": (lambda p: p > 0, "one number"),
    "nan": (lambda p: float("nan"), "should be"),
    "library": (lambda p: schedule_reference(p), "mtl_tutor's own"),
    "crash": (lambda p: p.item(), "raised AttributeError"),
    "stub": (_stub, "no answer yet"),
    "otter stub": (_ellipsis, "no answer yet"),
}


@pytest.mark.parametrize("name", SCHEDULE_RIGHT)
def test_schedule_accepts(capsys, name):
    ok, out = judge_schedule(capsys, SCHEDULE_RIGHT[name])
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", SCHEDULE_WRONG)
def test_schedule_rejects(capsys, name):
    fn, words = SCHEDULE_WRONG[name]
    ok, out = judge_schedule(capsys, fn)
    assert not ok and words in out, out


def test_twenty_wrong_schedules():
    assert len(SCHEDULE_WRONG) >= 20
