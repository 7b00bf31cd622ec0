"""Tensor basics for tensor-factorised MTL: unfolding, mode products, Tucker (HOSVD and
HOOI), TT and CP, and two measures of how alike tasks' weights are.

Conventions: the mode-n unfolding puts axis n first and flattens the rest in their
original (C) order, so `unfold(X, n)` has shape (X.shape[n], X.numel() // X.shape[n]) and
`fold` undoes it exactly. (Kolda and Bader order the columns differently; any fixed order
works as long as fold and unfold agree.)

Each decomposition takes either explicit `ranks` or a relative-error `threshold` eps in
(0, 1) and then returns factors whose reconstruction error ||X - X_hat|| / ||X|| is at
most eps.
"""
import math
import numbers

import torch


def unfold(x: torch.Tensor, mode: int) -> torch.Tensor:
    """The mode-`mode` unfolding (matricisation): its columns are the mode-n fibres."""
    _check_mode(x, mode)
    return torch.movedim(x, mode, 0).reshape(x.shape[mode], -1)


def fold(matrix: torch.Tensor, mode: int, shape) -> torch.Tensor:
    """Inverse of `unfold`: the tensor of `shape` whose mode-`mode` unfolding is `matrix`."""
    shape = tuple(shape)
    moved = (shape[mode],) + shape[:mode] + shape[mode + 1:]
    return torch.movedim(matrix.reshape(moved), 0, mode)


def mode_dot(x: torch.Tensor, matrix: torch.Tensor, mode: int) -> torch.Tensor:
    """The mode-n product X x_n U: multiplies every mode-n fibre by U (shape (J, I_n))."""
    _check_mode(x, mode)
    if matrix.dim() != 2 or matrix.shape[1] != x.shape[mode]:
        raise ValueError(f"mode_dot: the matrix must have shape (J, {x.shape[mode]}) to act on "
                         f"mode {mode} of a tensor of shape {tuple(x.shape)}, got "
                         f"{tuple(matrix.shape)}.")
    shape = list(x.shape)
    shape[mode] = matrix.shape[0]
    return fold(matrix @ unfold(x, mode), mode, shape)


def tensor_dot(a: torch.Tensor, b: torch.Tensor, axes_a, axes_b) -> torch.Tensor:
    """Contract `a` and `b` over the paired axes (sum of products); the remaining axes of
    a come first, then those of b. E.g. a matrix product is tensor_dot(A, B, [1], [0])."""
    axes_a, axes_b = list(axes_a), list(axes_b)
    for i, j in zip(axes_a, axes_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensor_dot: axis {i} of a has size {a.shape[i]} but axis {j} "
                             f"of b has size {b.shape[j]}; contracted axes must match.")
    return torch.tensordot(a, b, dims=(axes_a, axes_b))


def relative_error(x: torch.Tensor, approx: torch.Tensor) -> float:
    """||x - approx|| / ||x|| (Frobenius norms)."""
    return (torch.linalg.norm(x - approx) / torch.linalg.norm(x)).item()


def rank_for_threshold(singular_values: torch.Tensor, budget: float) -> int:
    """The smallest rank whose discarded squared singular values sum to at most `budget`."""
    tail = torch.cumsum(singular_values.flip(0) ** 2, 0).flip(0)  # tail[r] = sum_{i>=r} s_i^2
    fits = (tail <= budget).nonzero()
    return int(fits[0]) if len(fits) else len(singular_values)


def hosvd(x: torch.Tensor, ranks=None, threshold=None):
    """Tucker decomposition by the higher-order SVD: X ~ G x_1 U_1 x_2 U_2 ... x_N U_N.

    Returns (core G, [U_1, ..., U_N]) with orthonormal columns in every U_n. With a
    `threshold` eps each mode keeps the fewest singular vectors such that the total
    relative error is at most eps (each mode may discard eps^2 ||X||^2 / N).
    """
    # mode n's unfolding is I_n x (product of the other sizes): its rank is at most the smaller
    dims = list(x.shape)
    max_ranks = [min(size, math.prod(dims) // size) for size in dims]
    ranks = _check_ranks_or_threshold(x, ranks, threshold, max_ranks, "hosvd")
    budget = None if threshold is None else threshold**2 * x.pow(2).sum() / x.dim()
    factors = []
    for mode in range(x.dim()):
        u, s, _ = torch.linalg.svd(unfold(x, mode), full_matrices=False)
        r = ranks[mode] if ranks is not None else max(1, rank_for_threshold(s, budget))
        factors.append(u[:, :r])
    core = x
    for mode, u in enumerate(factors):
        core = mode_dot(core, u.T, mode)
    return core, factors


def hooi(x: torch.Tensor, ranks, iters: int = 200, tol: float = 1e-12):
    """Tucker decomposition by higher-order orthogonal iteration (HOOI; De Lathauwer, De Moor
    and Vandewalle 2000; Kolda and Bader's Algorithm 4.2), for explicit `ranks`.

    Starts from the truncated HOSVD, then refits one factor at a time with the others held
    fixed: U_n becomes the leading R_n left singular vectors of X multiplied along every
    other mode by U_m^T. With orthonormal factors the squared error is ||X||^2 - ||G||^2,
    so each refit can only grow the core's norm, i.e. lower the error; it stops when the
    relative change of ||G|| falls below `tol` (or after `iters` sweeps). Returns
    (core, factors) like `hosvd`; its error is never above the HOSVD's with the same ranks.
    """
    dims = list(x.shape)
    max_ranks = [min(size, math.prod(dims) // size) for size in dims]
    ranks = _check_ranks_or_threshold(x, ranks, None, max_ranks, "hooi")
    for mode, r in enumerate(ranks):  # U_n comes from an I_n x (product of other ranks) matrix
        others = math.prod(ranks) // r
        if r > others:
            raise ValueError(f"hooi: rank {r} of mode {mode} exceeds the product of the other "
                             f"ranks ({others}); a Tucker core never needs more, lower it.")
    _, factors = hosvd(x, ranks=ranks)
    previous = 0.0
    for _ in range(iters):
        for mode in range(x.dim()):
            y = x
            for other, u in enumerate(factors):
                if other != mode:
                    y = mode_dot(y, u.T, other)
            u, _, _ = torch.linalg.svd(unfold(y, mode), full_matrices=False)
            factors[mode] = u[:, :ranks[mode]]
        core = x
        for mode, u in enumerate(factors):
            core = mode_dot(core, u.T, mode)
        norm = torch.linalg.norm(core).item()
        if abs(norm - previous) <= tol * max(norm, 1e-300):
            break
        previous = norm
    return core, factors


def tucker_to_tensor(core: torch.Tensor, factors) -> torch.Tensor:
    """Rebuild G x_1 U_1 ... x_N U_N."""
    x = core
    for mode, u in enumerate(factors):
        x = mode_dot(x, u, mode)
    return x


def tt_svd(x: torch.Tensor, ranks=None, threshold=None):
    """Tensor-train decomposition by sequential SVDs (Oseledets' TT-SVD).

    Returns cores G_1, ..., G_N of shapes (r_{k-1}, I_k, r_k) with r_0 = r_N = 1, so
    that X[i_1, ..., i_N] = G_1[:, i_1, :] @ ... @ G_N[:, i_N, :]. `ranks` are the N - 1
    inner ranks; a `threshold` eps truncates each SVD so the total relative error is at
    most eps (each of the N - 1 cuts may discard eps^2 ||X||^2 / (N - 1)).
    """
    dims = list(x.shape)
    max_ranks = [min(math.prod(dims[:k + 1]), math.prod(dims[k + 1:]))
                 for k in range(len(dims) - 1)]
    ranks = _check_ranks_or_threshold(x, ranks, threshold, max_ranks, "tt_svd")
    if ranks is not None:  # each cut sees r_{k-1} * I_k rows: the ranks limit each other
        r_prev = 1
        for k, r in enumerate(ranks):
            top = min(r_prev * dims[k], math.prod(dims[k + 1:]))
            if r > top:
                raise ValueError(f"tt_svd: rank {r} at position {k} cannot be reached for a "
                                 f"tensor of shape {tuple(dims)} after rank {r_prev}: the "
                                 f"largest reachable there is {top}.")
            r_prev = r
    cuts = max(1, x.dim() - 1)
    budget = None if threshold is None else threshold**2 * x.pow(2).sum() / cuts
    cores, rest, r_prev = [], x, 1
    for k in range(len(dims) - 1):
        u, s, vh = torch.linalg.svd(rest.reshape(r_prev * dims[k], -1), full_matrices=False)
        r = ranks[k] if ranks is not None else max(1, rank_for_threshold(s, budget))
        cores.append(u[:, :r].reshape(r_prev, dims[k], r))
        rest = s[:r, None] * vh[:r]
        r_prev = r
    cores.append(rest.reshape(r_prev, dims[-1], 1))
    return cores


def tt_to_tensor(cores) -> torch.Tensor:
    """Rebuild the full tensor from tensor-train cores."""
    x = cores[0]
    for core in cores[1:]:
        x = tensor_dot(x, core, [x.dim() - 1], [0])
    return x.squeeze(0).squeeze(-1)


def khatri_rao(matrices) -> torch.Tensor:
    """Column-wise Kronecker product of matrices with R columns each: row (i, j, ...) of the
    result is the product of row i of the first, row j of the second, ...; the last
    matrix's index varies fastest, matching `unfold`'s column order."""
    out = matrices[0]
    for m in matrices[1:]:
        out = (out[:, None, :] * m[None, :, :]).reshape(-1, out.shape[1])
    return out


def cp_als(x: torch.Tensor, rank: int, iters: int = 500, tol: float = 1e-10, seed: int = 0):
    """CP (CANDECOMP/PARAFAC): x ~ the sum over r of the outer products of the r-th columns of
    one factor per mode, (I_n, rank) each, fitted by alternating least squares from a seeded
    random start. Stops when the relative error changes by less than `tol`."""
    if not isinstance(rank, numbers.Integral) or rank < 1:
        raise ValueError(f"rank must be a positive whole number, got {rank!r}.")
    g = torch.Generator().manual_seed(seed)
    factors = [torch.randn(n, rank, generator=g, dtype=x.dtype) for n in x.shape]
    previous = math.inf
    for _ in range(iters):
        for n in range(x.dim()):
            others = [factors[k] for k in range(x.dim()) if k != n]
            gram = math.prod(f.T @ f for f in others)  # (rank, rank), elementwise products
            factors[n] = unfold(x, n) @ khatri_rao(others) @ torch.linalg.pinv(gram)
        error = relative_error(x, cp_to_tensor(factors))
        if abs(previous - error) < tol:
            break
        previous = error
    return factors


def cp_to_tensor(factors) -> torch.Tensor:
    """Rebuild the full tensor from CP factors."""
    shape = [f.shape[0] for f in factors]
    return (factors[0] @ khatri_rao(factors[1:]).T).reshape(shape)


def mean_cosine(columns: torch.Tensor) -> float:
    """The mean cosine similarity between two different columns of a (d, tasks) matrix,
    over the T(T - 1) ordered pairs: 1 when every column points the same way, 0 when all
    are orthogonal. Both measures of sharing below are this, on different matrices."""
    if columns.dim() != 2 or columns.shape[1] < 2:
        raise ValueError("mean_cosine needs a matrix of shape (d, tasks) with at least two "
                         f"tasks, got {tuple(columns.shape)}.")
    unit = torch.nn.functional.normalize(columns, dim=0)
    cosine = unit.T @ unit
    t = columns.shape[1]
    return ((cosine.sum() - cosine.diagonal().sum()) / (t * (t - 1))).item()


def sharing_strength(task_factor: torch.Tensor) -> float:
    """Yang & Hospedales' sharing strength rho of a task factor S (k, tasks) in W = L S:
    each task's column made non-negative and summing to one (absolute values, then a
    softmax over the k components), then `mean_cosine`. 1 when every task uses the same
    combination; *not* 0 for STL: S = I scores (2e + T - 2) / (e^2 + T - 1), 0.82 for ten
    tasks, a random orthogonal S about 0.96, a scaled one less. rho depends on how the
    weights are factorised (L S = (L M)(M^-1 S)), so read it against these values and its
    own value before training; `weight_similarity` does not depend on the factorisation.
    """
    if task_factor.dim() != 2 or task_factor.shape[1] < 2:
        raise ValueError("sharing_strength needs a task factor of shape (k, tasks) with at "
                         f"least two tasks, got {tuple(task_factor.shape)}.")
    return mean_cosine(torch.softmax(task_factor.abs(), dim=0))


def weight_similarity(stack: torch.Tensor) -> float:
    """How alike the tasks' weights are, from a layer's stack with the tasks on the LAST
    axis ((in, out, tasks), or W = L S composed): `mean_cosine` of the tasks' flattened
    weight vectors. 1 for hard sharing (identical weights), about 0 for independently
    initialised ones. It sees only the composed weights, so any factorisation of the same
    weights scores the same."""
    if stack.dim() < 2 or stack.shape[-1] < 2:
        raise ValueError("weight_similarity needs a stack with at least two tasks on its "
                         f"last axis, got shape {tuple(stack.shape)}.")
    return mean_cosine(stack.reshape(-1, stack.shape[-1]))


def _check_mode(x, mode):
    if not 0 <= mode < x.dim():
        raise ValueError(f"mode must be between 0 and {x.dim() - 1} for a tensor with "
                         f"{x.dim()} axes, got {mode}.")


def _check_ranks_or_threshold(x, ranks, threshold, max_ranks, name):
    if (ranks is None) == (threshold is None):
        raise ValueError(f"{name}: give either ranks or a relative-error threshold, "
                         "not both and not neither.")
    if threshold is not None:
        if not 0 < threshold < 1:
            raise ValueError(f"{name}: the relative-error threshold must lie strictly between "
                             f"0 and 1 (e.g. 0.1 for 10%), got {threshold}.")
        return None
    ranks = list(ranks)
    if len(ranks) != len(max_ranks):
        raise ValueError(f"{name}: expected {len(max_ranks)} ranks for a tensor of shape "
                         f"{tuple(x.shape)}, got {len(ranks)}.")
    for k, (r, top) in enumerate(zip(ranks, max_ranks)):
        if not isinstance(r, numbers.Integral) or isinstance(r, bool):
            raise ValueError(f"{name}: ranks must be whole numbers, got {r!r} at position {k}.")
        if not 1 <= r <= top:
            raise ValueError(f"{name}: rank {r} at position {k} is impossible for a tensor of "
                             f"shape {tuple(x.shape)}; it must lie between 1 and {top} (the "
                             "largest reachable).")
    return ranks
