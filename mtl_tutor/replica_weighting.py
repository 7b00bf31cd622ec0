"""Weightings that shape gradients, on a stack of replicas (`fit_replicas`).

A weighting that combines the tasks' gradients (PCGrad, MGDA, CAGrad, Nash-MTL, GradNorm)
or draws new weights at every step (random weighting) cannot run inside one replica's
vectorised forward pass. Its `replica_backward(weightings, losses, params, ids, tasks)`
does the work for all replicas at once instead: `losses` is (replicas, tasks), `params`
the stacked parameters (replica axis first) by name, `ids` maps `id` of a parameter of the
first replica to its name in `params`, `tasks` names the tasks in order, and each replica
keeps its own weighting object (its settings, its random generator, its state). The
replicas are independent, so one backward pass of task t's losses summed over the
replicas gives every replica's gradient of task t: T passes give all the per-task
gradients, however many replicas there are.
"""
import torch


def task_gradients(losses: torch.Tensor, tensors: list, create_graph=False) -> torch.Tensor:
    """(replicas, tasks, parameters): each replica's gradient of each task's loss with
    respect to `tensors` (stacked, replica axis first), flattened per replica."""
    replicas, tasks = losses.shape
    rows = []
    for t in range(tasks):
        grads = torch.autograd.grad(losses[:, t].sum(), tensors, retain_graph=True,
                                    allow_unused=True, create_graph=create_graph)
        rows.append(torch.cat([(torch.zeros_like(p) if g is None else g).reshape(replicas, -1)
                               for g, p in zip(grads, tensors)], dim=1))
    return torch.stack(rows, dim=1)


def assign(tensors: list, flat: torch.Tensor) -> None:
    """Add each replica's flat gradient (replicas, parameters) to the tensors' `.grad`."""
    offset = 0
    for p in tensors:
        size = p[0].numel()
        g = flat[:, offset:offset + size].reshape(p.shape)
        p.grad = g.clone() if p.grad is None else p.grad + g
        offset += size


def _others(params: dict, chosen: list) -> list:
    """The model's stacked parameters that are not among `chosen`."""
    ids = {id(t) for t in chosen}
    return [t for n, t in params.items() if n.startswith("model.") and id(t) not in ids
            and t.requires_grad]


def combined_backward(weightings, losses, params, ids, tasks, loss_scale=None) -> None:
    """Gradient combiners (MGDA, CAGrad, Nash-MTL, PCGrad): the per-task gradients on the
    shared parameters go through each replica's `combine(grads, losses)` (or the class's
    batched `combine_replicas`); every other parameter gets the plain sum's gradient, as
    in sequential training. `loss_scale` (replicas, tasks) weights the losses first."""
    first = weightings[0]
    shared = [params[ids[id(p)]] for p in first.shared]
    scaled = losses if loss_scale is None else losses * loss_scale
    grads = task_gradients(scaled, shared)
    batched = getattr(type(first), "combine_replicas", None)
    direction = batched(weightings, grads, losses.detach()) if batched else torch.stack(
        [w.combine(g, v) for w, g, v in zip(weightings, grads, losses.detach())])
    others = _others(params, shared)
    if others:
        assign(others, task_gradients(scaled.sum(dim=1, keepdim=True), others)[:, 0])
    assign(shared, direction)


def pcgrad_backward(weightings, losses, params, ids, tasks) -> None:
    """PCGrad: its fixed loss weights, if any, then `combined_backward`."""
    fixed = [w.weighting for w in weightings]
    scale = None if fixed[0] is None else torch.tensor(
        [[f.weights[t] for t in tasks] for f in fixed], dtype=losses.dtype,
        device=losses.device)
    combined_backward(weightings, losses, params, ids, tasks, scale)


GRADNORM_FLOOR = 1e-3  # GradNorm's smallest weight: a task is never switched off


@torch.no_grad()
def renormalise(w: torch.Tensor, floor: float = GRADNORM_FLOOR) -> torch.Tensor:
    """GradNorm's weights (last axis: tasks) made positive and summing to the number of
    tasks, in place, as Chen et al. (2018) renormalise after every update: an update that
    drove a weight to or below 0 leaves it at `floor` before the rescaling."""
    w.clamp_(min=floor)
    return w.mul_(w.shape[-1] / w.sum(dim=-1, keepdim=True))


def gradnorm_backward(weightings, losses, params, ids, tasks) -> None:
    """GradNorm (`weighting.GradNorm.backward`) for every replica at once: its task
    weights are the stacked parameter of the replicas' GradNorm modules."""
    first = weightings[0]
    w = params[ids[id(first.w)]]  # (replicas, tasks)
    layer = params[ids[id(first._shared[0])]]
    replicas, tasks = losses.shape
    renormalise(w)  # after the optimiser's last step
    if first.initial is None:
        for weighting, row in zip(weightings, losses.detach()):
            weighting.initial = row.clone()
    initial = torch.stack([weighting.initial for weighting in weightings])
    norms = torch.stack([torch.autograd.grad(
        (w[:, t] * losses[:, t]).sum(), layer, retain_graph=True, create_graph=True)[0]
        .reshape(replicas, -1).norm(dim=1) for t in range(tasks)], dim=1)
    ratio = losses.detach() / initial
    alpha = torch.tensor([weighting.alpha for weighting in weightings],
                         dtype=losses.dtype, device=losses.device)[:, None]
    target = (norms.mean(dim=1, keepdim=True) * (ratio / ratio.mean(dim=1, keepdim=True))
              ** alpha).detach()
    w_grad = torch.autograd.grad((norms - target).abs().sum(), w, retain_graph=True)[0]
    (w.detach() * losses).sum().backward()
    w.grad = w_grad


def random_backward(weightings, losses, params, ids, tasks) -> None:
    """Random loss weighting: each replica draws its step's weights from its own
    generator, as it would in sequential training."""
    weights = torch.stack([weighting.draw() for weighting in weightings]).to(losses)
    (weights * losses).sum().backward()
