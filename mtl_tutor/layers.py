"""The task-stacked linear layer: the spine of the package.

Every sharing scheme in the book is a structure on one tensor, the stack of per-task
weights W of shape (tasks, in, out). `TaskLinear` holds that stack and applies all
tasks' maps in one batched matrix multiply, so T independent models cost one call.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


class TaskLinear(nn.Module):
    """T linear maps y_t = x_t W_t + b_t at once; `weight` is (tasks, in, out).

    Input: (tasks, n, in), one batch per task, or (n, in), the same batch for every task.
    Output: (tasks, n, out). Initialised like `nn.Linear`, independently per task.
    """

    def __init__(self, n_tasks: int, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.n_tasks, self.in_features, self.out_features = n_tasks, in_features, out_features
        self.weight = nn.Parameter(torch.empty(n_tasks, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(n_tasks, out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.in_features)  # nn.Linear's default range
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return stacked_linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"tasks={self.n_tasks}, in_features={self.in_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


def stacked_linear(x: torch.Tensor, weight: torch.Tensor, bias=None) -> torch.Tensor:
    """x_t W_t + b_t for every task t at once; weight (tasks, in, out), bias (tasks, out).

    x: (tasks, n, in), one batch per task, or (n, in), the same batch for every task.
    """
    n_tasks, in_features, _ = weight.shape
    if x.shape[-1] != in_features:
        raise ValueError(f"A task-stacked layer expects {in_features} input features, "
                         f"got input of shape {tuple(x.shape)}.")
    if x.dim() == 2:  # one batch shared by all tasks: one matrix product for all tasks
        w = weight.transpose(0, 1).reshape(in_features, -1)  # (in, tasks * out)
        out = x @ w if bias is None else torch.addmm(bias.reshape(-1), x, w)
        return out.reshape(len(x), n_tasks, -1).transpose(0, 1)
    if x.dim() == 3 and x.shape[0] == n_tasks:  # one batch per task
        return torch.bmm(x, weight) if bias is None else torch.baddbmm(bias[:, None, :], x, weight)
    raise ValueError(f"A task-stacked layer with {n_tasks} tasks expects input of shape "
                     f"(n, {in_features}) or ({n_tasks}, n, {in_features}), got "
                     f"{tuple(x.shape)}.")


def stacked_conv2d(x: torch.Tensor, weight: torch.Tensor, bias=None, padding=0):
    """A 2-D convolution per task at once, as one grouped convolution.

    weight (tasks, out, in, kh, kw); x (tasks, n, in, H, W) or (n, in, H, W) shared.
    Returns (tasks, n, out, H', W').
    """
    n_tasks, out_ch, in_ch = weight.shape[:3]
    if x.dim() == 4:
        x = x.expand(n_tasks, *x.shape)
    if x.dim() != 5 or x.shape[0] != n_tasks or x.shape[2] != in_ch:
        raise ValueError(f"A task-stacked convolution with {n_tasks} tasks and {in_ch} input "
                         f"channels expects (n, {in_ch}, H, W) or ({n_tasks}, n, {in_ch}, H, W), "
                         f"got {tuple(x.shape)}.")
    n, height, width = x.shape[1], x.shape[3], x.shape[4]
    merged = x.transpose(0, 1).reshape(n, n_tasks * in_ch, height, width)
    out = F.conv2d(merged, weight.reshape(n_tasks * out_ch, in_ch, *weight.shape[3:]),
                   None if bias is None else bias.reshape(-1), padding=padding, groups=n_tasks)
    return out.reshape(n, n_tasks, out_ch, *out.shape[2:]).transpose(0, 1)


class TaskConv2d(nn.Module):
    """T 2-D convolutions at once; `weight` is (tasks, out, in, kh, kw). Initialised like
    `nn.Conv2d`, independently per task."""

    def __init__(self, n_tasks, in_channels, out_channels, kernel_size, padding=0):
        super().__init__()
        self.padding = padding
        self.weight = nn.Parameter(torch.empty(n_tasks, out_channels, in_channels,
                                               kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(n_tasks, out_channels))
        bound = 1 / math.sqrt(in_channels * kernel_size * kernel_size)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return stacked_conv2d(x, self.weight, self.bias, self.padding)
