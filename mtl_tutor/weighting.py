"""Balancing the tasks' losses: strategies for `fit(weighting=...)`.

The interface is small. A weighting is called with the dict {task: loss} of a minibatch
and returns the number to minimise. A weighting with parameters (an `nn.Module`) is
trained by `fit` alongside the model. Two optional hooks:

- `epoch_end(train_losses)`, called by `fit` with the epoch's mean loss per task (DWA);
- `backward(losses)`, which, when present, `fit` calls *instead of* backpropagating the
  weighted sum: for strategies that shape the gradients themselves (GradNorm, PCGrad).
"""
import math

import torch
from torch import nn

from .losses import equal_weights


class FixedWeights:
    """sum_t w_t L_t with fixed weights, e.g. found by a grid search on validation data."""

    def __init__(self, weights: dict):
        if any(w < 0 for w in weights.values()):
            raise ValueError(f"Task weights cannot be negative, got {weights}.")
        self.weights = dict(weights)

    def __call__(self, losses):
        missing, unknown = set(losses) - set(self.weights), set(self.weights) - set(losses)
        if missing or unknown:
            raise ValueError(f"FixedWeights needs one weight per task {sorted(losses)}; "
                             f"missing: {sorted(missing) or 'none'}, unknown task(s): "
                             f"{sorted(unknown) or 'none'} (a typo in a task name?).")
        return sum(self.weights[name] * loss for name, loss in losses.items())


class UncertaintyWeighting(nn.Module):
    """Kendall et al. (2018): each task t has a learned noise level sigma_t, and the loss
    is the negative log-likelihood under it: 1/(2 sigma_t^2) L_t + log sigma_t for a
    regression task (L_t a mean squared error), 1/sigma_t^2 L_t + log sigma_t for a
    classification task. Noisy tasks learn a large sigma and weigh less.

    It learns s_t = log sigma_t^2, which is stable; `sigmas()` reads them back. `lr`, if
    given, is the learning rate of the s_t (they often need to travel further, faster, than
    the network's weights); `fit` never applies weight decay to them.
    """

    def __init__(self, tasks, lr: float | None = None):
        super().__init__()
        self.tasks, self.lr = list(tasks), lr
        self.log_variance = nn.Parameter(torch.zeros(len(self.tasks)))

    def forward(self, losses):
        total = 0.0
        for task, s in zip(self.tasks, self.log_variance):
            scale = 0.5 if task.kind == "regression" else 1.0
            total = total + scale * torch.exp(-s) * losses[task.name] + 0.5 * s
        return total

    def sigmas(self) -> dict:
        return {t.name: math.exp(0.5 * s.item()) for t, s in zip(self.tasks, self.log_variance)}


class DynamicWeightAverage:
    """DWA (Liu et al., 2019): a task whose loss fell slowly over the last epoch gets more
    weight: w_t = T softmax_t(r_t / temperature), r_t = L_t(epoch - 1) / L_t(epoch - 2).
    The first two epochs use equal weights."""

    def __init__(self, tasks, temperature: float = 2.0):
        self.names = [t.name for t in tasks]
        self.temperature = temperature
        self.history = []
        self.weights = {name: 1.0 for name in self.names}

    def epoch_end(self, train_losses):
        self.history.append(list(train_losses))
        if len(self.history) >= 2:
            ratios = torch.tensor(self.history[-1]) / torch.tensor(self.history[-2])
            w = len(self.names) * torch.softmax(ratios / self.temperature, dim=0)
            self.weights = dict(zip(self.names, w.tolist()))

    def __call__(self, losses):
        return sum(self.weights[name] * loss for name, loss in losses.items())


def _flat_grads(loss, params):
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).flatten()
                      for g, p in zip(grads, params)])


def _assign_grads(params, flat):
    offset = 0
    for p in params:
        g = flat[offset:offset + p.numel()].view_as(p)
        p.grad = g.clone() if p.grad is None else p.grad + g
        offset += p.numel()


def project_conflicts(grads: torch.Tensor, generator=None) -> torch.Tensor:
    """PCGrad's surgery on a (tasks, parameters) matrix of gradients: each task's gradient
    loses its component along any other task's gradient it conflicts with (negative dot
    product), the others visited in random order. Returns the projected gradients."""
    projected = grads.clone()
    for t in range(len(grads)):
        for s in torch.randperm(len(grads), generator=generator).tolist():
            if s == t:
                continue
            dot = projected[t] @ grads[s]
            if dot < 0:
                projected[t] -= dot / grads[s].pow(2).sum().clamp(min=1e-20) * grads[s]
    return projected


class PCGrad:
    """Projecting conflicting gradients (Yu et al., 2020): the sum of the tasks' gradients
    after `project_conflicts`. Non-conflicting gradients are left unchanged. `weights`
    (optional, {task: weight}) scale the tasks' losses first, e.g. weights found by a grid
    search."""

    def __init__(self, model: nn.Module, seed: int = 0, weights: dict | None = None):
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.generator = torch.Generator().manual_seed(seed)
        self.weighting = FixedWeights(weights) if weights is not None else None

    def _weighted(self, losses):
        if self.weighting is None:
            return dict(losses)
        self.weighting(losses)  # checks the task names
        return {name: self.weighting.weights[name] * loss for name, loss in losses.items()}

    def __call__(self, losses):  # the value reported when fit needs one
        return equal_weights(self._weighted(losses))

    def backward(self, losses):
        grads = torch.stack([_flat_grads(loss, self.params)
                             for loss in self._weighted(losses).values()])
        _assign_grads(self.params, project_conflicts(grads, self.generator).sum(dim=0))


class GradNorm(nn.Module):
    """GradNorm (Chen et al., 2018): learned task weights w_t (summing to T) that make
    the gradient norms G_t = ||d(w_t L_t)/dW|| on a shared layer W move towards the mean
    norm times r_t^alpha, where r_t is task t's loss relative to its first value, divided
    by the mean of those: tasks that train slowly get larger gradients.

    `shared` is the weight of the last shared layer (e.g. model.trunk[-2].weight).
    """

    def __init__(self, tasks, shared: torch.Tensor, alpha: float = 1.5, lr: float | None = None):
        super().__init__()
        self.lr = lr
        self.names = [t.name for t in tasks]
        self.w = nn.Parameter(torch.ones(len(self.names)))
        self.alpha = alpha
        self._shared = [shared]  # a list: the model owns (and trains) this parameter
        self.initial = None

    def forward(self, losses):
        return sum(w * losses[name] for w, name in zip(self.w.detach(), self.names))

    def backward(self, losses):
        with torch.no_grad():  # renormalise after the optimiser's last step
            self.w.mul_(len(self.w) / self.w.sum())
        L = torch.stack([losses[name] for name in self.names])
        if self.initial is None:
            self.initial = L.detach().clone()
        norms = torch.stack([
            torch.autograd.grad(w * loss, self._shared, retain_graph=True, create_graph=True)[0]
            .norm() for w, loss in zip(self.w, L)])
        ratio = L.detach() / self.initial
        target = (norms.mean() * (ratio / ratio.mean()) ** self.alpha).detach()
        self.w.grad = torch.autograd.grad((norms - target).abs().sum(), self.w,
                                          retain_graph=True)[0]
        (self.w.detach() * L).sum().backward()


def min_norm_weights(grads: torch.Tensor, iters: int = 1000) -> torch.Tensor:
    """MGDA's weights: the convex combination sum_t a_t g_t of the tasks' gradients (rows of
    `grads`, (tasks, parameters)) with the smallest norm, by Frank-Wolfe with an exact line
    search on their Gram matrix (Sener and Koltun, 2018). A zero norm means that no
    direction lowers every task's loss (a Pareto-stationary point)."""
    gram = (grads @ grads.T).tolist()
    tasks = len(gram)
    a = [1.0 / tasks] * tasks
    for _ in range(iters):
        ga = _matvec(gram, a)
        t = min(range(tasks), key=ga.__getitem__)  # the vertex that most lowers the norm
        u, v = _dot(a, ga), ga[t]  # |g_a|^2 and g_t . g_a
        step = min((u - v) / max(u - 2 * v + gram[t][t], 1e-30), 1.0)
        if step <= 1e-12:
            break
        a = [(1 - step) * x for x in a]
        a[t] += step
    return torch.tensor(a, dtype=grads.dtype, device=grads.device)


def cagrad_direction(grads: torch.Tensor, c: float = 0.5, iters: int = 100) -> torch.Tensor:
    """CAGrad's update (Liu et al., 2021): the mean gradient g0, moved towards the weighted
    gradient g_w that does worst for the task that gains least, within a ball of radius
    c norm(g0): d = (g0 + sqrt(phi) g_w / norm(g_w)) / (1 + c^2), phi = c^2 norm(g0)^2,
    where w on the simplex minimises g_w . g0 + sqrt(phi) norm(g_w): a tasks-by-tasks
    problem on the Gram matrix, solved by Frank-Wolfe with an exact line search."""
    gram = (grads @ grads.T).tolist()
    tasks = len(gram)
    root_phi = c * math.sqrt(max(sum(map(sum, gram)), 0.0)) / tasks  # c norm(g0)
    towards_mean = [sum(row) / tasks for row in gram]  # g_t . g0
    w = [1.0 / tasks] * tasks
    for _ in range(iters):
        gw = _matvec(gram, w)
        norm = math.sqrt(max(_dot(w, gw), 1e-30))
        slope = [m + root_phi * g / norm for m, g in zip(towards_mean, gw)]
        t = min(range(tasks), key=slope.__getitem__)  # the vertex to move towards
        gamma = _cagrad_line_search(gram, towards_mean, root_phi, w, gw, t)
        if gamma <= 1e-12:
            break
        w = [(1 - gamma) * x for x in w]
        w[t] += gamma
    gw = torch.tensor(w, dtype=grads.dtype, device=grads.device) @ grads
    return (grads.mean(dim=0) + root_phi / gw.norm().clamp(min=1e-20) * gw) / (1 + c**2)


def _cagrad_line_search(gram, towards_mean, root_phi, w, gw, t) -> float:
    """The exact minimiser over gamma in [0, 1] of CAGrad's objective along w + gamma (e_t - w):
    beta gamma + sqrt(phi) sqrt(A gamma^2 + B gamma + C), with F' = 0 solved in closed form."""
    wgw = _dot(w, gw)
    a_coef = gram[t][t] - 2 * gw[t] + wgw  # |g_t - g_w|^2
    b_coef = 2 * (gw[t] - wgw)
    beta = towards_mean[t] - _dot(towards_mean, w)
    if a_coef <= 1e-30 or root_phi <= 0:
        return 1.0 if beta < 0 else 0.0
    r = -beta / (root_phi * math.sqrt(a_coef))  # F' = 0 where u / sqrt(u^2 + D) = r
    if r >= 1:
        return 1.0
    if r <= -1:
        return 0.0
    d = max(4 * a_coef * wgw - b_coef**2, 0.0)
    u = r * math.sqrt(d / (1 - r * r))
    return min(max((u - b_coef) / (2 * a_coef), 0.0), 1.0)


def _dot(a, b) -> float:  # the small problems above are solved on Python floats
    return sum(x * y for x, y in zip(a, b))


def _matvec(matrix, v) -> list:
    return [_dot(row, v) for row in matrix]


class _GradientCombiner:
    """Shared machinery: per-task gradients on the shared parameters are combined into one
    direction by `combine`; every other parameter gets the plain sum's gradient."""

    def __init__(self, model: nn.Module, shared):
        self.shared = [p for p in shared if p.requires_grad]
        ids = {id(p) for p in self.shared}
        self.others = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]

    def __call__(self, losses):  # the value reported when fit needs one
        return equal_weights(losses)

    def backward(self, losses):
        grads = torch.stack([_flat_grads(loss, self.shared) for loss in losses.values()])
        _assign_grads(self.shared, self.combine(grads))
        if self.others:
            _assign_grads(self.others, _flat_grads(equal_weights(losses), self.others))


class MGDA(_GradientCombiner):
    """Multiple-gradient descent (Sener and Koltun, 2018): the shared parameters follow the
    min-norm convex combination of the tasks' gradients, a direction that lowers every
    task's loss while one exists. `shared`: the shared parameters (e.g. model.trunk
    .parameters()); the heads follow their own task's gradient."""

    def combine(self, grads):
        return min_norm_weights(grads) @ grads


class CAGrad(_GradientCombiner):
    """Conflict-averse gradient descent (Liu et al., 2021) on the shared parameters, with
    radius `c` (0: the mean gradient; larger: closer to MGDA's worst-case focus)."""

    def __init__(self, model: nn.Module, shared, c: float = 0.5):
        super().__init__(model, shared)
        self.c = c

    def combine(self, grads):
        return cagrad_direction(grads, self.c) * len(grads)  # the sum's scale, as fit's
