"""Check for Lab 4 (tensor factorisation): the sharing strength rho of a task factor."""
import numpy as np
import torch

from .verdict import Verdict, _borrowed, _call, _do_it_yourself, _report, _safe


@_safe
def check_sharing_strength(fn) -> Verdict:
    """Exercise: `fn(S)` returns the sharing strength rho of a task factor S of shape
    (k, tasks): the mean cosine similarity between the columns of two *different* tasks."""
    from ..factorised import layer_sharing_strength
    from ..tensors import sharing_strength

    borrowed = _borrowed(fn, [sharing_strength, layer_sharing_strength])
    if borrowed:
        return _do_it_yourself(borrowed)

    g = torch.Generator().manual_seed(0)
    T = 5
    hard = torch.zeros(3, T)
    hard[0] = 1.0
    cases = {"S = I (STL)": torch.eye(T), "one row of ones (hard sharing)": hard,
             "a random S": torch.randn(3, T, generator=g)}
    for name, S in cases.items():
        ok, value = _call(fn, S.clone())
        if not ok:
            return _report(False, value)
        if isinstance(value, (torch.Tensor, np.ndarray, np.generic)):  # 0-d or one element
            size = value.numel() if isinstance(value, torch.Tensor) else value.size
            if size != 1:
                return _report(False, f"rho is one number, got an array of shape "
                                      f"{tuple(value.shape)}: average the similarities.")
            value = value.item()
        if not isinstance(value, (int, float)):
            return _report(False, f"return a number, got {type(value).__name__}.")
        want = sharing_strength(S, normalise=False)
        if abs(value - want) < 1e-4:
            continue
        cosine = torch.nn.functional.normalize(S, dim=0)
        if abs(value - (cosine.T @ cosine).mean().item()) < 1e-4:
            return _report(False, f"for {name} you average over all pairs including a task "
                                  "with itself (cosine 1): use pairs of different tasks.")
        rows = torch.nn.functional.normalize(S, dim=1)
        gram = rows @ rows.T
        off_rows = (gram.sum() - gram.diagonal().sum()) / max(1, S.shape[0] * (S.shape[0] - 1))
        if abs(value - off_rows.item()) < 1e-4:
            return _report(False, "you compare rows; tasks are the *columns* of S "
                                  "(shape (k, tasks)).")
        dots = S.T @ S
        if abs(value - ((dots.sum() - dots.diagonal().sum()) / (T * (T - 1))).item()) < 1e-4:
            return _report(False, "you average dot products: divide each by the two columns' "
                                  "norms (cosine similarity), so rho does not depend on scale.")
        off = (gram_c := cosine.T @ cosine).sum() - gram_c.diagonal().sum()
        k = S.shape[0]
        for wrong, hint in [
                (off, "you sum the similarities: average them over the T(T - 1) ordered "
                      "pairs of different tasks."),
                (off / T ** 2, "you divide by T^2; there are T(T - 1) ordered pairs of "
                               "different tasks."),
                (off / (2 * T * (T - 1)), "your rho is half the expected one: average over "
                                          "T(T - 1) ordered pairs, or T(T - 1)/2 unordered."),
                (off / max(1, k * (k - 1)), "count the pairs from the number of tasks, "
                                            "S.shape[1] (the columns), not from the rows."),
                (sharing_strength(S), "measure S as it is: do not normalise its columns "
                                      "(abs, softmax) before taking cosines.")]:
            if abs(value - float(wrong)) < 1e-4:
                return _report(False, f"for {name} rho should be {want:.3g}, got "
                                      f"{value:.3g}: {hint}")
        return _report(False, f"for {name} rho should be {want:.3g}, got {value:.3g}.")
    return _report(True, "0 for STL, 1 for hard sharing, and the mean cosine between tasks.")
