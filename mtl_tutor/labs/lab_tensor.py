"""Check for Lab 4 (tensor factorisation): the mean cosine between the columns of a matrix,
the building block of both measures of sharing (rho and the weight similarity)."""
import numpy as np
import torch

from .verdict import Verdict, _borrowed, _call, _do_it_yourself, _report, _safe


@_safe
def check_mean_cosine(fn) -> Verdict:
    """Exercise: `fn(M)` returns the mean cosine similarity between two *different* columns
    (tasks) of a matrix M of shape (d, tasks), over the T(T - 1) ordered pairs."""
    from ..factorised import layer_sharing_strength, layer_weight_similarity
    from ..tensors import mean_cosine, sharing_strength, weight_similarity

    library = [mean_cosine, sharing_strength, weight_similarity, layer_sharing_strength,
               layer_weight_similarity]
    borrowed = _borrowed(fn, library)
    if borrowed:
        return _do_it_yourself(borrowed)

    g = torch.Generator().manual_seed(0)
    T = 5
    hard = torch.zeros(3, T)
    hard[0] = 1.0
    cases = {"S = I (STL)": torch.eye(T), "one row of ones (hard sharing)": hard,
             "a random matrix": torch.randn(3, T, generator=g)}
    for name, M in cases.items():
        ok, value = _call(fn, M.clone(), watch=library)
        if not ok:
            return _report(False, value)
        if isinstance(value, (torch.Tensor, np.ndarray, np.generic)):  # 0-d or one element
            size = value.numel() if isinstance(value, torch.Tensor) else value.size
            if size != 1:
                return _report(False, f"the mean cosine is one number, got an array of shape "
                                      f"{tuple(value.shape)}: average the similarities.")
            value = value.item()
        if not isinstance(value, (int, float)):
            return _report(False, f"return a number, got {type(value).__name__}.")
        want = mean_cosine(M)
        if abs(value - want) < 1e-4:
            continue
        return _report(False, _hint(name, M, value, want))
    return _report(True, "0 for S = I, 1 for identical columns, and the mean cosine between "
                         "different tasks.")


def _hint(name, M, value, want) -> str:
    """The most likely mistake behind a wrong value."""
    from ..tensors import sharing_strength

    T, k = M.shape[1], M.shape[0]
    cosine = torch.nn.functional.normalize(M, dim=0)
    gram = cosine.T @ cosine
    off = gram.sum() - gram.diagonal().sum()
    rows = torch.nn.functional.normalize(M, dim=1)
    row_gram = rows @ rows.T
    dots = M.T @ M
    for wrong, hint in [
            (gram.mean(), "you average over all pairs including a task with itself "
                          "(cosine 1): use pairs of different tasks."),
            ((row_gram.sum() - row_gram.diagonal().sum()) / max(1, k * (k - 1)),
             "you compare rows; tasks are the *columns* of M (shape (d, tasks))."),
            ((dots.sum() - dots.diagonal().sum()) / (T * (T - 1)),
             "you average dot products: divide each by the two columns' norms (cosine "
             "similarity), so the result does not depend on scale."),
            (off, "you sum the similarities: average them over the T(T - 1) ordered pairs "
                  "of different tasks."),
            (off / T ** 2, "you divide by T^2; there are T(T - 1) ordered pairs of "
                           "different tasks."),
            (off / (2 * T * (T - 1)), "your result is half the expected one: average over "
                                      "T(T - 1) ordered pairs, or T(T - 1)/2 unordered."),
            (off / max(1, k * (k - 1)), "count the pairs from the number of tasks, "
                                        "M.shape[1] (the columns), not from the rows."),
            ((gram.abs().sum() - gram.diagonal().abs().sum()) / (T * (T - 1)),
             "you average the absolute cosines: keep their signs (opposite columns "
             "count as -1)."),
            ((gram.pow(2).sum() - gram.diagonal().pow(2).sum()) / (T * (T - 1)),
             "you average squared cosines: average the cosines themselves."),
            (sharing_strength(M), "measure the columns as they are: the paper's "
                                  "normalisation (abs, softmax) comes in the next cell, "
                                  "do not normalise here.")]:
        if abs(value - float(wrong)) < 1e-4:
            return f"for {name} the mean cosine should be {want:.3g}, got {value:.3g}: {hint}"
    return f"for {name} the mean cosine should be {want:.3g}, got {value:.3g}."
