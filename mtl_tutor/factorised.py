"""Tensor-factorised sharing: DMTRL (Yang & Hospedales, ICLR 2017).

A layer's per-task weights form one tensor with the tasks on its LAST axis: (in, out, T)
for a fully connected layer, (out, in, kh, kw, T) for a convolution. DMTRL never stores
that tensor; it stores factors and composes the tensor from them at every forward pass,
so the factors are what training learns:

- LAF (last-axis flattening): W reshaped to (everything else, T) equals L S, with L shared
  and S (k x T) the task factor. S = I is STL; a single row of ones is hard sharing.
- Tucker: W = G x_1 U_1 x_2 U_2 ... x_N U_N, the task factor is U_N (T x k).
- TT (tensor train): W[i_1, ..., i_N] = G_1[i_1] ... G_N[i_N], the task factor is the
  last core.

Each kind can be built from a given stack (`from_tensor`), for example trained STL
weights or a random initialisation, with ranks chosen by a relative-error threshold.
Biases stay per task and are not factorised.
"""
import copy

import torch
from torch import nn

from .layers import TaskConv2d, TaskLinear, stacked_conv2d, stacked_linear
from .tensors import (
    hosvd,
    rank_for_threshold,
    sharing_strength,
    tt_svd,
    tt_to_tensor,
    tucker_to_tensor,
    weight_similarity,
)


class LAFWeights(nn.Module):
    """W (..., T) = (L S) reshaped: L (prod(...), k) shared, S (k, T) per task."""

    def __init__(self, L, S, shape):
        super().__init__()
        self.L, self.S, self.shape = nn.Parameter(L), nn.Parameter(S), tuple(shape)

    @classmethod
    def from_tensor(cls, w, threshold=0.1, ranks=None):
        matrix = w.reshape(-1, w.shape[-1])
        U, s, Vh = torch.linalg.svd(matrix, full_matrices=False)
        if ranks is not None:
            k = ranks[0]
        else:
            _check_threshold(threshold)
            k = max(1, rank_for_threshold(s, threshold**2 * matrix.pow(2).sum()))
        return cls(U[:, :k] * s[:k], Vh[:k].clone(), w.shape)

    def compose(self):
        return (self.L @ self.S).reshape(self.shape)

    def task_factor(self):
        return self.S

    def ranks(self):
        return [self.S.shape[0]]


class TuckerWeights(nn.Module):
    """W = G x_1 U_1 ... x_N U_N; the last factor U_N (T x k) is the task factor."""

    def __init__(self, core, factors):
        super().__init__()
        self.core = nn.Parameter(core)
        self.factors = nn.ParameterList(nn.Parameter(u) for u in factors)

    @classmethod
    def from_tensor(cls, w, threshold=0.1, ranks=None):
        core, factors = hosvd(w, ranks=ranks, threshold=None if ranks else threshold)
        return cls(core, factors)

    def compose(self):
        return tucker_to_tensor(self.core, list(self.factors))

    def task_factor(self):
        return self.factors[-1].T

    def ranks(self):
        return list(self.core.shape)


class TTWeights(nn.Module):
    """W[i_1, ..., i_N] = G_1[:, i_1, :] ... G_N[:, i_N, :]; the last core is the task factor."""

    def __init__(self, cores):
        super().__init__()
        self.cores = nn.ParameterList(nn.Parameter(c) for c in cores)

    @classmethod
    def from_tensor(cls, w, threshold=0.1, ranks=None):
        return cls(tt_svd(w, ranks=ranks, threshold=None if ranks else threshold))

    def compose(self):
        return tt_to_tensor(list(self.cores))

    def task_factor(self):
        return self.cores[-1][:, :, 0]

    def ranks(self):
        return [c.shape[2] for c in self.cores[:-1]]


def _check_threshold(threshold):
    if not 0 < threshold < 1:
        raise ValueError("The relative-error threshold must lie strictly between 0 and 1 "
                         f"(e.g. 0.1), got {threshold}.")


class DMTRLLinear(nn.Module):
    """A task-stacked fully connected layer whose weights (in, out, T) are composed from
    factors (`LAFWeights`, `TuckerWeights` or `TTWeights`). Same inputs and outputs as
    `TaskLinear`."""

    def __init__(self, weights: nn.Module, bias: torch.Tensor):
        super().__init__()
        self.weights, self.bias = weights, nn.Parameter(bias.clone())

    @classmethod
    def from_stack(cls, kind, weight, bias, threshold=0.1, ranks=None):
        """Factorise a stack `weight` (T, in, out), e.g. `TaskLinear.weight`, with `kind`
        (LAFWeights, TuckerWeights or TTWeights)."""
        w = weight.detach().permute(1, 2, 0)  # tasks last: (in, out, T)
        return cls(kind.from_tensor(w, threshold, ranks), bias.detach())

    def stacked_weight(self):
        return self.weights.compose().permute(2, 0, 1)  # (T, in, out)

    def forward(self, x):
        return stacked_linear(x, self.stacked_weight(), self.bias)


class DMTRLConv2d(nn.Module):
    """A task-stacked convolution whose kernels (out, in, kh, kw, T) are composed from
    factors. Same inputs and outputs as `TaskConv2d`."""

    def __init__(self, weights: nn.Module, bias: torch.Tensor, padding=0):
        super().__init__()
        self.weights, self.bias = weights, nn.Parameter(bias.clone())
        self.padding = padding

    @classmethod
    def from_stack(cls, kind, weight, bias, threshold=0.1, ranks=None, padding=0):
        """Factorise a stack `weight` (T, out, in, kh, kw), e.g. `TaskConv2d.weight`."""
        w = weight.detach().permute(1, 2, 3, 4, 0)  # tasks last
        return cls(kind.from_tensor(w, threshold, ranks), bias.detach(), padding)

    def stacked_weight(self):
        return self.weights.compose().permute(4, 0, 1, 2, 3)  # (T, out, in, kh, kw)

    def forward(self, x):
        return stacked_conv2d(x, self.stacked_weight(), self.bias, self.padding)


def layer_sharing_strength(layer) -> float:
    """rho of a DMTRL layer's task factor (see `tensors.sharing_strength` for its scale:
    1 when all tasks use the same combination, 0.82 for ten tasks' S = I)."""
    return sharing_strength(layer.weights.task_factor().detach())


def layer_weight_similarity(layer) -> float:
    """`tensors.weight_similarity` of a task-stacked layer's composed weights: a DMTRL
    layer, or an STL `TaskLinear` / `TaskConv2d`. Does not depend on the factorisation."""
    if hasattr(layer, "stacked_weight"):
        stack = layer.stacked_weight()
    elif isinstance(layer, (TaskLinear, TaskConv2d)):
        stack = layer.weight
    else:
        raise TypeError(f"layer_weight_similarity needs a task-stacked layer (DMTRL, "
                        f"TaskLinear, TaskConv2d), got {type(layer).__name__}; a layer "
                        "shared by all tasks has one weight, similarity 1 by definition.")
    stack = stack.detach()
    return weight_similarity(stack.reshape(stack.shape[0], -1).T)


def factorise(model: nn.Module, kind, threshold=0.1) -> nn.Module:
    """A copy of `model` in which every task-stacked layer (`TaskLinear`, `TaskConv2d`) is
    replaced by its DMTRL factorisation with `kind`; shared layers and per-task heads of
    other types (e.g. the separate heads of heterogeneous tasks) are kept as they are."""
    model = copy.deepcopy(model)
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, TaskLinear):
                setattr(module, name, DMTRLLinear.from_stack(kind, child.weight, child.bias,
                                                             threshold))
            elif isinstance(child, TaskConv2d):
                setattr(module, name, DMTRLConv2d.from_stack(kind, child.weight, child.bias,
                                                             threshold, padding=child.padding))
    return model
