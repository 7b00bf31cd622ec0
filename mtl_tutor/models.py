"""Multi-task networks as plain `nn.Module` classes that return a dict {task name: prediction}.

`ForkedMLP` is one MLP per task that shares its first `n_shared` hidden layers:
n_shared = 0 is single-task learning (STL: T independent networks, trained together as
one batched model), n_shared = all hidden layers is hard parameter sharing (a shared
trunk and one linear head per task), and anything between is a "user-defined" fork.
"""
import torch.nn.functional as F
from torch import nn

from .data import Stacked, Task
from .layers import TaskLinear


class TaskHeads(nn.Module):
    """The last, task-specific layer. One `TaskLinear` when all tasks have the same number
    of outputs; one `nn.Linear` per task otherwise (heterogeneous tasks)."""

    def __init__(self, tasks, in_features: int):
        super().__init__()
        self.tasks = list(tasks)
        self.names = [t.name for t in self.tasks]
        outputs = {t.outputs for t in self.tasks}
        if len(outputs) == 1:
            self.stacked = TaskLinear(len(self.tasks), in_features, outputs.pop())
        else:
            self.stacked = None
            self.separate = nn.ModuleDict(
                {t.name: nn.Linear(in_features, t.outputs) for t in self.tasks})

    def forward(self, h):
        names, layer = self.names, self.stacked
        if layer is not None:
            if layer.out_features == 1:  # one number per task: (n, tasks), as targets
                if h.dim() == 2:  # a shared input: exactly an nn.Linear with T outputs
                    w, b = layer.weight.squeeze(-1), layer.bias.squeeze(-1)
                    return Stacked(names, F.linear(h, w, b))
                return Stacked(names, layer(h).squeeze(-1).t())
            per_task = list(layer(h).unbind(0))
        else:
            per_task = [self.separate[t.name](h if h.dim() == 2 else h[i])
                        for i, t in enumerate(self.tasks)]
        return {name: (o.squeeze(-1) if t.outputs == 1 else o)
                for name, t, o in zip(names, self.tasks, per_task)}


class ForkedMLP(nn.Module):
    """An MLP per task whose first `n_shared` hidden layers are one layer shared by all.

    n_features: inputs; hidden: widths of the hidden layers, e.g. (32, 32);
    tasks: a list of `Task`; n_shared: how many hidden layers are shared (0 .. len(hidden)).
    Inputs: (n, n_features) shared by all tasks, or (tasks, n, n_features).
    """

    def __init__(self, n_features: int, hidden, tasks, n_shared: int,
                 activation=nn.ReLU):
        super().__init__()
        self.tasks = [t if isinstance(t, Task) else Task(t) for t in tasks]
        hidden = tuple(hidden)
        if not 0 <= n_shared <= len(hidden):
            raise ValueError(f"n_shared must be between 0 (STL) and {len(hidden)} (all hidden "
                             f"layers shared), got {n_shared}.")
        self.n_shared, self.n_features = n_shared, n_features
        sizes = (n_features, *hidden)
        shared, own = [], []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i < n_shared:
                shared += [nn.Linear(a, b), activation()]
            else:
                own += [TaskLinear(len(self.tasks), a, b), activation()]
        self.trunk = nn.Sequential(*shared)
        self.branches = nn.Sequential(*own)
        self.heads = TaskHeads(self.tasks, sizes[-1])

    def forward(self, x):
        if x.dim() not in (2, 3) or x.shape[-1] != self.n_features:
            raise ValueError(f"This model expects inputs of shape (n, {self.n_features}) or "
                             f"(tasks, n, {self.n_features}), got {tuple(x.shape)}: build it "
                             "with the data's number of features (data.n_features).")
        h = self.trunk(x)
        return self.heads(self.branches(h) if self.branches else h)


def single_task_nets(n_features: int, hidden, tasks, activation=nn.ReLU) -> ForkedMLP:
    """STL: an independent MLP per task, trained together as one batched model."""
    return ForkedMLP(n_features, hidden, tasks, n_shared=0, activation=activation)


def hard_sharing(n_features: int, hidden, tasks, activation=nn.ReLU) -> ForkedMLP:
    """Hard parameter sharing: all hidden layers shared, one linear head per task."""
    return ForkedMLP(n_features, hidden, tasks, n_shared=len(tuple(hidden)),
                     activation=activation)


def count_parameters(model: nn.Module) -> int:
    """The number of trainable numbers in a model."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
