"""The stacked solvers (`mtl_tutor.linear_batch`) against the one-problem solvers: the
same iterations up to rounding, which can move a stop by an iteration, so the fits agree
to what the optimality test (tol 1e-8) leaves: 1e-6 of the fit's norm."""
import pytest
import torch

from mtl_tutor import linear, linear_batch, problems
from mtl_tutor import linear_penalties as lp


def sparse_problems(n=6):
    """Problems of one shape with different overlaps and seeds (so different step sizes
    and iteration counts)."""
    return [
        linear.LinearProblem.from_split(problems.make_sparse_linear_tasks(
            n_tasks=4, n_features=20, n_relevant=4, overlap=overlap, n_train=25, n_val=25,
            seed=seed).train)
        for seed in range(n // 2) for overlap in (0.0, 1.0)
    ]


STRENGTHS = [0.4, 0.1, 0.03]


def assert_agree(A, B):
    assert ((A - B).norm() / B.norm().clamp(min=1e-12)).item() < 1e-6


@pytest.mark.parametrize("penalty", [
    linear.L1, linear.GroupL1L2, linear.GroupL1Linf, linear.TraceNorm, linear.Ridge,
    lambda s: linear.MeanRegularised(s, 0.01),
    lambda s: linear.Clustered([0, 1, 0, 1], 0.01, 0.01, s),
])
def test_stacked_paths_match_one_problem_at_a_time(penalty):
    trains = sparse_problems()
    stacked = linear_batch.strength_paths(trains, penalty, STRENGTHS, tol=1e-8)
    for train, path in zip(trains, stacked):
        alone = linear.strength_path(train, penalty, STRENGTHS, tol=1e-8)
        for A, B in zip(path, alone):
            assert_agree(A, B)


def test_stacked_dirty_model_matches_one_problem_at_a_time():
    trains = sparse_problems()
    settings = [(0.4, 0.1), (0.15, 0.1), (0.1, 0.05)]
    stacked = linear_batch.dirty_paths(trains, settings, tol=1e-8)
    for train, path in zip(trains, stacked):
        start = None
        for (block, sparse), (B, S) in zip(settings, path):
            B0, S0, _ = linear.dirty_model(train, block, sparse, tol=1e-8, start=start)
            start = (B0, S0)
            assert_agree(B + S, B0 + S0)


def test_choose_strengths_matches_choose_strength():
    data = [problems.make_sparse_linear_tasks(n_tasks=4, n_features=20, n_relevant=4,
                                              overlap=0.5, seed=seed) for seed in range(4)]
    trains = [linear.LinearProblem.from_split(d.train) for d in data]
    vals = [linear.LinearProblem.from_split(d.val) for d in data]
    for rule in ("min", "1se"):
        chosen = linear_batch.choose_strengths(trains, vals, linear.L1, STRENGTHS, rule=rule)
        for (A, s), train, val in zip(chosen, trains, vals):
            A0, s0 = linear.choose_strength(train, val, linear.L1, STRENGTHS, rule=rule)
            assert s == s0
            assert_agree(A, A0)


def test_stacked_penalty_values_and_prox_act_on_each_matrix():
    stack = torch.randn(3, 6, 4, generator=torch.Generator().manual_seed(0),
                        dtype=torch.float64)
    step = torch.tensor([0.1, 0.5, 1.0], dtype=torch.float64)[:, None, None]
    for penalty in [lp.L1(0.7), lp.GroupL1L2(0.7), lp.GroupL1Linf(0.7), lp.TraceNorm(0.7)]:
        values, proxes = penalty.values(stack), penalty.prox(stack, step)
        for i, A in enumerate(stack):
            assert values[i].item() == pytest.approx(penalty.value(A), rel=1e-12)
            torch.testing.assert_close(proxes[i], penalty.prox(A, step[i].item()))


def test_stack_warns_at_the_iteration_limit_and_rejects_mixed_shapes():
    trains = sparse_problems(2)
    with pytest.warns(linear.ConvergenceWarning, match="raise iters"):
        linear_batch.strength_paths(trains, linear.L1, [0.01], iters=3)
    other = linear.LinearProblem(torch.randn(10, 5, dtype=torch.float64),
                                 torch.randn(10, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="one shape"):
        linear_batch.ProblemStack([trains[0], other])
