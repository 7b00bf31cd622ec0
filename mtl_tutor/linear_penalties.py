"""Penalties on the task matrix A (features x tasks) for the linear MTL solvers.

Each penalty says how the tasks are assumed to relate. A non-smooth penalty offers
`value(A)` and `prox(V, step)`, its proximal operator
prox(V) = argmin_A 1/2 ||A - V||^2 + step * penalty(A); a smooth one offers `value`,
`grad(A)` and `curvature()` (a bound on its second derivative, for the step size).
"""
from dataclasses import dataclass, field

import torch

# Proximal operators: prox_{step * penalty}(V) = argmin_A 1/2 ||A - V||^2 + step * penalty(A).

def soft_threshold(V, tau):
    """prox of tau * ||V||_1: shrink every entry towards zero by tau."""
    return torch.sign(V) * torch.clamp(V.abs() - tau, min=0)


def group_soft_threshold(V, tau):
    """prox of tau * sum_j ||row_j||_2: shrink each row's length by tau (rows = features)."""
    norms = V.norm(dim=1, keepdim=True)
    return V * torch.clamp(1 - tau / norms.clamp(min=1e-300), min=0)


def project_l1_ball(v, radius):
    """Euclidean projection of each row of v onto the l1 ball of `radius` (Duchi et al.)."""
    if radius <= 0:
        return torch.zeros_like(v)
    u = v.abs().sort(dim=1, descending=True).values
    css = u.cumsum(dim=1) - radius
    k = torch.arange(1, v.shape[1] + 1, dtype=v.dtype)
    cond = u - css / k > 0
    rho = cond.cumsum(dim=1).argmax(dim=1, keepdim=True)  # last index where cond holds
    theta = (css.gather(1, rho) / (rho + 1)).clamp(min=0)
    inside = v.abs().sum(dim=1, keepdim=True) <= radius
    projected = torch.sign(v) * (v.abs() - theta).clamp(min=0)
    return torch.where(inside, v, projected)


def linf_group_threshold(V, tau):
    """prox of tau * sum_j ||row_j||_inf: V minus its projection onto the l1 ball (Moreau)."""
    return V - project_l1_ball(V, tau)


def singular_value_threshold(V, tau):
    """prox of tau * ||V||_* (trace norm): shrink every singular value by tau."""
    U, s, Vh = torch.linalg.svd(V, full_matrices=False)
    return U @ torch.diag(torch.clamp(s - tau, min=0)) @ Vh


# Penalties

@dataclass
class L1:
    """lam * sum abs(a_jt): each task picks its own features (plain lasso, per task)."""
    lam: float

    def value(self, A):
        return self.lam * A.abs().sum().item()

    def prox(self, V, step):
        return soft_threshold(V, step * self.lam)


@dataclass
class GroupL1L2:
    """lam * sum_j ||A_j.||_2 (group lasso, l1/l2): a feature is used by all tasks or none."""
    lam: float

    def value(self, A):
        return self.lam * A.norm(dim=1).sum().item()

    def prox(self, V, step):
        return group_soft_threshold(V, step * self.lam)


@dataclass
class GroupL1Linf:
    """lam * sum_j max_t abs(a_jt) (l1/l-inf): shared support, and within a used feature the
    tasks may as well use similar magnitudes (only the largest one costs)."""
    lam: float

    def value(self, A):
        return self.lam * A.abs().max(dim=1).values.sum().item()

    def prox(self, V, step):
        return linf_group_threshold(V, step * self.lam)


@dataclass
class TraceNorm:
    """lam * ||A||_*: the tasks' weight vectors lie near a low-dimensional subspace."""
    lam: float

    def value(self, A):
        return self.lam * torch.linalg.svdvals(A).sum().item()

    def prox(self, V, step):
        return singular_value_threshold(V, step * self.lam)


@dataclass
class Ridge:
    """lam * ||A||_F^2 (smooth): independent ridge regressions, the no-sharing baseline."""
    lam: float

    def value(self, A):
        return self.lam * A.pow(2).sum().item()

    def grad(self, A):
        return 2 * self.lam * A

    def curvature(self):
        return 2 * self.lam


@dataclass
class MeanRegularised:
    """Evgeniou & Pontil: lam * sum_t ||a_t - mean||^2 + mu * ||mean||^2 (smooth): tasks
    are small deviations from a common model."""
    lam: float
    mu: float = 0.0

    def value(self, A):
        mean = A.mean(dim=1, keepdim=True)
        return self.lam * (A - mean).pow(2).sum().item() + self.mu * mean.pow(2).sum().item()

    def grad(self, A):
        mean = A.mean(dim=1, keepdim=True)
        T = A.shape[1]
        return 2 * self.lam * (A - mean) + 2 * self.mu * mean.expand_as(A) / T

    def curvature(self):
        return 2 * max(self.lam, self.mu)


@dataclass
class Clustered:
    """Jacob et al.'s three norms for known clusters (smooth): the global mean's size,
    the spread of the cluster means around it, and the spread of tasks in their cluster.
    `clusters[t]` is task t's cluster."""
    clusters: list
    lam_mean: float
    lam_between: float
    lam_within: float
    _E: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self):
        labels = torch.as_tensor(self.clusters)
        self._E = torch.nn.functional.one_hot(labels).double()  # (T, clusters)

    def _parts(self, A):
        T = A.shape[1]
        P_mean = torch.full((T, T), 1.0 / T, dtype=A.dtype)
        P_cluster = self._E @ torch.diag(1 / self._E.sum(0)) @ self._E.T  # averages clusters
        return A @ P_mean, A @ (P_cluster - P_mean), A @ (torch.eye(T, dtype=A.dtype) - P_cluster)

    def value(self, A):
        mean, between, within = self._parts(A)
        return (self.lam_mean * mean.pow(2).sum() + self.lam_between * between.pow(2).sum()
                + self.lam_within * within.pow(2).sum()).item()

    def grad(self, A):
        # the three parts are orthogonal projections of A's rows, so each gradient is 2 lam part
        mean, between, within = self._parts(A)
        return 2 * (self.lam_mean * mean + self.lam_between * between
                    + self.lam_within * within)

    def curvature(self):
        return 2 * max(self.lam_mean, self.lam_between, self.lam_within)
