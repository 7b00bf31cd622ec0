"""How training time grows with the problem: `mt.fit` against the best hand-written loop.

    python -m mtl_tutor.scaling            # the table (a few minutes on a laptop CPU)
    python -m mtl_tutor.scaling --quick    # a smoke run: two small sizes

At each size (examples x hidden width x tasks) three loops train hard sharing (a trunk of
two hidden layers, one output per task) for one epoch of minibatches of 32, on the same data
from the same seed, each after an untimed warm-up run:
- `mt.fit`, as the book uses it (shuffling, per-task losses, validation, history);
- the best loop an expert writes by hand: in-memory minibatches, one stacked head (a single
  `nn.Linear` with one output per task), one batched loss and fused Adam, nothing else;
- a bare loop on `mt.fit`'s own model: forward, loss, backward and step on batches cut in
  advance (no shuffling, no validation, no bookkeeping), the floor for that model.
The table gives the median seconds of three runs, fit's time over the best loop's, and fit's
overhead over the bare loop.
"""
import argparse
import statistics
import time

import torch
from torch import nn

from .bench import D, make_data
from .models import hard_sharing
from .runtime import set_seed, setup
from .train import fit

BATCH, LR = 32, 1e-3
SIZES = [(4096, 64, 10), (4096, 512, 10), (65536, 64, 10), (65536, 512, 10), (4096, 64, 40)]
QUICK_SIZES = [(1024, 32, 4), (2048, 64, 4)]


def with_fit(data, width):
    model = hard_sharing(D, (width, width), data.tasks)
    fit(model, data, epochs=1, batch_size=BATCH, lr=LR, progress=False, restore_best=False)


def best_loop(data, width):
    trunk = nn.Sequential(nn.Linear(D, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU())
    head = nn.Linear(width, len(data.tasks))  # every task's output in one layer
    optimizer = torch.optim.Adam([*trunk.parameters(), *head.parameters()], lr=LR, fused=True)
    x, y = data.train.x, torch.stack(list(data.train.y.values()), dim=1)  # y: (n, tasks)
    for index in torch.randperm(len(x)).split(BATCH):
        loss = (head(trunk(x[index])) - y[index]).pow(2).mean(dim=0).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def bare_loop(data, width):
    model = hard_sharing(D, (width, width), data.tasks)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, fused=True)
    y = torch.stack(list(data.train.y.values()), dim=1)  # (n, tasks), as fit's model predicts
    batches = list(zip(data.train.x.split(BATCH), y.split(BATCH)))
    for xb, yb in batches:
        loss = (model(xb).stacked - yb).pow(2).mean(dim=0).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def median_seconds(loop, data, width, repeats=3) -> float:
    set_seed(0)
    loop(data, width)  # warm-up: the first run pays PyTorch's start-up costs
    times = []
    for _ in range(repeats):
        set_seed(0)
        start = time.perf_counter()
        loop(data, width)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def table(sizes, repeats=3) -> list:
    rows = []
    for n, width, tasks in sizes:
        data = make_data(n, tasks=tasks)  # the benchmark's problem, at this size
        fit_s, best_s, bare_s = (median_seconds(loop, data, width, repeats)
                                 for loop in (with_fit, best_loop, bare_loop))
        rows.append({"examples": n, "width": width, "tasks": tasks, "fit s": fit_s,
                     "best loop s": best_s, "bare loop s": bare_s,
                     "fit / best": fit_s / best_s, "fit overhead": fit_s / bare_s - 1})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run on two small sizes")
    args = parser.parse_args(argv)
    setup(seed=0, threads=1, device="cpu", verbose=False)
    rows = table(QUICK_SIZES if args.quick else SIZES, repeats=1 if args.quick else 3)
    print(f"one epoch, batch {BATCH}, {D} inputs, two hidden layers, 1 thread, CPU; median of "
          f"{1 if args.quick else 3} run(s) after a warm-up\n")
    print(f"{'examples':>8s} {'width':>5s} {'tasks':>5s} {'fit s':>7s} {'best s':>7s} "
          f"{'bare s':>7s} {'fit/best':>8s} {'overhead':>8s}")
    for r in rows:
        print(f"{r['examples']:8d} {r['width']:5d} {r['tasks']:5d} {r['fit s']:7.3f} "
              f"{r['best loop s']:7.3f} {r['bare loop s']:7.3f} {r['fit / best']:8.2f} "
              f"{r['fit overhead']:8.0%}")
    if args.quick:
        print("\nsmoke run: too small for the ratios to mean anything")
    return rows


if __name__ == "__main__":
    main()
