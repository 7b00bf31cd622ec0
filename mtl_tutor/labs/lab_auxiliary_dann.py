"""Checks for Lab 3's second and third exercises: the loss of one domain-adversarial
training step (the label loss on the labelled source batch plus the domain loss on the
source and the target batch, through the model's gradient reversal layer), and Ganin et
al.'s schedule for the reversal's scale."""
import math

import numpy as np
import torch
import torch.nn.functional as F

from .verdict import _borrowed, _call, _do_it_yourself, _report, _safe


def dann_reference(model, source_x, source_y, target_x):
    """Binary cross-entropy of the label head on the source, plus that of the domain head
    (source 0, target 1) on both batches, from one forward pass."""
    out = model(torch.cat([source_x, target_x]))
    n = len(source_x)
    domain = torch.cat([torch.zeros(n), torch.ones(len(target_x))])
    return (F.binary_cross_entropy_with_logits(out["label"][:n], source_y)
            + F.binary_cross_entropy_with_logits(out["domain"], domain))


def _case(seed):
    from ..adversarial import DomainAdversarialNet
    from ..problems.auxiliary import make_shifted_domains

    d = make_shifted_domains(n_source=12, n_target=7, shift=1.0, seed=seed)
    torch.manual_seed(seed)
    return DomainAdversarialNet(3, hidden=8, feature_dim=2), d


def _gradients(model, loss):
    model.zero_grad()
    loss.backward()
    grads = {name: p.grad.clone() if p.grad is not None else torch.zeros_like(p)
             for name, p in model.named_parameters()}
    model.zero_grad()
    return grads


@_safe
def check_dann_loss(fn):
    """Exercise: `fn(model, source_x, source_y, target_x)` returns the domain-adversarial
    loss (a 0-d tensor): the label loss on the source plus the domain loss on source (0)
    and target (1), both binary cross-entropies on the model's logits."""
    from ..adversarial import fit_domain_adversarial

    library = [dann_reference, fit_domain_adversarial]
    borrowed = _borrowed(fn, library)
    if borrowed:
        return _do_it_yourself(borrowed)
    for seed in (0, 1):
        model, d = _case(seed)
        inputs = [d["source_x"], d["source_y"], d["target_x"]]
        given = [x.clone() for x in inputs]
        before = [p.detach().clone() for p in model.parameters()]
        ok, value = _call(fn, model, *given, watch=library)
        if not ok:
            return _report(False, value)
        if any(not torch.equal(a, b) for a, b in zip(given, inputs)):
            return _report(False, "your function changed its inputs in place: work on "
                                  "copies.")
        if any(not torch.equal(a, p) for a, p in zip(before, model.parameters())):
            return _report(False, "your function changed the model's weights: return the "
                                  "loss; the training loop calls backward() and step().")
        if any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters()):
            return _report(False, "return the loss without calling backward(): the "
                                  "training loop does that once per step.")
        problem = _problem(value, model, *inputs)
        if problem:
            return _report(False, problem)
    return _report(True, "the label loss on the source plus the domain loss on both "
                         "batches; the reversal layer inside the model does the rest.")


def _problem(value, model, source_x, source_y, target_x):
    """What is wrong with a loss (None when it is right)."""
    if isinstance(value, (int, float)):
        return ("return the loss as a tensor, not a Python number: after .item() it has no "
                "gradient to train with.")
    if isinstance(value, (tuple, list, dict)):
        return "return one loss, the sum of the label loss and the domain loss."
    if not isinstance(value, torch.Tensor) or value.dim() != 0:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value)
        return f"return one number (a 0-d tensor), got {shape}: average the losses."
    if not value.requires_grad:
        return ("your loss has no gradient: compute it from the model's outputs without "
                "detach() or torch.no_grad().")
    want = dann_reference(model, source_x, source_y, target_x)
    label, domain = _parts(model, source_x, source_y, target_x)
    if not torch.isclose(value, want, rtol=1e-4, atol=1e-6):
        return _value_hint(float(value.detach()), float(want.detach()), label, domain,
                           model, source_x, source_y, target_x)
    got, expected = _gradients(model, value), _gradients(model, want)
    for name, g in expected.items():
        if not torch.allclose(got[name], g, rtol=1e-3, atol=1e-6):
            part = name.split(".")[0]
            return (f"the loss has the right value but the wrong gradient for the {part} "
                    "layers: take both heads' outputs from model(x) (the domain head's "
                    "first layer is the reversal: skipping it makes the features help the "
                    "domain head instead of hiding the domain), without detaching them.")
    return None


@torch.no_grad()
def _parts(model, source_x, source_y, target_x):
    out = model(torch.cat([source_x, target_x]))
    n = len(source_x)
    domain = torch.cat([torch.zeros(n), torch.ones(len(target_x))])
    return (float(F.binary_cross_entropy_with_logits(out["label"][:n], source_y)),
            float(F.binary_cross_entropy_with_logits(out["domain"], domain)))


@torch.no_grad()
def _value_hint(value, want, label, domain, model, source_x, source_y, target_x) -> str:
    out = model(torch.cat([source_x, target_x]))
    n = len(source_x)
    source_domain = float(F.binary_cross_entropy_with_logits(out["domain"][:n],
                                                             torch.zeros(n)))
    target_domain = float(F.binary_cross_entropy_with_logits(out["domain"][n:],
                                                             torch.ones(len(target_x))))
    swapped = float(F.binary_cross_entropy_with_logits(
        out["domain"], torch.cat([torch.ones(n), torch.zeros(len(target_x))])))
    mistakes = [
        (label, "you return the label loss alone: add the domain loss, or the reversal "
                "layer never acts."),
        (domain, "you return the domain loss alone: add the label loss on the source."),
        (label + source_domain, "the domain loss must see the target batch too (label 1), "
                                "not only the source."),
        (label + target_domain, "the domain loss must see the source batch too (label 0), "
                                "not only the target."),
        (label + swapped, "the domain labels are swapped: source 0, target 1."),
        ((label + domain) / 2, "add the two losses, do not average them (the reversal's "
                               "scale sets the trade-off)."),
        (label - domain, "add the domain loss: the reversal layer already flips its "
                         "gradient for the features."),
    ]
    for wrong, hint in mistakes:
        if abs(value - wrong) < 1e-4 * max(1.0, abs(wrong)):
            return f"the loss should be {want:.4g}, got {value:.4g}: {hint}"
    return (f"the loss should be {want:.4g}, got {value:.4g}: binary cross-entropy on the "
            "logits (F.binary_cross_entropy_with_logits) for the source labels, plus the "
            "same for the domain (source 0, target 1).")


GAMMA = 10.0  # Ganin et al.'s value


def schedule_reference(progress: float) -> float:
    """Ganin et al.'s ramp of the reversal's scale: 2 / (1 + exp(-10 p)) - 1, from 0 at the
    start of training (p = 0) towards 1 at its end (p = 1)."""
    return 2.0 / (1.0 + math.exp(-GAMMA * progress)) - 1.0


PROGRESS = (0.0, 0.05, 0.1, 0.25, 0.5, 1.0)


@_safe
def check_reversal_schedule(fn):
    """Exercise: `fn(progress)` returns the reversal's scale for the fraction of training
    done, `progress` between 0 and 1: 2 / (1 + exp(-10 progress)) - 1."""
    borrowed = _borrowed(fn, [schedule_reference])
    if borrowed:
        return _do_it_yourself(borrowed)
    values = {}
    for progress in PROGRESS:
        ok, value = _call(fn, progress, watch=[schedule_reference])
        if not ok:
            return _report(False, value)
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        elif isinstance(value, (np.ndarray, np.generic)) and np.size(value) == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return _report(False, f"return one number, got {type(value).__name__}.")
        values[progress] = float(value)
    wrong = [p for p in PROGRESS if not abs(values[p] - schedule_reference(p)) <= 1e-6]
    if wrong:
        p = wrong[0]
        return _report(False, f"at progress {p} the scale should be "
                              f"{schedule_reference(p):.4g}, got {values[p]:.4g}: "
                              + _schedule_hint(values))
    return _report(True, "the scale starts at 0, while the features are still random, and "
                         "rises towards 1.")


def _schedule_hint(values: dict) -> str:
    rules = [
        (lambda p: 2 / (1 + math.exp(-GAMMA * p)), "subtract 1: the scale must start at 0."),
        (lambda p: 1 / (1 + math.exp(-GAMMA * p)), "that is the sigmoid itself; the "
         "schedule is 2 * sigmoid(10 p) - 1."),
        (lambda p: 2 / (1 + math.exp(GAMMA * p)) - 1, "the exponent is -10 p: the scale "
         "rises from 0 towards 1, it does not fall."),
        (lambda p: 2 / (1 + math.exp(-p)) - 1, "multiply the progress by gamma = 10."),
        (lambda p: 1 - math.exp(-GAMMA * p), "close, but the schedule is "
         "2 / (1 + exp(-10 p)) - 1, not 1 - exp(-10 p)."),
        (lambda p: math.tanh(GAMMA * p), "close (it equals tanh(5 p)), but not tanh(10 p)."),
        (lambda p: p, "a straight ramp is not Ganin et al.'s schedule: "
                      "2 / (1 + exp(-10 p)) - 1."),
        (lambda p: 1.0, "the scale must depend on the progress: it starts at 0."),
    ]
    for rule, hint in rules:
        if all(abs(v - rule(p)) <= 1e-6 for p, v in values.items()):
            return hint
    return "2 / (1 + exp(-10 * progress)) - 1."
