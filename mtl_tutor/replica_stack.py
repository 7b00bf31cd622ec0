"""A stack of replicas: R copies of one architecture as tensors with a replica axis, and
one replica's computation run for all of them at once under `torch.func.vmap`."""
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from .loop_parts import adam, mode_switch, parameter_groups
from .losses import equal_weights, losses_function
from .split import Stacked
from .weighting import FixedWeights


class Replica(nn.Module):
    """What one replica computes: its per-task losses, and the number it minimises (the
    weighted sum of the losses plus its penalty). `fit_replicas` evaluates it for every
    replica at once, with each replica's parameters, under `vmap`."""

    def __init__(self, model, weighting, penalty, tasks, missing_labels):
        super().__init__()
        self.model = model
        self.weighting = weighting if isinstance(weighting, nn.Module) else None
        self.penalty, self.names = penalty, [t.name for t in tasks]
        self.losses_of = losses_function(tasks, missing_labels)

    def losses(self, x, y):
        y = Stacked(self.names, y) if isinstance(y, torch.Tensor) else y
        return self.losses_of(self.model(x), y)

    def forward(self, x, y, task_weights=None, penalty_weight=None, losses_only=False):
        losses = self.losses(x, y)
        if losses_only:  # validation
            return losses
        if self.weighting is not None:  # learned, e.g. uncertainty weighting
            loss = self.weighting(Stacked(self.names, losses))
        elif task_weights is not None:
            loss = (task_weights * losses).sum()
        else:
            loss = losses.sum()
        if self.penalty is not None:
            loss = loss + penalty_weight * self.penalty(self.model)
        return losses, loss


def _task_weights(weighting, names):
    """A fixed weighting as a tensor of task weights (None for the plain sum, a learned
    module, or a weighting that computes the replicas' gradients itself); DWA's weights
    of the moment (`ReplicaStack.epoch_end` reads them again after every epoch)."""
    if hasattr(weighting, "replica_backward"):
        return None
    if hasattr(weighting, "backward"):
        raise TypeError(f"fit_replicas cannot vectorise {type(weighting).__name__}: it runs "
                        "its own `backward` per model and has no `replica_backward` for a "
                        "stack of replicas. Train these models with vectorise=False (same "
                        "call, one after another).")
    if weighting is equal_weights or isinstance(weighting, nn.Module):
        return None
    if isinstance(weighting, FixedWeights) or (
            hasattr(weighting, "epoch_end") and isinstance(getattr(weighting, "weights", None),
                                                          dict)):
        if isinstance(weighting, FixedWeights):
            weighting({n: 0.0 for n in names})  # its own check of the task names
        return torch.tensor([float(weighting.weights[n]) for n in names])
    hook = "epoch_end" if hasattr(weighting, "epoch_end") else "__call__"
    raise TypeError(f"fit_replicas vectorises fixed weights (mt.FixedWeights), the plain "
                    f"sum and learned weightings without hooks; {type(weighting).__name__} "
                    f"runs its own `{hook}` per model, which has no replica axis. Train "
                    "these models with vectorise=False (same call, one after another).")


def options_of(replica, lr, weight_decay, device) -> tuple:
    """A replica's optimiser groups as ((parameter names, lr, weight decay), ...)."""
    names = {id(p): n for n, p in replica.named_parameters()}
    groups = parameter_groups(replica.model, replica.weighting, lr, device)
    return tuple((tuple(names[id(p)] for p in g["params"]), g.get("lr", lr),
                  g.get("weight_decay", weight_decay)) for g in groups)


def _optimizer_groups(options: list, stacked: dict) -> tuple:
    """Adam's parameter groups for the stacked tensors: one per group of the model and run
    of neighbouring replicas with the same learning rate and weight decay, each a view of
    its slice of the replica axis, so that Adam's own per-group options give each replica
    its settings with the same arithmetic as `fit`. Returns (groups, views): views lists
    (view, stacked tensor, first, end), whose gradients are slices of the stacked ones."""
    R = len(options)
    if any([g[0] for g in row] != [g[0] for g in options[0]] for row in options):
        raise ValueError("fit_replicas needs every replica's model to put the same "
                         "parameters in the same optimizer groups.")
    groups, views = [], []
    for g, (names, _, _) in enumerate(options[0]):
        first = 0
        for end in range(1, R + 1):
            if end < R and options[end][g][1:] == options[first][g][1:]:
                continue
            whole = end - first == R
            params = [stacked[n] if whole else stacked[n].detach()[first:end] for n in names]
            views += [] if whole else [(v, stacked[n], first, end)
                                       for v, n in zip(params, names)]
            lr, weight_decay = options[first][g][1:]
            groups.append({"params": params, "lr": lr, "weight_decay": weight_decay})
            first = end
    return groups, views


class ReplicaStack:
    """R `Replica` modules as one: their parameters and buffers stacked
    (`stack_module_state`), one Adam over the stacks, and `Replica.forward` vmapped over
    the replica axis. `stack(x, y)` gives every replica's losses (replicas, tasks) and the
    number each minimises; `zero_grad` and `step` are the optimiser's."""

    def __init__(self, replicas, options, weightings, penalty_weights, device):
        try:
            self.params, self.buffers = stack_module_state(replicas)
        except (RuntimeError, ValueError) as error:
            raise ValueError(f"fit_replicas trains copies of one architecture, but these "
                             f"models differ in their parameters' names or shapes ({error})."
                             ) from None
        self.replicas, base = replicas, replicas[0]
        groups, self.views = _optimizer_groups(options, self.params)
        self.optimizer = adam(groups, groups[0]["lr"], 0.0, device)
        weights = [_task_weights(w, base.names) for w in weightings]
        self.task_weights = None if weights[0] is None else torch.stack(weights).to(device)
        self.weightings, self.device = weightings, device
        self.shaper = getattr(type(weightings[0]), "replica_backward", None)
        if self.shaper is not None and base.penalty is not None:
            kind = type(weightings[0]).__name__
            raise ValueError(f"fit_replicas cannot add a penalty to {kind}'s own gradients "
                             "on a replica axis; train these models with vectorise=False.")
        self.ids = {id(p): n for n, p in base.named_parameters()}
        self.penalty_weights = None if base.penalty is None else \
            torch.tensor(penalty_weights, device=device)
        self.set_mode = mode_switch(base)
        # untying tied weights walks the module tree at every call: only where there are any
        tied = len(list(base.named_parameters(remove_duplicate=False))) > len(self.params)

        def one(p, b, x, y, w, s):  # one replica's losses, with its own parameters
            return functional_call(base, (p, b), (x, y, w, s), tie_weights=tied)

        def one_val(p, b, x, y):
            return functional_call(base, (p, b), (x, y), {"losses_only": True},
                                   tie_weights=tied)
        constant = [None if t is None else 0 for t in (self.task_weights,
                                                       self.penalty_weights)]
        self._step = vmap(one, in_dims=(0, 0, 0, 0, *constant))
        self._val = {axis: vmap(one_val, in_dims=(0, 0, axis, axis)) for axis in (0, None)}
        self.state = {k: v.detach() for k, v in {**self.params, **self.buffers}.items()}

    def __call__(self, x, y):
        return _vectorised(self._step, self.params, self.buffers, x, y, self.task_weights,
                           self.penalty_weights)

    def validation_losses(self, split) -> torch.Tensor:
        """Every replica's per-task losses on a `ReplicaSplit`, without gradients."""
        with torch.no_grad():
            return _vectorised(self._val[None if split.shared else 0], self.params,
                               self.buffers, split.x, split.y)

    def backward(self, losses: torch.Tensor, loss: torch.Tensor) -> None:
        """Every replica's gradients: of the number it minimises, or, for a weighting that
        shapes gradients, as its `replica_backward` computes them for all at once."""
        if self.shaper is None:
            loss.sum().backward()  # the replicas are independent: each its own gradient
        else:
            self.shaper(self.weightings, losses, self.params, self.ids, self.replicas[0].names)

    def epoch_end(self, train_losses: list) -> None:
        """Weightings that follow the loss curves (DWA) see their replica's epoch, as
        `fit` shows it to them; their new weights are used from the next step on."""
        if self.task_weights is None or not hasattr(self.weightings[0], "epoch_end"):
            return
        for weighting, losses in zip(self.weightings, train_losses):
            weighting.epoch_end(losses)
        self.task_weights = torch.stack([_task_weights(w, self.replicas[0].names)
                                         for w in self.weightings]).to(self.device)

    def zero_grad(self) -> None:
        for p in self.params.values():  # the groups' slices get new views in `step`
            p.grad = None

    def step(self) -> None:
        for view, whole, first, end in self.views:
            view.grad = whole.grad[first:end]
        self.optimizer.step()

    def can_drop(self) -> bool:
        """Whether stopped replicas can leave the stack (`keep`): every replica with the
        same optimiser options and a weighting without gradient or epoch hooks."""
        return not self.views and self.shaper is None and not (
            self.task_weights is not None and hasattr(self.weightings[0], "epoch_end"))

    @torch.no_grad()
    def keep(self, index: torch.Tensor) -> None:
        """Go on with the replicas `index` (positions in the current stack) only, so that
        replicas which have stopped cost no more work: the stacked tensors, Adam's state
        and the per-replica settings cut down to them. Each kept replica's arithmetic is
        unchanged; its row moves."""
        old = {id(p): n for n, p in self.params.items()}
        self.params = {n: p.detach()[index].clone().requires_grad_(p.requires_grad)
                       for n, p in self.params.items()}
        self.buffers = {n: b[index].clone() for n, b in self.buffers.items()}
        groups = []
        for group in self.optimizer.param_groups:
            params = [self.params[old[id(p)]] for p in group["params"]]
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": params})
        state = {}
        for group, new in zip(self.optimizer.param_groups, groups):
            for p, q in zip(group["params"], new["params"]):
                state[q] = {k: (v if v.dim() == 0 else v[index].clone())
                            for k, v in self.optimizer.state.get(p, {}).items()}
        self.optimizer = torch.optim.Adam(groups, **self.optimizer.defaults)
        for p, s in state.items():
            if s:
                self.optimizer.state[p] = s
        if self.penalty_weights is not None:
            self.penalty_weights = self.penalty_weights[index]
        if self.task_weights is not None:
            self.task_weights = self.task_weights[index]
        self.state = {k: v.detach() for k, v in {**self.params, **self.buffers}.items()}

    @torch.no_grad()
    def write_back(self, state: dict | None = None) -> None:
        """Copy each replica's trained tensors (`state`, by default the stack's own) into
        its own model (and weighting)."""
        for r, replica in enumerate(self.replicas):
            own = {**dict(replica.named_parameters()), **dict(replica.named_buffers())}
            for name, tensor in (state or self.state).items():
                own[name].copy_(tensor[r])


def _vectorised(function, *args):
    """Call a vmapped function; where an operation cannot run on a replica axis, say
    which and what to do instead of vmap's traceback."""
    try:
        return function(*args)
    except (RuntimeError, ValueError, NotImplementedError) as error:
        message = str(error)
        if "vmap" not in message and "Batched" not in message and "batched" not in message:
            raise
        first_line = message.strip().splitlines()[0]
        raise RuntimeError(f"fit_replicas cannot run this model on a replica axis: "
                           f"{first_line} (an operation torch.func.vmap cannot batch, e.g. "
                           ".item(), a Python `if` on a tensor's value, or an in-place "
                           "update of a buffer). Train the models one after another with "
                           "the same call and vectorise=False.") from None
