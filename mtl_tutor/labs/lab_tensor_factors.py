"""Checks for Lab 4's second and third exercises: DMTRL-LAF's initialisation (a truncated
SVD whose rank a relative-error threshold sets) and the area under the ROC curve, the
threshold-free score the lab compares methods by."""
import numpy as np
import torch

from .verdict import Verdict, _borrowed, _call, _do_it_yourself, _report, _safe

# A stack of T = 5 tasks' weights (d = 12) with known singular values: each threshold below
# keeps a different rank, and the usual mistakes give other ranks.
SPECTRUM = (5.0, 3.0, 1.0, 0.5, 0.1)
THRESHOLDS = (0.1, 0.3, 0.6, 0.05, 0.08, 0.5, 0.195, 0.01, 1.0)


def laf_reference(W: torch.Tensor, threshold: float):
    """L = U_k Sigma_k, S = V_k^T, with k the smallest rank (at least 1) whose relative
    reconstruction error ||W - L S||_F / ||W||_F is at most the threshold."""
    U, s, Vh = torch.linalg.svd(W, full_matrices=False)
    tail = (s.pow(2).flip(0).cumsum(0).flip(0) / s.pow(2).sum()).sqrt()  # error of rank i
    k = max(1, int((tail > threshold).sum()))
    return U[:, :k] * s[:k], Vh[:k]


def _stack(seed=0, shape=(12, 5)):
    g = torch.Generator().manual_seed(seed)
    U = torch.linalg.qr(torch.randn(shape[0], len(SPECTRUM), generator=g))[0]
    V = torch.linalg.qr(torch.randn(shape[1], len(SPECTRUM), generator=g))[0]
    return (U * torch.tensor(SPECTRUM)) @ V.T


def _as_tensor(value):
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value).float()
    return value.detach().float() if isinstance(value, torch.Tensor) else None


@_safe
def check_laf_factors(fn) -> Verdict:
    """Exercise: `fn(W, threshold)` returns (L, S) for a stack W of shape (d, T), tasks on
    its columns: the truncated SVD with the singular values in L, at the smallest rank k
    (at least 1) whose relative reconstruction error is at most `threshold`."""
    from ..factorised import LAFWeights
    from ..tensors import rank_for_threshold

    library = [LAFWeights.from_tensor, rank_for_threshold, laf_reference]
    borrowed = _borrowed(fn, library)
    if borrowed:
        return _do_it_yourself(borrowed)
    W = _stack()
    answers = {}
    for threshold in THRESHOLDS:
        given = W.clone()
        ok, value = _call(fn, given, threshold, watch=library)
        if not ok:
            return _report(False, value)
        if not torch.equal(given, W):
            return _report(False, "your function changed W in place: work on a copy (the "
                                  "trained weights must stay as they are).")
        problem = _form_problem(value, W)
        if problem:
            return _report(False, f"at threshold {threshold}: {problem}")
        answers[threshold] = tuple(map(_as_tensor, value))
    got = {t: S.shape[0] for t, (L, S) in answers.items()}
    if any(got[t] != laf_reference(W, t)[1].shape[0] for t in THRESHOLDS):
        return _report(False, _rank_hint(W, got))
    for threshold, (L, S) in answers.items():
        problem = _content_problem(L, S, W, threshold)
        if problem:
            return _report(False, f"at threshold {threshold}: {problem}")
    return _report(True, "the rank each threshold allows, L = U_k Sigma_k and S = V_k^T.")


def _form_problem(value, W):
    """What is wrong with the form of one answer (None when it is a pair of matrices of
    the shapes (d, k) and (k, T))."""
    d, T = W.shape
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return ("return the two factors as a pair (L, S), not one array (L @ S composes "
                "the weights; DMTRL trains L and S).")
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return f"return the pair (L, S); got {type(value).__name__}."
    L, S = map(_as_tensor, value)
    if L is None or S is None:
        return "L and S must be tensors (or numpy arrays)."
    if L.dim() != 2 or S.dim() != 2:
        return f"L and S are matrices; got shapes {tuple(L.shape)} and {tuple(S.shape)}."
    if L.shape[0] == T and S.shape[1] == d:
        return ("W has the tasks on its columns (shape (d, T)): S must have one column per "
                "task, L one row per input weight.")
    if S.shape[1] != T and L.shape[1] == T:
        return "return (L, S) in this order: L of shape (d, k), S of shape (k, T)."
    if L.shape != (d, S.shape[0]) or S.shape[1] != T:
        return (f"L must have shape (d, k) and S shape (k, T); got {tuple(L.shape)} and "
                f"{tuple(S.shape)}.")
    return None


def _content_problem(L, S, W, threshold):
    """What is wrong with factors of the right shapes and rank (None when they are right)."""
    d, T = W.shape
    want_L, want_S = laf_reference(W, threshold)
    k = want_S.shape[0]
    if not torch.allclose(L @ S, want_L @ want_S, atol=1e-4 * W.norm()):
        return ("L @ S is not the rank-k truncated SVD of W (U_k diag(s_k) V_k^T): check "
                "that the singular values appear once, and that you factorise W itself.")
    if not torch.allclose(S @ S.T, torch.eye(k), atol=1e-4):
        if torch.allclose(S.norm(dim=1), want_L.norm(dim=0), rtol=1e-3):
            return ("the singular values sit in S; this lab (and the book's LAF) puts them in "
                    "L = U_k Sigma_k and keeps S = V_k^T with orthonormal rows. (The authors' "
                    "released code puts them in S: the chapter shows what that changes.)")
        return "S's rows must be orthonormal: S = V_k^T, the top right singular vectors."
    if not torch.allclose((S @ want_S.T).abs(), torch.eye(k), atol=1e-3):
        return ("S spans the right space but is not V_k^T: use the SVD's own right singular "
                "vectors (rho, read from S, depends on the basis).")
    return None


def _rank_hint(W, got: dict) -> str:
    """The rule behind the ranks an answer kept at every threshold, named when it is a
    usual mistake."""
    s = torch.linalg.svdvals(W)
    squared_tail = s.pow(2).flip(0).cumsum(0).flip(0) / s.pow(2).sum()
    plain_tail = s.flip(0).cumsum(0).flip(0) / s.sum()
    want = {t: laf_reference(W, t)[1].shape[0] for t in got}
    rules = [
        (lambda t: max(1, int((plain_tail > t).sum())), "you compare sums of singular "
         "values; the Frobenius error of the truncation is the square root of the sum of "
         "the squared discarded singular values."),
        (lambda t: max(1, int((squared_tail > t).sum())), "you compare the squared relative "
         "error with the threshold; the threshold bounds the error itself, "
         "||W - L S|| / ||W||."),
        (lambda t: max(1, int((s / s[0] > t).sum())), "you keep singular values larger than "
         "threshold times the largest; the threshold bounds the relative reconstruction "
         "error."),
        (lambda t: int((squared_tail > t ** 2).sum()), "keep at least one component: k = 0 "
         "leaves nothing to share."),
        (lambda t: min(len(s), want[t] + 1), "one component too many: stop at the smallest "
         "k whose error is at most the threshold."),
        (lambda t: max(1, want[t] - 1), "one component too few: the error of your rank is "
         "above the threshold."),
        (lambda t: len(s), "you keep every component: truncate where the error first drops "
         "to the threshold.")]
    wrong = next(t for t in got if got[t] != want[t])
    start = (f"at threshold {wrong} the rank should be {want[wrong]}, got {got[wrong]}")
    for rule, hint in rules:
        if all(rule(t) == k for t, k in got.items()):
            return f"{start}: {hint}"
    return f"{start}: the smallest k with ||W - W_k||_F <= threshold * ||W||_F."


def auc_reference(positive: torch.Tensor, negative: torch.Tensor) -> float:
    """The chance that a random positive scores above a random negative, ties half."""
    above = (positive[:, None] > negative[None]).double().mean()
    tied = (positive[:, None] == negative[None]).double().mean()
    return float(above + tied / 2)


def _auc_cases():
    g = torch.Generator().manual_seed(4)
    ties = torch.randint(0, 6, (9,), generator=g).float()
    return {"scores with ties": (ties, torch.randint(0, 5, (14,), generator=g).float()),
            "separated scores": (torch.tensor([2.0, 3.0]), torch.tensor([-1.0, 0.5, 1.0])),
            "negative logits only": (-torch.rand(6, generator=g),
                                     -1 - torch.rand(11, generator=g)),
            "reversed scores": (torch.tensor([-2.0, -1.5]), torch.tensor([0.1, 1.0, 0.3]))}


@_safe
def check_auc(fn) -> Verdict:
    """Exercise: `fn(positive, negative)` returns the area under the ROC curve of the scores
    of the positive and of the negative examples (1-D tensors): the chance that a random
    positive scores above a random negative, ties counting half."""
    import scipy.stats
    import sklearn.metrics

    library = [(sklearn.metrics.roc_auc_score, "sklearn.metrics.roc_auc_score"),
               (scipy.stats.mannwhitneyu, "scipy.stats.mannwhitneyu"), auc_reference]
    borrowed = _borrowed(fn, [sklearn.metrics.roc_auc_score, scipy.stats.mannwhitneyu,
                              auc_reference])
    if borrowed:
        return _do_it_yourself(borrowed)
    for name, (positive, negative) in _auc_cases().items():
        given = (positive.clone(), negative.clone())
        ok, value = _call(fn, *given, watch=library)
        if not ok:
            return _report(False, value)
        if not (torch.equal(given[0], positive) and torch.equal(given[1], negative)):
            return _report(False, "your function changed the scores in place: work on "
                                  "copies.")
        value = _as_number(value)
        if isinstance(value, str):
            return _report(False, value)
        want = auc_reference(positive, negative)
        if not abs(value - want) <= 1e-6:  # NaN too
            return _report(False, f"for {name} the AUC should be {want:.4g}, got "
                                  f"{value:.4g}: " + _auc_hint(positive, negative, value))
    return _report(True, "the chance that a positive outscores a negative, ties half; 0.5 "
                         "is chance, and no decision threshold is needed.")


def _as_number(value):
    if isinstance(value, (torch.Tensor, np.ndarray, np.generic)):
        size = value.numel() if isinstance(value, torch.Tensor) else np.size(value)
        if size != 1:
            return (f"the AUC is one number, got an array of shape {tuple(value.shape)}: "
                    "average over all (positive, negative) pairs.")
        return float(value.item())
    if isinstance(value, (int, float)):
        return float(value)
    return f"return a number, got {type(value).__name__}."


def _auc_hint(positive, negative, value) -> str:
    pairs = positive[:, None] - negative[None]
    above, tied = (pairs > 0).double().mean(), (pairs == 0).double().mean()
    auc = float(above + tied / 2)
    mistakes = [
        (float(above + tied), "ties count half, not as wins."),
        (float(above), "ties count half, not as losses."),
        (1 - auc, "you compute 1 - AUC (or the negatives above the positives): the AUC is "
                  "the chance that the *positive* scores higher."),
        (float(((positive > 0).double().mean() + (negative <= 0).double().mean()) / 2),
         "you threshold the scores at 0 (a balanced accuracy); the AUC compares every "
         "positive with every negative, with no threshold."),
        (float((pairs > 0).double().sum() / (len(positive) + len(negative))),
         "divide by the number of (positive, negative) pairs, n_pos * n_neg."),
        (float((pairs > 0).double().sum() + (pairs == 0).double().sum() / 2),
         "you count the pairs; divide by their number to get a chance.")]
    for wrong, hint in mistakes:
        if abs(value - wrong) < 1e-6:
            return hint
    return "compare every positive score with every negative one."
