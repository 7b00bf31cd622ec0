"""Balancing the tasks' losses: strategies for `fit(weighting=...)`.

The interface is small. A weighting is called with the dict {task: loss} of a minibatch
and returns the number to minimise. A weighting with parameters (an `nn.Module`) is
trained by `fit` alongside the model. Two optional hooks:

- `epoch_end(train_losses)`, called by `fit` with the epoch's mean loss per task (DWA);
- `backward(losses)`, which, when present, `fit` calls *instead of* backpropagating the
  weighted sum: for strategies that shape the gradients themselves (GradNorm, PCGrad).

`fit_replicas` trains many models at once with any of them: DWA's weights are read after
every epoch, and the strategies that shape gradients or draw random weights run for all
replicas at once through their `replica_backward` (`mtl_tutor.replica_weighting`).
"""
import math

import torch
from torch import nn

from .gradient_solvers import (  # noqa: F401 (mt.weighting.<name>, as before)
    assign_grads,
    cagrad_direction,
    flat_grads,
    min_norm_weights,
    nash_weights,
    project_conflicts,
)
from .losses import equal_weights
from .replica_weighting import (
    combined_backward,
    gradnorm_backward,
    pcgrad_backward,
    random_backward,
    renormalise,
)


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


class PCGrad:
    """Projecting conflicting gradients (Yu et al., 2020): the sum of the tasks' gradients
    after `project_conflicts`. Non-conflicting gradients are left unchanged. `weights`
    (optional, {task: weight}) scale the tasks' losses first, e.g. weights found by a grid
    search."""

    def __init__(self, model: nn.Module, seed: int = 0, weights: dict | None = None):
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.shared = self.params  # every parameter's gradient is projected
        self.generator = torch.Generator().manual_seed(seed)
        self.weighting = FixedWeights(weights) if weights is not None else None

    def combine(self, grads, losses=None):
        return project_conflicts(grads, self.generator).sum(dim=0)

    @staticmethod
    def combine_replicas(weightings, grads, losses):  # all replicas at once
        return project_conflicts(grads, [w.generator for w in weightings]).sum(dim=1)

    replica_backward = staticmethod(pcgrad_backward)

    def _weighted(self, losses):
        if self.weighting is None:
            return dict(losses)
        self.weighting(losses)  # checks the task names
        return {name: self.weighting.weights[name] * loss for name, loss in losses.items()}

    def __call__(self, losses):  # the value reported when fit needs one
        return equal_weights(self._weighted(losses))

    def backward(self, losses):
        grads = torch.stack([flat_grads(loss, self.params)
                             for loss in self._weighted(losses).values()])
        assign_grads(self.params, project_conflicts(grads, self.generator).sum(dim=0))


class GradNorm(nn.Module):
    """GradNorm (Chen et al., 2018): learned task weights w_t (summing to T) that make
    the gradient norms G_t = ||d(w_t L_t)/dW|| on a shared layer W move towards the mean
    norm times r_t^alpha, where r_t is task t's loss relative to its first value, divided
    by the mean of those: tasks that train slowly get larger gradients. After every
    update the weights are renormalised to sum to T, as in the paper, and kept positive
    (at least `GRADNORM_FLOOR` before the rescaling): a large weight learning rate can
    otherwise step a weight below 0, which would make its task's loss rise.

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
        renormalise(self.w)  # after the optimiser's last step: positive, summing to T
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

    replica_backward = staticmethod(gradnorm_backward)


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
        grads = torch.stack([flat_grads(loss, self.shared) for loss in losses.values()])
        values = torch.stack([loss.detach() for loss in losses.values()])
        assign_grads(self.shared, self.combine(grads, values))
        if self.others:
            assign_grads(self.others, flat_grads(equal_weights(losses), self.others))

    replica_backward = staticmethod(combined_backward)


class MGDA(_GradientCombiner):
    """Multiple-gradient descent (Sener and Koltun, 2018): the shared parameters follow the
    min-norm convex combination of the tasks' gradients, a direction that lowers every
    task's loss while one exists. `shared`: the shared parameters (e.g. model.trunk
    .parameters()); the heads follow their own task's gradient.

    normalise: how the gradients are scaled before the weights a_t are found (Sener and
    Koltun's options): "none", "l2" (each by its norm), "loss" (by its loss), "loss+" (by
    both); the step is sum_t a_t g_t with the gradients unscaled. record=True keeps, for
    every step, the tasks' gradient norms and weights in `trace`."""

    def __init__(self, model: nn.Module, shared, normalise: str = "none", record=False):
        super().__init__(model, shared)
        if normalise not in ("none", "l2", "loss", "loss+"):
            raise ValueError(f"normalise is 'none', 'l2', 'loss' or 'loss+', got {normalise!r}.")
        self.normalise, self.trace = normalise, [] if record else None

    def combine(self, grads, losses=None):
        return self.combine_replicas([self], grads[None], None if losses is None else
                                     losses[None])[0]

    @staticmethod
    def combine_replicas(weightings, grads, losses):  # (replicas, tasks, parameters)
        norms = grads.norm(dim=2)
        if losses is None and any(w.normalise.startswith("loss") for w in weightings):
            raise ValueError("MGDA(normalise='loss' or 'loss+') needs the tasks' losses.")
        scales = torch.stack([{"none": torch.ones_like(n), "l2": n, "loss": v, "loss+": v * n}[
            w.normalise] for w, n, v in zip(weightings, norms, norms if losses is None else
                                            losses)])
        weights = min_norm_weights(grads / scales.clamp(min=1e-20)[:, :, None])
        for w, n, a in zip(weightings, norms.tolist(), weights.tolist()):
            if w.trace is not None:
                w.trace.append(n + a)
        return (weights[:, None, :] @ grads)[:, 0]


class CAGrad(_GradientCombiner):
    """Conflict-averse gradient descent (Liu et al., 2021) on the shared parameters, with
    radius `c` (0: the mean gradient; larger: closer to MGDA's worst-case focus)."""

    def __init__(self, model: nn.Module, shared, c: float = 0.5):
        super().__init__(model, shared)
        self.c = c

    def combine(self, grads, losses=None):
        return self.combine_replicas([self], grads[None], None)[0]

    @staticmethod
    def combine_replicas(weightings, grads, losses):  # the sum's scale, as fit's
        return cagrad_direction(grads, [w.c for w in weightings]) * grads.shape[1]


class NashMTL(_GradientCombiner):
    """Nash-MTL (Navon et al., 2022): the shared parameters follow sum_t alpha_t g_t with
    the bargaining weights of `nash_weights` (G G^T alpha = 1 / alpha), which do not depend
    on the scales of the tasks' losses; the heads follow their own task's gradient."""

    def combine(self, grads, losses=None):
        return nash_weights(grads) @ grads

    @staticmethod
    def combine_replicas(weightings, grads, losses):  # all replicas at once
        return (nash_weights(grads)[:, None, :] @ grads)[:, 0]


class RandomWeighting:
    """Random loss weighting (Lin et al., 2022): at every step, weights drawn afresh,
    softmax(z) with z ~ N(0, I), from its own generator (`seed`); a baseline that any
    weighting method should beat to show that it learned something."""

    def __init__(self, tasks, seed: int = 0):
        self.names = [t.name for t in tasks]
        self.generator = torch.Generator().manual_seed(seed)

    def draw(self) -> torch.Tensor:
        return torch.softmax(torch.randn(len(self.names), generator=self.generator), dim=0)

    def __call__(self, losses):
        return sum(w * losses[name] for w, name in zip(self.draw(), self.names))

    replica_backward = staticmethod(random_backward)


class LogLosses(nn.Module):
    """The scale-invariant sum of log losses, sum_t log L_t (as in Navon et al.'s and Liu
    et al.'s comparisons): its gradient is sum_t grad L_t / L_t, so multiplying a task's
    loss by any constant changes nothing. A module without parameters, so that
    `fit_replicas` vectorises it like any learned weighting."""

    def __init__(self, tasks):
        super().__init__()
        self.names = [t.name for t in tasks]

    def forward(self, losses):
        return sum(losses[name].clamp(min=1e-12).log() for name in self.names)
