"""The kept sets of right and wrong answers to Lab 6's three exercises (the lasso's prox,
the group lasso's prox, the proximal-gradient solver): every right answer, in several
styles, gets "Correct"; every wrong answer "Not yet" with a hint that names its mistake
(the test asserts the hint's key words). One parametrised test per answer, so a false
positive or a false negative shows up by name."""
import warnings

import numpy as np
import pytest
import sklearn.linear_model as sk
from lab_answers import _ellipsis, _stub, judge

from mtl_tutor import labs

# --- Exercise 1: the lasso's prox -----------------------------------------------------

def soft(V, tau):
    return np.sign(V) * np.maximum(np.abs(V) - tau, 0.0)


def _soft_where(V, tau):
    return np.where(V > tau, V - tau, np.where(V < -tau, V + tau, 0.0))


def _soft_loop(V, tau):
    out = np.zeros_like(V)
    for i in range(V.shape[0]):
        for j in range(V.shape[1]):
            v = V[i, j]
            out[i, j] = v - tau if v > tau else v + tau if v < -tau else 0.0
    return out


def _soft_clip(V, tau):
    return V - np.clip(V, -tau, tau)


def _soft_copy_then_in_place(V, tau):
    out = V.copy()
    out[np.abs(out) <= tau] = 0.0
    out[out > 0] -= tau
    out[out < 0] += tau
    return out


SOFT_RIGHT = {"sign max": soft, "where": _soft_where, "loop": _soft_loop,
              "minus projection": _soft_clip, "copy then edit": _soft_copy_then_in_place,
              "maximum twice": lambda V, t: np.maximum(V - t, 0) + np.minimum(V + t, 0)}


def _row_shrink(V, tau):
    norms = np.linalg.norm(V, axis=1, keepdims=True)
    return V * np.maximum(0.0, 1.0 - tau / np.maximum(norms, tau))


def _soft_in_place(V, tau):
    V -= np.clip(V, -tau, tau)
    return V


def _soft_nan(V, tau):
    return V / np.abs(V) * np.maximum(np.abs(V) - tau, 0.0)


def _soft_lasso_sklearn(V, tau):  # the prox as a lasso with the identity design
    n = V.shape[0]
    return sk.Lasso(alpha=tau / n, fit_intercept=False).fit(np.eye(n) * 1.0, V).coef_.T


SOFT_WRONG = {
    "row-wise": (_row_shrink, "group lasso's prox"),
    "column-wise": (lambda V, t: V * np.maximum(0, 1 - t / np.maximum(
        np.linalg.norm(V, axis=0), t)), "column"),
    "hard threshold": (lambda V, t: V * (np.abs(V) > t), "hard thresholding"),
    "no max": (lambda V, t: np.sign(V) * (np.abs(V) - t), "max(0, |v| - tau)"),
    "minus tau": (lambda V, t: V - t, "subtracting tau"),
    "minus tau sign": (lambda V, t: V - t * np.sign(V), "max(0, |v| - tau)"),
    "positive side only": (lambda V, t: np.maximum(V - t, 0.0), "negative entries"),
    "lost sign": (lambda V, t: np.maximum(np.abs(V) - t, 0.0), "sign"),
    "projection": (lambda V, t: np.clip(V, -t, t), "projection"),
    "twice tau": (lambda V, t: soft(V, 2 * t), "twice tau"),
    "half tau": (lambda V, t: soft(V, t / 2), "half of tau"),
    "tau squared": (lambda V, t: soft(V, t * t), "tau squared"),
    "fixed tau": (lambda V, t: soft(V, 0.5), "ignores tau"),
    "unchanged": (lambda V, t: V.copy(), "unchanged"),
    "zeros": (lambda V, t: np.zeros_like(V), "all zeros"),
    "division by zero": (_soft_nan, "division by zero"),
    "in place": (_soft_in_place, "in place"),
    "transposed": (lambda V, t: soft(V, t).T, "transposed"),
    "flattened": (lambda V, t: soft(V, t).ravel(), "shape"),
    "list": (lambda V, t: soft(V, t).tolist(), "NumPy array"),
    "integers": (lambda V, t: soft(V, t).astype(int), "float array"),
    "scikit-learn": (_soft_lasso_sklearn, "calls"),
    "crash": (lambda V, t: V.soft(t), "raised AttributeError"),
    "returns None": (lambda V, t: None, "no answer yet"),
    "stub": (_stub, "no answer yet"),
    "otter stub": (_ellipsis, "no answer yet"),
}


@pytest.mark.parametrize("name", SOFT_RIGHT)
def test_soft_threshold_accepts(capsys, name):
    ok, out = judge(capsys, labs.check_soft_threshold, SOFT_RIGHT[name])
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", SOFT_WRONG)
def test_soft_threshold_rejects(capsys, name):
    fn, words = SOFT_WRONG[name]
    ok, out = judge(capsys, labs.check_soft_threshold, fn)
    assert not ok and out.startswith("Not yet:") and words in out, out


# --- Exercise 2: the group lasso's prox -----------------------------------------------

def block(V, tau):
    return _row_shrink(V, tau)


def _block_loop(V, tau):
    out = np.zeros_like(V)
    for j, row in enumerate(V):
        norm = np.sqrt((row ** 2).sum())
        if norm > tau:
            out[j] = (1 - tau / norm) * row
    return out


def _block_where(V, tau):
    norms = np.linalg.norm(V, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(norms > tau, 1 - tau / norms, 0.0)
    return scale[:, None] * V


def _block_eps(V, tau):
    norms = np.linalg.norm(V, axis=1, keepdims=True)
    return V * np.maximum(0, 1 - tau / (norms + 1e-15))


def _block_minus_projection(V, tau):
    norms = np.linalg.norm(V, axis=1, keepdims=True)
    return V - V * np.minimum(1.0, tau / np.where(norms > 0, norms, 1.0))


BLOCK_RIGHT = {"maximum": block, "loop": _block_loop, "where": _block_where,
               "epsilon": _block_eps, "minus projection": _block_minus_projection,
               "einsum norm": lambda V, t: V * np.clip(
                   1 - t / np.sqrt(np.maximum(np.einsum("ij,ij->i", V, V), t * t))[:, None],
                   0, None)}


def _block_nan(V, tau):
    norms = np.linalg.norm(V, axis=1, keepdims=True)
    return V * np.maximum(0, 1 - tau / norms)


def _block_in_place(V, tau):
    V *= np.maximum(0, 1 - tau / np.maximum(np.linalg.norm(V, axis=1, keepdims=True), tau))
    return V


def _block_norm(V, tau, ord=None, axis=1, power=1):
    norms = np.linalg.norm(V, ord=ord, axis=axis, keepdims=True) ** power
    return V * np.maximum(0, 1 - tau / np.maximum(norms, tau))


def _block_sklearn(V, tau):
    n = V.shape[0]
    return sk.MultiTaskLasso(alpha=tau / n, fit_intercept=False).fit(np.eye(n), V).coef_.T


def _block_no_max(V, tau):
    norms = np.linalg.norm(V, axis=1, keepdims=True)
    return V * (1 - tau / np.where(norms > 0, norms, 1.0))


BLOCK_WRONG = {
    "element-wise": (soft, "lasso's prox"),
    "column-wise": (lambda V, t: _block_norm(V, t, axis=0), "columns"),
    "no max": (_block_no_max, "flip their sign"),
    "division by zero": (_block_nan, "division by zero"),
    "hard group threshold": (lambda V, t: V * (np.linalg.norm(V, axis=1,
                                                              keepdims=True) > t),
                             "hard thresholding"),
    "Frobenius": (lambda V, t: V * max(0, 1 - t / max(np.linalg.norm(V), t)),
                  "Frobenius"),
    "l1 rows": (lambda V, t: _block_norm(V, t, ord=1), "l1 norm"),
    "max rows": (lambda V, t: _block_norm(V, t, ord=np.inf), "max norm"),
    "squared norm": (lambda V, t: _block_norm(V, t, power=2), "squared norm"),
    "shrunk length": (lambda V, t: V * np.maximum(0, np.linalg.norm(V, axis=1,
                                                                    keepdims=True) - t),
                      "shrunk length"),
    "projection": (lambda V, t: V - _block_minus_projection(V, t), "projection"),
    "twice tau": (lambda V, t: block(V, 2 * t), "twice tau"),
    "half tau": (lambda V, t: block(V, t / 2), "half of tau"),
    "sqrt(T) tau": (lambda V, t: block(V, np.sqrt(V.shape[1]) * t), "sqrt(T)"),
    "fixed tau": (lambda V, t: block(V, 0.5), "ignores tau"),
    "unchanged": (lambda V, t: V + 0.0, "unchanged"),
    "zeros": (lambda V, t: 0.0 * V, "all zeros"),
    "in place": (_block_in_place, "in place"),
    "transposed": (lambda V, t: block(V, t).T, "transposed"),
    "list of rows": (lambda V, t: list(block(V, t)), "NumPy array"),
    "integers": (lambda V, t: block(V, t).astype(np.int64), "float array"),
    "scikit-learn": (_block_sklearn, "calls"),
    "crash": (lambda V, t: np.linalg.norm(V, axis=2), "raised"),
    "returns None": (lambda V, t: None, "no answer yet"),
    "stub": (_stub, "no answer yet"),
    "otter stub": (_ellipsis, "no answer yet"),
}


@pytest.mark.parametrize("name", BLOCK_RIGHT)
def test_group_soft_threshold_accepts(capsys, name):
    ok, out = judge(capsys, labs.check_group_soft_threshold, BLOCK_RIGHT[name])
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", BLOCK_WRONG)
def test_group_soft_threshold_rejects(capsys, name):
    fn, words = BLOCK_WRONG[name]
    ok, out = judge(capsys, labs.check_group_soft_threshold, fn)
    assert not ok and out.startswith("Not yet:") and words in out, out


# --- Exercise 3: the proximal-gradient solver ------------------------------------------

def solver(X, Y, alpha, prox, tol=1e-8, max_iter=10_000, *, L=None, fista=True,
           stop="mapping", scale=1.0, threshold=None, warn=True, sign=1.0, start=None):
    """A proximal-gradient solver; the keywords put one mistake in at a time."""
    n = X.shape[0]
    L = np.linalg.norm(X, 2) ** 2 / n if L is None else L(X, n)
    step = 1.0 / L
    W = np.zeros((X.shape[1], Y.shape[1])) if start is None else start
    Z, t, objective = W, 1.0, np.inf
    for _ in range(max_iter):
        gradient = sign * X.T @ (X @ Z - Y) / n * scale
        W_next = prox(Z - step * gradient, step * alpha if threshold is None else
                      threshold(step, alpha))
        value = ((Y - X @ W_next) ** 2).sum() / (2 * n)
        if stop == "mapping" and np.linalg.norm(Z - W_next) / step <= tol:
            return W_next
        if stop == "change" and np.linalg.norm(Z - W_next) <= tol:
            return W_next
        if stop == "objective" and abs(objective - value) <= tol:
            return W_next
        if stop == "relative" and abs(objective - value) <= tol * abs(value):
            return W_next
        objective = value
        if fista:
            t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
            Z = W_next + (t - 1) / t_next * (W_next - W)
            t = t_next
        else:
            Z = W_next
        W = W_next
    if warn:
        warnings.warn(f"no convergence in {max_iter} iterations", RuntimeWarning,
                      stacklevel=2)
    return W


def _ista_return_z(X, Y, alpha, prox, tol=1e-8, max_iter=10_000):
    n = X.shape[0]
    step = n / np.linalg.eigvalsh(X.T @ X).max()
    W = np.zeros((X.shape[1], Y.shape[1]))
    for _ in range(max_iter):
        new = prox(W - step * X.T @ (X @ W - Y) / n, step * alpha)
        if np.linalg.norm(W - new) / step <= tol:
            return W
        W = new
    warnings.warn("max_iter reached", stacklevel=2)
    return W


def _svd_step(X, Y, alpha, prox, tol=1e-8, max_iter=10_000):
    return solver(X, Y, alpha, prox, tol, max_iter,
                  L=lambda X, n: np.linalg.svd(X, compute_uv=False)[0] ** 2 / n)


def _gram(X, Y, alpha, prox, tol=1e-8, max_iter=10_000):
    """ISTA with the Gram matrix precomputed and a UserWarning."""
    n = X.shape[0]
    G, C = X.T @ X / n, X.T @ Y / n
    step = 1 / np.linalg.eigvalsh(G)[-1]
    W = np.zeros((X.shape[1], Y.shape[1]))
    for _ in range(max_iter):
        new = prox(W - step * (G @ W - C), step * alpha)
        done = np.linalg.norm(W - new) / step <= tol
        W = new
        if done:
            return W
    warnings.warn("did not converge", stacklevel=2)
    return W


SOLVER_RIGHT = {"FISTA": solver, "ISTA": lambda *a: solver(*a, fista=False),
                "ISTA returning the tested point": _ista_return_z, "SVD step": _svd_step,
                "Gram matrix": _gram}


def _in_place(X, Y, alpha, prox, tol=1e-8, max_iter=10_000):
    X /= 1.0 + 0.0 * X  # no change in value ...
    Y -= Y.mean(axis=0)  # ... but Y is centred in place
    return solver(X, Y, alpha, prox, tol, max_iter)


def _raises_at_limit(X, Y, alpha, prox, tol=1e-8, max_iter=10_000):
    W = solver(X, Y, alpha, prox, tol, max_iter, warn=False)
    n = X.shape[0]
    step = n / np.linalg.norm(X, 2) ** 2
    if np.linalg.norm(W - prox(W - step * X.T @ (X @ W - Y) / n, step * alpha)) > tol * step:
        raise RuntimeError("no convergence")
    return W


def _own_prox(X, Y, alpha, prox, tol=1e-8, max_iter=10_000):
    def group(V, tau):
        norms = np.linalg.norm(V, axis=1, keepdims=True)
        return V * np.maximum(0.0, 1.0 - tau / np.maximum(norms, tau))
    return solver(X, Y, alpha, group, tol, max_iter)


def _fixed_iterations(X, Y, alpha, prox, tol=1e-8, max_iter=10_000):
    return solver(X, Y, alpha, prox, 0.0, 3000, warn=False)


def _sklearn(X, Y, alpha, prox, tol=1e-8, max_iter=10_000):
    return sk.MultiTaskLasso(alpha=alpha, fit_intercept=False, tol=1e-12,
                             max_iter=100_000).fit(X, Y).coef_.T


def _sklearn_renamed(X, Y, alpha, prox, tol=1e-8, max_iter=10_000):
    from sklearn.linear_model import MultiTaskLasso as Solve
    return Solve(alpha, fit_intercept=False, tol=1e-12).fit(X, Y).coef_.T


def _mtl_tutor(X, Y, alpha, prox, tol=1e-8, max_iter=10_000):
    """Calls a function of mtl_tutor.linear (whichever: it is being rewritten), with as
    many arguments as it takes: calling it at all is what is refused."""
    import inspect

    import mtl_tutor.linear as linear
    function = next(v for k, v in sorted(vars(linear).items()) if inspect.isfunction(v)
                    and not k.startswith("_") and v.__module__ == "mtl_tutor.linear")
    required = [p for p in inspect.signature(function).parameters.values()
                if p.default is p.empty and p.kind == p.POSITIONAL_OR_KEYWORD]
    function(*[None] * len(required))
    return solver(X, Y, alpha, prox, tol, max_iter)


def _wrong_sign(X, Y, alpha, prox, tol=1e-8, max_iter=10_000):
    return solver(X, Y, alpha, prox, tol, max_iter, sign=-1.0)


SOLVER_WRONG = {
    "threshold not scaled by the step": (
        lambda *a: solver(*a, threshold=lambda step, alpha: alpha), "step * alpha"),
    "step without 1/n": (lambda *a: solver(*a, L=lambda X, n: np.linalg.norm(X, 2) ** 2),
                         "times 1/L"),
    "step from the Frobenius norm": (
        lambda *a: solver(*a, L=lambda X, n: np.linalg.norm(X) ** 2 / n), "Frobenius"),
    "L not squared": (lambda *a: solver(*a, L=lambda X, n: np.linalg.norm(X, 2) / n),
                      "diverged"),
    "L from the smallest eigenvalue": (
        lambda *a: solver(*a, L=lambda X, n: np.linalg.eigvalsh(X.T @ X / n)[0]),
        "diverged"),
    "step 1": (lambda *a: solver(*a, L=lambda X, n: 1.0), "diverged"),
    "objective change only": (lambda *a: solver(*a, stop="objective"), "stopped too early"),
    "relative objective change": (lambda *a: solver(*a, stop="relative"),
                                  "stopped too early"),
    "change in W, not divided by the step": (lambda *a: solver(*a, stop="change"),
                                             "stopped too early"),
    "gradient without 1/n": (lambda *a: solver(*a, scale=X_N[0]), "diverged"),
    "no 1/n anywhere": (lambda *a: solver(
        *a, scale=X_N[0], L=lambda X, n: np.linalg.norm(X, 2) ** 2), "2n"),
    "gradient of the wrong sign": (_wrong_sign, "diverged"),
    "no warning at max_iter": (lambda *a: solver(*a, warn=False), "without a warning"),
    "raises at max_iter": (_raises_at_limit, "not raise"),
    "ignores tol": (lambda X, Y, a, p, tol=1e-8, m=10_000: solver(X, Y, a, p, 1e-10, m),
                    "ignores tol"),
    "ignores max_iter": (lambda X, Y, a, p, tol=1e-8, m=10_000: solver(X, Y, a, p, tol,
                                                                        50_000),
                         "ignores max_iter"),
    "fixed number of iterations": (_fixed_iterations, "ignores tol"),
    "never stops": (lambda *a: solver(*a, stop="never"), "warned"),
    "a prox of its own": (_own_prox, "`prox` it was given"),
    "inputs changed in place": (_in_place, "in place"),
    "transposed W": (lambda *a: solver(*a).T, "transposed"),
    "returns (W, iterations)": (lambda *a: (solver(*a), 10), "NumPy array"),
    "MultiTaskLasso": (_sklearn, "calls"),
    "MultiTaskLasso renamed": (_sklearn_renamed, "calls"),
    "mtl_tutor's solver": (_mtl_tutor, "calls"),
    "crash": (lambda X, Y, a, p, tol, m: X @ Y, "raised ValueError"),
    "returns None": (lambda *a: None, "no answer yet"),
    "stub": (_stub, "no answer yet"),
    "otter stub": (_ellipsis, "no answer yet"),
}
X_N = [60.0]  # the check's number of examples: a gradient n times too large


@pytest.mark.parametrize("name", SOLVER_RIGHT)
def test_proximal_gradient_accepts(capsys, name):
    ok, out = judge(capsys, labs.check_proximal_gradient, SOLVER_RIGHT[name])
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", SOLVER_WRONG)
def test_proximal_gradient_rejects(capsys, name):
    fn, words = SOLVER_WRONG[name]
    ok, out = judge(capsys, labs.check_proximal_gradient, fn)
    assert not ok and out.startswith("Not yet:") and words in out, out


def test_every_exercise_has_twenty_wrong_answers():
    assert min(len(SOFT_WRONG), len(BLOCK_WRONG), len(SOLVER_WRONG)) >= 20
