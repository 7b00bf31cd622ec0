"""The problem the benchmark trains and the loops it compares: what a PyTorch user writes
by hand (idiomatic, best, bare, a loop of STL models) and `mt.fit` on the same networks.

Every loop takes (data, width, epochs), trains from the current seed, and returns a function
of no arguments that computes its final training loss (summed per-task mean squared error),
so a test can see they all learn while the benchmark times the training alone (a pass over
the whole training set is not training, and at the large size it is not cheap).
"""
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .data import MultiTaskData, Split, Stacked, Task
from .models import hard_sharing, single_task_nets
from .runtime import get_device
from .train import fit

T, D, BATCH, LR = 10, 32, 32, 1e-3


def make_data(n, seed=0, tasks=T, validation=False):
    """A shared-input regression problem with `tasks` tasks (linear targets plus noise);
    with `validation`, a validation split of 256 examples (the training data are the same)."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(D, tasks, generator=g) / D**0.5

    def split(m):
        x = torch.randn(m, D, generator=g)
        y = x @ w + 0.1 * torch.randn(m, tasks, generator=g)
        return Split(x, {f"task{t}": y[:, t].contiguous() for t in range(tasks)})

    train, val, test = split(n), split(256), split(256)
    return MultiTaskData([Task(f"task{t}") for t in range(tasks)], train,
                         val if validation else None, test)


def trunk(width):
    return nn.Sequential(nn.Linear(D, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU())


def targets(data):
    return torch.stack([data.train.y[name] for name in data.names], dim=1)  # (n, tasks)


@torch.no_grad()
def final_loss(predict, data):
    """The summed per-task mean squared error of `predict(x)` (n, tasks) on the training set."""
    device = get_device()
    return float((predict(data.train.x.to(device)) - targets(data).to(device))
                 .pow(2).mean(0).sum())


def idiomatic_loop(data, width, epochs):
    """The loop most tutorials teach: DataLoader, a head per task, a loss per task."""
    device = get_device()
    body = trunk(width).to(device)
    heads = nn.ModuleList(nn.Linear(width, 1) for _ in data.names).to(device)
    optimizer = torch.optim.Adam([*body.parameters(), *heads.parameters()], lr=LR)
    ys = [data.train.y[name] for name in data.names]
    loader = DataLoader(TensorDataset(data.train.x, *ys), batch_size=BATCH, shuffle=True)
    for _ in range(epochs):
        for xb, *yb in loader:
            h = body(xb.to(device))
            loss = sum(F.mse_loss(head(h).squeeze(-1), y.to(device)) for head, y in zip(heads, yb))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def predict(x):
        h = body(x)
        return torch.cat([head(h) for head in heads], 1)
    return lambda: final_loss(predict, data)


def best_net(width, tasks):
    return nn.Sequential(trunk(width), nn.Linear(width, tasks))


class Outputs(nn.Module):
    """A network with T outputs as a model for `fit`: its (n, T) outputs, named."""

    def __init__(self, net, tasks):
        super().__init__()
        self.net, self.tasks, self.names = net, list(tasks), [t.name for t in tasks]

    def forward(self, x):
        return Stacked(self.names, self.net(x))


def best_loop(data, width, epochs):
    """What an expert writes by hand: in-memory minibatches, all tasks' outputs in one
    layer, one batched loss, fused Adam, nothing else."""
    device = get_device()
    model = best_net(width, len(data.names)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, fused=True)
    x, y = data.train.x.to(device), targets(data).to(device)
    for _ in range(epochs):
        for index in torch.randperm(len(x), device=device).split(BATCH):
            loss = (model(x[index]) - y[index]).pow(2).mean(dim=0).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return lambda: final_loss(model, data)


def bare_loop(data, width, epochs):
    """The floor for fit's own model: forward, loss, backward, step on batches cut in
    advance; no shuffling, no validation, no bookkeeping."""
    device = get_device()
    model = hard_sharing(D, (width, width), data.tasks).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, fused=True)
    x, y = data.train.x.to(device), targets(data).to(device)
    batches = list(zip(x.split(BATCH), y.split(BATCH)))
    for _ in range(epochs):
        for xb, yb in batches:
            loss = (model(xb).stacked - yb).pow(2).mean(dim=0).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return lambda: final_loss(lambda x: model(x).stacked, data)


def looped_stl(data, width, epochs):
    """T separate networks, each trained by its own loop over in-memory minibatches."""
    device, nets = get_device(), []
    x = data.train.x.to(device)
    for name in data.names:
        net = best_net(width, 1).to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=LR, fused=True)
        y = data.train.y[name].to(device)
        for _ in range(epochs):
            for index in torch.randperm(len(x), device=device).split(BATCH):
                loss = F.mse_loss(net(x[index]).squeeze(-1), y[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        nets.append(net)
    return lambda: final_loss(lambda x: torch.cat([net(x) for net in nets], 1), data)


def with_fit(model_fn):
    """`mt.fit` on `model_fn`'s model; it validates every epoch if `data` has a val split."""
    def run(data, width, epochs):
        model = model_fn(D, (width, width), data.tasks)
        fit(model, data, epochs=epochs, batch_size=BATCH, lr=LR, progress=False,
            restore_best=False)
        return lambda: final_loss(lambda x: model(x).stacked, data)
    run.__name__ = f"fit_{model_fn.__name__}"
    return run


def best_model(n_features, hidden, tasks):
    """The best loop's own network, for `fit`."""
    return Outputs(best_net(hidden[0], len(tasks)), tasks)


fit_hard_sharing, fit_stacked_stl = with_fit(hard_sharing), with_fit(single_task_nets)
fit_best_model = with_fit(best_model)
