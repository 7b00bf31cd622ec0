"""The soft-sharing chapter's arms: each penalty on the hidden weights as a function of a
model (what `mt.Arm(penalty=...)` takes), the uncoupled twins that are its controls, the
same pull on a shared trunk, and what a penalty did to the weights (a `compare` score). ::

    uncoupled = mt.Arm("STL + l2", stl, {"penalty": [0, 1e-3, 1e-2, 1e-1]},
                       penalty=hidden_penalty("uncoupled l2"))
    coupled = mt.Arm("soft l2", stl, {"penalty": [0, 1e-3, 1e-2, 1e-1]},
                     penalty=hidden_penalty("l2"))
    result = mt.compare([uncoupled, coupled], data, seeds, score=weights_score)
"""
import torch
from torch import nn

from ..compare import default_score
from ..layers import TaskLinear
from ..models import single_task_nets
from ..penalties import (
    mean_regularised,
    mean_task_distance,
    pairwise_l2,
    singular_values,
    stacked_weights,
    task_norms,
    task_nuclear_norm,
    trace_norm,
    uncoupled_l2,
)

PENALTIES = {  # name: (penalty on one stack of task weights, its kind)
    "l2": (pairwise_l2, "coupled"),
    "trace": (trace_norm, "coupled"),
    "uncoupled l2": (uncoupled_l2, "uncoupled twin of l2"),
    "task norm": (task_norms, "uncoupled twin of trace"),
    "task nuclear": (task_nuclear_norm, "per-task low rank, no coupling"),
}


def hidden_penalty(name: str):
    """model -> the penalty `name` summed over the model's task-stacked hidden layers
    (`model.branches`; biases and heads are not penalised)."""
    if name not in PENALTIES:
        raise ValueError(f"No penalty {name!r}; the penalties are {list(PENALTIES)}.")
    function = PENALTIES[name][0]

    def penalty(model):
        stacks = stacked_weights(model.branches)
        if not stacks:
            raise ValueError("This model has no task-stacked hidden layers to penalise "
                             "(hard sharing?): use trunk_l2 for a shared trunk.")
        return sum(function(weight) for weight in stacks)

    return penalty


def two_strength_nets(data, hidden, strengths):
    """STL networks (`single_task_nets`) that carry two penalty strengths, (spread, mean),
    for `mean_penalty`: one configuration of a two-dimensional grid, e.g.
    `Arm(..., build=lambda d, strengths: two_strength_nets(d, (32, 16), strengths),
    grid={"strengths": [(0.1, 0.01), ...]}, penalty=mean_penalty)`."""
    spread, mean = strengths
    if spread < 0 or mean < 0:
        raise ValueError(f"The strengths (spread, mean) cannot be negative, got {strengths}.")
    model = single_task_nets(data.n_features, hidden, data.tasks)
    model.strengths = (float(spread), float(mean))
    return model


def mean_penalty(model):
    """Evgeniou & Pontil's two strengths on the hidden stacks, in the units of the l2
    grid: spread * T sum_t ||w_t - w_bar||^2 + mean * T^2 ||w_bar||^2, (spread, mean) =
    `model.strengths`. At (s, 0) it is the coupled l2 at s, at (s, s) its uncoupled twin
    (T sum_t ||w_t||^2 = T sum_t ||w_t - w_bar||^2 + T^2 ||w_bar||^2)."""
    spread, mean = getattr(model, "strengths", (None, None))
    if spread is None:
        raise ValueError("mean_penalty reads model.strengths = (spread, mean): build the "
                         "model with two_strength_nets.")
    stacks = stacked_weights(model.branches)
    tasks = len(model.tasks)
    return sum(mean_regularised(w, tasks * spread, tasks**2 * mean) for w in stacks)


@torch.no_grad()
def same_start(model):
    """Every task's slice of every task-stacked layer (hidden layers and heads) set to task
    0's initial draw, so that the tasks start equal; returns the model."""
    layers = [m for m in model.modules() if isinstance(m, TaskLinear)]
    if not layers:
        raise ValueError("This model has no task-stacked layers to start alike.")
    for layer in layers:
        for tensor in (layer.weight, layer.bias):
            if tensor is not None:
                tensor.copy_(tensor[:1].expand_as(tensor))
    return model


def trunk_l2(model):
    """T * the sum of squares of the shared trunk's weights (T: the number of tasks): the
    pull towards zero per weight that `uncoupled_l2` puts on each task's own copy."""
    layers = [m for m in model.trunk.modules() if isinstance(m, nn.Linear)]
    if not layers:
        raise ValueError("This model has no shared trunk (STL?): use hidden_penalty.")
    return len(model.tasks) * sum(layer.weight.pow(2).sum() for layer in layers)


def weight_measures(model) -> dict:
    """What the penalty did to the first hidden layer's stack of task weights: the mean
    distance between two tasks' weights, the share of the largest singular value in the
    sum of all, and the stack's Frobenius norm. A shared trunk (hard sharing) is distance
    0 and share 1 by construction."""
    stacks = stacked_weights(model.branches)
    if not stacks:
        return {"task distance": 0.0, "top singular share": 1.0,
                "stack norm": float("nan")}
    stack = stacks[0].detach()
    values = singular_values(stack)
    return {"task distance": mean_task_distance(stack),
            "top singular share": float(values[0] / values.sum()),
            "stack norm": float(stack.norm())}


def weights_score(model, data, split) -> dict:
    """`compare`'s default score (the mean test error, the errors by task) and the
    weight measures of `weight_measures`."""
    return {**default_score(model, data, split), **weight_measures(model)}
