"""Check for Lab 6 (linear MTL): a proximal-gradient solver for the multi-task group lasso,

    min_W  (1 / (2n)) ||Y - X W||_F^2 + alpha * penalty(W),

with the step 1/L (L the largest eigenvalue of X^T X / n), an optimality-based stop (the
norm of the gradient mapping) and a warning at the iteration limit, compared with
scikit-learn's MultiTaskLasso and Lasso, which minimise the same objectives."""
import warnings

import numpy as np

from .lab_linear import as_matrix, attempt, block_soft, soft
from .verdict import Verdict, _report, _safe

TOL, MAX_ITER = 1e-8, 50_000


def _problem():
    rng = np.random.default_rng(0)
    n, d, T = 60, 15, 4
    X = 3.0 * rng.standard_normal((n, d))  # L near 20: a step of 1 would diverge
    W = np.zeros((d, T))
    W[:4] = rng.uniform(0.5, 1.5, (4, T)) * rng.choice([-1.0, 1.0], (4, T))
    W[4, 0] = 1.0  # one feature only the first task uses
    Y = X @ W + 0.5 * rng.standard_normal((n, T))
    return X, Y


def reference(X, Y, alpha, group=True):
    """scikit-learn's solution of the same objective: W of shape (features, tasks)."""
    from sklearn.linear_model import Lasso, MultiTaskLasso

    model = (MultiTaskLasso if group else Lasso)(alpha=alpha, fit_intercept=False,
                                                 tol=1e-14, max_iter=200_000)
    return model.fit(X, Y).coef_.T


def mapping_norm(W, X, Y, alpha, prox) -> float:
    """||G(W)||_F, the gradient mapping at W with the step 1/L: 0 exactly at the optimum."""
    n = X.shape[0]
    step = n / np.linalg.norm(X, 2) ** 2
    gradient = X.T @ (X @ W - Y) / n
    return float(np.linalg.norm(W - prox(W - step * gradient, step * alpha)) / step)


class _Counted:
    """The check's own prox, counting its calls and recording the thresholds it gets."""

    def __init__(self, prox):
        self.prox, self.taus = prox, []

    def __call__(self, V, tau, *args, **kwargs):
        self.taus.append(float(tau))
        return self.prox(V, tau)


def _run(fn, X, Y, alpha, prox, tol, max_iter):
    """(ok, W or hint, the counted prox, the warnings raised)."""
    counted = _Counted(prox)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ok, value = attempt(fn, X, Y, alpha, counted, tol, max_iter, what="your solver")
    if ok:
        ok, value = as_matrix(value, (X.shape[1], Y.shape[1]), "W")
        if ok and not np.all(np.isfinite(value)):
            ok, value = False, ("W holds NaN or inf: the iterates diverged. Is the step 1/L, "
                                "with L the largest eigenvalue of X^T X / n "
                                "(np.linalg.norm(X, 2) ** 2 / n)?")
    return ok, value, counted, [w for w in caught if issubclass(w.category, Warning)]


def _step_words(counted, alpha, L) -> str:
    steps = {round(tau / alpha * L, 6) for tau in counted.taus}
    if not steps:
        return ("your solver never called the `prox` it was given: call it, prox(V, step * "
                "alpha), rather than a prox of your own.")
    if steps == {round(L, 6)}:
        return ("the prox's threshold must be step * alpha (the prox of step * alpha * "
                "penalty); you pass alpha itself.")
    if max(steps) > 1.01:
        return (f"your step is {max(steps):.3g} times 1/L: too large. L is the largest "
                "eigenvalue of X^T X / n, np.linalg.norm(X, 2) ** 2 / n.")
    if max(steps) < 0.5:
        return (f"your step is {max(steps):.3g} times 1/L: safe, but far smaller than "
                "needed, so the solver crawls. Use L = np.linalg.norm(X, 2) ** 2 / n, the "
                "largest eigenvalue of X^T X / n (not a looser bound such as the Frobenius "
                "norm, and not without the 1/n).")
    return ""


@_safe
def check_proximal_gradient(fn) -> Verdict:
    """Exercise: `fn(X, Y, alpha, prox, tol, max_iter)` minimises (1/(2n)) ||Y - X W||_F^2 +
    alpha * penalty(W) by proximal gradient with the step 1/L, where `prox(V, tau)` is the
    penalty's proximal operator; it stops when the gradient mapping's norm is at most
    `tol`, warns (warnings.warn) when it reaches `max_iter` iterations, and returns W."""
    X, Y = _problem()
    n = X.shape[0]
    L = np.linalg.norm(X, 2) ** 2 / n
    alpha = 0.2 * np.linalg.norm(X.T @ Y / n, axis=1).max()
    want = reference(X, Y, alpha)
    ok, W, counted, caught = _run(fn, X, Y, alpha, block_soft, TOL, MAX_ITER)
    if not ok:
        return _report(False, W)
    error = np.linalg.norm(W - want) / np.linalg.norm(want)
    stop = mapping_norm(W, X, Y, alpha, block_soft)
    words = _step_words(counted, alpha, L)
    if error > 1e-4 or caught or stop > TOL * 1.001:
        if np.allclose(W, reference(X, Y, alpha / n), rtol=1e-3, atol=1e-6):
            return _report(False, "your W minimises (1/2) ||Y - X W||^2 + alpha * penalty: "
                                  "scikit-learn's objective, and this exercise's, divides "
                                  "the squared error by 2n, so the gradient is "
                                  "X^T (X W - Y) / n.")
        if words:
            return _report(False, words)
        if caught:
            return _report(False, f"your solver warned ({caught[0].message}) although "
                                  f"{MAX_ITER} iterations are many more than this problem "
                                  "needs: does its stopping test ever become true?")
        if error < 1e-2 and stop > TOL * 1.001:
            return _report(False, f"your solver stopped too early: at the W it returned "
                                  f"the gradient mapping's norm is {stop:.2g}, above tol = "
                                  f"{TOL:g}. Stop when ||W - prox(W - step * grad, step * "
                                  "alpha)|| / step <= tol, not when the objective (or W) "
                                  "stops changing much.")
        return _report(False, f"your W differs from scikit-learn's MultiTaskLasso by "
                              f"{error:.2g} (relative): check the gradient of the squared "
                              "error, X^T (X W - Y) / n, and its sign.")
    if words:  # right answer, but with a tiny step
        return _report(False, words)
    return _check_rules(fn, X, Y, alpha, len(counted.taus))


def _check_rules(fn, X, Y, alpha, calls) -> Verdict:
    """tol and max_iter are obeyed, and the prox is used (the lasso's gives the lasso)."""
    ok, W, counted, caught = _run(fn, X, Y, alpha, block_soft, 1e-3, MAX_ITER)
    if not ok:
        return _report(False, W)
    if len(counted.taus) >= calls or mapping_norm(W, X, Y, alpha, block_soft) > 1.001e-3:
        return _report(False, "with tol = 1e-3 your solver runs as long as with 1e-8: it "
                              "ignores tol. Stop as soon as the gradient mapping's norm is "
                              "at most tol.")
    try:
        ok, W, counted, caught = _run(fn, X, Y, alpha, block_soft, 1e-14, 3)
    except Warning as error:  # warnings turned into errors by the student's code
        return _report(False, f"at max_iter your solver raised {error!r}: warn with "
                              "warnings.warn(...) and return the last W instead.")
    if not ok:
        return _report(False, W + " (With max_iter = 3 the solver must warn and return "
                                  "its last W, not raise.)")
    if len(counted.taus) > 5:
        return _report(False, f"with max_iter = 3 your solver called the prox "
                              f"{len(counted.taus)} times: it ignores max_iter.")
    if not caught:
        return _report(False, "with max_iter = 3 your solver stopped without a warning: "
                              "when it runs out of iterations before the gradient mapping "
                              "is small, say so with warnings.warn(...), or the caller "
                              "takes an unfinished W for a solution.")
    ok, W, counted, caught = _run(fn, X, Y, alpha / 4, soft, TOL, MAX_ITER)
    if not ok:
        return _report(False, W)
    want = reference(X, Y, alpha / 4, group=False)
    if np.linalg.norm(W - want) / np.linalg.norm(want) > 1e-4 or caught:
        return _report(False, "with the lasso's prox (soft thresholding) your solver does not "
                              "reach scikit-learn's Lasso: call the `prox` it is given, "
                              "not a prox of your own.")
    return _report(True, "your solver reaches scikit-learn's MultiTaskLasso and Lasso "
                         "(relative difference below 1e-4), stops on the gradient mapping "
                         "at tol and warns at max_iter.")
