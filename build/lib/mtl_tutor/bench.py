"""Benchmark: mtl_tutor's training engine against the loops a PyTorch user would write.

    python -m mtl_tutor.bench            # the default, CPU-sized run (about a minute)
    python -m mtl_tutor.bench --quick    # a smoke run: that it works, no speed-ups

Prints three comparisons, each measured side by side in one run on the same data, model
sizes, epochs and seed, every time after a warm-up run, as the median (and range) of
several runs:
1. `mt.fit` on hard sharing with 10 tasks against the idiomatic loop (a DataLoader over a
   TensorDataset, one head call and one loss per task, summed);
2. 10 STL networks trained as one task-stacked model against a loop of 10 separate models;
3. the training throughput against this machine's own matrix-multiply rate at the same
   sizes, with a short profile of where the rest of the time goes.
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .data import MultiTaskData, Split, Task
from .models import hard_sharing, single_task_nets
from .runtime import set_seed, setup
from .train import fit

T, D, HIDDEN = 10, 32, (64, 32)


def make_data(n, seed=0, tasks=T):
    """A shared-input regression problem with `tasks` tasks (linear targets plus noise)."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(D, tasks, generator=g) / D**0.5

    def split(m):
        x = torch.randn(m, D, generator=g)
        y = x @ w + 0.1 * torch.randn(m, tasks, generator=g)
        return Split(x, {f"task{t}": y[:, t].contiguous() for t in range(tasks)})

    return MultiTaskData([Task(f"task{t}") for t in range(tasks)], split(n), split(256),
                         split(256))


def mlp(sizes):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)


def idiomatic_hard_sharing(data, epochs, batch_size, lr):
    """The loop most tutorials teach: DataLoader, a head per task, a loss per task."""
    trunk = mlp((D, *HIDDEN))
    heads = nn.ModuleList(nn.Linear(HIDDEN[-1], 1) for _ in range(T))
    params = list(trunk.parameters()) + list(heads.parameters())
    optimizer = torch.optim.Adam(params, lr=lr)
    ys = [data.train.y[name] for name in data.names]
    loader = DataLoader(TensorDataset(data.train.x, *ys), batch_size=batch_size, shuffle=True)
    for _ in range(epochs):
        for xb, *yb in loader:
            h = trunk(xb)
            loss = sum(F.mse_loss(head(h).squeeze(-1), y) for head, y in zip(heads, yb))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        h = trunk(data.train.x)
        return sum(F.mse_loss(head(h).squeeze(-1), y) for head, y in zip(heads, ys)).item()


def looped_stl(data, epochs, batch_size, lr):
    """T separate networks, each trained by its own loop over in-memory minibatches."""
    final = 0.0
    for name in data.names:
        net = nn.Sequential(mlp((D, *HIDDEN)), nn.Linear(HIDDEN[-1], 1))
        optimizer = torch.optim.Adam(net.parameters(), lr=lr)
        x, y = data.train.x, data.train.y[name]
        for _ in range(epochs):
            for index in torch.randperm(len(x)).split(batch_size):
                loss = F.mse_loss(net(x[index]).squeeze(-1), y[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        with torch.no_grad():
            final += F.mse_loss(net(x).squeeze(-1), y).item()
    return final


def engine(model_fn, data, epochs, batch_size, lr):
    model = model_fn(D, HIDDEN, data.tasks)
    fit(model, data, epochs=epochs, batch_size=batch_size, lr=lr, progress=False,
        restore_best=False)
    with torch.no_grad():
        preds = model(data.train.x)
        return sum(F.mse_loss(preds[n], data.train.y[n]).item() for n in data.names)


def timed(fn, *args, repeats=3):
    """Run `fn` once untimed (the warm-up: the first call pays PyTorch's start-up costs),
    then `repeats` times from the same seed. Returns (median, fastest, slowest seconds) and
    the last result."""
    set_seed(0)
    fn(*args)
    seconds, result = [], None
    for _ in range(repeats):
        set_seed(0)
        start = time.perf_counter()
        result = fn(*args)
        seconds.append(time.perf_counter() - start)
    return (statistics.median(seconds), min(seconds), max(seconds)), result


def ratio(slow, fast):
    """slow / fast as 'median (lowest to highest)', from two (median, min, max) timings."""
    return (f"{slow[0] / fast[0]:5.1f}x (range {slow[1] / fast[2]:.1f} to "
            f"{slow[2] / fast[1]:.1f})")


def matmul_rate(batch, repeats=200):
    """This machine's FLOP/s for the forward matrix products of one hard-sharing step."""
    shapes = list(zip((D, *HIDDEN), (*HIDDEN, T)))
    mats = [(torch.randn(batch, a), torch.randn(a, b)) for a, b in shapes]
    flops = sum(2 * batch * a * b for a, b in shapes)
    for x, w in mats:  # warm up
        x @ w
    start = time.perf_counter()
    for _ in range(repeats):
        for x, w in mats:
            x @ w
    return flops * repeats / (time.perf_counter() - start)


def step_flops(batch):
    """Forward plus backward of one hard-sharing minibatch: about 3x the forward products."""
    return 3 * sum(2 * batch * a * b for a, b in zip((D, *HIDDEN), (*HIDDEN, T)))


def profile_fit(data, batch_size, lr):
    from torch.profiler import ProfilerActivity, profile

    model = hard_sharing(D, HIDDEN, data.tasks)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fit(model, data, epochs=1, batch_size=batch_size, lr=lr, progress=False)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=8)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    n, epochs, repeats = (512, 2, 1) if args.quick else (4096, 4, 5)
    batch, lr = 32, 1e-3  # 32: fit's default and the book's
    device = setup(seed=0, threads=args.threads, device="cpu", verbose=False)
    data = make_data(n)
    print(f"mtl_tutor benchmark: {T} tasks, {n} examples, {D} features, hidden {HIDDEN}, "
          f"{epochs} epochs, batch {batch}, {args.threads} thread(s), {device.type}\n")

    t_idiom, loss_idiom = timed(idiomatic_hard_sharing, data, epochs, batch, lr, repeats=repeats)
    t_fit, loss_fit = timed(engine, hard_sharing, data, epochs, batch, lr, repeats=repeats)
    t_loop, loss_loop = timed(looped_stl, data, epochs, batch, lr, repeats=repeats)
    t_stack, loss_stack = timed(engine, single_task_nets, data, epochs, batch, lr,
                                repeats=repeats)

    rows = [("hard sharing, idiomatic DataLoader loop", t_idiom, loss_idiom),
            ("hard sharing, mt.fit", t_fit, loss_fit),
            ("10 STL models, a loop of separate models", t_loop, loss_loop),
            ("10 STL models, one task-stacked model (mt.fit)", t_stack, loss_stack)]
    print(f"{'run':50s} {'median s':>9s} {'range s':>13s} {'final train loss':>17s}")
    for name, (median, low, high), loss in rows:
        print(f"{name:50s} {median:9.3f} {low:6.3f}-{high:<6.3f} {loss:17.4f}")
    if args.quick:
        print("\nsmoke run: too small and too short for its ratios to mean anything; run "
              "without --quick to measure them")
        return

    steps = epochs * -(-n // batch)
    achieved = step_flops(batch) * steps / t_fit[0]
    peak = matmul_rate(batch)
    print(f"\nspeed-up of mt.fit over the idiomatic loop:        {ratio(t_idiom, t_fit)} "
          "(target 3x)")
    print(f"speed-up of the stacked STL over a loop of models: {ratio(t_loop, t_stack)} "
          "(target 4x)")
    print(f"throughput of mt.fit: {achieved / 1e9:.3f} GFLOP/s = {achieved / peak:.1%} of this "
          f"machine's matmul rate at these sizes ({peak / 1e9:.2f} GFLOP/s)")
    print("\nwhere one epoch of mt.fit spends its time (torch profiler, self CPU time):")
    print(profile_fit(data, batch, lr))


if __name__ == "__main__":
    main()
