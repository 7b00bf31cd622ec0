"""Soft parameter sharing: penalties on the stack of per-task weights W (tasks, in, out).

Each task keeps its own weights; a penalty pulls them towards each other.

- `pairwise_l2`: the squared distances between the tasks' weights (Duong et al., 2015).
- `trace_norm`: the sum of singular values of the stack flattened to (tasks, in * out),
  which favours stacks of low rank: task weights that are mixtures of a few shared
  patterns (Yang & Hospedales, 2017).

Each has an uncoupled twin, the same shrinkage applied to every task alone, which is the
control that says what coupling the tasks adds:

- `uncoupled_l2`: pairwise_l2 with the tasks' mean replaced by 0, T * sum_t ||W_t||^2
  (each task pulled towards zero as strongly as pairwise_l2 pulls it towards the mean).
- `task_norms`: the sum of the tasks' Euclidean norms, sum_t ||W_t||_F (not squared): the
  trace norm of the stack if the tasks' rows were orthogonal (shared no direction), and
  never below it; the trace norm's literal twin.
- `task_nuclear_norm`: the nuclear norm of each task's own (in, out) matrix, summed over
  tasks (each task made low rank on its own, none asked to share the others' patterns).

Between l2 and its twin lies `mean_regularised` (Evgeniou & Pontil, 2004), with one
strength for the spread around the tasks' mean and one for the mean itself:
uncoupled_l2 = pairwise_l2 + T^2 ||mean||^2.

Only weights are penalised, never biases: a bias is a per-task offset, not shared structure.
"""
import torch
from torch import nn

from .layers import TaskLinear


def _flat(weight: torch.Tensor) -> torch.Tensor:
    if weight.dim() < 2:
        raise ValueError("A soft-sharing penalty needs a stack of task weights with the task "
                         f"axis first, e.g. TaskLinear.weight; got shape {tuple(weight.shape)}.")
    return weight.reshape(weight.shape[0], -1)


def pairwise_l2(weight: torch.Tensor) -> torch.Tensor:
    """sum over task pairs s < t of ||W_s - W_t||^2, computed as T * sum_t ||W_t - mean||^2."""
    flat = _flat(weight)
    return flat.shape[0] * (flat - flat.mean(dim=0)).pow(2).sum()


def trace_norm(weight: torch.Tensor) -> torch.Tensor:
    """The sum of the singular values of the stack flattened to (tasks, in * out)."""
    return torch.linalg.svdvals(_flat(weight)).sum()


def uncoupled_l2(weight: torch.Tensor) -> torch.Tensor:
    """T * sum_t ||W_t||^2: `pairwise_l2` with the tasks' mean replaced by 0, so that each
    task's gradient is 2 T W_t where pairwise_l2's is 2 T (W_t - mean). No coupling."""
    flat = _flat(weight)
    return flat.shape[0] * flat.pow(2).sum()


def task_nuclear_norm(weight: torch.Tensor) -> torch.Tensor:
    """sum_t ||W_t||_*: the nuclear norm (sum of singular values) of each task's own weight
    matrix, summed over tasks; a stack (tasks, n) counts as one row per task. No coupling:
    the uncoupled twin of `trace_norm`."""
    if weight.dim() < 2:
        _flat(weight)  # the same clear error
    matrices = weight.unsqueeze(1) if weight.dim() == 2 else weight.flatten(2)
    return torch.linalg.svdvals(matrices).sum()


def task_norms(weight: torch.Tensor) -> torch.Tensor:
    """sum_t ||W_t||_F: each task's weights' Euclidean norm (not squared), summed. The trace
    norm of the stack is at most this, with equality when the tasks' flattened weights are
    orthogonal, so it is `trace_norm` with the coupling taken out: the uncoupled twin."""
    return _flat(weight).norm(dim=1).sum()


def mean_regularised(weight: torch.Tensor, spread: float, mean: float) -> torch.Tensor:
    """spread * sum_t ||W_t - mean_W||^2 + mean * ||mean_W||^2, mean_W the tasks' mean:
    the two-strength regulariser of Evgeniou & Pontil (2004). spread = T, mean = 0 is
    `pairwise_l2`; spread = T, mean = T^2 is `uncoupled_l2`."""
    if spread < 0 or mean < 0:
        raise ValueError(f"The strengths cannot be negative, got spread={spread}, "
                         f"mean={mean}.")
    flat = _flat(weight)
    centre = flat.mean(dim=0)
    return spread * (flat - centre).pow(2).sum() + mean * centre.pow(2).sum()


def stacked_weights(module: nn.Module) -> list:
    """The weight stacks of every `TaskLinear` inside `module` (biases excluded)."""
    return [m.weight for m in module.modules() if isinstance(m, TaskLinear)]


def sharing_penalty(module: nn.Module, l2: float = 0.0, trace: float = 0.0,
                    uncoupled_l2: float = 0.0, task_nuclear: float = 0.0,
                    task_norm: float = 0.0):
    """A penalty for `fit(penalty=...)`: l2 * pairwise_l2 + trace * trace_norm, summed over
    the task-stacked layers inside `module` (e.g. `model.branches`, the hidden layers).
    uncoupled_l2, task_nuclear and task_norm add the uncoupled twins (`uncoupled_l2`,
    `task_nuclear_norm`, `task_norms`) with those strengths: the controls for what
    coupling adds."""
    strengths = dict(l2=l2, trace=trace, uncoupled_l2=uncoupled_l2, task_nuclear=task_nuclear,
                     task_norm=task_norm)
    if any(v < 0 for v in strengths.values()):
        shown = ", ".join(f"{k}={v}" for k, v in strengths.items()
                          if v or k in ("l2", "trace"))
        raise ValueError(f"Penalty strengths cannot be negative, got {shown}.")
    layers = [m for m in module.modules() if isinstance(m, TaskLinear)]
    if not layers:
        raise ValueError("No task-stacked (TaskLinear) layers found to penalise: pass the "
                         "part of the model that has one weight per task, e.g. model.branches.")

    def penalty():  # reads each layer's weight when called (fit_replicas swaps them in)
        total = 0.0
        for w in (layer.weight for layer in layers):
            if l2:
                total = total + l2 * pairwise_l2(w)
            if trace:
                total = total + trace * trace_norm(w)
            if uncoupled_l2:
                total = total + uncoupled_l2 * _uncoupled_l2(w)
            if task_nuclear:
                total = total + task_nuclear * task_nuclear_norm(w)
            if task_norm:
                total = total + task_norm * task_norms(w)
        return total

    return penalty


_uncoupled_l2 = uncoupled_l2  # sharing_penalty's argument of the same name hides it


@torch.no_grad()
def mean_task_distance(weight: torch.Tensor) -> float:
    """The average Euclidean distance between two tasks' weights in one stack."""
    flat = _flat(weight)
    T = flat.shape[0]
    if T < 2:
        return 0.0
    return (torch.pdist(flat).sum() / (T * (T - 1) / 2)).item()


@torch.no_grad()
def singular_values(weight: torch.Tensor) -> torch.Tensor:
    """The singular values of the stack flattened to (tasks, in * out), largest first."""
    return torch.linalg.svdvals(_flat(weight))
