"""Checks for Lab 2's first and third exercises: noisy copies of a target (implicit data
augmentation) and the parameter count of STL and hard sharing (the capacity that Part 3's
fit to random labels measures)."""
import numpy as np
import torch

from .verdict import Verdict, _borrowed, _call, _do_it_yourself, _report, _safe


def _as_tensor(value):
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value).double()
    if isinstance(value, torch.Tensor):
        return value.detach().double()
    return None


@_safe
def check_noisy_copies(fn) -> Verdict:
    """Exercise: `fn(f, k, noise, seed)` returns a tensor of shape (n, k): k copies of the
    clean target f (shape (n,)), each with its own independent Gaussian noise of standard
    deviation `noise`, the same for the same seed, leaving f unchanged."""
    from ..problems.mechanisms import make_noisy_copies

    borrowed = _borrowed(fn, [make_noisy_copies])
    if borrowed:
        return _do_it_yourself(borrowed)
    f = torch.sin(torch.arange(4000.0) / 7)
    k, noise = 5, 0.5
    runs = []
    for seed in (3, 3, 4):
        given = f.clone()
        ok, value = _call(fn, given, k, noise, seed, watch=[make_noisy_copies])
        if not ok:
            return _report(False, value)
        if not torch.equal(given, f):
            return _report(False, "your function changed f in place: the clean target must "
                                  "stay clean; add the noise to a copy.")
        out = _as_tensor(value)
        if out is None:
            return _report(False, f"return a tensor of shape (n, k), got "
                                  f"{type(value).__name__}.")
        if out.shape == (k, len(f)):
            return _report(False, f"return shape (n, k) = {(len(f), k)}, one column per "
                                  f"copy; got {tuple(out.shape)} (transposed).")
        if out.shape != (len(f), k):
            return _report(False, f"return shape (n, k) = {(len(f), k)}, got "
                                  f"{tuple(out.shape)}.")
        runs.append(out)
    if (runs[0] - f.double()[:, None]).abs().max() == 0:
        return _report(False, "the copies equal f: add noise * a standard Gaussian draw to "
                              "each.")
    if not torch.equal(runs[0], runs[1]):
        return _report(False, "two calls with the same seed gave different copies: draw the "
                              "noise from torch.Generator().manual_seed(seed).")
    if torch.equal(runs[0], runs[2]):
        return _report(False, "two different seeds gave the same copies: use the seed.")
    problem = _noise_problem(runs[0] - f.double()[:, None], f.double(), noise)
    if problem:
        return _report(False, problem)
    return _report(True, "k copies of f, each with its own noise of the right size.")


def _noise_problem(residual, f, noise):
    """What is wrong with the noise added to f (None when it looks right)."""
    n, k = residual.shape
    if float(torch.corrcoef(torch.stack([residual[:, 0], f]))[0, 1]) < -0.5:
        return "the copies must be f plus noise, not the noise alone."
    sd = residual.std(dim=0)
    if ((residual[:, 1:] - residual[:, :1]).abs().max() < 1e-9):
        return ("every copy has the same noise: draw independent noise for each copy, "
                "shape (n, k), or the copies add nothing an extra task could average.")
    if abs(float(residual.mean())) > 4 * noise / (n * k) ** 0.5:
        return (f"the noise has mean {float(residual.mean()):.3g}, not 0: use a standard "
                "Gaussian (torch.randn), not torch.rand.")
    scaled = residual.abs().mean(dim=1)
    if abs(float(torch.corrcoef(torch.stack([scaled, f.abs()]))[0, 1])) > 0.2:
        return "the noise grows with |f|: add it (f + noise * eps), do not multiply f by it."
    if not ((sd - noise).abs() < 0.05 * noise).all():
        return (f"the noise's standard deviation is {float(sd.mean()):.3g}, not noise = "
                f"{noise}: multiply a standard Gaussian draw by noise (not noise squared, "
                "and not divided by the number of copies).")
    corr = torch.corrcoef(residual.T)
    if (corr - torch.eye(k)).abs().max() > 0.1:
        return "the copies' noises are correlated: draw them independently."
    return None


@_safe
def check_parameter_count(fn) -> Verdict:
    """Exercise: `fn(n_features, width, n_tasks, shared)` returns the number of parameters
    (weights and biases) of the networks of Part 3: one hidden layer of `width` units and
    one output per task; `shared=False` is STL (one network per task), `shared=True` hard
    sharing (one hidden layer for all tasks, one output head per task)."""
    from ..models import count_parameters

    borrowed = _borrowed(fn, [count_parameters])
    if borrowed:
        return _do_it_yourself(borrowed)
    for d, w, T in [(20, 16, 16), (7, 3, 5), (1, 1, 1)]:
        for shared in (False, True):
            ok, value = _call(fn, d, w, T, shared, watch=[count_parameters])
            if not ok:
                return _report(False, value)
            if isinstance(value, (torch.Tensor, np.ndarray, np.generic)) and \
                    np.size(value) == 1:
                value = value.item()
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    value != int(value):
                return _report(False, f"return a whole number, got {value!r}.")
            want = _count(d, w, T, shared)
            if int(value) != want:
                what = "hard sharing" if shared else "STL"
                return _report(False, f"{what} with {d} inputs, {w} hidden units and {T} "
                                      f"tasks has {want} parameters, got {int(value)}: "
                                      + _count_hint(int(value), d, w, T, shared))
    return _report(True, "STL pays for a hidden layer per task; hard sharing for one.")


def _count(d, w, T, shared):
    hidden, head = d * w + w, w + 1
    return hidden + T * head if shared else T * (hidden + head)


def _count_hint(value, d, w, T, shared) -> str:
    mistakes = [
        (T * (d * w + w) + T * (w + 1) if shared else None, "in hard sharing the hidden "
         "layer is shared: count it once, not once per task."),
        (d * w + T * w if shared else T * (d * w + w), "count the biases too (one per "
         "hidden unit and one per output)."),
        (_count(d, w, T, not shared), "you counted the other method: shared=True is hard "
         "sharing, one hidden layer for every task."),
        (d * w + w + w + 1, "count every task's head (and, for STL, every task's network)."),
        (T * (d * w + w) + w + 1, "each task has its own output head: count it T times."),
        (T * (d * w + w + w), "count each output's bias."),
    ]
    for wrong, hint in mistakes:
        if wrong is not None and value == wrong:
            return hint
    return "a layer from a to b units has a * b weights and b biases."
