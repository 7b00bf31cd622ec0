import pytest
import torch
from torch import nn

import mtl_tutor as mt
from mtl_tutor import Task, TaskLinear


@pytest.mark.parametrize("shared_input", [False, True])
def test_task_linear_equals_a_loop_of_linear_layers(shared_input):
    torch.manual_seed(0)
    T, n, d_in, d_out = 4, 6, 5, 3
    layer = TaskLinear(T, d_in, d_out)
    loop = [nn.Linear(d_in, d_out) for _ in range(T)]
    for t, lin in enumerate(loop):  # nn.Linear stores (out, in): the transpose of a slice
        lin.weight.data = layer.weight.data[t].T.clone()
        lin.bias.data = layer.bias.data[t].clone()
    x = torch.randn(n, d_in) if shared_input else torch.randn(T, n, d_in)
    target = torch.randn(T, n, d_out)

    out = layer(x)
    expected = torch.stack([lin(x if shared_input else x[t]) for t, lin in enumerate(loop)])
    torch.testing.assert_close(out, expected)

    ((out - target) ** 2).sum().backward()
    ((expected - target) ** 2).sum().backward()
    for t, lin in enumerate(loop):
        torch.testing.assert_close(layer.weight.grad[t], lin.weight.grad.T)
        torch.testing.assert_close(layer.bias.grad[t], lin.bias.grad)


def test_task_linear_rejects_a_wrong_shape():
    layer = TaskLinear(3, 4, 2)
    with pytest.raises(ValueError, match="expects 4 input features"):
        layer(torch.randn(5, 7))
    with pytest.raises(ValueError, match=r"expects input of shape \(n, 4\) or \(3, n, 4\)"):
        layer(torch.randn(2, 5, 4))


def test_stl_tasks_are_independent():
    """The loss of one task sends no gradient into another task's parameters."""
    tasks = [Task("a"), Task("b")]
    model = mt.single_task_nets(3, (8, 8), tasks)
    model(torch.randn(2, 5, 3))["a"].sum().backward()
    for p in model.parameters():
        assert p.grad[1].abs().sum() == 0 and p.grad[0].abs().sum() > 0


def test_hard_sharing_shares_the_trunk_only():
    tasks = [Task("a"), Task("b"), Task("c")]
    model = mt.hard_sharing(3, (8, 4), tasks)
    assert len(model.branches) == 0 and len(model.trunk) == 4
    assert mt.count_parameters(model) == (3 * 8 + 8) + (8 * 4 + 4) + 3 * (4 + 1)
    stl = mt.single_task_nets(3, (8, 4), tasks)
    assert mt.count_parameters(stl) == 3 * ((3 * 8 + 8) + (8 * 4 + 4) + (4 + 1))


def test_heterogeneous_outputs():
    tasks = [Task("digit", "multiclass", 10), Task("big", "binary"), Task("size", "regression", 2)]
    for n_shared in (0, 1, 2):
        out = mt.ForkedMLP(6, (8, 8), tasks, n_shared)(torch.randn(5, 6))
        assert out["digit"].shape == (5, 10) and out["big"].shape == (5,)
        assert out["size"].shape == (5, 2)


def test_choose_fork_reports_each_candidate_and_picks_by_validation():
    data = mt.problems.make_related_tasks(n_tasks=3, n_train=20, n_val=20, seed=0)
    model, table = mt.choose_fork(data, (8, 4), epochs=3)
    assert list(table.n_shared) == [0, 1, 2]
    assert model.n_shared == table.n_shared[table.val_loss.idxmin()]
    for row in table.itertuples():  # the mean is the mean of the per-task errors
        assert set(row.task_errors) == set(data.names)
        assert abs(sum(row.task_errors.values()) / 3 - row.test_error) < 1e-9
