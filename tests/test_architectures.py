import pytest
import torch

import mtl_tutor as mt


@pytest.fixture
def data():
    return mt.problems.make_related_tasks(n_tasks=3, n_train=40, n_val=20, relatedness=0.8,
                                 shared_inputs=True, seed=0)


def test_cross_stitch_initialisation():
    alpha = mt.architectures.CrossStitch(3).alpha.detach()
    torch.testing.assert_close(alpha.diagonal(), torch.full((3,), 0.9))
    torch.testing.assert_close(alpha.sum(dim=1), torch.ones(3))
    assert mt.architectures.CrossStitch(2).alpha[0, 1].item() == pytest.approx(0.1)


def test_cross_stitch_with_identity_equals_independent_networks(data):
    torch.manual_seed(0)
    stitched = mt.architectures.CrossStitchMLP(data.n_features, (8, 8), data.tasks)
    stl = mt.single_task_nets(data.n_features, (8, 8), data.tasks)
    for stitch in stitched.stitches:
        stitch.alpha.data = torch.eye(3)
    stl_layers = [m for m in stl.branches if isinstance(m, mt.TaskLinear)]
    for src, dst in zip(stitched.layers, stl_layers):
        dst.load_state_dict(src.state_dict())
    stl.heads.load_state_dict(stitched.heads.state_dict())
    x = data.test.x
    for name in data.names:
        torch.testing.assert_close(stitched(x)[name], stl(x)[name])


def test_cross_stitch_units_get_their_own_learning_rate(data):
    model = mt.architectures.CrossStitchMLP(data.n_features, (8,), data.tasks, stitch_lr=0.5)
    groups = model.optimizer_groups(0.01)
    assert groups[1]["lr"] == 0.5 and len(groups[1]["params"]) == 1
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    before = model.stitches[0].alpha.detach().clone()
    mt.fit(model, data, epochs=3, lr=1e-3, progress=False)
    assert (model.stitches[0].alpha.detach() - before).abs().max() > 0.05  # moved fast


def test_mmoe_shapes_and_gates(data):
    model = mt.architectures.MMoE(data.n_features, data.tasks, n_experts=4)
    out = model(data.test.x)
    assert all(out[name].shape == (data.test.n,) for name in data.names)
    gates = model.gates(data.test.x)
    assert gates.shape == (3, data.test.n, 4)
    torch.testing.assert_close(gates.sum(dim=-1), torch.ones(3, data.test.n))
    history = mt.fit(model, data, epochs=30, progress=False)
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]


def test_task_covariance_is_a_normalised_psd_matrix():
    w = torch.randn(4, 6, 3, dtype=torch.float64)
    omega = mt.architectures.task_covariance(w)
    torch.testing.assert_close(omega, omega.T)
    assert omega.trace().item() == pytest.approx(1.0)
    assert torch.linalg.eigvalsh(omega).min() > -1e-9
    # two identical tasks are perfectly correlated in Omega
    w[1] = w[0]
    omega = mt.architectures.task_covariance(w)
    corr = omega[0, 1] / (omega[0, 0] * omega[1, 1]).sqrt()
    assert corr.item() == pytest.approx(1.0, abs=1e-3)


def test_task_covariance_penalty_by_hand():
    w = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)
    penalty = mt.architectures.TaskCovariancePenalty(w, strength=0.5, eps=0.0)
    omega = penalty.covariance()
    flat = w.reshape(3, -1)
    expected = 0.5 * torch.trace(flat.T @ torch.linalg.inv(omega) @ flat)
    torch.testing.assert_close(penalty().double(), expected)
    with pytest.raises(ValueError, match="cannot be negative"):
        mt.architectures.TaskCovariancePenalty(w, strength=-1.0)


def test_sluice_with_identity_mixing_and_last_layer_equals_independent_networks(data):
    torch.manual_seed(0)
    sluice = mt.architectures.SluiceMLP(data.n_features, 8, 2, data.tasks)
    stl = mt.single_task_nets(data.n_features, (8, 8), data.tasks)
    for alpha in sluice.alphas:
        alpha.alpha.data = torch.eye(6)
    sluice.beta.data = torch.tensor([[-1e4, 0.0]] * 3)  # all weight on the last layer
    stl_layers = [m for m in stl.branches if isinstance(m, mt.TaskLinear)]
    for src, dst in zip(sluice.layers, stl_layers):
        dst.load_state_dict(src.state_dict())
    stl.heads.load_state_dict(sluice.heads.state_dict())
    for name in data.names:
        torch.testing.assert_close(sluice(data.test.x)[name], stl(data.test.x)[name])


def test_sluice_orthogonality_penalty_by_hand():
    data = mt.problems.make_related_tasks(n_tasks=2, n_features=3, shared_inputs=True)
    sluice = mt.architectures.SluiceMLP(3, 4, 1, data.tasks)
    x = data.test.x[:10]
    sluice(x)
    with torch.no_grad():
        h = torch.relu(sluice.layers[0](x))  # (tasks, n, 4): halves are the two subspaces
    by_hand = sum((h[t, :, :2].T @ h[t, :, 2:]).pow(2).sum() for t in range(2))
    torch.testing.assert_close(sluice.orthogonality.detach(), by_hand)
    history = mt.fit(sluice, data, epochs=5, penalty=lambda: 0.1 * sluice.orthogonality,
                     progress=False)
    assert len(history) == 5
    with pytest.raises(ValueError, match="width must be even"):
        mt.architectures.SluiceMLP(3, 5, 1, data.tasks)


def test_low_supervision_attaches_each_task_at_its_level(data):
    model = mt.architectures.HierarchicalMLP(data.n_features, 8, data.tasks, levels=[1, 2, 2])
    out = model(data.test.x)
    assert all(out[name].shape == (data.test.n,) for name in data.names)
    # the level-1 task's output does not depend on the second layer
    out["task0"].sum().backward()
    assert model.layers[1].weight.grad is None and model.layers[0].weight.grad is not None


def test_joint_many_task_shortcuts_feed_input_and_lower_predictions():
    tasks = [mt.Task("low", "multiclass", 3), mt.Task("mid"), mt.Task("high", "binary")]
    model = mt.architectures.HierarchicalMLP(5, 8, tasks, levels=[1, 2, 3], shortcuts=True)
    assert model.layers[1].in_features == 8 + 5 + 3  # hidden, input, the level-1 scores
    assert model.layers[2].in_features == 8 + 5 + 1
    out = model(torch.randn(4, 5))
    assert out["low"].shape == (4, 3) and out["high"].shape == (4,)
    with pytest.raises(ValueError, match="one level"):
        mt.architectures.HierarchicalMLP(5, 8, tasks, levels=[1, 2])


def test_group_linear_ties_slices_within_groups():
    layer = mt.architectures.GroupLinear([0, 0, 1], 4, 3)
    out = layer(torch.randn(5, 4))
    torch.testing.assert_close(out[0], out[1])  # same group, same input: same output
    assert not torch.allclose(out[0], out[2])
    one_group = mt.architectures.GroupLinear([0, 0, 0], 4, 3)
    assert one_group.branches.weight.shape == (1, 4, 3)  # hard sharing of the layer


def test_group_tasks_merges_the_most_affine_tasks():
    affinity = torch.tensor([[1.0, 0.9, 0.1, 0.2],
                             [0.9, 1.0, 0.2, 0.1],
                             [0.1, 0.2, 1.0, 0.8],
                             [0.2, 0.1, 0.8, 1.0]])
    assert mt.architectures.group_tasks(affinity, 2) == [0, 0, 1, 1]
    assert mt.architectures.group_tasks(affinity, 4) == [0, 1, 2, 3]


def test_task_affinity_and_a_branched_model():
    data = mt.problems.make_task_family(cluster_sizes=(2, 2), n_unrelated=0, seed=0)
    model = mt.hard_sharing(data.n_features, (16, 8), data.tasks)
    mt.fit(model, data, epochs=20, progress=False)
    affinity = mt.architectures.task_affinity(model, data)
    assert affinity.shape == (4, 4)
    torch.testing.assert_close(affinity.diagonal(), torch.ones(4))
    assert ((affinity >= 0) & (affinity <= 1)).all()
    branched = mt.architectures.BranchedMLP(data.n_features, (16, 8), data.tasks,
                              mt.architectures.group_tasks(affinity, 2))
    history = mt.fit(branched, data, epochs=20, progress=False)
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]


def test_task_covariance_penalty_gradient():
    """With Omega held fixed, d/dW strength * tr(W^T Omega^-1 W) = 2 strength Omega^-1 W."""
    w = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    penalty = mt.architectures.TaskCovariancePenalty(w, strength=0.3, eps=0.0)
    penalty().backward()
    omega = penalty.covariance()
    torch.testing.assert_close(w.grad, 2 * 0.3 * torch.linalg.solve(omega, w.detach()))
