"""Multi-task learning in linear models: the task matrix A (features x tasks).

Every task t is a linear model y = x . a_t; the columns a_t form A (d x T). Classic MTL
puts its assumptions about how tasks relate into a penalty on A and minimises

    F(A) = sum_t 1/(2 n) ||X_t a_t - y_t||^2  +  penalty(A)

by proximal gradient descent: a gradient step on the smooth part, then the penalty's
proximal operator (for a smooth penalty, its gradient joins the gradient step instead).
The penalties live in `linear_penalties`.
All computations are in float64, which these small problems can afford.
"""
import warnings
from dataclasses import dataclass

import torch

from .linear_penalties import (  # noqa: F401 (the penalties are part of mt.linear's face)
    L1,
    Clustered,
    GroupL1L2,
    GroupL1Linf,
    MeanRegularised,
    Ridge,
    TraceNorm,
    soft_threshold,
)


@dataclass
class LinearProblem:
    """Inputs X, (n, d) shared by all tasks or (T, n, d) one set per task, and targets
    Y (n, T). `loss`, `grad` and `lipschitz` describe the squared loss above. A NaN in Y
    is a missing label: task t's loss is then over its n_t labelled examples."""

    X: torch.Tensor
    Y: torch.Tensor

    def __post_init__(self):
        self.X, self.Y = self.X.double(), self.Y.double()
        n = self.Y.shape[0]
        if self.Y.dim() != 2 or self.X.shape[-2] != n:
            raise ValueError(f"Y must be (n, tasks) with the same n as X; got X "
                             f"{tuple(self.X.shape)} and Y {tuple(self.Y.shape)}.")
        if self.X.dim() == 3 and self.X.shape[0] != self.Y.shape[1]:
            raise ValueError(f"Per-task X has {self.X.shape[0]} tasks but Y has "
                             f"{self.Y.shape[1]} columns.")
        if not torch.isfinite(self.X).all() or torch.isinf(self.Y).any():
            raise ValueError("X contains NaN or infinite values, or Y infinite ones; remove or "
                             "impute them (a NaN in Y marks a missing label).")
        self.labelled = ~torch.isnan(self.Y)  # a task without labels adds no loss

    @classmethod
    def from_split(cls, split):
        """The problem of one split of a `MultiTaskData` (regression tasks)."""
        return cls(split.x, torch.stack(list(split.y.values()), dim=1))

    @property
    def shape(self):
        """(d, T): the shape of the task matrix A."""
        return self.X.shape[-1], self.Y.shape[1]

    def mse(self, A) -> torch.Tensor:
        """Each task's mean squared error over its labelled examples, (T,) (NaN: none)."""
        err = torch.where(self.labelled, self.predict(A) - self.Y, 0.0).pow(2)
        return err.sum(dim=0) / self.labelled.sum(dim=0)

    def predict(self, A):
        if self.X.dim() == 2:
            return self.X @ A
        return torch.einsum("tnd,dt->nt", self.X, A)

    def _grams(self):
        """G_t = X_t^T X_t / n (tasks, d, d) and c_t = X_t^T y_t / n (d, tasks), cached:
        with them the loss and its gradient cost one small product per step."""
        if not hasattr(self, "_cache"):
            X = self.X if self.X.dim() == 3 else self.X.expand(self.Y.shape[1], *self.X.shape)
            if self.labelled.all():
                n = self.Y.shape[0]
                G = torch.einsum("tnd,tne->tde", X, X) / n
                c = torch.einsum("tnd,nt->dt", X, self.Y) / n
                self._cache = (G, c, 0.5 * self.Y.pow(2).sum().item() / n)
            else:  # each task over its own labelled rows
                m = self.labelled.double()
                n_t, Y = m.sum(dim=0).clamp(min=1), torch.nan_to_num(self.Y)
                G = torch.einsum("tnd,nt,tne->tde", X, m, X) / n_t[:, None, None]
                c = torch.einsum("tnd,nt->dt", X, Y) / n_t
                self._cache = (G, c, 0.5 * (Y.pow(2).sum(dim=0) / n_t).sum().item())
        return self._cache

    def loss(self, A) -> float:
        G, c, const = self._grams()
        GA = torch.einsum("tde,et->dt", G, A)
        return (0.5 * (A * GA).sum() - (c * A).sum()).item() + const

    def grad(self, A):
        G, c, _ = self._grams()
        return torch.einsum("tde,et->dt", G, A) - c

    def lipschitz(self) -> float:
        """The largest curvature of the loss: a safe step size is its inverse."""
        if not self.labelled.all():
            return torch.linalg.matrix_norm(self._grams()[0], ord=2).max().item()
        X = self.X if self.X.dim() == 3 else self.X[None]
        return max(torch.linalg.matrix_norm(x, ord=2).item() ** 2 for x in X) / self.Y.shape[0]


def objective(problem, A, penalties) -> float:
    return problem.loss(A) + sum(p.value(A) for p in penalties)


class ConvergenceWarning(UserWarning):
    """A solver stopped at its iteration limit before its optimality test was met."""


def _norm(parts) -> float:
    return sum(p.pow(2).sum() for p in parts).sqrt().item()


def minimise(value, grad, prox, x0, step, iters, tol, name="minimise", scale=None):
    """FISTA (Beck & Teboulle) with adaptive restarts (O'Donoghue & Candes): proximal
    gradient steps from an extrapolated point y, z = prox(y - step * grad(y)); the momentum
    restarts whenever a step would raise the objective, so the objective never rises.

    It stops on an optimality test, not on the objective's change: the proximal-gradient
    mapping ||y - z|| / step bounds (up to a factor 2) the distance from 0 to the
    subdifferential of the objective at z, which is 0 exactly at the minimum. It stops when
    that is at most `tol * scale` (`scale`: the gradient's norm at 0 unless given) and warns
    (`ConvergenceWarning`) if `iters` iterations end first.
    value(x), grad(x) (of the smooth part) and prox(v, step) act on tuples of tensors.
    Returns (x, objective after every iteration).
    """
    if scale is None:  # the mapping's size at 0, whatever x0 is (warm starts)
        scale = max(_norm(grad(tuple(torch.zeros_like(xi) for xi in x0))), 1e-300)
    x, y, t = x0, x0, 1.0
    history = [value(x)]
    for _ in range(iters):
        z = prox(tuple(yi - step * gi for yi, gi in zip(y, grad(y))), step)
        mapping = _norm([yi - zi for yi, zi in zip(y, z)]) / step
        fz = value(z)
        if fz > history[-1] and y is not x:  # restart: a plain proximal step from x
            t, y = 1.0, x
            continue
        t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
        x, x_prev = z, x
        history.append(fz)
        if mapping <= tol * scale:
            break
        y = tuple(zi + ((t - 1) / t_next) * (zi - pi) for zi, pi in zip(z, x_prev))
        t = t_next
    else:
        if iters > 0:
            warnings.warn(f"{name} stopped at its limit of {iters} iterations before its "
                          f"optimality test (proximal-gradient mapping at most tol={tol:g} "
                          "of the gradient at 0) was met; the result may be short of the "
                          "optimum. Raise iters (or warm-start from this result).",
                          ConvergenceWarning, stacklevel=3)
    return x, history


def proximal_gradient(problem: LinearProblem, penalty, iters: int = 5000, A0=None,
                      tol: float = 1e-9):
    """Minimise loss(A) + penalty(A); returns (A, objective values per iteration). Stops
    when the proximal-gradient mapping is at most `tol` times the loss's gradient at 0
    (see `minimise`); warns with a `ConvergenceWarning` if `iters` iterations end first.

    A non-smooth penalty enters through its proximal operator; a smooth one (with `grad`)
    is added to the gradient, and its curvature to the step-size bound.
    """
    A = torch.zeros(problem.shape, dtype=torch.float64) if A0 is None else A0.clone()
    smooth = hasattr(penalty, "grad")
    lipschitz = problem.lipschitz() + (penalty.curvature() if smooth else 0.0)

    def grad(x):
        return (problem.grad(x[0]) + (penalty.grad(x[0]) if smooth else 0.0),)

    def prox(v, step):
        return v if smooth else (penalty.prox(v[0], step),)

    (A,), history = minimise(lambda x: objective(problem, x[0], [penalty]), grad, prox, (A,),
                             1.0 / lipschitz, iters, tol, "proximal_gradient")
    return A, history


def dirty_model(problem: LinearProblem, lam_block: float, lam_sparse: float,
                iters: int = 5000, tol: float = 1e-9, start=None):
    """Jalali et al.'s dirty model: A = B + S with an l1/l-inf penalty on B (features shared
    by all tasks) and an l1 penalty on S (features of one task). Returns (B, S, history);
    `start` = (B, S) warm-starts it."""
    block, sparse = GroupL1Linf(lam_block), L1(lam_sparse)
    zero = torch.zeros(problem.shape, dtype=torch.float64)
    x0 = start or (zero, zero.clone())

    def value(x):
        return problem.loss(x[0] + x[1]) + block.value(x[0]) + sparse.value(x[1])

    def grad(x):
        g = problem.grad(x[0] + x[1])
        return g, g

    def prox(v, step):
        return block.prox(v[0], step), sparse.prox(v[1], step)

    # the loss of B + S has twice the curvature of the loss of A
    (B, S), history = minimise(value, grad, prox, x0, 1.0 / (2 * problem.lipschitz()), iters,
                               tol, "dirty_model")
    return B, S, history


def go_mtl(problem: LinearProblem, k: int, lam_sparse: float, lam_basis: float,
           rounds: int = 30, inner: int = 200, ridge: float = 0.1):
    """GO-MTL (Kumar & Daume): tasks are sparse combinations of k latent basis tasks,
    A = L S with L (d x k) and S (k x T). As in the paper, L starts from the top k singular
    directions of single-task (ridge) solutions; then a lasso step on S (proximal gradient)
    alternates with an exact ridge step on L. Returns (L, S, objective after each half-step).
    """
    d, T = problem.shape
    G, c, _ = problem._grams()
    eye = torch.eye(d, dtype=torch.float64)
    single = torch.stack([torch.linalg.solve(G[t] + ridge * eye, c[:, t]) for t in range(T)], 1)
    U, sv, _ = torch.linalg.svd(single, full_matrices=False)
    L = U[:, :k] * sv[:k] / T**0.5
    S = torch.zeros(k, T, dtype=torch.float64)

    def total(L, S):
        return (problem.loss(L @ S) + lam_sparse * S.abs().sum().item()
                + lam_basis * L.pow(2).sum().item())

    history = [total(L, S)]
    for _ in range(rounds):
        # S-step: for each task a lasso on the features X_t L, by proximal gradient
        step = 1.0 / max(torch.linalg.matrix_norm(L.T @ Gt @ L, ord=2).item() for Gt in G)
        for _ in range(inner):
            grad = torch.einsum("dk,tde,et->kt", L, G, L @ S) - L.T @ c
            S = soft_threshold(S - step * grad, step * lam_sparse)
        history.append(total(L, S))
        # L-step: sum_t G_t L s_t s_t^T + 2 lam L = sum_t c_t s_t^T, solved exactly
        system = torch.einsum("kt,lt,tde->dkel", S, S, G).reshape(d * k, d * k)
        system += 2 * lam_basis * torch.eye(d * k, dtype=torch.float64)
        L = torch.linalg.solve(system, (c @ S.T).reshape(d * k)).reshape(d, k)
        history.append(total(L, S))
    return L, S, history


def validation_score(val: LinearProblem, A) -> tuple[float, float]:
    """val.loss(A) and its standard error: the loss is a mean of one term per labelled
    validation example (its squared error over twice its task's size, times their number)."""
    m = val.labelled
    n_t = m.sum(dim=0).clamp(min=1)
    terms = torch.where(m, val.predict(A) - val.Y, 0.0).pow(2) / (2 * n_t) * m.sum()
    terms = terms[m]  # their mean is val.loss(A)
    return val.loss(A), (terms.std() / len(terms) ** 0.5).item()


def pick(scores, rule: str = "min") -> int:
    """The index of the chosen setting among `scores`, (validation loss, standard error)
    pairs listed from the strongest regularisation to the weakest: "min", the lowest loss;
    "1se", the one-standard-error rule (Hastie et al.): the first (most regularised)
    setting whose loss is within one standard error of the lowest."""
    best = min(range(len(scores)), key=lambda i: scores[i][0])
    if rule == "min":
        return best
    if rule == "1se":
        return next(i for i, (loss, _) in enumerate(scores)
                    if loss <= scores[best][0] + scores[best][1])
    raise ValueError(f"rule must be 'min' or '1se', got {rule!r}.")


def strength_path(train: LinearProblem, make_penalty, strengths, iters: int = 5000,
                  tol: float = 1e-5):
    """The fits along `strengths` (largest first is fastest: each fit starts from the last
    one), a list of A. Choosing a strength needs less accuracy than a reference solution:
    the default `tol` stops where the proximal-gradient mapping is 1e-5 of the gradient
    at 0 (the solver's own default, 1e-9, matches scikit-learn to 1e-4 relative)."""
    path, A = [], None
    for strength in strengths:
        A, _ = proximal_gradient(train, make_penalty(strength), iters=iters, A0=A, tol=tol)
        path.append(A)
    return path


def choose_strength(train: LinearProblem, val: LinearProblem, make_penalty, strengths,
                    iters: int = 5000, rule: str = "min", tol: float = 1e-5):
    """Fit along `strengths` (largest first) and keep the A that `rule` picks on
    validation (see `pick`). Returns (A, chosen strength)."""
    path = strength_path(train, make_penalty, strengths, iters, tol)
    chosen = pick([validation_score(val, A) for A in path], rule)
    return path[chosen], strengths[chosen]
