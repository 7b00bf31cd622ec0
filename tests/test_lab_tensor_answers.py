"""Lab 4's second and third exercises, DMTRL-LAF's initialisation and the AUC: kept sets of
right answers (each must get "Correct") and wrong ones (each must get "Not yet" with a
hint that names its mistake: the test asserts the hint's key words)."""
import numpy as np
import pytest
import scipy.stats
import sklearn.metrics
import torch
from lab_answers import _ellipsis, _stub, judge

import mtl_tutor as mt
from mtl_tutor import labs

# --- the LAF initialisation ----------------------------------------------------------------

def _svd(W):
    return torch.linalg.svd(W, full_matrices=False)


def _rank(s, threshold):
    total = s.pow(2).sum()
    for k in range(1, len(s) + 1):
        if s[k:].pow(2).sum() <= threshold ** 2 * total:
            return k
    return len(s)


def laf(W, threshold):
    U, s, Vh = _svd(W)
    k = _rank(s, threshold)
    return U[:, :k] * s[:k], Vh[:k]


def _laf_numpy(W, threshold):
    U, s, Vh = np.linalg.svd(W.numpy(), full_matrices=False)
    error = [np.sqrt((s[k:] ** 2).sum() / (s ** 2).sum()) for k in range(1, len(s) + 1)]
    k = 1 + next(i for i, e in enumerate(error) if e <= threshold)
    return U[:, :k] @ np.diag(s[:k]), Vh[:k]


def _laf_reconstruction(W, threshold):  # the rank from the reconstruction itself
    U, s, Vh = _svd(W)
    for k in range(1, len(s) + 1):
        approx = (U[:, :k] * s[:k]) @ Vh[:k]
        if (W - approx).norm() <= threshold * W.norm():
            return U[:, :k] * s[:k], Vh[:k]


def _laf_list(W, threshold):
    L, S = laf(W, threshold)
    return [L, S]


def _laf_diag(W, threshold):
    U, s, Vh = _svd(W)
    k = _rank(s, threshold)
    return U[:, :k] @ torch.diag(s[:k]), Vh[:k].clone()


LAF_RIGHT = {"mask": laf, "numpy": _laf_numpy, "by reconstruction": _laf_reconstruction,
             "a list": _laf_list, "diag matrix": _laf_diag}


def _with_rank(rule):
    def fn(W, threshold):
        U, s, Vh = _svd(W)
        k = rule(s, threshold)
        return U[:, :k] * s[:k], Vh[:k]
    return fn


def _plain_sums(s, threshold):
    return next(k for k in range(1, len(s) + 1) if s[k:].sum() <= threshold * s.sum())


def _squared(s, threshold):
    total = s.pow(2).sum()
    return next(k for k in range(1, len(s) + 1) if s[k:].pow(2).sum() <= threshold * total)


def _largest(s, threshold):
    return max(1, int((s / s[0] > threshold).sum()))


def _zero_allowed(s, threshold):
    total = s.pow(2).sum()
    return next(k for k in range(0, len(s) + 1)
                if s[k:].pow(2).sum() <= threshold ** 2 * total)


def _in_place(W, threshold):
    W -= W.mean()
    return laf(W, threshold)


def _values_in_s(W, threshold):
    U, s, Vh = _svd(W)
    k = _rank(s, threshold)
    return U[:, :k], s[:k, None] * Vh[:k]


def _values_twice(W, threshold):
    U, s, Vh = _svd(W)
    k = _rank(s, threshold)
    return U[:, :k] * s[:k], s[:k, None] * Vh[:k]


def _no_values(W, threshold):
    U, s, Vh = _svd(W)
    k = _rank(s, threshold)
    return U[:, :k], Vh[:k]


def _untruncated(W, threshold):
    U, s, Vh = _svd(W)
    k = _rank(s, threshold)
    return U * s, Vh[:k]


def _tasks_on_rows(W, threshold):
    return laf(W.T, threshold)


def _rotated(W, threshold):
    L, S = laf(W, threshold)
    k = S.shape[0]
    Q = torch.linalg.qr(torch.randn(k, k, generator=torch.Generator().manual_seed(1)))[0]
    return L @ Q, Q.T @ S


def _normalised_first(W, threshold):
    return laf(W / W.norm(), threshold)


def _centred(W, threshold):
    return laf(W - W.mean(0), threshold)


LAF_WRONG = {
    "sums of singular values": (_with_rank(_plain_sums), "sums of singular values"),
    "squared error vs threshold": (_with_rank(_squared), "squared relative error"),
    "relative to the largest": (_with_rank(_largest), "times the largest"),
    "k = 0 allowed": (_with_rank(_zero_allowed), "at least one"),
    "one too many": (_with_rank(lambda s, t: min(len(s), _rank(s, t) + 1)), "too many"),
    "one too few": (_with_rank(lambda s, t: max(1, _rank(s, t) - 1)), "too few"),
    "every component": (_with_rank(lambda s, t: len(s)), "every component"),
    "fixed rank 2": (_with_rank(lambda s, t: 2), "the rank should be"),
    "singular values in S": (_values_in_s, "sit in S"),
    "singular values twice": (_values_twice, "singular values appear once"),
    "no singular values": (_no_values, "singular values appear once"),
    "untruncated L": (_untruncated, "shape"),
    "tasks on rows": (_tasks_on_rows, "tasks on its columns"),
    "swapped": (lambda W, t: laf(W, t)[::-1], "in this order"),
    "composed": (lambda W, t: laf(W, t)[0] @ laf(W, t)[1], "pair (L, S)"),
    "three values": (lambda W, t: (*laf(W, t), 3), "pair (L, S)"),
    "rotated basis": (_rotated, "V_k^T"),
    "normalised W": (_normalised_first, "singular values appear once"),
    "centred W": (_centred, "factorise W itself"),
    "in place": (_in_place, "in place"),
    "library LAF": (lambda W, t: (lambda w: (w.L, w.S))(
        mt.factorised.LAFWeights.from_tensor(W, t)), "mtl_tutor's own"),
    "library rank": (lambda W, t: _with_rank(
        lambda s, t: mt.tensors.rank_for_threshold(s, t ** 2 * s.pow(2).sum()))(W, t),
        "mtl_tutor's own"),
    "strings": (lambda W, t: ("L", "S"), "tensors"),
    "crash": (lambda W, t: W.foo, "raised AttributeError"),
    "stub": (_stub, "no answer yet"),
    "otter stub": (_ellipsis, "no answer yet"),
}


@pytest.mark.parametrize("name", LAF_RIGHT)
def test_laf_factors_accepts(capsys, name):
    ok, out = judge(capsys, labs.check_laf_factors, LAF_RIGHT[name])
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", LAF_WRONG)
def test_laf_factors_rejects(capsys, name):
    fn, words = LAF_WRONG[name]
    ok, out = judge(capsys, labs.check_laf_factors, fn)
    assert not ok and words in out, out


# --- the AUC -------------------------------------------------------------------------------

def auc(positive, negative):
    above = (positive[:, None] > negative[None]).float().mean()
    tied = (positive[:, None] == negative[None]).float().mean()
    return (above + tied / 2).item()


def _auc_loop(positive, negative):
    total = 0.0
    for p in positive.tolist():
        for n in negative.tolist():
            total += 1.0 if p > n else 0.5 if p == n else 0.0
    return total / (len(positive) * len(negative))


def _auc_ranks(positive, negative):  # Mann-Whitney's U from mid-ranks
    scores = np.concatenate([positive.numpy(), negative.numpy()])
    ranks = scipy.stats.rankdata(scores)
    u = ranks[:len(positive)].sum() - len(positive) * (len(positive) + 1) / 2
    return u / (len(positive) * len(negative))


def _auc_sign(positive, negative):
    return ((torch.sign(positive[:, None] - negative[None]) + 1) / 2).mean()


AUC_RIGHT = {"broadcast": auc, "loop": _auc_loop, "mid-ranks": _auc_ranks,
             "sign, a tensor": _auc_sign, "one-element array": lambda p, n: np.array([auc(p, n)])}


def _pairs(p, n):
    return p[:, None] - n[None]


AUC_WRONG = {
    "ties as wins": (lambda p, n: (_pairs(p, n) >= 0).float().mean(), "not as wins"),
    "ties as losses": (lambda p, n: (_pairs(p, n) > 0).float().mean(), "not as losses"),
    "one minus": (lambda p, n: 1 - auc(p, n), "1 - AUC"),
    "reversed": (lambda p, n: auc(n, p), "1 - AUC"),
    "threshold at 0": (lambda p, n: ((p > 0).float().mean() + (n <= 0).float().mean()) / 2,
                       "threshold"),
    "divided by the count": (lambda p, n: (_pairs(p, n) > 0).float().sum() / (len(p) + len(n)),
                             "n_pos * n_neg"),
    "a count": (lambda p, n: (_pairs(p, n) > 0).float().sum()
                + (_pairs(p, n) == 0).float().sum() / 2, "divide by their number"),
    "matrix": (lambda p, n: (_pairs(p, n) > 0).float(), "one number"),
    "per positive": (lambda p, n: (_pairs(p, n) > 0).float().mean(1), "one number"),
    "mean difference": (lambda p, n: (p.mean() - n.mean()).item(), "AUC should be"),
    "sorted zip": (lambda p, n: np.mean([a > b for a, b in zip(p.sort().values,
                                                              n.sort().values)]),
                   "AUC should be"),
    "medians": (lambda p, n: float(p.median() > n.median()), "AUC should be"),
    "sklearn": (lambda p, n: sklearn.metrics.roc_auc_score(
        np.r_[np.ones(len(p)), np.zeros(len(n))], np.r_[p.numpy(), n.numpy()]),
        "roc_auc_score"),
    "scipy": (lambda p, n: scipy.stats.mannwhitneyu(p.numpy(), n.numpy()).statistic
              / (len(p) * len(n)), "mannwhitneyu"),
    "sorted in place": (lambda p, n: (p.__setitem__(slice(None), p.sort().values),
                                      auc(p, n))[1], "in place"),
    "string": (lambda p, n: "0.5", "return a number"),
    "list": (lambda p, n: [auc(p, n)], "return a number"),
    "nan": (lambda p, n: float("nan"), "AUC should be"),
    "crash": (lambda p, n: p @ n, "raised RuntimeError"),
    "stub": (_stub, "no answer yet"),
    "otter stub": (_ellipsis, "no answer yet"),
}


@pytest.mark.parametrize("name", AUC_RIGHT)
def test_auc_accepts(capsys, name):
    ok, out = judge(capsys, labs.check_auc, AUC_RIGHT[name])
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", AUC_WRONG)
def test_auc_rejects(capsys, name):
    fn, words = AUC_WRONG[name]
    ok, out = judge(capsys, labs.check_auc, fn)
    assert not ok and words in out, out


def test_each_new_exercise_has_twenty_wrong_answers():
    assert min(len(LAF_WRONG), len(AUC_WRONG)) >= 20
