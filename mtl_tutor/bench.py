"""Benchmark: mtl_tutor's training engine against the loops a PyTorch user would write.

    python -m mtl_tutor.bench          # the book's size and a large one (minutes)
    python -m mtl_tutor.bench --quick    # a smoke run: that it works, no ratios
    MTL_TUTOR_DEVICE=cuda python -m mtl_tutor.bench    # on a GPU, where there is one

At each size, every loop trains the same problem (10 regression tasks on shared inputs)
from the same seed for the same epochs with minibatches of 32, once per round and in turn
(the order rotating from round to round), so a slow spell of the machine hits all of them
alike; the first round is an untimed warm-up (the loops are in `mtl_tutor.bench_loops`).
Only the training is timed: each loop's final loss (a pass over the training set, which
tests use to see that every loop learns) is computed after the clock stops, if at all.
A ratio is the geometric mean of the per-round ratios with a 95 % t-interval:
1. `mt.fit` on hard sharing against the idiomatic loop (a DataLoader over a TensorDataset,
   an nn.ModuleList of heads, one loss per task, Adam), and against the best loop an expert
   writes by hand (in-memory minibatches, one stacked head, one batched loss, fused Adam),
   also with `fit` training that loop's own network: the engines alone, like with like;
2. 10 STL networks trained as one task-stacked model against a loop of 10 separate models;
3. cost against the limit: the time the training step's matrix products alone take on this
   machine (the physical floor for these models) as a fraction of fit's time, and fit's
   overhead over a bare forward-backward-step loop on fit's own model and batches.
The loops do no validation, so in these comparisons the problem has no validation split and
`fit` does none either: the same work on both sides. What validating every epoch (as the
book's notebooks do) adds is measured apart: fit with a validation split over fit without.
"""
import argparse
import math
import statistics
import time
import warnings

import numpy as np
import torch
from scipy import stats

from .bench_loops import (
    BATCH,
    LR,
    D,
    T,
    bare_loop,
    best_loop,
    fit_best_model,
    fit_hard_sharing,
    fit_stacked_stl,
    idiomatic_loop,
    looped_stl,
    make_data,
)
from .runtime import get_device, pick_device, set_seed, setup

# (name, examples, width of the two hidden layers, examples for the STL pair, rounds,
# epochs): several epochs at the book's size, as the book trains, so that fit's one-off
# set-up (a few ms) weighs as it does in use; one epoch of 2,048 steps at the large size
SIZES = [("book", 4096, 64, 4096, 10, 5), ("large", 65536, 512, 8192, 8, 1)]
QUICK = [("smoke", 512, 32, 512, 1, 1)]


def _sync():
    if get_device().type == "cuda":
        torch.cuda.synchronize()


def measure(loops: dict, rounds: int) -> dict:
    """{name: [seconds per round]}: every loop `(run, data, width, epochs)` once per round,
    in turn, each from seed 0; round 0 is the untimed warm-up (start-up costs). The order
    rotates from round to round, so that no loop always runs after the same one."""
    times, names = {name: [] for name in loops}, list(loops)
    for r in range(rounds + 1):
        for name in names[r % len(names):] + names[:r % len(names)]:
            run, *args = loops[name]
            set_seed(0)
            _sync()
            start = time.perf_counter()
            run(*args)
            _sync()
            if r:
                times[name].append(time.perf_counter() - start)
    return times


def ratio(slow, fast):
    """slow/fast from paired rounds: the geometric mean of the per-round ratios and its 95 %
    t-interval, as (ratio, low, high); a single round gives no interval (nan)."""
    logs = np.log(slow) - np.log(fast)
    if len(logs) < 2:
        return math.exp(logs.mean()), math.nan, math.nan
    half = stats.t.ppf(0.975, len(logs) - 1) * logs.std(ddof=1) / math.sqrt(len(logs))
    return tuple(math.exp(v) for v in (logs.mean(), logs.mean() - half, logs.mean() + half))


def fmt_ratio(r):
    """(ratio, low, high) as '4.65x (3.98 to 5.45)'."""
    return f"{r[0]:.2f}x ({r[1]:.2f} to {r[2]:.2f})"


def matmul_floor(width, n, epochs, repeats=20):
    """Seconds the matrix products of fit's training (forward, and the backward's input and
    weight gradients) take alone on this machine, at the same shapes and batch."""
    device = get_device()
    shapes = [(D, width), (width, width), (width, T)]
    products = []
    for i, (a, b) in enumerate(shapes):
        x, w, g = (torch.randn(*s, device=device) for s in ((BATCH, a), (a, b), (BATCH, b)))
        products += [(x, w), (x.T, g)] + ([(g, w.T)] if i else [])  # no input grad for x
    for left, right in products:  # warm-up
        left @ right
    _sync()
    start = time.perf_counter()
    for _ in range(repeats):
        for left, right in products:
            left @ right
    _sync()
    per_step = (time.perf_counter() - start) / repeats
    return per_step * epochs * math.ceil(n / BATCH)


def run_size(name, n, width, n_stl, rounds, epochs):
    data, stl_data = make_data(n), make_data(n_stl)
    loops = {"idiomatic loop (DataLoader, head and loss per task)": (idiomatic_loop, data),
             "best hand-written loop": (best_loop, data),
             "bare loop on fit's model": (bare_loop, data),
             "mt.fit, hard sharing": (fit_hard_sharing, data),
             "mt.fit, the best loop's own network": (fit_best_model, data),
             "mt.fit, hard sharing, validating every epoch":
                 (fit_hard_sharing, make_data(n, validation=True)),
             f"10 STL models, a loop of 10 ({n_stl} examples)": (looped_stl, stl_data),
             f"10 STL models, one stacked model, mt.fit ({n_stl} examples)":
                 (fit_stacked_stl, stl_data)}
    times = measure({k: (run, d, width, epochs) for k, (run, d) in loops.items()}, rounds)
    print(f"\n{name}: {n} examples, two hidden layers of {width}, {T} tasks, {epochs} "
          f"epoch(s), {rounds} timed round(s) after a warm-up")
    print(f"  {'loop':62s} {'median s':>9s} {'range s':>15s}")
    for loop, seconds in times.items():
        print(f"  {loop:62s} {statistics.median(seconds):9.3f} "
              f"{min(seconds):7.3f}-{max(seconds):<7.3f}")
    return times, matmul_floor(width, n, epochs)


def report(times, floor):
    """The ratios of one size, as {label: (ratio, low, high)}, printed."""
    # in run_size's order
    idiomatic, best, bare, fit_t, fit_same, fit_val, stl_loop, stl_stacked = times.values()
    out = {"fit vs idiomatic loop (speed-up)": ratio(idiomatic, fit_t),
           "fit vs best hand-written loop (speed-up)": ratio(best, fit_t),
           "fit on the best loop's network vs it (speed-up)": ratio(best, fit_same),
           "stacked STL vs loop of 10 (speed-up)": ratio(stl_loop, stl_stacked),
           "fit over bare loop (time ratio)": ratio(fit_t, bare),
           "validating every epoch (time ratio)": ratio(fit_val, fit_t)}
    print(f"  {'':50s} ratio (95% CI)")
    for label, r in out.items():
        print(f"  {label:50s} {fmt_ratio(r)}")
    share = floor / statistics.median(fit_t)
    print(f"  the matrix products alone take {floor:.3f} s: fit runs at {share:.1%} of this "
          "machine's matmul rate at these shapes")
    out["matmul share"] = share
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run, no ratios")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        device = pick_device("cpu")  # MTL_TUTOR_DEVICE=cuda measures on a GPU
    if caught:
        print(f"{caught[0].message} (no GPU is present: measuring on the CPU)")
    setup(seed=0, threads=args.threads, device=device.type, verbose=False)
    name = (torch.cuda.get_device_name() if device.type == "cuda"
            else f"CPU, {args.threads} thread(s)")
    print(f"mtl_tutor benchmark on {name}: minibatches of {BATCH}, Adam, lr {LR}")
    results = {}
    for size in QUICK if args.quick else SIZES:
        times, floor = run_size(*size)
        if not args.quick:
            results[size[0]] = {"examples": size[1], "width": size[2], "stl examples": size[3],
                                "epochs": size[5], "ratios": report(times, floor),
                                "seconds": times, "matmul floor s": floor}
    if args.quick:
        print("\nsmoke run: one round at a toy size, too small and too short for ratios to "
              "mean anything; run without --quick to measure them")
    return results


if __name__ == "__main__":
    main()
