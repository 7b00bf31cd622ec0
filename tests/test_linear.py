import numpy as np
import pytest
import torch
from sklearn.linear_model import MultiTaskLasso

from mtl_tutor import linear, problems
from mtl_tutor import linear_penalties as lp


def random_matrix(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# proximal operators against their closed forms (the argmin of 1/2||A - V||^2 + tau * pen(A))

GRID = torch.linspace(-3, 3, 601, dtype=torch.float64)


def brute_force_prox(penalty_rows, v, tau):
    """Minimise over a fine grid of candidate rows (two entries), all at once."""
    a, b = torch.meshgrid(GRID, GRID, indexing="ij")
    z = torch.stack([a.flatten(), b.flatten()], dim=1)
    f = 0.5 * ((z - v) ** 2).sum(dim=1) + tau * penalty_rows(z)
    return z[f.argmin()][None]


@pytest.mark.parametrize("penalty,prox", [
    (lambda z: z.abs().sum(dim=1), lp.soft_threshold),
    (lambda z: z.norm(dim=1), lp.group_soft_threshold),
    (lambda z: z.abs().max(dim=1).values, lp.linf_group_threshold),
])
@pytest.mark.parametrize("v", [[1.2, -0.3], [0.2, 0.1], [2.0, 1.5]])
def test_prox_matches_the_argmin(penalty, prox, v):
    v = torch.tensor([v], dtype=torch.float64)
    expected = brute_force_prox(penalty, v, 0.5)
    torch.testing.assert_close(prox(v, 0.5), expected, atol=0.011, rtol=0)


def test_prox_closed_forms_by_hand():
    v = torch.tensor([[3.0, -4.0], [0.3, 0.1]], dtype=torch.float64)
    torch.testing.assert_close(lp.soft_threshold(v, 1.0),
                               torch.tensor([[2.0, -3.0], [0.0, 0.0]], dtype=torch.float64))
    # row 1 has length 5: shrunk to length 4; row 2 is shorter than 1: zeroed
    torch.testing.assert_close(lp.group_soft_threshold(v, 1.0),
                               torch.tensor([[2.4, -3.2], [0.0, 0.0]], dtype=torch.float64))
    # l-inf prox clips the largest entries: [3, -4] with tau 1 -> [3, -3]
    torch.testing.assert_close(lp.linf_group_threshold(v[:1], 1.0),
                               torch.tensor([[3.0, -3.0]], dtype=torch.float64))


def test_singular_value_threshold():
    V = random_matrix(6, 4)
    U, s, Vh = torch.linalg.svd(V, full_matrices=False)
    out = lp.singular_value_threshold(V, s[2].item())
    torch.testing.assert_close(torch.linalg.svdvals(out)[:2], s[:2] - s[2])
    assert torch.linalg.matrix_rank(out) == 2


def test_projection_onto_the_l1_ball():
    v = random_matrix(5, 7)
    p = lp.project_l1_ball(v, 1.0)
    assert torch.all(p.abs().sum(dim=1) <= 1.0 + 1e-12)
    inside = v / (v.abs().sum(dim=1, keepdim=True) * 2)
    torch.testing.assert_close(lp.project_l1_ball(inside, 1.0), inside)


def test_group_lasso_matches_scikit_learn():
    X = random_matrix(60, 12, seed=1)
    A = torch.zeros(12, 4, dtype=torch.float64)
    A[:3] = random_matrix(3, 4, seed=2)
    Y = X @ A + 0.1 * random_matrix(60, 4, seed=3)
    alpha = 0.05
    ours, history = linear.proximal_gradient(linear.LinearProblem(X, Y), linear.GroupL1L2(alpha),
                                         iters=20000, tol=1e-15)
    sk = MultiTaskLasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=100000)
    sk.fit(X.numpy(), Y.numpy())
    np.testing.assert_allclose(ours.numpy(), sk.coef_.T, atol=1e-5)


PENALTIES = [linear.L1(0.05), linear.GroupL1L2(0.1), linear.GroupL1Linf(0.1), linear.TraceNorm(0.2),
             linear.MeanRegularised(0.5, 0.1), linear.Clustered([0, 0, 1, 1], 0.1, 0.2, 1.0)]


@pytest.mark.parametrize("penalty", PENALTIES, ids=lambda p: type(p).__name__)
def test_objective_decreases_monotonically(penalty):
    data = problems.make_sparse_linear_tasks(n_tasks=4, n_features=20, n_relevant=4, seed=0)
    _, history = linear.proximal_gradient(linear.LinearProblem.from_split(data.train), penalty,
                                      iters=300)
    assert all(b <= a + 1e-12 for a, b in zip(history, history[1:]))
    assert history[-1] < 0.5 * history[0]


def test_dirty_model_and_go_mtl_decrease_monotonically():
    data = problems.make_latent_basis_linear_tasks(n_tasks=6, n_features=15, seed=0)
    problem = linear.LinearProblem.from_split(data.train)
    *_, history = linear.dirty_model(problem, 0.1, 0.05, iters=300)
    assert all(b <= a + 1e-12 for a, b in zip(history, history[1:]))
    *_, history = linear.go_mtl(problem, k=4, lam_sparse=0.05, lam_basis=0.01, rounds=10)
    assert all(b <= a + 1e-9 for a, b in zip(history, history[1:]))


def test_trace_norm_rank_falls_as_the_penalty_grows():
    data = problems.make_low_rank_linear_tasks(n_tasks=10, n_features=20, rank=3, n_train=40,
                                               seed=0)
    problem = linear.LinearProblem.from_split(data.train)
    ranks = []
    for lam in (0.001, 0.05, 0.3, 1.0, 3.0):
        A, _ = linear.proximal_gradient(problem, linear.TraceNorm(lam), iters=3000)
        ranks.append(int((torch.linalg.svdvals(A) > 1e-6).sum()))
    assert ranks == sorted(ranks, reverse=True) and ranks[0] > ranks[-1]
    assert ranks[-1] <= 3


def test_mean_regularised_pulls_tasks_to_their_mean():
    data = problems.make_clustered_linear_tasks(n_tasks=6, seed=0)
    problem = linear.LinearProblem.from_split(data.train)
    spread = []
    for lam in (0.0, 10.0):
        A, _ = linear.proximal_gradient(problem, linear.MeanRegularised(lam), iters=2000)
        spread.append((A - A.mean(dim=1, keepdim=True)).norm().item())
    assert spread[1] < 0.1 * spread[0]


def test_sparse_generator_support_and_overlap():
    data = problems.make_sparse_linear_tasks(n_tasks=4, n_features=30, n_relevant=5, overlap=0.6)
    support = data.info["support"]
    assert support.sum(0).tolist() == [5, 5, 5, 5]
    assert (support.all(dim=1)).sum() == 3  # 60% of 5 features used by every task
    assert torch.equal(data.info["A"] != 0, support)
    with pytest.raises(ValueError, match="raise n_features"):
        problems.make_sparse_linear_tasks(n_tasks=10, n_features=20, n_relevant=5, overlap=0.0)


def test_linear_problem_rejects_bad_input():
    with pytest.raises(ValueError, match="same n as X"):
        linear.LinearProblem(torch.randn(10, 3), torch.randn(9, 2))
    y = torch.randn(10, 2)
    y[0, 0] = float("inf")
    with pytest.raises(ValueError, match="infinite"):
        linear.LinearProblem(torch.randn(10, 3), y)
    x = torch.randn(10, 3)
    x[0, 0] = float("nan")
    with pytest.raises(ValueError, match="X contains NaN"):
        linear.LinearProblem(x, torch.randn(10, 2))


def test_solvers_warn_when_they_stop_at_the_iteration_limit():
    data = problems.make_sparse_linear_tasks(n_tasks=4, n_features=20, n_relevant=4, seed=0)
    problem = linear.LinearProblem.from_split(data.train)
    with pytest.warns(linear.ConvergenceWarning, match="proximal_gradient stopped at its limit"):
        linear.proximal_gradient(problem, linear.L1(0.05), iters=5)
    with pytest.warns(linear.ConvergenceWarning, match="dirty_model stopped at its limit of 5"):
        linear.dirty_model(problem, 0.1, 0.05, iters=5)


def test_defaults_reach_their_tolerance_on_the_books_problems():
    """choose_strength's path (the book's linear chapter) ends by its tolerance, silently."""
    import warnings
    data = problems.make_sparse_linear_tasks(n_tasks=4, n_features=20, n_relevant=4, seed=0)
    train = linear.LinearProblem.from_split(data.train)
    val = linear.LinearProblem.from_split(data.val)
    with warnings.catch_warnings():
        warnings.simplefilter("error", linear.ConvergenceWarning)
        for penalty in (linear.L1, linear.GroupL1L2, linear.TraceNorm, linear.Ridge):
            linear.choose_strength(train, val, penalty, [1.0, 0.3, 0.1, 0.03, 0.01])
        _, history = linear.proximal_gradient(train, linear.GroupL1L2(0.1))
    assert len(history) < 501
