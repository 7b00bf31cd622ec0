"""Many linear MTL problems solved at once: the solvers of `mtl_tutor.linear` on a stack.

A sweep over seeds fits hundreds of small problems (a task matrix of a few hundred
entries each); one at a time, the solver's time goes to Python's overhead, not to
arithmetic. Here P problems of the same shape (d, T) are stacked, A becomes (P, d, T), and
every iteration of `minimise`'s accelerated proximal gradient runs for all of them in one
batched step, each problem with its own step size, momentum, restarts and optimality test
(a problem that has met its test stops moving). Each problem follows the iterations
`mtl_tutor.linear` would give it alone, up to rounding (which can move its stop by an
iteration); the tests check that the fits agree to what the optimality test leaves.
"""
import warnings

import torch

from .linear import ConvergenceWarning, pick, validation_score
from .linear_penalties import L1, GroupL1Linf


class ProblemStack:
    """Linear problems (`LinearProblem`) of one shape (d, T), stacked: loss, gradient and
    step size of all."""

    def __init__(self, problems):
        problems = list(problems)
        shapes = {p.shape for p in problems}
        if len(shapes) != 1:
            raise ValueError(f"ProblemStack needs problems of one shape (d, T); got {shapes}.")
        grams = [p._grams() for p in problems]
        self.G = torch.stack([g[0] for g in grams])  # (P, T, d, d)
        self.c = torch.stack([g[1] for g in grams])  # (P, d, T)
        self.const = torch.tensor([g[2] for g in grams], dtype=torch.float64)
        self.lipschitz = torch.tensor([p.lipschitz() for p in problems], dtype=torch.float64)
        self.shape = (len(problems), *shapes.pop())

    def product(self, A):
        """G A: each task's Gram matrix times its column of A, (P, d, T)."""
        return torch.einsum("ptde,pet->pdt", self.G, A)

    def loss(self, A, GA):
        """Each problem's loss, (P,), given GA = product(A)."""
        return 0.5 * (A * GA).sum(dim=(1, 2)) - (self.c * A).sum(dim=(1, 2)) + self.const


def _norms(parts):
    return sum(p.pow(2).sum(dim=(1, 2)) for p in parts).sqrt()


def _extrapolate(accept, restart, momentum, z, x, y):
    return torch.where(accept, z + momentum * (z - x), torch.where(restart, x, y))


def minimise_stack(product, value, grad, prox, x0, step, iters, tol, name="minimise_stack"):
    """`mtl_tutor.linear.minimise` for a stack of P problems: x0 a tuple of (P, d, T)
    tensors, step (P,). The smooth part is a quadratic whose one costly piece is a linear
    map, `product(x)` (G A); `value(x, product(x))` (P,) and `grad(x, product(x))` use it,
    and since the extrapolated point is a combination of two iterates, so is its product:
    one product per iteration. Each problem restarts its momentum, and stops, on its own;
    the scale of its test is its gradient's norm at 0. Returns (x, iterations per
    problem)."""
    zero = tuple(torch.zeros_like(xi) for xi in x0)
    scale = _norms(grad(zero, product(zero))).clamp(min=1e-300)
    P, s = len(step), step[:, None, None]
    x, y, mx = x0, x0, product(x0)
    my, f = mx, value(x0, mx)
    t = torch.ones(P, dtype=torch.float64)
    plain = torch.ones(P, dtype=torch.bool)  # y is x: a plain proximal step
    done = torch.zeros(P, dtype=torch.bool)
    steps = torch.zeros(P, dtype=torch.long)
    for _ in range(iters):
        z = prox(tuple(yi - s * gi for yi, gi in zip(y, grad(y, my))), s)
        mapping = _norms([yi - zi for yi, zi in zip(y, z)]) / step
        mz = product(z)
        fz = value(z, mz)
        restart = ~done & ~plain & (fz > f)
        accept = ~done & ~restart
        steps += ~done
        t_next = (1 + (1 + 4 * t * t).sqrt()) / 2
        momentum = ((t - 1) / t_next)[:, None, None]
        a, r = accept[:, None, None], restart[:, None, None]
        # the next extrapolated point (x itself after a restart), and its product
        y, my = (tuple(_extrapolate(a, r, momentum, zi, xi, yi) for zi, xi, yi in zip(z, x, y)),
                 _extrapolate(a, r, momentum, mz, mx, my))
        x = tuple(torch.where(a, zi, xi) for zi, xi in zip(z, x))
        mx = torch.where(a, mz, mx)
        f = torch.where(accept, fz, f)
        t = torch.where(accept, t_next, torch.where(restart, 1.0, t))
        plain = restart
        done |= accept & (mapping <= tol * scale)
        if done.all():
            break
    if iters > 0 and not done.all():
        warnings.warn(f"{name}: {int((~done).sum())} of {P} problems stopped at the limit of "
                      f"{iters} iterations before their optimality test (tol={tol:g}) was "
                      "met; raise iters.", ConvergenceWarning, stacklevel=3)
    return x, steps


def strength_paths(problems, make_penalty, strengths, iters: int = 5000,
                   tol: float = 1e-5):
    """`mtl_tutor.linear.strength_path` for every problem at once (each fit starts from
    the last one). Returns one list of A per problem, a fit per strength."""
    stack = ProblemStack(problems)
    A = torch.zeros(stack.shape, dtype=torch.float64)
    fits = []
    for strength in strengths:
        penalty = make_penalty(strength)
        smooth = hasattr(penalty, "grad")
        lipschitz = stack.lipschitz + (penalty.curvature() if smooth else 0.0)

        def grad(x, gx, penalty=penalty, smooth=smooth):
            return (gx - stack.c + (penalty.grad(x[0]) if smooth else 0.0),)

        def prox(v, step, penalty=penalty, smooth=smooth):
            return v if smooth else (penalty.prox(v[0], step),)

        def value(x, gx, penalty=penalty):
            return stack.loss(x[0], gx) + penalty.values(x[0])

        (A,), _ = minimise_stack(lambda x: stack.product(x[0]), value, grad, prox, (A,),
                                 1.0 / lipschitz, iters, tol,
                                 "strength_paths")
        fits.append(A)
    return [list(path) for path in zip(*fits)]


def dirty_paths(problems, settings, iters: int = 5000, tol: float = 1e-5):
    """The dirty model (`mtl_tutor.linear.dirty_model`) along `settings`, pairs
    (lam_block, lam_sparse), for every problem at once, each fit warm-started from the
    last. Returns one list of (B, S) per problem."""
    stack = ProblemStack(problems)
    zero = torch.zeros(stack.shape, dtype=torch.float64)
    x, fits = (zero, zero.clone()), []
    for lam_block, lam_sparse in settings:
        block, sparse = GroupL1Linf(lam_block), L1(lam_sparse)

        def value(x, gx, block=block, sparse=sparse):
            return stack.loss(x[0] + x[1], gx) + block.values(x[0]) + sparse.values(x[1])

        def grad(x, gx):
            return gx - stack.c, gx - stack.c

        def prox(v, step, block=block, sparse=sparse):
            return block.prox(v[0], step), sparse.prox(v[1], step)

        x, _ = minimise_stack(lambda x: stack.product(x[0] + x[1]), value, grad, prox, x,
                              1.0 / (2 * stack.lipschitz), iters, tol,
                              "dirty_paths")
        fits.append(x)
    return [[(B[p], S[p]) for B, S in fits] for p in range(stack.shape[0])]


def choose_strengths(trains, vals, make_penalty, strengths, iters: int = 5000,
                     rule: str = "min", tol: float = 1e-5):
    """`mtl_tutor.linear.choose_strength` for pairs of problems (train, validation) at
    once: a list of (A, chosen strength), one per pair."""
    chosen = []
    for path, val in zip(strength_paths(trains, make_penalty, strengths, iters, tol), vals):
        i = pick([validation_score(val, A) for A in path], rule)
        chosen.append((path[i], strengths[i]))
    return chosen
