"""The kept sets of right and wrong answers to Lab 5 (loss weighting): every wrong answer
gets "Not yet" with a hint that names its mistake (the test asserts the hint's key words),
every right answer, in several styles, "Correct". One parametrised case per answer, so a
false positive or a false negative shows up by name."""
import math

import numpy as np
import pandas as pd
import pytest
import torch
from lab_answers import _ellipsis, _stub, judge

import mtl_tutor as mt
from mtl_tutor import labs
from mtl_tutor.delta_m import delta_m as library_delta_m
from mtl_tutor.gradient_solvers import project_conflicts
from mtl_tutor.weighting import PCGrad, UncertaintyWeighting

# --- Part 1: the uncertainty-weighted loss ------------------------------------------------

def uncertainty(L, s):
    return (0.5 * torch.exp(-s) * L + 0.5 * s).sum()


def _with_sigma(L, s):
    sigma = torch.exp(0.5 * s)
    return (L / (2 * sigma**2) + torch.log(sigma)).sum()


def _loop(L, s):
    total = 0.0
    for loss, log_var in zip(L, s):
        total = total + 0.5 * torch.exp(-log_var) * loss + 0.5 * log_var
    return total


UNC_RIGHT = {
    "vectorised": uncertainty, "with sigma": _with_sigma, "loop": _loop,
    "dot": lambda L, s: 0.5 * (torch.exp(-s) @ L) + 0.5 * s.sum(),
    "precision": lambda L, s: (0.5 * (1 / s.exp()) * L + s / 2).sum(),
    "log of exp": lambda L, s: (L / (2 * torch.exp(s)) + torch.log(torch.exp(s)) / 2).sum(),
}


def _in_place_losses(L, s):
    L.data.mul_(2)
    return uncertainty(L, s)


def _in_place_log_var(L, s):
    s.neg_()
    return uncertainty(L, s)


def _library_module(L, s):
    module = UncertaintyWeighting([mt.Task(str(i)) for i in range(len(L))])
    with torch.no_grad():
        module.log_variance.copy_(s)
    return module({str(i): loss for i, loss in enumerate(L)})


def _renamed_library(L, s):
    weigh = UncertaintyWeighting
    return weigh([mt.Task(str(i)) for i in range(len(L))])({str(i): v for i, v in
                                                             enumerate(L)})


UNC_WRONG = {
    "no log term": (lambda L, s: (0.5 * torch.exp(-s) * L).sum(), "log sigma term is missing"),
    "log term negated": (lambda L, s: (0.5 * torch.exp(-s) * L - 0.5 * s).sum(), "wrong sign"),
    "exp(+s)": (lambda L, s: (0.5 * torch.exp(s) * L + 0.5 * s).sum(), "minus sign"),
    "sigma squared twice": (lambda L, s: (0.5 * torch.exp(-2 * s) * L + 0.5 * s).sum(),
                            "square sigma twice"),
    "log_var read as log sigma": (lambda L, s: (0.5 * torch.exp(-2 * s) * L + s).sum(),
                                  "log sigma^2"),
    "log sigma^2 as the log term": (lambda L, s: (0.5 * torch.exp(-s) * L + s).sum(),
                                    "not log sigma^2"),
    "classification form": (lambda L, s: (torch.exp(-s) * L + 0.5 * s).sum(),
                            "factor 1/2"),
    "no halves": (lambda L, s: (torch.exp(-s) * L + s).sum(), "both factors 1/2"),
    "1/sigma": (lambda L, s: (0.5 * torch.exp(-s / 2) * L + 0.5 * s).sum(), "not 1/(2 sigma)"),
    "sqrt: sigma not sigma^2": (lambda L, s: (0.5 * L / s.exp().sqrt() + 0.5 * s).sum(),
                                "not 1/(2 sigma)"),
    "mean over tasks": (lambda L, s: (0.5 * torch.exp(-s) * L + 0.5 * s).mean(), "mean"),
    "one weight for all": (lambda L, s: 0.5 * torch.exp(-s).sum() * L.sum() + 0.5 * s.sum(),
                           "own weight"),
    "sigma^2 as the second term": (lambda L, s: (0.5 * torch.exp(-s) * L + 0.5 * s.exp())
                                   .sum(), "not sigma^2"),
    "log terms averaged": (lambda L, s: (0.5 * torch.exp(-s) * L).sum() + 0.5 * s.mean(),
                           "do not average"),
    "log_var read as sigma": (lambda L, s: (L / (2 * s**2) + torch.log(s)).sum(), "nan"),
    "per task, not summed": (lambda L, s: 0.5 * torch.exp(-s) * L + 0.5 * s, "one term per task"),
    ".item()": (lambda L, s: uncertainty(L, s).item(), "Python number"),
    "list": (lambda L, s: [uncertainty(L, s)], "torch tensor"),
    "log_var detached": (lambda L, s: uncertainty(L, s.detach()), "log_var"),
    "losses detached": (lambda L, s: uncertainty(L.detach(), s), "reaches the losses"),
    "all detached": (lambda L, s: uncertainty(L, s).detach(), "no gradient"),
    "weight detached": (lambda L, s: (0.5 * torch.exp(-s).detach() * L + 0.5 * s).sum(),
                        "gradient is not"),
    "losses changed in place": (_in_place_losses, "in place"),
    "log_var changed in place": (_in_place_log_var, "in place"),
    "library module": (_library_module, "mtl_tutor's own"),
    "library renamed": (_renamed_library, "mtl_tutor's own"),
    "crash": (lambda L, s: L.amount, "raised AttributeError"),
    "stub": (_stub, "no answer yet"),
    "otter stub": (_ellipsis, "no answer yet"),
    "returns None": (lambda L, s: None, "no answer yet"),
}


@pytest.mark.parametrize("name", UNC_RIGHT)
def test_uncertainty_accepts(capsys, name):
    ok, out = judge(capsys, labs.check_uncertainty_loss, UNC_RIGHT[name])
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", UNC_WRONG)
def test_uncertainty_rejects(capsys, name):
    fn, words = UNC_WRONG[name]
    ok, out = judge(capsys, labs.check_uncertainty_loss, fn)
    assert not ok and words in out, out


# --- Part 2: PCGrad's projection ------------------------------------------------------------

def pcgrad(grads):
    out = grads.clone()
    for t in range(len(grads)):
        for s in range(len(grads)):
            if s != t:
                dot = out[t] @ grads[s]
                if dot < 0:
                    out[t] = out[t] - dot / grads[s].pow(2).sum() * grads[s]
    return out


def _clamped(grads):
    rows = []
    for t, g in enumerate(grads):
        for s, other in enumerate(grads):
            if s != t:
                g = g - torch.clamp(g @ other, max=0) / (other @ other) * other
        rows.append(g)
    return torch.stack(rows)


def _numpy_style(grads):
    out = [g.clone() for g in grads]
    for t in range(len(out)):
        for s in range(len(grads)):
            if s == t:
                continue
            dot = torch.dot(out[t], grads[s])
            if dot.item() < 0.0:
                out[t] -= dot * grads[s] / torch.dot(grads[s], grads[s])
    return torch.stack(out)


def _where(grads):
    out = grads.clone()
    for t in range(len(grads)):
        for s in range(len(grads)):
            if s != t:
                dot = out[t] @ grads[s]
                out[t] = out[t] - torch.where(dot < 0, dot, 0.0) / grads[s].norm()**2 * grads[s]
    return out


PC_RIGHT = {"loop": pcgrad, "clamped": _clamped, "in-place on a copy": _numpy_style,
            "where": _where}


def _variant(**kwargs):
    from mtl_tutor.labs.lab_weighting_pcgrad import project
    return lambda grads: project(grads, **kwargs)


def _in_place(grads):
    original = grads.clone()
    for t in range(len(grads)):
        for s in range(len(grads)):
            if s != t:
                dot = grads[t] @ original[s]
                if dot < 0:
                    grads[t] -= dot / original[s].pow(2).sum() * original[s]
    return grads


def _random_order(grads):
    out = grads.clone()
    for t in range(len(grads)):
        for s in [2, 0, 1][:len(grads)] if len(grads) == 3 else range(len(grads)):
            if s != t:
                dot = out[t] @ grads[s]
                if dot < 0:
                    out[t] = out[t] - dot / grads[s].pow(2).sum() * grads[s]
    return out


def _two_tasks_only(grads):
    a, b = grads[0].clone(), grads[1].clone()
    dot = grads[0] @ grads[1]
    if dot < 0:
        a = a - dot / grads[1].pow(2).sum() * grads[1]
        b = b - dot / grads[0].pow(2).sum() * grads[0]
    return torch.stack([a, b, *grads[2:]])


def _drops(grads):
    keep = (grads @ grads.T).min(dim=1).values >= 0
    return grads * keep[:, None]


def _library_renamed(grads):
    surgery = project_conflicts
    return surgery(grads)


PC_WRONG = {
    "no projection": (lambda g: g.clone(), "nothing was projected"),
    "always projects": (_variant(when=lambda d: True), "also those that do not conflict"),
    "projects when positive": (_variant(when=lambda d: d > 0), "negative"),
    "projects unless orthogonal": (_variant(when=lambda d: d != 0), "do not conflict"),
    "adds the component": (lambda g: 2 * g - pcgrad(g), "sign is reversed"),
    "divides by the norm": (_variant(scale=lambda v: v.norm()), "squared"),
    "against projected gradients": (_variant(against_projected=True), "original"),
    "dot with the original": (_variant(own_dot=True), "projected so far"),
    "drops conflicting": (_drops, "drop a conflicting gradient"),
    "unit length": (lambda g: torch.nn.functional.normalize(pcgrad(g), dim=1), "unit length"),
    "first task only": (lambda g: torch.stack([pcgrad(g)[0], *g[1:]]), "only the first"),
    "all but the first": (lambda g: torch.stack([g[0], *pcgrad(g)[1:]]), "first task's"),
    "reversed order": (_variant(order=[2, 1, 0]), "another order"),
    "another order": (_random_order, "another order"),
    "two tasks only": (_two_tasks_only, "with three"),
    "in place": (_in_place, "in place"),
    "sum": (lambda g: pcgrad(g).sum(dim=0), "the sum"),
    "mean": (lambda g: pcgrad(g).mean(dim=0), "one projected gradient per task"),
    "list": (lambda g: list(pcgrad(g)), "not a list"),
    "numpy": (lambda g: pcgrad(g).numpy(), "torch tensor"),
    "transposed": (lambda g: pcgrad(g).T, "shape"),
    "integer": (lambda g: pcgrad(g).round().long(), "floating-point"),
    "library": (project_conflicts, "mtl_tutor's own"),
    "library renamed": (_library_renamed, "mtl_tutor's own"),
    "library class": (lambda g: PCGrad(torch.nn.Linear(1, 1)).combine(g), "mtl_tutor's own"),
    "crash": (lambda g: g @ g, "raised"),
    "stub": (_stub, "no answer yet"),
    "otter stub": (_ellipsis, "no answer yet"),
}


@pytest.mark.parametrize("name", PC_RIGHT)
def test_pcgrad_accepts(capsys, name):
    ok, out = judge(capsys, labs.check_pcgrad, PC_RIGHT[name])
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", PC_WRONG)
def test_pcgrad_rejects(capsys, name):
    fn, words = PC_WRONG[name]
    ok, out = judge(capsys, labs.check_pcgrad, fn)
    assert not ok and words in out, out


# --- Part 3: Delta_m ------------------------------------------------------------------------

def delta(errors, reference):
    return sum((errors[t] - reference[t]) / reference[t] for t in reference) / len(reference)


DM_RIGHT = {
    "generator": delta,
    "over the errors' keys": lambda e, r: sum(e[t] / r[t] - 1 for t in e) / len(e),
    "numpy": lambda e, r: np.mean([(e[t] - r[t]) / r[t] for t in r]),
    "pandas": lambda e, r: ((pd.Series(e) - pd.Series(r)) / pd.Series(r)).mean(),
    "tensor": lambda e, r: torch.tensor([(e[t] - r[t]) / r[t] for t in r]).mean(),
    "statistics": lambda e, r: __import__("statistics").mean(e[t] / r[t] - 1 for t in r),
}


def _changes_input(e, r):
    r.pop(next(iter(r)))
    return delta(e, {**r, **{t: e[t] for t in e if t not in r}})


def _library_renamed_dm(e, r):
    measure = library_delta_m
    return measure(e, r)


DM_WRONG = {
    "sign": (lambda e, r: -delta(e, r), "sign is reversed"),
    "percent": (lambda e, r: 100 * delta(e, r), "percent"),
    "sum over tasks": (lambda e, r: sum((e[t] - r[t]) / r[t] for t in r), "*mean*"),
    "mean ratio": (lambda e, r: sum(e[t] / r[t] for t in r) / len(r), "subtract 1"),
    "divided by the method": (lambda e, r: sum((e[t] - r[t]) / e[t] for t in r) / len(r),
                              "not by the method's"),
    "absolute differences": (lambda e, r: sum(e[t] - r[t] for t in r) / len(r), "absolute"),
    "pooled": (lambda e, r: sum(e[t] - r[t] for t in r) / sum(r.values()), "pool"),
    "absolute values": (lambda e, r: sum(abs(e[t] - r[t]) / r[t] for t in r) / len(r),
                        "absolute values"),
    "median": (lambda e, r: float(np.median([(e[t] - r[t]) / r[t] for t in r])), "median"),
    "one task": (lambda e, r: (e[next(iter(r))] - r[next(iter(r))]) / r[next(iter(r))],
                 "one task"),
    "by position": (lambda e, r: sum((a - b) / b for a, b in zip(e.values(), r.values()))
                    / len(r), "by position"),
    "log ratio": (lambda e, r: sum(math.log(e[t] / r[t]) for t in r) / len(r), "log ratios"),
    "per task dict": (lambda e, r: {t: (e[t] - r[t]) / r[t] for t in r}, "one value per task"),
    "per task list": (lambda e, r: [(e[t] - r[t]) / r[t] for t in r], "got list"),
    "per task array": (lambda e, r: np.array([(e[t] - r[t]) / r[t] for t in r]), "shape"),
    "string": (lambda e, r: f"{delta(e, r):.3f}", "got str"),
    "changes its input": (_changes_input, "changed its inputs"),
    "library": (library_delta_m, "mtl_tutor's own"),
    "library as mt.delta_m": (lambda e, r: mt.delta_m(e, r), "mtl_tutor's own"),
    "library renamed": (_library_renamed_dm, "mtl_tutor's own"),
    "crash": (lambda e, r: e["missing"], "raised KeyError"),
    "stub": (_stub, "no answer yet"),
    "otter stub": (_ellipsis, "no answer yet"),
    "returns None": (lambda e, r: None, "no answer yet"),
}


@pytest.mark.parametrize("name", DM_RIGHT)
def test_delta_m_accepts(capsys, name):
    ok, out = judge(capsys, labs.check_delta_m, DM_RIGHT[name])
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", DM_WRONG)
def test_delta_m_rejects(capsys, name):
    fn, words = DM_WRONG[name]
    ok, out = judge(capsys, labs.check_delta_m, fn)
    assert not ok and words in out, out


def test_each_exercise_has_twenty_wrong_answers():
    assert min(len(UNC_WRONG), len(PC_WRONG), len(DM_WRONG)) >= 20
