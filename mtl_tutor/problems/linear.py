"""Linear multi-task problems with a known task matrix A (features x tasks), from a seed.

Each generator builds A with one kind of structure (shared sparse support, low rank,
clusters, latent basis tasks), then every task t gets its own inputs x ~ N(0, I) and
targets y = x . a_t + noise. The true A (and the structure) are in `data.info`.
"""
import torch

from ..data import MultiTaskData, Split, Task


def tasks_from_matrix(A, n_train, n_val, n_test, noise, seed, info) -> MultiTaskData:
    """Sample a `MultiTaskData` (per-task inputs) whose task t has weights A[:, t]."""
    d, T = A.shape
    tasks = [Task(f"task{t}") for t in range(T)]

    def split(n, stream):
        g = torch.Generator().manual_seed(seed * 7919 + stream)
        x = torch.randn(T, n, d, generator=g)
        y = torch.einsum("tnd,dt->tn", x, A) + noise * torch.randn(T, n, generator=g)
        return Split(x, {task.name: y[t] for t, task in enumerate(tasks)})

    return MultiTaskData(tasks, split(n_train, 1), split(n_val, 2), split(n_test, 3),
                         {"A": A, "noise": noise, **info})


def _weights(g, *shape):
    """Entries of random sign and magnitude in [0.5, 1.5]: far enough from zero to see."""
    sign = torch.randint(0, 2, shape, generator=g) * 2.0 - 1.0
    return sign * (0.5 + torch.rand(*shape, generator=g))


def overlap_counts(n_tasks, n_features, n_relevant, overlap) -> tuple:
    """(shared, own): of each task's `n_relevant` features, how many every task uses and
    how many are its own, for a fraction `overlap` shared; checks that they fit."""
    if not 0.0 <= overlap <= 1.0:
        raise ValueError(f"overlap must lie in [0, 1], got {overlap}.")
    shared = round(overlap * n_relevant)
    own = n_relevant - shared
    if shared + n_tasks * own > n_features:
        raise ValueError(f"{n_tasks} tasks with {own} features of their own and {shared} "
                         f"shared need {shared + n_tasks * own} features; raise n_features.")
    return shared, own


def make_sparse_linear_tasks(n_tasks=8, n_features=50, n_relevant=5, overlap=1.0,
                             n_train=30, n_val=30, n_test=500, noise=0.5, seed=0):
    """Each task uses `n_relevant` features; a fraction `overlap` of them is used by every
    task, the rest are the task's own (no two tasks share those)."""
    shared, own = overlap_counts(n_tasks, n_features, n_relevant, overlap)
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(n_features, generator=g)
    support = torch.zeros(n_features, n_tasks, dtype=torch.bool)
    support[order[:shared]] = True
    for t in range(n_tasks):
        support[order[shared + t * own: shared + (t + 1) * own], t] = True
    A = _weights(g, n_features, n_tasks) * support
    return tasks_from_matrix(A, n_train, n_val, n_test, noise, seed,
                             {"support": support, "overlap": overlap})


def make_low_rank_linear_tasks(n_tasks=10, n_features=30, rank=2, n_train=20, n_val=20,
                               n_test=500, noise=0.5, seed=0):
    """A = U V with U (d x rank) and V (rank x T): every task mixes `rank` shared directions."""
    g = torch.Generator().manual_seed(seed)
    U = torch.randn(n_features, rank, generator=g) / rank**0.5
    V = torch.randn(rank, n_tasks, generator=g)
    return tasks_from_matrix(U @ V, n_train, n_val, n_test, noise, seed, {"rank": rank})


def make_clustered_linear_tasks(n_tasks=9, n_features=30, n_clusters=3, spread=0.3,
                                n_train=20, n_val=20, n_test=500, noise=0.5, seed=0):
    """Tasks in `n_clusters` groups: a_t = centre of its cluster + spread * noise."""
    g = torch.Generator().manual_seed(seed)
    clusters = torch.arange(n_tasks) % n_clusters
    centres = torch.randn(n_features, n_clusters, generator=g)
    A = centres[:, clusters] + spread * torch.randn(n_features, n_tasks, generator=g)
    return tasks_from_matrix(A, n_train, n_val, n_test, noise, seed,
                             {"clusters": clusters.tolist()})


def make_latent_basis_linear_tasks(n_tasks=10, n_features=30, n_basis=4, n_active=2,
                                   n_train=20, n_val=20, n_test=500, noise=0.5, seed=0):
    """GO-MTL's assumption: a_t = L s_t, with k = n_basis latent basis tasks (columns of L)
    and each task combining only `n_active` of them (s_t sparse). Groups of tasks that use
    a common basis task overlap without being identical."""
    g = torch.Generator().manual_seed(seed)
    L = torch.randn(n_features, n_basis, generator=g)
    S = torch.zeros(n_basis, n_tasks)
    for t in range(n_tasks):
        active = torch.randperm(n_basis, generator=g)[:n_active]
        S[active, t] = _weights(g, n_active)
    return tasks_from_matrix(L @ S, n_train, n_val, n_test, noise, seed, {"L": L, "S": S})
