import pytest
import torch

import mtl_tutor as mt
from mtl_tutor import Task


def test_pairwise_l2_by_hand():
    w = torch.tensor([[[1.0, 0.0]], [[0.0, 0.0]], [[0.0, 2.0]]])  # 3 tasks, in 1, out 2
    # pairs: (1,0)-(0,0): 1; (1,0)-(0,2): 1 + 4 = 5; (0,0)-(0,2): 4
    assert mt.pairwise_l2(w).item() == pytest.approx(10.0)


def test_pairwise_l2_equals_the_explicit_sum_over_pairs():
    w = torch.randn(5, 3, 4, dtype=torch.float64)
    explicit = sum(((w[s] - w[t]) ** 2).sum() for s in range(5) for t in range(s + 1, 5))
    torch.testing.assert_close(mt.pairwise_l2(w), explicit)


def test_trace_norm_is_the_sum_of_singular_values():
    w = torch.randn(4, 3, 5, dtype=torch.float64)
    s = torch.linalg.svd(w.reshape(4, 15), full_matrices=False).S
    torch.testing.assert_close(mt.penalties.trace_norm(w), s.sum())
    # by hand: a rank-one stack u v^T has trace norm |u| |v|
    u, v = torch.tensor([3.0, 4.0]), torch.tensor([1.0, 0.0, 0.0])
    stack = torch.outer(u, v).reshape(2, 3, 1)
    assert mt.penalties.trace_norm(stack).item() == pytest.approx(5.0)


@pytest.mark.parametrize("penalty", [mt.pairwise_l2, mt.penalties.trace_norm])
def test_penalty_gradients_match_finite_differences(penalty):
    torch.manual_seed(0)
    w = torch.randn(3, 2, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(penalty, (w,))


def test_sharing_penalty_skips_biases_and_heads():
    model = mt.single_task_nets(3, (4,), [Task("a"), Task("b")])
    penalty = mt.sharing_penalty(model.branches, l2=2.0, trace=0.5)
    w = model.branches[0].weight
    expected = 2.0 * mt.pairwise_l2(w) + 0.5 * mt.penalties.trace_norm(w)
    torch.testing.assert_close(penalty(), expected)
    penalty().backward()
    assert model.branches[0].bias.grad is None
    assert model.heads.stacked.weight.grad is None


def test_a_large_l2_penalty_makes_the_task_weights_converge():
    data = mt.problems.make_related_tasks(n_tasks=3, n_train=40, relatedness=0.5, seed=0)
    distances = {}
    for strength in (0.0, 10.0):
        mt.set_seed(0)
        model = mt.single_task_nets(data.n_features, (16,), data.tasks)
        mt.fit(model, data, epochs=100, progress=False, restore_best=False,
               penalty=mt.sharing_penalty(model.branches, l2=strength))
        distances[strength] = mt.penalties.mean_task_distance(model.branches[0].weight)
    assert distances[0.0] > 1.0
    assert distances[10.0] < 0.02 * distances[0.0]


def test_a_large_trace_penalty_concentrates_the_spectrum():
    """Adam never makes singular values exactly zero, but the largest one takes most of
    the sum: the stack is close to low rank."""
    data = mt.problems.make_related_tasks(n_tasks=4, n_train=40, relatedness=0.5, seed=0)
    mt.set_seed(0)
    model = mt.single_task_nets(data.n_features, (16,), data.tasks)
    before = mt.penalties.singular_values(model.branches[0].weight)
    mt.fit(model, data, epochs=200, progress=False, restore_best=False,
           penalty=mt.sharing_penalty(model.branches, trace=1.0))
    after = mt.penalties.singular_values(model.branches[0].weight)
    assert before[0] / before.sum() < 0.4
    assert after[0] / after.sum() > 0.55


def test_uncoupled_l2_is_pairwise_l2_with_the_mean_replaced_by_zero():
    w = torch.randn(5, 3, 4, dtype=torch.float64)
    by_hand = 5 * sum((w[t] ** 2).sum() for t in range(5))
    torch.testing.assert_close(mt.penalties.uncoupled_l2(w), by_hand)
    centred = w - w.mean(dim=0)  # tasks with mean 0: the two penalties agree
    torch.testing.assert_close(mt.penalties.uncoupled_l2(centred), mt.pairwise_l2(centred))
    # coupling: pairwise_l2 does not change when every task moves together; uncoupled does
    shifted = w + torch.randn(1, 3, 4, dtype=torch.float64)
    torch.testing.assert_close(mt.pairwise_l2(shifted), mt.pairwise_l2(w))
    assert not torch.isclose(mt.penalties.uncoupled_l2(shifted), mt.penalties.uncoupled_l2(w))


def test_task_nuclear_norm_sums_each_tasks_singular_values():
    w = torch.randn(4, 3, 5, dtype=torch.float64)
    by_hand = sum(torch.linalg.svd(w[t], full_matrices=False).S.sum() for t in range(4))
    torch.testing.assert_close(mt.penalties.task_nuclear_norm(w), by_hand)
    # one row per task: each task's nuclear norm is its Euclidean norm
    rows = torch.randn(3, 6, dtype=torch.float64)
    torch.testing.assert_close(mt.penalties.task_nuclear_norm(rows), rows.norm(dim=1).sum())
    # uncoupled: stacking equal rank-one tasks does not lower it per task (the trace norm
    # of the stack grows like sqrt(T), the per-task sum like T)
    one = torch.outer(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 0.0, 4.0]))
    stack = one.expand(4, 2, 3)
    assert mt.penalties.task_nuclear_norm(stack).item() == pytest.approx(4 * 5 * 5 ** 0.5)
    assert mt.penalties.trace_norm(stack).item() == pytest.approx(2 * 5 * 5 ** 0.5)


@pytest.mark.parametrize("name", ["uncoupled_l2", "task_nuclear_norm"])
def test_uncoupled_penalty_gradients_match_finite_differences(name):
    torch.manual_seed(0)
    w = torch.randn(3, 2, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(getattr(mt.penalties, name), (w,))


def test_sharing_penalty_adds_the_uncoupled_twins():
    model = mt.single_task_nets(3, (4, 2), [Task("a"), Task("b")])
    stacks = [layer.weight for layer in model.branches if hasattr(layer, "weight")]
    penalty = mt.sharing_penalty(model.branches, uncoupled_l2=0.5, task_nuclear=2.0)
    expected = sum(0.5 * mt.penalties.uncoupled_l2(w) + 2.0 * mt.penalties.task_nuclear_norm(w)
                   for w in stacks)
    torch.testing.assert_close(penalty(), expected)
    # the default is what it always was
    old = mt.sharing_penalty(model.branches, l2=1.0, trace=0.5)
    torch.testing.assert_close(
        old(), sum(mt.pairwise_l2(w) + 0.5 * mt.penalties.trace_norm(w) for w in stacks))
    with pytest.raises(ValueError, match="task_nuclear=-1"):
        mt.sharing_penalty(model.branches, task_nuclear=-1.0)


def test_task_norms_is_the_trace_norm_of_orthogonal_tasks_and_never_below_it():
    w = torch.randn(4, 3, 5, dtype=torch.float64)
    by_hand = sum(w[t].norm() for t in range(4))
    torch.testing.assert_close(mt.penalties.task_norms(w), by_hand)
    assert mt.penalties.trace_norm(w) <= mt.penalties.task_norms(w) + 1e-12
    rows = torch.eye(4, 6, dtype=torch.float64) * torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    torch.testing.assert_close(mt.penalties.trace_norm(rows), mt.penalties.task_norms(rows))
    assert torch.autograd.gradcheck(mt.penalties.task_norms, (w.requires_grad_(),))


def test_mean_regularised_spans_pairwise_l2_and_its_uncoupled_twin():
    w = torch.randn(5, 3, 4, dtype=torch.float64)
    T = 5
    torch.testing.assert_close(mt.penalties.mean_regularised(w, T, 0.0), mt.pairwise_l2(w))
    torch.testing.assert_close(mt.penalties.mean_regularised(w, T, T**2),
                               mt.penalties.uncoupled_l2(w))
    with pytest.raises(ValueError, match="cannot be negative"):
        mt.penalties.mean_regularised(w, -1.0, 0.0)


def test_sharing_penalty_adds_the_task_norm_twin():
    model = mt.single_task_nets(3, (4, 2), [Task("a"), Task("b")])
    stacks = [layer.weight for layer in model.branches if hasattr(layer, "weight")]
    penalty = mt.sharing_penalty(model.branches, task_norm=0.5)
    torch.testing.assert_close(
        penalty(), sum(0.5 * mt.penalties.task_norms(w) for w in stacks))
