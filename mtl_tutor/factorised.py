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
weights or a random initialisation, with explicit ranks or ranks chosen by a relative-error
threshold. Biases stay per task and are not factorised.

How much a layer shares can be read three ways: the paper's sharing strength rho of the
task factor (`layer_sharing_strength`; it depends on the factorisation, e.g. on whether the
SVD's singular values sit in L or in S: `layer_rho_conventions`), the similarity of the
tasks' composed weights (`layer_weight_similarity`; independent of the factorisation but
not of the order of hidden units), and the similarity of the tasks' representations of
the same inputs (`representation_similarity`, linear CKA: independent of both).
"""
import copy
import math

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
    def from_tensor(cls, w, threshold=0.1, ranks=None, singular_values="L"):
        """Truncated SVD of w flattened to (prod(...), T): L = U_k Sigma_k, S = V_k^T (the
        singular values in L, the default), or L = U_k, S = Sigma_k V_k^T
        (singular_values="S", as the authors' released code does). Both compose the same
        weights; the task factor S, and so rho, differ."""
        if singular_values not in ("L", "S"):
            raise ValueError(f"singular_values must be 'L' or 'S' (the factor that holds the "
                             f"SVD's singular values), got {singular_values!r}.")
        matrix = w.reshape(-1, w.shape[-1])
        U, s, Vh = torch.linalg.svd(matrix, full_matrices=False)
        if ranks is not None:
            k = ranks[0]
            if not 1 <= k <= len(s):
                raise ValueError(f"LAF rank {k} is impossible for a stack with {len(s)} "
                                 f"reachable components (shape {tuple(w.shape)}).")
        else:
            _check_threshold(threshold)
            k = max(1, rank_for_threshold(s, threshold**2 * matrix.pow(2).sum()))
        if singular_values == "S":
            return cls(U[:, :k].clone(), s[:k, None] * Vh[:k], w.shape)
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
    layer, or an STL `TaskLinear` / `TaskConv2d`. Does not depend on the factorisation,
    but does on the order of each task's hidden units (see `representation_similarity`)."""
    stack = _composed(layer)
    return weight_similarity(stack.reshape(stack.shape[0], -1).T)


def layer_rho_conventions(layer) -> dict:
    """rho of the SVD factorisation W = L S of a task-stacked layer's composed weights (tasks
    last, flattened to (everything else, T)), keeping its nonzero components, with the
    singular values in L (S = V^T, this book's LAF initialisation) and in S
    (S = Sigma V^T, the authors' released code): {"L": rho, "S": rho}. The same weights,
    two values: rho measures a convention as well as the sharing."""
    stack = _composed(layer)
    matrix = stack.reshape(stack.shape[0], -1).T.double()  # (everything else, T)
    _, s, vh = torch.linalg.svd(matrix, full_matrices=False)
    k = max(1, int((s > s[0] * 1e-6).sum()))
    return {"L": sharing_strength(vh[:k].float()),
            "S": sharing_strength((s[:k, None] * vh[:k]).float())}


def _composed(layer) -> torch.Tensor:
    """A task-stacked layer's weights, tasks first: (T, in, out) or (T, out, in, kh, kw)."""
    if hasattr(layer, "stacked_weight"):
        return layer.stacked_weight().detach()
    if isinstance(layer, (TaskLinear, TaskConv2d)):
        return layer.weight.detach()
    raise TypeError(f"needs a task-stacked layer (DMTRL, TaskLinear, TaskConv2d), got "
                    f"{type(layer).__name__}; a layer shared by all tasks has one weight, "
                    "similarity 1 by definition.")


def linear_cka(a: torch.Tensor, b: torch.Tensor) -> float:
    """Linear centred kernel alignment (Kornblith et al. 2019) of two representations of the
    same n inputs, a (n, d_a) and b (n, d_b): with every column centred,
    ||a^T b||_F^2 / (||a^T a||_F ||b^T b||_F). 1 when b is a times an orthogonal matrix and a
    scale, so reordering or rotating hidden units changes nothing; near 0 for unrelated
    representations. NaN when one of them is constant over the inputs (all units dead)."""
    if a.dim() != 2 or b.dim() != 2 or len(a) != len(b):
        raise ValueError("linear_cka needs two matrices (n, d) of the same n inputs, got "
                         f"shapes {tuple(a.shape)} and {tuple(b.shape)}.")
    a, b = a.double() - a.double().mean(0), b.double() - b.double().mean(0)
    scale = torch.linalg.norm(a.T @ a) * torch.linalg.norm(b.T @ b)
    if scale == 0:
        return math.nan
    return (torch.linalg.norm(a.T @ b) ** 2 / scale).item()


def representation_similarity(hidden: torch.Tensor) -> float:
    """How alike the tasks' representations of the same inputs are: the mean `linear_cka`
    over pairs of different tasks of `hidden` (tasks, n, units), e.g. the activations of
    one task-stacked layer. 1 for a shared layer (every task computes the same features),
    and, unlike `weight_similarity`, unchanged by reordering any task's hidden units. Pairs
    where a task's layer is constant over the inputs (all units dead) are left out."""
    if hidden.dim() != 3 or hidden.shape[0] < 2:
        raise ValueError("representation_similarity needs activations (tasks, n, units) of "
                         f"at least two tasks, got shape {tuple(hidden.shape)}.")
    h = hidden.double() - hidden.double().mean(1, keepdim=True)
    grams = (h @ h.transpose(1, 2)).flatten(1)  # each task's centred linear kernel (n x n)
    norms = grams.norm(dim=1)
    live = norms > 0
    if live.sum() < 2:
        return math.nan
    unit = grams[live] / norms[live, None]
    cka = unit @ unit.T  # <K_s, K_t> / (|K_s| |K_t|) = linear CKA of every pair
    t = len(unit)
    return ((cka.sum() - cka.diagonal().sum()) / (t * (t - 1))).item()


def factorise(model: nn.Module, kind, threshold=0.1, ranks=None,
              keep_norm: bool = False) -> nn.Module:
    """A copy of `model` in which every task-stacked layer (`TaskLinear`, `TaskConv2d`) is
    replaced by its DMTRL factorisation with `kind`; shared layers and per-task heads of
    other types (e.g. the separate heads of heterogeneous tasks) are kept as they are.

    ranks: None (chosen by `threshold`), or a function of a layer's weight stack (tasks
    first, e.g. (T, in, out)) returning that layer's ranks, e.g.
    `lambda w: [4]` for LAF with K = 4 in every layer. keep_norm: rescale each layer's
    composed weights to the norm of the stack it factorises (for a random start truncated
    far below full rank, which would otherwise begin with much smaller weights)."""
    if ranks is not None and not callable(ranks):
        raise TypeError("factorise: ranks is a function of a layer's weight stack returning "
                        f"its ranks (e.g. lambda w: [4]), got {ranks!r}.")
    model = copy.deepcopy(model)
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, (TaskLinear, TaskConv2d)):
                r = None if ranks is None else list(ranks(child.weight.shape))
                if isinstance(child, TaskLinear):
                    new = DMTRLLinear.from_stack(kind, child.weight, child.bias, threshold, r)
                else:
                    new = DMTRLConv2d.from_stack(kind, child.weight, child.bias, threshold, r,
                                                 padding=child.padding)
                if keep_norm:
                    _rescale(new.weights, child.weight.norm() / new.stacked_weight().norm())
                setattr(module, name, new)
    return model


@torch.no_grad()
def _rescale(weights, factor):
    """Multiply the composed weights by `factor` through one shared factor."""
    if isinstance(weights, LAFWeights):
        weights.L.mul_(factor)
    elif isinstance(weights, TuckerWeights):
        weights.core.mul_(factor)
    else:
        weights.cores[0].mul_(factor)
