"""Tools of the chapter on hard parameter sharing: the hidden-weight penalty every arm
tunes, Baxter's curve a + b / N fitted to errors, and the cosines between the tasks'
gradients on the trunk at each training step. ::

    l2 = hidden_l2(model)                            # add c * l2 to the loss
    fit = fit_inverse_n([1, 2, 4], [0.3, 0.2, 0.15])  # {"a": ..., "b": ..., "r2": ...}
    cosines = step_cosines(model, data, steps=100)   # (steps, pairs of tasks)
"""
import numpy as np
import torch

from ..losses import task_loss


def hidden_l2(model) -> torch.Tensor:
    """The sum of the squared weights of the hidden layers (trunk and branches; not the
    biases, not the heads) of a `ForkedMLP`."""
    layers = [*model.trunk, *model.branches]
    return sum((layer.weight**2).sum() for layer in layers if hasattr(layer, "weight"))


def fit_inverse_n(n_tasks, errors) -> dict:
    """Least squares of errors = a + b / N over the points (N, error): Baxter's shape of
    the error against the number of tasks. Returns a, b and r2, the fraction of the
    variance of the errors the curve explains (1: a perfect fit)."""
    n = np.asarray(n_tasks, dtype=float)
    y = np.asarray(errors, dtype=float)
    if n.ndim != 1 or n.shape != y.shape or len(n) < 3:
        raise ValueError(f"fit_inverse_n needs matching 1-d numbers of tasks and errors, at "
                         f"least 3 points; got shapes {n.shape} and {y.shape}.")
    if (n <= 0).any() or not np.isfinite(y).all():
        raise ValueError("fit_inverse_n: numbers of tasks must be positive and errors finite.")
    design = np.stack([np.ones_like(n), 1 / n], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ np.array([a, b])
    total = ((y - y.mean()) ** 2).sum()
    r2 = 1 - (residual**2).sum() / total if total > 0 else float("nan")
    return {"a": float(a), "b": float(b), "r2": float(r2)}


def step_cosines(model, data, steps: int = 100, lr: float = 1e-2) -> torch.Tensor:
    """Train `model` (a `ForkedMLP` with a trunk) with Adam on the sum of the task losses
    over the whole training split, and record at each step the cosine between every pair
    of tasks' gradients on the trunk's parameters, before the step is taken.

    Returns a tensor of shape (steps, pairs): one row per step, one column per pair of
    tasks (t < u). Use it on small data: each step takes one gradient per task.
    """
    trunk = [p for p in model.trunk.parameters() if p.requires_grad]
    if not trunk:
        raise ValueError("step_cosines needs a model with a shared trunk (n_shared >= 1).")
    if len(model.tasks) < 2:
        raise ValueError("step_cosines needs at least two tasks.")
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    x, y = data.train.x, data.train.y
    n_tasks = len(model.tasks)
    one_hot = torch.eye(n_tasks)  # row t: the gradient of task t's loss alone
    upper = torch.triu_indices(n_tasks, n_tasks, offset=1)
    rows = []
    for _ in range(steps):
        predictions = model(x)
        losses = [task_loss(t, predictions[t.name], y[t.name]) for t in model.tasks]
        grads = torch.autograd.grad(torch.stack(losses), trunk, grad_outputs=one_hot,
                                    retain_graph=True, is_grads_batched=True)
        flat = torch.cat([g.flatten(1) for g in grads], dim=1)  # (tasks, trunk parameters)
        unit = torch.nn.functional.normalize(flat, dim=1)
        cosine = unit @ unit.T
        rows.append(cosine[upper[0], upper[1]].detach())
        optimiser.zero_grad()
        sum(losses).backward()
        optimiser.step()
    return torch.stack(rows)
