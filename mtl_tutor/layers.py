"""The task-stacked linear layer: the spine of the package.

Every sharing scheme in the book is a structure on one tensor, the stack of per-task
weights W of shape (tasks, in, out). `TaskLinear` holds that stack and applies all
tasks' maps in one batched matrix multiply, so T independent models cost one call.
"""
import math

import torch
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
        if x.shape[-1] != self.in_features:
            raise ValueError(f"TaskLinear expects {self.in_features} input features, "
                             f"got input of shape {tuple(x.shape)}.")
        if x.dim() == 2:  # one batch shared by all tasks: one matrix product for all tasks
            w = self.weight.transpose(0, 1).reshape(self.in_features, -1)  # (in, tasks * out)
            out = (x @ w).reshape(len(x), self.n_tasks, -1).transpose(0, 1)
            return out if self.bias is None else out + self.bias[:, None, :]
        if x.dim() == 3 and x.shape[0] == self.n_tasks:  # one batch per task
            if self.bias is None:
                return torch.bmm(x, self.weight)
            return torch.baddbmm(self.bias[:, None, :], x, self.weight)
        raise ValueError(f"TaskLinear with {self.n_tasks} tasks expects input of shape "
                         f"(n, {self.in_features}) or ({self.n_tasks}, n, "
                         f"{self.in_features}), got {tuple(x.shape)}.")

    def extra_repr(self) -> str:
        return (f"tasks={self.n_tasks}, in_features={self.in_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
