"""Domain-adversarial training (Ganin et al.): a gradient reversal layer between a shared
representation and a head that predicts the domain, so that the representation learns to
hide what the head tries to tell apart. Used as an auxiliary task in Part V.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from .data import MultiTaskData, Split, Task
from .loop_parts import adam
from .runtime import get_device

# --- gradient reversal -------------------------------------------------------------------

class _ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity in the forward pass; multiplies the gradient by -scale in the backward pass."""
    return _ReverseGradient.apply(x, scale)


def flip_gradient(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """`reverse_gradient` in plain tensor operations: x.detach() - scale * (x - x.detach())
    is x going forward (the bracket is exactly 0) and passes -scale times the gradient
    back; unlike an autograd.Function, torch.func.vmap batches it (`fit_replicas`)."""
    base = x.detach()
    return base - scale * (x - base)


class GradientReversal(nn.Module):
    """The gradient reversal layer of domain-adversarial training (Ganin et al.): what comes
    after it is trained to minimise its loss, what comes before it to *maximise* it."""

    def __init__(self, scale: float = 1.0):
        super().__init__()
        if scale < 0:
            raise ValueError(f"scale must be >= 0 (the minus sign is built in), got {scale}.")
        self.scale = scale

    def forward(self, x):
        return reverse_gradient(x, self.scale)


class DomainAdversarialNet(nn.Module):
    """A feature extractor with two heads: the label of the main task, and the domain
    (source or target) behind a gradient reversal layer. `features(x)` is the representation;
    with `feature_dim=2` it can be plotted as it is."""

    def __init__(self, n_features: int, hidden: int = 32, feature_dim: int = 2,
                 scale: float = 1.0):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(n_features, hidden), nn.Tanh(),
                                      nn.Linear(hidden, feature_dim), nn.Tanh())
        self.label = nn.Linear(feature_dim, 1)
        self.domain = nn.Sequential(GradientReversal(scale), nn.Linear(feature_dim, hidden),
                                    nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x):
        h = self.features(x)
        return {"label": self.label(h).squeeze(-1), "domain": self.domain(h).squeeze(-1)}


def fit_domain_adversarial(model: DomainAdversarialNet, source_x, source_y, target_x, *,
                           epochs=200, lr=1e-2, adversarial: bool = True,
                           batch_size: int = 64, loss=None, schedule=None) -> None:
    """Train on labelled source examples and unlabelled target examples.

    Each step: the label loss on a source batch, plus (if `adversarial`) the domain loss on
    that batch and a target batch. The reversal layer inside the model turns minimising the
    domain loss into features that hide the domain. `loss(model, source_x, source_y,
    target_x)`, if given, replaces the adversarial step's loss (Lab 3 passes the student's).
    `schedule(progress)`, if given, sets the reversal layer's scale at the start of every
    epoch from the fraction of training done (0 to 1), as Ganin et al. ramp it up.
    """
    device = get_device()
    model.to(device)
    source_x, source_y, target_x = source_x.to(device), source_y.to(device), target_x.to(device)
    # fit's fused Adam: the default one takes its square root from MKL, whose bits vary by CPU
    optimizer = adam(list(model.parameters()), lr, 0.0, device)
    n = min(len(source_x), len(target_x))
    for epoch in range(epochs):
        if schedule is not None:
            model.domain[0].scale = float(schedule(epoch / epochs))
        s_order, t_order = torch.randperm(len(source_x)), torch.randperm(len(target_x))
        for start in range(0, n, batch_size):
            s, t = s_order[start:start + batch_size], t_order[start:start + batch_size]
            if adversarial and loss is not None:
                step_loss = loss(model, source_x[s], source_y[s], target_x[t])
            else:
                out = model(torch.cat([source_x[s], target_x[t]]))
                step_loss = F.binary_cross_entropy_with_logits(out["label"][:len(s)],
                                                               source_y[s])
                if adversarial:
                    domain = torch.cat([torch.zeros(len(s)), torch.ones(len(t))]).to(device)
                    step_loss = step_loss + F.binary_cross_entropy_with_logits(
                        out["domain"], domain)
            optimizer.zero_grad()
            step_loss.backward()
            optimizer.step()


@torch.no_grad()
def domain_accuracy(model, x, y) -> float:
    """Accuracy of the model's label head on inputs x with 0/1 labels y."""
    model.eval()
    device = next(model.parameters()).device
    return float(((model(x.to(device))["label"] > 0).float().cpu() == y).float().mean())


# --- data -------------------------------------------------------------------------------

def make_shifted_domains(n_source=300, n_target=300, shift=3.0, noise=0.1, seed=0):
    """Two moons with a third, nuisance input. In the labelled source domain the nuisance
    input follows the label (a shortcut: +-1 plus noise); in the target domain it is shifted
    by `shift` and unrelated to the label. Target labels are for testing only.

    A classifier trained on the source leans on the easy shortcut and fails on the target;
    a representation that cannot tell the domains apart must drop the nuisance input.
    Returns a dict of tensors: source_x, source_y, target_x, target_y.
    """
    if min(n_source, n_target) < 1:
        raise ValueError(f"n_source and n_target must be at least 1, got {n_source}, {n_target}.")
    from sklearn.datasets import make_moons  # here: sklearn takes a second to import

    g = torch.Generator().manual_seed(seed)
    xs, ys = make_moons(n_source, noise=noise, random_state=seed)
    xt, yt = make_moons(n_target, noise=noise, random_state=seed + 10_000)
    xs, ys, xt, yt = (torch.as_tensor(v, dtype=torch.float32) for v in (xs, ys, xt, yt))
    nuisance_s = (2 * ys - 1) + 0.5 * torch.randn(n_source, generator=g)
    nuisance_t = shift + 0.5 * torch.randn(n_target, generator=g)
    return {"source_x": torch.cat([xs, nuisance_s[:, None]], 1), "source_y": ys,
            "target_x": torch.cat([xt, nuisance_t[:, None]], 1), "target_y": yt}


# --- domain adaptation as multi-task data, for mt.compare ---------------------------------

class AdversarialMLP(nn.Module):
    """Features (two tanh layers, down to `feature_dim`) with one head per task; the tasks
    in `adversaries` see the features through a gradient reversal (`flip_gradient`, which
    `fit_replicas` can batch): their heads learn to predict, the features to prevent it."""

    def __init__(self, n_features, tasks, adversaries, hidden=32, feature_dim=2, scale=1.0):
        super().__init__()
        self.tasks, self.adversaries, self.scale = list(tasks), set(adversaries), scale
        self.features = nn.Sequential(nn.Linear(n_features, hidden), nn.Tanh(),
                                      nn.Linear(hidden, feature_dim), nn.Tanh())
        self.heads = nn.ModuleDict({t.name: nn.Sequential(
            nn.Linear(feature_dim, hidden), nn.ReLU(), nn.Linear(hidden, t.outputs))
            if t.name in self.adversaries else nn.Linear(feature_dim, t.outputs)
            for t in self.tasks})

    def forward(self, x):
        h = self.features(x)
        return {t.name: self.heads[t.name](flip_gradient(h, self.scale) if t.name in
                                           self.adversaries else h).squeeze(-1)
                for t in self.tasks}


def make_domain_problem(n_source=300, n_target=300, n_val=100, n_test=300, shift=1.0,
                        seed=0) -> MultiTaskData:
    """`make_shifted_domains` as multi-task data: task "main" is the class (labelled in the
    source domain only: NaN on target examples), task "domain" tells source (0) from
    target (1). Train: n_source labelled source and n_target unlabelled target examples;
    validation: n_val of each (the class labelled on the source only: what a practitioner
    has); test: n_test fresh target examples with their classes. info["source_test_x"]:
    n_test fresh source inputs (to measure how separable the domains stay)."""
    d = make_shifted_domains(n_source + n_val + n_test, n_target + n_val + n_test,
                             shift=shift, seed=seed)
    sx, sy, tx, ty = d["source_x"], d["source_y"], d["target_x"], d["target_y"]
    nan = math.nan

    def split(source, target, labelled_target):
        xs, xt = sx[source], tx[target]
        main = torch.cat([sy[source], ty[target] if labelled_target else
                          torch.full((len(xt),), nan)])
        domain = torch.cat([torch.zeros(len(xs)), torch.ones(len(xt))])
        return Split(torch.cat([xs, xt]), {"main": main, "domain": domain})

    a, b = n_source, n_source + n_val
    c, e = n_target, n_target + n_val
    tasks = [Task("main", "binary"), Task("domain", "binary")]
    return MultiTaskData(tasks, split(slice(0, a), slice(0, c), False),
                         split(slice(a, b), slice(c, e), False),
                         split(slice(0, 0), slice(e, None), True),
                         {"source_test_x": sx[b:]}, missing_labels=True)
