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
