"""Architectures that learn what to share, as plain `nn.Module` classes on task-stacked layers.

- `CrossStitchMLP` (Misra et al., 2016): one network per task; after every hidden layer a
  learned T x T matrix mixes the tasks' activations.
- `MMoE` (Ma et al., 2018): shared experts, and one softmax gate per task choosing how much
  of each expert it uses.
- `SluiceMLP` (Ruder et al., 2017): cross-stitch mixing between *subspaces* of the tasks'
  layers (alpha), a learned mix of all layers' outputs per task (beta), and a penalty that
  keeps each layer's two subspaces orthogonal.
- `TaskCovariancePenalty` (deep relationship networks, Long & Wang, 2015): a matrix-normal
  prior on a layer's stacked task weights with a learned task covariance.
- `BranchedMLP`, `task_affinity`, `group_tasks`: fully-adaptive feature sharing (Lu et al.,
  2017), simplified: branch the top layer by groups of tasks found from their affinity.
- `HierarchicalMLP`: low supervision (Sogaard & Goldberg, 2016) and, with shortcuts, a joint
  many-task model in miniature (Hashimoto et al., 2017).
"""
import torch
from torch import nn

from .data import Task
from .layers import TaskLinear, stacked_linear
from .models import TaskHeads
from .numerics import sqrt  # correctly rounded: torch.sqrt's bits vary with the CPU


class CrossStitch(nn.Module):
    """h_t <- sum_s alpha[t, s] h_s for task-stacked activations h (tasks, n, features).

    Initialised near the identity: `keep` on the diagonal (0.9), the rest of each row
    shared equally by the other tasks (0.1 in all). `lr` is the units' own learning rate
    (used by `fit` through the model's `optimizer_groups`)."""

    def __init__(self, n_tasks: int, keep: float = 0.9):
        super().__init__()
        other = (1 - keep) / max(1, n_tasks - 1)
        alpha = torch.full((n_tasks, n_tasks), other)
        alpha.fill_diagonal_(keep if n_tasks > 1 else 1.0)
        self.alpha = nn.Parameter(alpha)

    def forward(self, h):
        return torch.einsum("ts,snd->tnd", self.alpha, h)


class CrossStitchMLP(nn.Module):
    """An MLP per task (task-stacked layers) with a cross-stitch unit after each hidden
    layer. With alpha = I it is exactly STL."""

    def __init__(self, n_features, hidden, tasks, keep=0.9, stitch_lr=None):
        super().__init__()
        self.tasks = [t if isinstance(t, Task) else Task(t) for t in tasks]
        self.n_features, self.stitch_lr = n_features, stitch_lr
        T, sizes = len(self.tasks), (n_features, *hidden)
        self.layers = nn.ModuleList(TaskLinear(T, a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.stitches = nn.ModuleList(CrossStitch(T, keep) for _ in hidden)
        self.heads = TaskHeads(self.tasks, sizes[-1])

    def forward(self, x):
        _require_shared_inputs(x, "CrossStitchMLP", "it mixes the tasks' activations for the "
                               "same example")
        h = x
        for layer, stitch in zip(self.layers, self.stitches):
            h = torch.relu(layer(h))
            h = stitch(h)
        return self.heads(h)

    def optimizer_groups(self, lr):
        """The cross-stitch units train with their own learning rate (`stitch_lr`)."""
        stitch = [p for s in self.stitches for p in s.parameters()]
        ids = {id(p) for p in stitch}
        rest = [p for p in self.parameters() if id(p) not in ids]
        return [{"params": rest}, {"params": stitch, "lr": self.stitch_lr or lr,
                                   "weight_decay": 0.0}]


class SluiceMLP(nn.Module):
    """A sluice network: one MLP per task with hidden layers of equal width, each layer's
    output split into two subspaces. After every layer, alpha (2T x 2T, initialised near
    the identity) mixes all tasks' subspaces; the task heads read beta_t, a learned softmax
    mix of the task's layer outputs. Each forward pass stores `orthogonality`, the sum over
    tasks and layers of ||A^T B||_F^2 for the two subspaces A, B; add
    `lambda: strength * model.orthogonality` as fit's penalty to push them apart."""

    def __init__(self, n_features, width, n_layers, tasks, keep=0.9, stitch_lr=None):
        super().__init__()
        if width % 2:
            raise ValueError(f"width must be even (two subspaces), got {width}.")
        self.tasks = [t if isinstance(t, Task) else Task(t) for t in tasks]
        T = len(self.tasks)
        self.n_features, self.stitch_lr = n_features, stitch_lr
        sizes = (n_features,) + (width,) * n_layers
        self.layers = nn.ModuleList(TaskLinear(T, a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.alphas = nn.ModuleList(CrossStitch(2 * T, keep) for _ in range(n_layers))
        self.beta = nn.Parameter(torch.zeros(T, n_layers))
        self.heads = TaskHeads(self.tasks, width)
        self.orthogonality = torch.zeros(())

    def forward(self, x):
        _require_shared_inputs(x, "SluiceMLP", "it mixes the tasks' activations for the same "
                               "example")
        T, h, outputs, ortho = len(self.tasks), x, [], 0.0
        for layer, alpha in zip(self.layers, self.alphas):
            h = torch.relu(layer(h))                                   # (T, n, width)
            n, width = h.shape[1], h.shape[2]
            parts = h.reshape(T, n, 2, width // 2)
            a, b = parts[:, :, 0], parts[:, :, 1]
            ortho = ortho + torch.einsum("tni,tnj->tij", a, b).pow(2).sum()
            mixed = alpha(parts.permute(0, 2, 1, 3).reshape(2 * T, n, width // 2))
            h = mixed.reshape(T, 2, n, width // 2).permute(0, 2, 1, 3).reshape(T, n, width)
            outputs.append(h)
        self.orthogonality = ortho
        weights = torch.softmax(self.beta, dim=1)                      # (T, layers)
        return self.heads(torch.einsum("tl,ltnd->tnd", weights, torch.stack(outputs)))

    def optimizer_groups(self, lr):
        """alpha and beta train with their own learning rate (`stitch_lr`)."""
        special = [p for a in self.alphas for p in a.parameters()] + [self.beta]
        ids = {id(p) for p in special}
        rest = [p for p in self.parameters() if id(p) not in ids]
        return [{"params": rest}, {"params": special, "lr": self.stitch_lr or lr,
                                   "weight_decay": 0.0}]


class MMoE(nn.Module):
    """Multi-gate mixture of experts: `n_experts` shared expert MLPs (one hidden layer of
    `expert_size`), a softmax gate per task over the experts, a tower per task.
    Inputs are shared (n, features); `gates(x)` returns the gate weights (tasks, n, experts).
    """

    def __init__(self, n_features, tasks, n_experts=4, expert_size=16, tower_size=8):
        super().__init__()
        self.tasks = [t if isinstance(t, Task) else Task(t) for t in tasks]
        T = len(self.tasks)
        self.experts = TaskLinear(n_experts, n_features, expert_size)  # stacked over experts
        self.gate = TaskLinear(T, n_features, n_experts)
        self.towers = TaskLinear(T, expert_size, tower_size)
        self.heads = TaskHeads(self.tasks, tower_size)

    def gates(self, x):
        return torch.softmax(self.gate(x), dim=-1)

    def forward(self, x):
        _require_shared_inputs(x, "MMoE", "its experts and gates see one input per example")
        experts = torch.relu(self.experts(x))                        # (experts, n, size)
        mixed = torch.einsum("tne,enh->tnh", self.gates(x), experts)  # (tasks, n, size)
        return self.heads(torch.relu(self.towers(mixed)))


def _require_shared_inputs(x, name, why):
    if x.dim() != 2:
        raise ValueError(f"{name} needs inputs shared by all tasks, shape (n, features), got "
                         f"{tuple(x.shape)}: {why}. Generate the data with "
                         "shared_inputs=True.")


def task_covariance(weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """The closed-form task covariance of a matrix-normal prior on a stack (tasks, ...):
    Omega = (W W^T)^(1/2) / trace((W W^T)^(1/2)), with W the stack flattened per task."""
    flat = weight.reshape(weight.shape[0], -1)
    gram = flat @ flat.T + eps * torch.eye(len(flat), dtype=flat.dtype, device=flat.device)
    values, vectors = torch.linalg.eigh(gram)
    root = vectors @ torch.diag(sqrt(values.clamp(min=0))) @ vectors.T
    return root / root.trace()


class TaskCovariancePenalty:
    """Deep relationship networks' penalty on a task-stacked layer (e.g. the heads):
    strength * trace(W^T Omega^{-1} W), with the task covariance Omega re-estimated in
    closed form (from the current weights, without gradient) at every call: alternating
    minimisation, one step each. For `fit(penalty=...)`; `covariance()` reads Omega,
    `correlation()` Omega scaled to a unit diagonal."""

    def __init__(self, weight: torch.Tensor, strength: float = 1e-3, eps: float = 1e-3):
        if strength < 0:
            raise ValueError(f"strength cannot be negative, got {strength}.")
        self.weight, self.strength, self.eps = weight, strength, eps

    def covariance(self):
        return task_covariance(self.weight.detach(), self.eps)

    def correlation(self):
        omega = self.covariance()
        d = sqrt(omega.diagonal())
        return omega / d[:, None] / d[None, :]

    def __call__(self):
        flat = self.weight.reshape(self.weight.shape[0], -1)
        omega = self.covariance() + self.eps * torch.eye(len(flat), device=flat.device)
        return self.strength * torch.trace(flat.T @ torch.linalg.solve(omega, flat))


class HierarchicalMLP(nn.Module):
    """Tasks supervised at different depths (low supervision, Sogaard & Goldberg, 2016):
    `levels[t]` is the hidden layer (1 = the first) whose output feeds task t's head, so a
    low-level task shapes the lower layers and a high-level task reads the top. With
    `shortcuts=True` it is a joint many-task model in miniature (Hashimoto et al., 2017):
    every layer also sees the raw input and the predictions of the tasks of the level below.
    Layers and heads are shared by all tasks (hard sharing along the hierarchy)."""

    def __init__(self, n_features, width, tasks, levels, shortcuts=False):
        super().__init__()
        self.tasks = [t if isinstance(t, Task) else Task(t) for t in tasks]
        if len(levels) != len(self.tasks) or min(levels) < 1:
            raise ValueError(f"Give one level (1 = first hidden layer) per task, got {levels}.")
        self.levels, self.shortcuts, self.n_features = list(levels), shortcuts, n_features
        depth = max(levels)
        below = [sum(t.outputs for t, lv in zip(self.tasks, levels) if lv == d)
                 for d in range(depth + 1)]  # outputs of the tasks at each level
        sizes = [n_features] + [width + (n_features + below[d] if shortcuts else 0)
                                for d in range(1, depth)]
        self.layers = nn.ModuleList(nn.Linear(a, width) for a in sizes)
        self.heads = nn.ModuleDict({t.name: nn.Linear(width, t.outputs) for t in self.tasks})

    def forward(self, x):
        _require_shared_inputs(x, "HierarchicalMLP", "all levels read the same example")
        h, out = x, {}
        for depth, layer in enumerate(self.layers, start=1):
            h = torch.relu(layer(h))
            level = [t for t, lv in zip(self.tasks, self.levels) if lv == depth]
            for t in level:
                out[t.name] = self.heads[t.name](h)
            if self.shortcuts and depth < len(self.layers):
                h = torch.cat([h, x] + [out[t.name] for t in level], dim=-1)
        return {t.name: (out[t.name].squeeze(-1) if t.outputs == 1 else out[t.name])
                for t in self.tasks}


class GroupLinear(nn.Module):
    """A task-stacked layer whose slices are tied within groups of tasks: `groups[t]` is
    task t's group, and tasks of one group use the same weights (one branch per group).
    One group is hard sharing of the layer; one group per task is STL."""

    def __init__(self, groups, in_features, out_features):
        super().__init__()
        self.register_buffer("groups", torch.as_tensor(groups))
        self.branches = TaskLinear(int(self.groups.max()) + 1, in_features, out_features)

    def forward(self, x):
        weight = self.branches.weight[self.groups]  # (tasks, in, out): slices tied by group
        return stacked_linear(x, weight, self.branches.bias[self.groups])


class BranchedMLP(nn.Module):
    """Fully-adaptive feature sharing in a simplified form (Lu et al., 2017): a trunk shared
    by all tasks, then a last hidden layer with one branch per group of tasks (`groups`),
    then a head per task. `group_tasks` finds the groups from a trained thin model."""

    def __init__(self, n_features, hidden, tasks, groups):
        super().__init__()
        self.tasks = [t if isinstance(t, Task) else Task(t) for t in tasks]
        sizes = (n_features, *hidden)
        trunk = []
        for a, b in zip(sizes[:-2], sizes[1:-1]):
            trunk += [nn.Linear(a, b), nn.ReLU()]
        self.trunk = nn.Sequential(*trunk)
        self.branch = GroupLinear(groups, sizes[-2], sizes[-1])
        self.heads = TaskHeads(self.tasks, sizes[-1])

    def forward(self, x):
        return self.heads(torch.relu(self.branch(self.trunk(x))))


@torch.no_grad()
def task_affinity(model, data, split="val") -> torch.Tensor:
    """Lu et al.'s affinity between tasks: the fraction of examples on which two tasks are
    both "easy" or both "hard" for `model` (loss below or above that task's median).
    Needs shared inputs. Returns a (tasks, tasks) matrix with ones on the diagonal."""
    import torch.nn.functional as F

    part = data.split(split)
    preds = model(part.x)
    losses = []
    for t in data.tasks:
        p, y = preds[t.name], part.y[t.name]
        if t.kind == "regression":
            losses.append((p - y).pow(2).reshape(len(y), -1).mean(dim=1))
        elif t.kind == "binary":
            losses.append(F.binary_cross_entropy_with_logits(p, y, reduction="none"))
        else:
            losses.append(F.cross_entropy(p, y, reduction="none"))
    easy = torch.stack([loss < loss.median() for loss in losses]).float()  # (tasks, n)
    return (easy @ easy.T + (1 - easy) @ (1 - easy).T) / easy.shape[1]


def group_tasks(affinity: torch.Tensor, n_groups: int) -> list:
    """Greedy grouping: start with one group per task and merge the two groups with the
    highest mean affinity until `n_groups` remain. Returns each task's group index."""
    groups = [[t] for t in range(len(affinity))]
    while len(groups) > n_groups:
        best, pair = -float("inf"), None
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                score = affinity[groups[i]][:, groups[j]].mean().item()
                if score > best:
                    best, pair = score, (i, j)
        i, j = pair
        groups[i] += groups.pop(j)
    group_of = {t: g for g, members in enumerate(sorted(groups)) for t in members}
    return [group_of[t] for t in range(len(affinity))]
