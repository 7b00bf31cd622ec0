"""Representation bias (Part II): a trunk learned on tasks of one environment, read by a
new task of that environment through a frozen trunk and a fitted linear head, and how
much of the environment's true factors the trunk holds.

`transfer_draw(seed)` holds, in one draw, the environment's pretraining tasks, a new task
with few examples (`info["new"]`) and a task of another environment (`info["stranger"]`);
arms of `mt.compare` pretrain on views of it (`data=lambda d: d.subset(...)`) or train on
the new task itself (`data=lambda d: d.info["new"]`), and `transfer_score` reads what
each trained model gives the new task::

    draw = transfer_draw(seed=0)
    scores = transfer_score(model, draw, "test")  # error, stranger error, factor R2
"""
import numpy as np
import torch

from ..data import MultiTaskData
from ..train import evaluate
from .mechanism_tools import factor_recovery
from .related import make_environment_tasks

HEAD_RIDGES = (1e-3, 1e-2, 1e-1, 1.0, 10.0)  # a new linear head's ridge strengths (LOO choice)


def transfer_draw(seed: int, n_pretrain: int = 16, n_train: int = 100, n_new: int = 10,
                  n_val: int = 50, n_factors: int = 4, noise: float = 0.1,
                  other_seed: int = 500) -> MultiTaskData:
    """The environment's first `n_pretrain` tasks with `n_train` examples each; in its
    info, "new": the environment's next task with `n_new` examples (and `n_val`
    validation examples), and "stranger": that task of another environment (seed +
    `other_seed`), as few examples."""
    def environment(s, n):
        return make_environment_tasks(n_tasks=n_pretrain + 1, n_train=n, n_val=n_val,
                                      n_factors=n_factors, noise=noise, seed=s)

    last = f"task{n_pretrain}"
    data = environment(seed, n_train)
    pretrain = data.subset([f"task{t}" for t in range(n_pretrain)])
    info = {**data.info, "new": environment(seed, n_new).subset([last]),
            "stranger": environment(seed + other_seed, n_new).subset([last])}
    return MultiTaskData(pretrain.tasks, pretrain.train, pretrain.val, pretrain.test, info)


def _inputs(part) -> torch.Tensor:
    return part.x[0] if part.per_task else part.x


def head_error(represent, task: MultiTaskData, split: str = "test",
               ridges=HEAD_RIDGES) -> float:
    """A new linear head on a frozen representation: ridge regression (with an
    intercept) of the one task's training targets on represent(x), its strength chosen
    from `ridges` by the leave-one-out error on the training examples alone (the
    validation split is not read), scored by its mean squared error on `split`."""
    if len(task.tasks) != 1:
        raise ValueError(f"head_error fits one task's head; got tasks {task.names}.")
    name = task.names[0]
    with torch.no_grad():
        h = represent(_inputs(task.train)).double()
        h_out = represent(_inputs(task.split(split))).double()
    y = task.train.y[name].double().reshape(len(h), -1)
    mean = h.mean(0)
    scale = (h - mean).pow(2).sum(1).mean().sqrt().clamp_min(1e-8)  # one scale for all
    z, z_out = (h - mean) / scale, (h_out - mean) / scale
    gram, centred = z @ z.T, y - y.mean(0)
    best = None
    for ridge in ridges:  # kernel form: n x n, n = the few training examples
        inverse = torch.linalg.inv(gram + ridge * torch.eye(len(z), dtype=z.dtype))
        hat = gram @ inverse
        loo = ((centred - hat @ centred) / (1 - hat.diagonal())[:, None]).pow(2).mean()
        if best is None or loo < best[0]:
            best = (loo, inverse)
    prediction = z_out @ (z.T @ (best[1] @ centred)) + y.mean(0)
    target = task.split(split).y[name].double().reshape(len(h_out), -1)
    return float((prediction - target).pow(2).mean())


def trunk_recovery(represent, task: MultiTaskData) -> float:
    """The mean over the environment's factors of their R^2 from represent(x) (a ridge
    linear probe, `factor_recovery`), fitted on one half of the task's test inputs and
    scored on the other."""
    x = _inputs(task.test)
    half = len(x) // 2
    r2 = factor_recovery(represent, task.info["teacher"].factors, x[:half], x[half:])
    return float(np.mean(r2))


def transfer_score(model, data: MultiTaskData, split: str) -> dict:
    """What a trained model gives the new task. A model pretrained on a draw's tasks
    (its info holds "new"): the new task's error through its frozen trunk and a new
    linear head (`head_error`), the same for the other environment's task ("stranger
    error"), and the trunk's factor recovery; a model trained on the new task itself:
    its own error there, and its trunk's factor recovery."""
    model = model.cpu()
    if "new" in data.info:
        new = data.info["new"]
        return {"error": head_error(model.trunk, new, split),
                "stranger error": head_error(model.trunk, data.info["stranger"], split),
                "factor R2": trunk_recovery(model.trunk, new)}
    return {"error": float(evaluate(model, data, split)["error"].iloc[0]),
            "factor R2": trunk_recovery(model.trunk, data)}


def matched_width(n_tasks: int, features: int, hidden: int) -> int:
    """The width of one shared hidden layer whose network (one linear head per task)
    has about as many parameters as `n_tasks` STL networks of one `hidden`-unit layer
    (each: features x hidden + hidden weights and biases, and a head of hidden + 1)."""
    stl = n_tasks * (features * hidden + 2 * hidden + 1)
    return round((stl - n_tasks) / (features + 1 + n_tasks))

