"""Penalties on the task matrix A (features x tasks) for the linear MTL solvers.

Each penalty says how the tasks are assumed to relate. A non-smooth penalty offers
`value(A)` and `prox(V, step)`, its proximal operator
prox(V) = argmin_A 1/2 ||A - V||^2 + step * penalty(A); a smooth one offers `value`,
`grad(A)` and `curvature()` (a bound on its second derivative, for the step size).
Each also takes a stack of task matrices (..., d, T): `values` gives the penalty of each
(a tensor over the leading axes; `value` is its float for one A), and `prox` and `grad` act
on each matrix of the stack (`mtl_tutor.linear_batch` solves many problems at once).
"""
from dataclasses import dataclass, field

import torch

# Proximal operators: prox_{step * penalty}(V) = argmin_A 1/2 ||A - V||^2 + step * penalty(A).

def soft_threshold(V, tau):
    """prox of tau * ||V||_1: shrink every entry towards zero by tau."""
    return torch.sign(V) * torch.clamp(V.abs() - tau, min=0)


def group_soft_threshold(V, tau):
    """prox of tau * sum_j ||row_j||_2: shrink each row's length by tau (rows = features)."""
    norms = V.norm(dim=-1, keepdim=True)
    return V * torch.clamp(1 - tau / norms.clamp(min=1e-300), min=0)


def project_l1_ball(v, radius):
    """Euclidean projection of each row of v onto the l1 ball of `radius` (Duchi et al.)."""
    if not torch.is_tensor(radius) and radius <= 0:  # (a tensor: radii broadcast over the rows)
        return torch.zeros_like(v)
    u = v.abs().sort(dim=-1, descending=True).values
    css = u.cumsum(dim=-1) - radius
    k = torch.arange(1, v.shape[-1] + 1, dtype=v.dtype)
    cond = u - css / k > 0
    rho = cond.cumsum(dim=-1).argmax(dim=-1, keepdim=True)  # last index where cond holds
    theta = (css.gather(-1, rho) / (rho + 1)).clamp(min=0)
    inside = v.abs().sum(dim=-1, keepdim=True) <= radius
    projected = torch.sign(v) * (v.abs() - theta).clamp(min=0)
    return torch.where(inside, v, projected)


def linf_group_threshold(V, tau):
    """prox of tau * sum_j ||row_j||_inf: V minus its projection onto the l1 ball (Moreau)."""
    return V - project_l1_ball(V, tau)


def singular_value_threshold(V, tau):
    """prox of tau * ||V||_* (trace norm): shrink every singular value by tau."""
    U, s, Vh = torch.linalg.svd(V, full_matrices=False)
    if torch.is_tensor(tau) and tau.dim():  # one tau per matrix of a stack, (..., 1, 1)
        tau = tau.squeeze(-1)
    return (U * torch.clamp(s - tau, min=0)[..., None, :]) @ Vh


# Penalties

class _Penalty:
    def value(self, A) -> float:
        """The penalty of one task matrix A (d, T)."""
        return float(self.values(A))


@dataclass
class L1(_Penalty):
    """lam * sum abs(a_jt): each task picks its own features (plain lasso, per task)."""
    lam: float

    def values(self, A):
        return self.lam * A.abs().sum(dim=(-2, -1))

    def prox(self, V, step):
        return soft_threshold(V, step * self.lam)


@dataclass
class GroupL1L2(_Penalty):
    """lam * sum_j ||A_j.||_2 (group lasso, l1/l2): a feature is used by all tasks or none."""
    lam: float

    def values(self, A):
        return self.lam * A.norm(dim=-1).sum(dim=-1)

    def prox(self, V, step):
        return group_soft_threshold(V, step * self.lam)


@dataclass
class GroupL1Linf(_Penalty):
    """lam * sum_j max_t abs(a_jt) (l1/l-inf): shared support, and within a used feature the
    tasks may as well use similar magnitudes (only the largest one costs)."""
    lam: float

    def values(self, A):
        return self.lam * A.abs().max(dim=-1).values.sum(dim=-1)

    def prox(self, V, step):
        return linf_group_threshold(V, step * self.lam)


@dataclass
class TraceNorm(_Penalty):
    """lam * ||A||_*: the tasks' weight vectors lie near a low-dimensional subspace."""
    lam: float

    def values(self, A):
        return self.lam * torch.linalg.svdvals(A).sum(dim=-1)

    def prox(self, V, step):
        return singular_value_threshold(V, step * self.lam)


@dataclass
class Ridge(_Penalty):
    """lam * ||A||_F^2 (smooth): independent ridge regressions, the no-sharing baseline."""
    lam: float

    def values(self, A):
        return self.lam * A.pow(2).sum(dim=(-2, -1))

    def grad(self, A):
        return 2 * self.lam * A

    def curvature(self):
        return 2 * self.lam


@dataclass
class MeanRegularised(_Penalty):
    """Evgeniou & Pontil: lam * sum_t ||a_t - mean||^2 + mu * ||mean||^2 (smooth): tasks
    are small deviations from a common model."""
    lam: float
    mu: float = 0.0

    def values(self, A):
        mean = A.mean(dim=-1, keepdim=True)
        return (self.lam * (A - mean).pow(2).sum(dim=(-2, -1))
                + self.mu * mean.pow(2).sum(dim=(-2, -1)))

    def grad(self, A):
        mean = A.mean(dim=-1, keepdim=True)
        T = A.shape[-1]
        return 2 * self.lam * (A - mean) + 2 * self.mu * mean.expand_as(A) / T

    def curvature(self):
        return 2 * max(self.lam, self.mu)


@dataclass
class Clustered(_Penalty):
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
        T = A.shape[-1]
        P_mean = torch.full((T, T), 1.0 / T, dtype=A.dtype)
        P_cluster = self._E @ torch.diag(1 / self._E.sum(0)) @ self._E.T  # averages clusters
        return A @ P_mean, A @ (P_cluster - P_mean), A @ (torch.eye(T, dtype=A.dtype) - P_cluster)

    def values(self, A):
        mean, between, within = self._parts(A)
        return sum(lam * part.pow(2).sum(dim=(-2, -1)) for lam, part in
                   [(self.lam_mean, mean), (self.lam_between, between),
                    (self.lam_within, within)])

    def grad(self, A):
        # the three parts are orthogonal projections of A's rows, so each gradient is 2 lam part
        mean, between, within = self._parts(A)
        return 2 * (self.lam_mean * mean + self.lam_between * between
                    + self.lam_within * within)

    def curvature(self):
        return 2 * max(self.lam_mean, self.lam_between, self.lam_within)
