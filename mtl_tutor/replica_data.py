"""The data of R replicas: each replica's splits stacked on a replica axis (or one split
all replicas share), and each replica's minibatches drawn in its own random order."""
import torch

from .split import Stacked


class ReplicaSplit:
    """One split of every replica's data: inputs with a replica axis first, or one tensor
    all replicas share (`shared`), and targets as one stacked tensor (..., tasks) when the
    tasks' targets stack, else a dict {task: tensor}."""

    def __init__(self, splits: list, device):
        first = splits[0]
        self.n, self.per_task = first.n, first.per_task
        if any(s.n != self.n or s.per_task != self.per_task for s in splits):
            raise ValueError("fit_replicas needs every replica's data to have the same "
                             "number of examples per split and the same kind of inputs.")
        self.shared = all(s is first for s in splits)
        targets = [s.stacked_y() for s in splits[:1] if self.shared] or \
            [s.stacked_y() for s in splits]
        self.stacked = isinstance(targets[0], Stacked)

        def stack(tensors):
            return tensors[0].to(device) if self.shared else torch.stack(tensors).to(device)
        self.x = stack([s.x for s in splits[:1] if self.shared] or [s.x for s in splits])
        if self.stacked:
            self.y = stack([t.stacked for t in targets])
        else:
            self.y = {name: stack([t[name] for t in targets]) for name in targets[0]}

    def keep(self, index: torch.Tensor) -> None:
        """Only the replicas `index` from now on (a split all replicas share stays)."""
        if self.shared:
            return
        self.x = self.x[index]
        self.y = self.y[index] if self.stacked else {k: v[index] for k, v in self.y.items()}

    def _rows(self, t: torch.Tensor, order: torch.Tensor, inputs: bool) -> torch.Tensor:
        """The examples `order` (replicas, k) of each replica: (replicas, k, ...), or
        (replicas, tasks, k, ...) for per-task inputs."""
        per_task = inputs and self.per_task
        if per_task:  # examples on axis 1 of (tasks, n, ...), axis 2 of (R, tasks, n, ...)
            t = t.transpose(0, 1) if self.shared else t.transpose(1, 2)
        if self.shared:
            picked = t[order]
        else:
            picked = t[torch.arange(len(order), device=order.device)[:, None], order]
        return picked.transpose(1, 2) if per_task else picked

    def batches(self, batch_size: int, generators: list):
        """Each replica's shuffled minibatches, drawn from its own generator as `Split.
        batches` draws from the global one: (x, y, n) with the replica axis first."""
        order = torch.stack([torch.randperm(self.n, generator=g, device=g.device)
                             for g in generators])
        x = self._rows(self.x, order, inputs=True)
        y = self._rows(self.y, order, False) if self.stacked else \
            {k: self._rows(v, order, False) for k, v in self.y.items()}
        axis = 2 if self.per_task else 1
        for start in range(0, self.n, batch_size):
            stop = min(start + batch_size, self.n)
            part = x.narrow(axis, start, stop - start)
            yield part, (y[:, start:stop] if self.stacked else
                         {k: v[:, start:stop] for k, v in y.items()}), stop - start
