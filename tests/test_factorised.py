import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mtl_tutor as mt
from mtl_tutor.factorised import (
    DMTRLConv2d,
    DMTRLLinear,
    LAFWeights,
    TTWeights,
    TuckerWeights,
    layer_sharing_strength,
)

KINDS = [LAFWeights, TuckerWeights, TTWeights]


@pytest.fixture
def linear_stack():
    torch.manual_seed(0)
    return mt.TaskLinear(4, 6, 5)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
@pytest.mark.parametrize("shared_input", [False, True])
def test_dmtrl_linear_equals_explicit_per_task_computation(kind, shared_input, linear_stack):
    layer = DMTRLLinear.from_stack(kind, linear_stack.weight, linear_stack.bias, threshold=0.3)
    x = torch.randn(7, 6) if shared_input else torch.randn(4, 7, 6)
    out = layer(x)
    W = layer.stacked_weight()
    explicit = torch.stack([(x if shared_input else x[t]) @ W[t] + layer.bias[t]
                            for t in range(4)])
    torch.testing.assert_close(out, explicit)
    params = list(layer.parameters())
    g1 = torch.autograd.grad(out.pow(2).sum(), params)
    g2 = torch.autograd.grad(explicit.pow(2).sum(), params)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_dmtrl_conv_equals_explicit_per_task_convolution(kind):
    torch.manual_seed(1)
    stack = mt.layers.TaskConv2d(3, 2, 4, 3, padding=1)
    layer = DMTRLConv2d.from_stack(kind, stack.weight, stack.bias, threshold=0.2, padding=1)
    x = torch.randn(5, 2, 6, 6)
    out = layer(x)
    W = layer.stacked_weight()
    explicit = torch.stack([F.conv2d(x, W[t], layer.bias[t], padding=1) for t in range(3)])
    torch.testing.assert_close(out, explicit)
    g1 = torch.autograd.grad(out.sum(), list(layer.parameters()))
    g2 = torch.autograd.grad(explicit.sum(), list(layer.parameters()))
    for a, b in zip(g1, g2):  # float32 sums in another order: a looser tolerance
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_task_conv_matches_a_loop_of_conv2d():
    torch.manual_seed(2)
    stack = mt.layers.TaskConv2d(3, 2, 4, 3, padding=1)
    x = torch.randn(3, 5, 2, 6, 6)
    expected = torch.stack([F.conv2d(x[t], stack.weight[t], stack.bias[t], padding=1)
                            for t in range(3)])
    torch.testing.assert_close(stack(x), expected)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
@pytest.mark.parametrize("eps", [0.05, 0.3])
def test_initialisation_reconstructs_within_the_threshold(kind, eps, linear_stack):
    layer = DMTRLLinear.from_stack(kind, linear_stack.weight, linear_stack.bias, threshold=eps)
    error = mt.tensors.relative_error(linear_stack.weight.detach(), layer.stacked_weight().detach())
    assert error <= eps + 1e-6


@pytest.mark.parametrize("kind,ranks", [(LAFWeights, [4]), (TuckerWeights, [6, 5, 4]),
                                        (TTWeights, [6, 4])], ids=["laf", "tucker", "tt"])
def test_full_ranks_reproduce_the_stack(kind, ranks, linear_stack):
    layer = DMTRLLinear.from_stack(kind, linear_stack.weight, linear_stack.bias, ranks=ranks)
    torch.testing.assert_close(layer.stacked_weight(), linear_stack.weight.detach(),
                               atol=1e-5, rtol=1e-5)


def test_sharing_strength_of_identical_and_independent_tasks():
    torch.manual_seed(3)
    same = torch.randn(1, 6, 5).repeat(4, 1, 1)
    layer = DMTRLLinear.from_stack(LAFWeights, same, torch.zeros(4, 5), threshold=0.01)
    assert layer.weights.ranks() == [1]
    assert layer_sharing_strength(layer) == pytest.approx(1.0)
    independent = DMTRLLinear.from_stack(LAFWeights, torch.randn(4, 6, 5), torch.zeros(4, 5),
                                         threshold=0.01)
    assert layer_sharing_strength(independent) < 0.95


def test_weight_similarity_of_a_layer_is_that_of_its_composed_weights():
    from mtl_tutor import TaskLinear
    from mtl_tutor.factorised import TTWeights, TuckerWeights, layer_weight_similarity

    torch.manual_seed(4)
    stl = TaskLinear(4, 6, 5)
    want = layer_weight_similarity(stl)
    for kind in (LAFWeights, TuckerWeights, TTWeights):  # exact at a tiny threshold
        layer = DMTRLLinear.from_stack(kind, stl.weight, stl.bias, threshold=1e-4)
        assert layer_weight_similarity(layer) == pytest.approx(want, abs=1e-4)
    same = DMTRLLinear.from_stack(LAFWeights, torch.randn(1, 6, 5).repeat(4, 1, 1),
                                  torch.zeros(4, 5), threshold=0.01)
    assert layer_weight_similarity(same) == pytest.approx(1.0)


def test_bad_threshold_is_a_clear_error(linear_stack):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        DMTRLLinear.from_stack(LAFWeights, linear_stack.weight, linear_stack.bias, threshold=2)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        DMTRLLinear.from_stack(TTWeights, linear_stack.weight, linear_stack.bias, threshold=0)


def test_laf_singular_values_in_l_or_in_s_compose_the_same_weights(linear_stack):
    w = linear_stack.weight.detach().permute(1, 2, 0)  # (in, out, tasks)
    in_l = LAFWeights.from_tensor(w, ranks=[3])
    in_s = LAFWeights.from_tensor(w, ranks=[3], singular_values="S")
    torch.testing.assert_close(in_l.compose(), in_s.compose(), rtol=1e-5, atol=1e-5)
    # S's rows are orthonormal in one convention, scaled by the singular values in the other
    torch.testing.assert_close(in_l.S @ in_l.S.T, torch.eye(3), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(in_s.L.T @ in_s.L, torch.eye(3), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="'L' or 'S'"):
        LAFWeights.from_tensor(w, ranks=[3], singular_values="U")


def test_rho_conventions_of_a_layer_follow_its_svd():
    from mtl_tutor.factorised import layer_rho_conventions
    from mtl_tutor.tensors import sharing_strength

    torch.manual_seed(1)
    stack = mt.TaskLinear(6, 5, 4)
    rhos = layer_rho_conventions(stack)
    matrix = stack.weight.detach().reshape(6, -1).T.double()
    _, s, vh = torch.linalg.svd(matrix, full_matrices=False)
    assert rhos["L"] == pytest.approx(sharing_strength(vh.float()), abs=1e-6)
    assert rhos["S"] == pytest.approx(sharing_strength((s[:, None] * vh).float()), abs=1e-6)
    layer = DMTRLLinear.from_stack(LAFWeights, stack.weight, stack.bias, ranks=[2])
    assert layer_rho_conventions(layer)["L"] == pytest.approx(
        sharing_strength(layer.weights.task_factor().detach()), abs=1e-4)


def test_representation_similarity_ignores_the_order_of_hidden_units():
    from mtl_tutor.factorised import linear_cka, representation_similarity

    g = torch.Generator().manual_seed(0)
    a = torch.randn(50, 8, generator=g, dtype=torch.float64)
    rotation, _ = torch.linalg.qr(torch.randn(8, 8, generator=g, dtype=torch.float64))
    assert linear_cka(a, a[:, torch.randperm(8, generator=g)]) == pytest.approx(1.0)
    assert linear_cka(a, 3 * a @ rotation) == pytest.approx(1.0)
    assert linear_cka(a, torch.randn(50, 8, generator=g, dtype=torch.float64)) < 0.4
    # the definition, by hand: centred HSIC of linear kernels, normalised
    b = torch.randn(50, 5, generator=g, dtype=torch.float64)
    h = torch.eye(50, dtype=torch.float64) - 1 / 50
    ka, kb = h @ a @ a.T @ h, h @ b @ b.T @ h
    want = (ka * kb).sum() / (ka.norm() * kb.norm())
    assert linear_cka(a, b) == pytest.approx(want.item(), rel=1e-9)
    shared = a.expand(3, 50, 8)
    assert representation_similarity(shared) == pytest.approx(1.0)
    assert np.isnan(linear_cka(torch.zeros(50, 3), a))
    with pytest.raises(ValueError, match="at least two tasks"):
        representation_similarity(a[None])


def test_factorise_with_fixed_ranks_gives_every_layer_those_ranks():
    from mtl_tutor.factorised import factorise

    net = mt.single_task_nets(6, (5, 4), [mt.Task(f"t{i}") for i in range(4)])
    laf = factorise(net, LAFWeights, ranks=lambda shape: [2])
    ranks = [m.weights.ranks() for m in laf.modules() if isinstance(m, DMTRLLinear)]
    assert ranks == [[2], [2], [2]]  # two hidden layers and the heads
    with pytest.raises(TypeError, match="function of a layer's weight stack"):
        factorise(net, LAFWeights, ranks=[2])
