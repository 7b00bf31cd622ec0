"""Checks for Lab 6 (linear MTL): the lasso's proximal operator (entry-wise soft
thresholding) and the group lasso's (row-wise block soft thresholding). The solver is
checked in lab_linear_solver."""
import numpy as np

from .verdict import NO_ANSWER, Verdict, _call, _report, _safe, _watch

_V = np.array([[1.5, -0.2, 0.0], [-2.0, 0.7, 0.3], [0.4, -0.4, 0.1], [0.0, 0.0, 0.0],
               [3.0, -1.0, 0.5], [-0.05, 0.9, -1.2]])


def library() -> list:
    """The functions a student must not call for these exercises: scikit-learn's lasso
    estimators and every function or class of mtl_tutor's linear solvers, under any name."""
    import importlib

    from sklearn.linear_model import ElasticNet, Lasso, MultiTaskElasticNet, MultiTaskLasso

    found = [ElasticNet, Lasso, MultiTaskElasticNet, MultiTaskLasso]
    for name in ("mtl_tutor.linear", "mtl_tutor.linear_penalties"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        found += [(value, f"mtl_tutor's {key}") for key, value in vars(module).items()
                  if getattr(value, "__module__", None) == name and callable(value)]
    return found


def attempt(fn, *args, what="your function", strict=False):
    """(ok, value or hint): the student's function called on `args`, with a hint when it
    fails, calls the library, or changes its inputs in place; strict: a division by zero
    is an error too (NumPy would only warn, and may hide it in a max(0, .))."""
    kept = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    errors = dict(divide="raise", invalid="raise") if strict else {}
    with _watch(library()) as seen, np.errstate(**errors):
        ok, value = _call(fn, *args, what=what)
    if seen:
        return False, (f"{what} calls {seen[0]}, which solves what this exercise asks you "
                       "to write: write it with NumPy operations (the check compares it "
                       "with a reference).")
    if not ok and "FloatingPointError" in value:
        return False, (f"{what} makes a division by zero ({value.split(': ')[1].split('.')[0]}): "
                       "the all-zero row of V has norm 0. Guard the division (e.g. divide "
                       "by np.maximum(norm, tau)), so that a zero row or entry stays 0.")
    if not ok:
        return False, value
    if any(isinstance(a, np.ndarray) and not np.array_equal(a, k, equal_nan=True)
           for a, k in zip(args, kept)):
        return False, (f"{what} changed its input in place (e.g. `V -= ...` or `V[...] = "
                       "...`): work on a copy, or build a new array; the caller still "
                       "needs the original.")
    return True, value


def as_matrix(value, shape, what="the result"):
    """(ok, float array or hint) for an answer that should be a float array of `shape`."""
    if value is None or value is Ellipsis:
        return False, NO_ANSWER
    if not hasattr(value, "shape") or not hasattr(value, "dtype"):
        return False, f"return a NumPy array, got {type(value).__name__}."
    array = np.asarray(value)
    if array.shape != shape:
        turned = " (transposed?)" if array.shape == shape[::-1] else ""
        return False, f"{what} must have the shape of V, {shape}, got {array.shape}{turned}."
    if not np.issubdtype(array.dtype, np.floating):
        return False, f"{what} must be a float array, got dtype {array.dtype}."
    return True, array.astype(float)


def soft(V, tau):
    return np.sign(V) * np.maximum(np.abs(V) - tau, 0.0)


def block_soft(V, tau):
    norms = np.linalg.norm(V, axis=1, keepdims=True)
    return V * np.maximum(0.0, 1.0 - tau / np.maximum(norms, tau))


def _wrong_entrywise(V, tau):
    """Known mistakes of the lasso's prox: (value, hint)."""
    norms = np.linalg.norm(V, axis=1, keepdims=True)
    return [
        (block_soft(V, tau), "you shrink each row's length: that is the group lasso's prox. "
                             "The lasso's prox acts on every entry on its own."),
        (V * np.maximum(0, 1 - tau / np.maximum(np.linalg.norm(V, axis=0), tau)),
         "you shrink each column's length; the lasso's prox acts on every entry on its own."),
        (V * (np.abs(V) > tau), "that is hard thresholding: entries larger than tau must "
                                "also shrink, by tau, towards 0."),
        (np.sign(V) * (np.abs(V) - tau), "entries smaller than tau in size must become 0, "
                                         "not change sign: take max(0, |v| - tau)."),
        (V - tau, "subtracting tau moves every entry down; shrink each entry towards 0 "
                  "(by tau, and no further than 0)."),
        (V - tau * np.sign(V), "entries smaller than tau in size must become 0, not change "
                               "sign: take max(0, |v| - tau)."),
        (np.maximum(V - tau, 0.0), "negative entries must shrink towards 0 too (up by tau): "
                                   "use |v| and the sign of v."),
        (np.maximum(np.abs(V) - tau, 0.0), "you lost the sign of the entries: multiply by "
                                           "sign(v)."),
        (np.clip(V, -tau, tau), "that is the projection onto [-tau, tau]; the prox is v "
                                "minus that projection."),
        (V * np.maximum(0, 1 - tau / np.maximum(norms.sum(), tau)), "you shrink the whole "
                                                                     "matrix at once."),
    ]


def _scaled_tau(value, V, tau, reference):
    """A hint when `value` is the prox at a multiple of tau, else None."""
    for factor, words in [(2, "twice tau"), (0.5, "half of tau"), (tau, "tau squared"),
                          (np.sqrt(V.shape[1]), "sqrt(T) times tau")]:
        if np.allclose(reference(V, factor * tau), value, atol=1e-8):
            return (f"your threshold is {words}; the prox of tau times the penalty "
                    "thresholds at tau itself.")
    return None


def _check_prox(fn, reference, wrong, name, done) -> Verdict:
    answers = {}
    for tau in (0.6, 0.25):
        ok, value = attempt(fn, _V.copy(), tau, strict=True)
        if ok:
            ok, value = as_matrix(value, _V.shape)
        if not ok:
            return _report(False, value)
        if not np.all(np.isfinite(value)):
            return _report(False, "your result holds NaN or inf: the all-zero row of V (or a "
                                  "zero entry) makes a division by zero. A row or entry that "
                                  "is 0 stays 0.")
        answers[tau] = value
    first, second = answers.values()
    if np.allclose(first, _V) and np.allclose(second, _V):
        return _report(False, "you return V unchanged: the prox must shrink it.")
    if not first.any() or not second.any():
        return _report(False, "you return all zeros: only what is small must vanish.")
    if np.allclose(first, second) and not np.allclose(first, reference(_V, 0.6)):
        return _report(False, "your answer is the same for tau = 0.6 and 0.25: it ignores "
                              "tau.")
    for tau, value in answers.items():
        if np.allclose(value, reference(_V, tau), atol=1e-8):
            continue
        for other, hint in wrong(_V, tau):
            if np.allclose(value, other, atol=1e-8):
                return _report(False, hint)
        hint = _scaled_tau(value, _V, tau, reference)
        return _report(False, hint or f"for tau = {tau} the {name} does not match the "
                                      "expected one; try it on a single row by hand.")
    return _report(True, done)


@_safe
def check_soft_threshold(fn) -> Verdict:
    """Exercise: `fn(V, tau)` returns the lasso's proximal operator, every entry shrunk
    towards 0 by tau, ``sign(v) * max(abs(v) - tau, 0)``, as a new float array."""
    return _check_prox(fn, soft, _wrong_entrywise, "soft thresholding",
                       "every entry shrinks by tau towards 0, and the small ones vanish.")


def _wrong_rowwise(V, tau):
    """Known mistakes of the group lasso's prox: (value, hint)."""
    rows = np.linalg.norm(V, axis=1, keepdims=True)
    safe = np.where(rows > 0, rows, 1.0)
    whole = np.linalg.norm(V)
    return [
        (soft(V, tau), "you threshold every entry on its own: that is the lasso's prox. "
                       "The group lasso shrinks each row (a feature, across all tasks) by "
                       "its l2 norm, so that a feature is kept or dropped for every task."),
        (V * np.maximum(0, 1 - tau / np.maximum(np.linalg.norm(V, axis=0), tau)),
         "you shrink the columns (tasks); the groups are the rows (features): take the "
         "norm with axis=1."),
        (V * (1 - tau / safe), "rows whose norm is below tau must become 0, not flip "
                               "their sign: scale by max(0, 1 - tau / ||row||)."),
        (V * (rows > tau), "that keeps the rows above tau unchanged (hard thresholding): "
                           "every surviving row must also shrink, by tau in length."),
        (V * np.maximum(0, 1 - tau / max(whole, tau)), "you shrink the whole matrix by its "
                                                       "Frobenius norm; shrink each row by "
                                                       "its own norm."),
        (V * np.maximum(0, 1 - tau / np.maximum(np.abs(V).sum(1, keepdims=True), tau)),
         "you measure each row with the l1 norm; the group lasso uses the l2 norm."),
        (V * np.maximum(0, 1 - tau / np.maximum(np.abs(V).max(1, keepdims=True), tau)),
         "you measure each row with the max norm; the group lasso uses the l2 norm."),
        (V * np.maximum(0, 1 - tau / np.maximum(rows ** 2, tau)),
         "you divide by the squared norm of the row; use the norm itself."),
        (V * np.maximum(0, rows - tau), "scale each row by the factor max(0, 1 - tau / "
                                        "||row||), not by its shrunk length."),
        (np.where(rows > tau, V - tau * V / safe, V), "rows whose norm is below tau must "
                                                      "become 0."),
        (V * np.minimum(1, tau / safe), "that is the projection onto the ball of radius "
                                        "tau; the prox is V minus that projection."),
    ]


@_safe
def check_group_soft_threshold(fn) -> Verdict:
    """Exercise: `fn(V, tau)` returns the group lasso's proximal operator: each row v_j of
    V (one feature, across tasks) scaled by max(0, 1 - tau / ||v_j||_2), a zero row left
    at 0, as a new float array."""
    return _check_prox(fn, block_soft, _wrong_rowwise, "block soft thresholding",
                       "each row shrinks in length by tau and keeps its direction; rows "
                       "shorter than tau (and the zero row) become 0.")
