"""Lab 6's linear multi-task problem: T regression tasks that share one design matrix X
(every example has a target for every task), so that scikit-learn's MultiTaskLasso applies::

    problem = make_shared_design_tasks(n_tasks=5, overlap=0.0, seed=0)
    problem.X_train.shape, problem.Y_train.shape  # (n, d) and (n, T)
    problem.W.shape  # (d, T): features x tasks

Each task uses `n_relevant` features; a fraction `overlap` of them is used by every task,
the rest are the task's own. Targets are Y = X W + noise, in NumPy arrays.
"""
from types import SimpleNamespace

import numpy as np

from .linear import overlap_counts


def make_shared_design_tasks(n_tasks=5, n_features=50, n_relevant=5, overlap=1.0,
                             n_train=30, n_val=30, n_test=500, noise=0.5, seed=0):
    """A SimpleNamespace with X_train, Y_train, X_val, Y_val, X_test, Y_test (inputs
    x ~ N(0, I), one column of Y per task), the true task matrix W (features x tasks) and
    its support (a boolean matrix of the same shape)."""
    shared, own = overlap_counts(n_tasks, n_features, n_relevant, overlap)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_features)
    support = np.zeros((n_features, n_tasks), dtype=bool)
    support[order[:shared]] = True
    for t in range(n_tasks):
        support[order[shared + t * own: shared + (t + 1) * own], t] = True
    sizes = rng.uniform(0.5, 1.5, (n_features, n_tasks))  # far enough from zero to see
    W = np.where(support, rng.choice([-1.0, 1.0], (n_features, n_tasks)) * sizes, 0.0)

    def split(n):
        X = rng.standard_normal((n, n_features))
        return X, X @ W + noise * rng.standard_normal((n, n_tasks))

    (X_train, Y_train), (X_val, Y_val), (X_test, Y_test) = (
        split(n_train), split(n_val), split(n_test))
    return SimpleNamespace(X_train=X_train, Y_train=Y_train, X_val=X_val, Y_val=Y_val,
                           X_test=X_test, Y_test=Y_test, W=W, support=support,
                           overlap=overlap, noise=noise)
