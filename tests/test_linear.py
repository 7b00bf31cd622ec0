import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso, MultiTaskLasso

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


def correlated_problem(seed, rho, n=50, d=20, tasks=3):
    """Shared inputs with corr(x_i, x_j) = rho^|i - j| and a row-sparse A (numpy)."""
    g = np.random.default_rng(seed)
    cov = rho ** np.abs(np.subtract.outer(np.arange(d), np.arange(d)))
    X = g.standard_normal((n, d)) @ np.linalg.cholesky(cov).T
    W = np.zeros((d, tasks))
    W[g.choice(d, 4, replace=False)] = g.standard_normal((4, tasks))
    return X, X @ W + 0.5 * g.standard_normal((n, tasks))


# random problems, a third of them with strongly correlated features (where a stopping
# rule on the objective's change stopped 2e-4 to 2e-3 away from the optimum)
CASES = [(seed, rho, frac) for seed, rho in enumerate([0.0, 0.5, 0.9, 0.95, 0.99, 0.9])
         for frac in (0.2, 0.05)]


@pytest.mark.parametrize("kind", ["lasso", "group lasso"])
@pytest.mark.parametrize("seed,rho,frac", CASES)
def test_defaults_reach_scikit_learns_optimum(kind, seed, rho, frac):
    """At their default settings the solvers agree with scikit-learn's Lasso (per task)
    and MultiTaskLasso, run to a tight tolerance, to 1e-4 relative (the same objective:
    1/(2n) ||X a_t - y_t||^2 per task plus alpha times the penalty)."""
    X, Y = correlated_problem(seed, rho)
    alpha = frac * np.abs(X.T @ Y).max() / len(X)
    if kind == "lasso":
        reference = np.stack([Lasso(alpha=alpha, fit_intercept=False, tol=1e-12,
                                    max_iter=100000).fit(X, y).coef_ for y in Y.T], 1)
        penalty = linear.L1(alpha)
    else:
        reference = MultiTaskLasso(alpha=alpha, fit_intercept=False, tol=1e-12,
                                   max_iter=100000).fit(X, Y).coef_.T
        penalty = linear.GroupL1L2(alpha)
    problem = linear.LinearProblem(torch.tensor(X), torch.tensor(Y))
    ours, _ = linear.proximal_gradient(problem, penalty)
    error = np.linalg.norm(ours.numpy() - reference) / np.linalg.norm(reference)
    assert error < 1e-4, error
    f_ours = linear.objective(problem, ours, [penalty])
    f_ref = linear.objective(problem, torch.tensor(reference), [penalty])
    assert f_ours <= f_ref + 1e-8 * abs(f_ref)


def test_dirty_model_stops_at_its_optimum():
    """The dirty model's proximal-gradient mapping test: a longer run barely moves it."""
    X, Y = correlated_problem(0, 0.9)
    problem = linear.LinearProblem(torch.tensor(X), torch.tensor(Y))
    B, S, _ = linear.dirty_model(problem, 0.1, 0.05)
    B2, S2, _ = linear.dirty_model(problem, 0.1, 0.05, iters=20000, tol=1e-11)
    assert ((B + S) - (B2 + S2)).norm() / (B2 + S2).norm() < 1e-4


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
    with pytest.warns(linear.ConvergenceWarning, match="proximal_gradient stopped at its limit"
                      ".*optimality test.*Raise iters"):
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
    assert len(history) < 2001
