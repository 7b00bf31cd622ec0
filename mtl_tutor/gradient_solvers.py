"""The gradient arithmetic of the weightings that shape gradients: flat per-task gradients,
PCGrad's projection, and the small problems solved on the tasks' Gram matrix.

Each solver takes the tasks' gradients on the shared parameters, a (tasks, parameters) matrix,
and works on their Gram matrix (tasks x tasks), a problem as small as the number of
tasks: MGDA's min-norm combination (Sener and Koltun, 2018), CAGrad's conflict-averse
direction (Liu et al., 2021) and Nash-MTL's bargaining weights (Navon et al., 2022).
Given (replicas, tasks, parameters), each solves one problem per replica at once, with
the same steps on tensors (`fit_replicas` trains many models so).
`mtl_tutor.weighting` turns them into weightings for `fit`.
"""
import math

import torch


def flat_grads(loss, params) -> torch.Tensor:
    """The gradient of `loss` with respect to `params`, flattened into one vector."""
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).flatten()
                      for g, p in zip(grads, params)])


def assign_grads(params, flat) -> None:
    """Add a flat gradient vector to the `.grad` of `params`, in order."""
    offset = 0
    for p in params:
        g = flat[offset:offset + p.numel()].view_as(p)
        p.grad = g.clone() if p.grad is None else p.grad + g
        offset += p.numel()


def project_conflicts(grads: torch.Tensor, generator=None) -> torch.Tensor:
    """PCGrad's surgery on a (tasks, parameters) matrix of gradients: each task's gradient
    loses its component along any other task's gradient it conflicts with (negative dot
    product), the others visited in random order. Returns the projected gradients. For
    (replicas, tasks, parameters), `generator` is a list with each replica's generator."""
    if grads.dim() == 3:
        return _project_batched(grads, generator)
    projected = grads.clone()
    for t in range(len(grads)):
        for s in torch.randperm(len(grads), generator=generator).tolist():
            if s == t:
                continue
            dot = projected[t] @ grads[s]
            if dot < 0:
                projected[t] -= dot / grads[s].pow(2).sum().clamp(min=1e-20) * grads[s]
    return projected


def _project_batched(grads, generators):
    replicas, tasks, _ = grads.shape
    rows = torch.arange(replicas, device=grads.device)
    orders = torch.tensor([[torch.randperm(tasks, generator=g).tolist() for _ in range(tasks)]
                           for g in generators], device=grads.device)  # (replicas, t, k)
    projected = grads.clone()
    for t in range(tasks):
        for k in range(tasks):
            s = orders[:, t, k]
            other = grads[rows, s]
            dot = (projected[:, t] * other).sum(dim=1)
            conflict = (s != t) & (dot < 0)
            scale = dot / other.pow(2).sum(dim=1).clamp(min=1e-20)
            projected[:, t] -= torch.where(conflict, scale, 0.0)[:, None] * other
    return projected


def min_norm_weights(grads: torch.Tensor, iters: int = 1000) -> torch.Tensor:
    """MGDA's weights: the convex combination sum_t a_t g_t of the tasks' gradients (rows of
    `grads`, (tasks, parameters)) with the smallest norm, by Frank-Wolfe with an exact line
    search on their Gram matrix (Sener and Koltun, 2018). A zero norm means that no
    direction lowers every task's loss (a Pareto-stationary point). For (replicas, tasks,
    parameters), the weights (replicas, tasks) of each replica's problem."""
    if grads.dim() == 3:
        return _min_norm_batched(grads, iters)
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
    problem on the Gram matrix, solved by Frank-Wolfe with an exact line search. For
    (replicas, tasks, parameters), c may be one radius per replica."""
    if grads.dim() == 3:
        return _cagrad_batched(grads, c, iters)
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


def _gram(grads):
    """The replicas' Gram matrices (replicas, tasks, tasks) in float64, and row indices."""
    gram = (grads @ grads.transpose(1, 2)).double()
    return gram, torch.arange(len(gram), device=gram.device)


def _frank_wolfe_step(w, vertex, gamma, active):
    """w <- (1 - gamma) w + gamma e_vertex for the replicas still active."""
    gamma = torch.where(active, gamma, torch.zeros_like(gamma))
    w = w * (1 - gamma)[:, None]
    w[torch.arange(len(w), device=w.device), vertex] += gamma
    return w


def _min_norm_batched(grads, iters):
    gram, rows = _gram(grads)
    a = torch.full(gram.shape[:2], 1.0 / gram.shape[1], dtype=gram.dtype, device=gram.device)
    active = torch.ones(len(gram), dtype=torch.bool, device=gram.device)
    for _ in range(iters):
        ga = (gram @ a[:, :, None])[:, :, 0]
        t = ga.argmin(dim=1)
        u, v = (a * ga).sum(dim=1), ga[rows, t]
        step = ((u - v) / (u - 2 * v + gram[rows, t, t]).clamp(min=1e-30)).clamp(max=1.0)
        active &= step > 1e-12
        if not active.any():
            break
        a = _frank_wolfe_step(a, t, step, active)
    return a.to(grads.dtype)


def _cagrad_batched(grads, c, iters):
    gram, rows = _gram(grads)
    tasks = gram.shape[1]
    c = torch.as_tensor(c, dtype=gram.dtype, device=gram.device).expand(len(gram))
    root_phi = c * gram.sum(dim=(1, 2)).clamp(min=0).sqrt() / tasks
    towards_mean = gram.sum(dim=2) / tasks
    w = torch.full_like(towards_mean, 1.0 / tasks)
    active = torch.ones(len(gram), dtype=torch.bool, device=gram.device)
    for _ in range(iters):
        gw = (gram @ w[:, :, None])[:, :, 0]
        wgw = (w * gw).sum(dim=1)
        slope = towards_mean + root_phi[:, None] * gw / wgw.clamp(min=1e-30).sqrt()[:, None]
        t = slope.argmin(dim=1)
        a_coef = gram[rows, t, t] - 2 * gw[rows, t] + wgw
        b_coef = 2 * (gw[rows, t] - wgw)
        beta = towards_mean[rows, t] - (towards_mean * w).sum(dim=1)
        r = -beta / (root_phi * a_coef.clamp(min=1e-300).sqrt()).clamp(min=1e-300)
        d = (4 * a_coef * wgw - b_coef**2).clamp(min=0)
        u = r * (d / (1 - r * r).clamp(min=1e-300)).sqrt()
        gamma = ((u - b_coef) / (2 * a_coef).clamp(min=1e-300)).clamp(0, 1)
        gamma = torch.where(r >= 1, 1.0, torch.where(r <= -1, 0.0, gamma))
        flat = (a_coef <= 1e-30) | (root_phi <= 0)
        gamma = torch.where(flat, (beta < 0).to(gamma), gamma)
        active &= gamma > 1e-12
        if not active.any():
            break
        w = _frank_wolfe_step(w, t, gamma, active)
    gw = (w.to(grads.dtype)[:, None, :] @ grads)[:, 0]
    scale = (root_phi.to(grads.dtype) / gw.norm(dim=1).clamp(min=1e-20))[:, None]
    return (grads.mean(dim=1) + scale * gw) / (1 + c.to(grads.dtype)[:, None] ** 2)


def nash_weights(grads: torch.Tensor, iters: int = 30) -> torch.Tensor:
    """Nash-MTL's weights (Navon et al., 2022): the alpha > 0 with G G^T alpha = 1 / alpha,
    G the tasks' gradients (rows). The update sum_t alpha_t g_t is the Nash bargaining
    solution; scaling a task's gradient by c scales its alpha by 1 / c, so the update does
    not depend on the tasks' loss scales. alpha minimises the convex, self-concordant
    1/2 alpha^T K alpha - sum_t log alpha_t (K the Gram matrix), found by damped Newton
    steps (Nesterov's: a step of 1 / (1 + decrement) stays positive and descends).
    `grads` is (tasks, parameters), or (replicas, tasks, parameters) for many problems at
    once; returns (tasks,) or (replicas, tasks)."""
    single = grads.dim() == 2
    gram, _ = _gram(grads[None] if single else grads)
    scale = gram.diagonal(dim1=1, dim2=2).mean(dim=1).clamp(min=1e-30)[:, None, None]
    k = gram / scale
    # a ridge, each task's in proportion to its scale: opposed gradients have no solution
    k = k + 1e-8 * torch.diag_embed(k.diagonal(dim1=1, dim2=2).clamp(min=1e-30))
    alpha = k.diagonal(dim1=1, dim2=2).rsqrt()  # exact when the gradients are orthogonal
    for _ in range(iters):
        gradient = (k @ alpha[:, :, None])[:, :, 0] - 1 / alpha
        step = torch.linalg.solve(k + torch.diag_embed(alpha.pow(-2)), gradient)
        decrement = (gradient * step).sum(dim=1).clamp(min=0).sqrt()  # Newton decrement
        if decrement.max() < 1e-10:
            break
        damping = torch.where(decrement < 0.25, 1.0, 1 / (1 + decrement))  # full steps near
        alpha = alpha - damping[:, None] * step
    alpha = (alpha / scale[:, :, 0].sqrt()).to(grads.dtype)
    return alpha[0] if single else alpha
