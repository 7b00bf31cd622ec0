"""Benchmark: R replicas trained as one vectorised model against R calls of `fit`.

    python -m mtl_tutor.replica_bench          # the table (a few minutes)
    python -m mtl_tutor.replica_bench --quick  # a smoke run: that it works, no ratios

The book's size: hard sharing with a trunk of (64, 16) on 10 inputs, 8 regression tasks,
200 training examples each labelled for every task (shared inputs) and 100 for
validation, minibatches of 32, fused Adam, 30 epochs, validating every epoch as the
book's notebooks do; the replicas differ in seed (initialisation and minibatch order).
A second problem gives every task its own 200 examples (per-task inputs): the trunk
then sees 8 times the rows per step, so the arithmetic weighs more. For R = 5, 20 and 80,
each round trains R models one after another with `fit` and then all R with
`fit_replicas` (the order alternating from round to round); the speed-up is the
geometric mean of the per-round ratios with a 95 % t-interval (`bench.ratio`).

Where the time goes: the matrix products of one training step alone (forward, and the
backward's weight and input gradients), timed at the same shapes, batched over the
replicas for `fit_replicas`; the rest of a step is overhead (Python, dispatch, the
elementwise operations, the optimiser). Peak memory: the growth of the process's peak
resident memory while `fit_replicas` trains, measured in a fresh process for each R.
"""
import argparse
import subprocess
import sys
import time

import torch

from .bench import fmt_ratio, ratio
from .models import hard_sharing
from .problems.related import make_related_tasks
from .replicas import fit_replicas, seeded_models
from .runtime import set_seed, setup
from .train import fit

TASKS, HIDDEN, BATCH, EPOCHS, N_TRAIN, N_VAL = 8, (64, 16), 32, 30, 200, 100
REPLICAS = (5, 20, 80)
SETTINGS = dict(epochs=EPOCHS, lr=1e-2, batch_size=BATCH, progress=False)


def problem(shared: bool):
    return make_related_tasks(n_tasks=TASKS, n_train=N_TRAIN, n_val=N_VAL, n_test=10,
                              shared_inputs=shared, seed=0)


def build(data):
    return lambda: hard_sharing(data.n_features, HIDDEN, data.tasks)


def one_after_another(data, replicas: int) -> None:
    for seed in range(replicas):
        set_seed(seed)
        fit(build(data)(), data, **SETTINGS)


def all_at_once(data, replicas: int) -> None:
    models, generators = seeded_models(build(data), range(replicas))
    fit_replicas(models, data, generators=generators, **SETTINGS)


def hand_stacked(data, replicas: int) -> float:
    """The other route: the same R hard-sharing networks written by hand with a replica
    axis (every layer one batched product, `torch.baddbmm`), trained with one fused Adam,
    each replica in its own minibatch order, validated every epoch: what a replica axis on
    the package's own layers could reach for this one architecture, without `vmap`'s cost
    per operation. Returns the mean final validation loss (tests check it learns)."""
    models, generators = seeded_models(build(data), range(replicas))
    shared = data.train.shared_inputs

    def stacked(get):
        return torch.stack([get(m).detach() for m in models]).requires_grad_()
    w1, b1 = stacked(lambda m: m.trunk[0].weight.T), stacked(lambda m: m.trunk[0].bias)
    w2, b2 = stacked(lambda m: m.trunk[2].weight.T), stacked(lambda m: m.trunk[2].bias)
    w3 = stacked(lambda m: m.heads.stacked.weight.squeeze(-1).T)  # (R, 16, T)
    b3 = stacked(lambda m: m.heads.stacked.bias.squeeze(-1))  # (R, T)
    params = [w1, b1, w2, b2, w3, b3]
    optimizer = torch.optim.Adam(params, lr=SETTINGS["lr"], fused=True)

    def predict(x):  # x: (R, n, d) shared or (R, T, n, d) per task -> (R, n, T)
        rows = x.reshape(replicas, -1, x.shape[-1])
        h = torch.relu(torch.baddbmm(b1[:, None], rows, w1))
        h = torch.relu(torch.baddbmm(b2[:, None], h, w2))
        if shared:
            return torch.baddbmm(b3[:, None], h, w3)
        h = h.reshape(replicas, TASKS, -1, h.shape[-1])  # each task's rows, its own head
        return (torch.einsum("rtnh,rht->rnt", h, w3) + b3[:, None])

    def targets(split, index):
        return split.stacked_y().stacked[index]  # (R, n, T)

    train, val = data.train, data.val
    val_x = val.x.expand(replicas, *val.x.shape)
    val_y = val.stacked_y().stacked.expand(replicas, *val.stacked_y().stacked.shape)
    for _ in range(EPOCHS):
        order = torch.stack([torch.randperm(train.n, generator=g) for g in generators])
        x = train.x[order] if shared else train.x[:, order].transpose(0, 1)
        y = targets(train, order)
        for start in range(0, train.n, BATCH):
            part = slice(start, start + BATCH)
            xb = x[:, part] if shared else x[:, :, part]
            loss = (predict(xb) - y[:, part]).pow(2).mean(dim=1).sum()
            for p in params:
                p.grad = None
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            history = (predict(val_x) - val_y).pow(2).mean(dim=1).sum(dim=1).tolist()
    return sum(history) / replicas


ENGINES = {"fit, one after another": one_after_another, "fit_replicas": all_at_once,
           "hand-stacked": hand_stacked}


def rounds_of(data, replicas: int, rounds: int) -> dict:
    """Seconds per round of each engine; round 0 is an untimed warm-up. The order
    rotates from round to round."""
    times = {name: [] for name in ENGINES}
    engines = [(run, name) for name, run in ENGINES.items()]
    for r in range(rounds + 1):
        for run, name in engines[r % 3:] + engines[:r % 3]:
            start = time.perf_counter()
            run(data, replicas)
            if r:
                times[name].append(time.perf_counter() - start)
    return times


def product_seconds(replicas: int, shared: bool, repeats: int = 50) -> float:
    """Seconds the matrix products of one training step take alone, for `replicas`
    models stacked on a batch axis (1: one model's, as `fit` computes them)."""
    rows = BATCH if shared else BATCH * TASKS
    sizes = [10, *HIDDEN, TASKS]
    products = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        x, w, g = (torch.randn(replicas, *s) for s in ((rows, a), (a, b), (rows, b)))
        products += [(x, w), (x.transpose(1, 2), g)] + ([(g, w.transpose(1, 2))] if i else [])
    if replicas == 1:
        products = [(left[0], right[0]) for left, right in products]
    for left, right in products:  # warm-up
        left @ right
    start = time.perf_counter()
    for _ in range(repeats):
        for left, right in products:
            left @ right
    return (time.perf_counter() - start) / repeats


def peak_memory_mb(replicas: int, shared: bool) -> tuple:
    """Peak resident memory (MB) of a new process that imports the package and trains
    `replicas` models with `fit_replicas`, and of one that stops before training (the
    difference is what training adds; the importing of torch alone takes most of it)."""
    code = ("import resource, sys; from mtl_tutor import replica_bench as b; "
            "from mtl_tutor.runtime import setup; setup(seed=0, verbose=False); "
            f"data = b.problem({shared}); "
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
            f"b.all_at_once(data, {replicas}); "
            "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
            "print(before / 1024, after / 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    before, after = map(float, out.stdout.strip().splitlines()[-1].split())
    return after, after - before


def measure(shared: bool, rounds: int, replica_counts=REPLICAS) -> list:
    data = problem(shared)
    steps = EPOCHS * -(-N_TRAIN // BATCH)
    rows = []
    for replicas in replica_counts:
        times = rounds_of(data, replicas, rounds)
        sequential, vectorised = times["fit, one after another"], times["fit_replicas"]
        speedup = ratio(sequential, vectorised)
        by_hand = ratio(sequential, times["hand-stacked"])
        one, stacked = product_seconds(1, shared), product_seconds(replicas, shared)
        best_seq, best_vec = min(sequential), min(vectorised)
        peak, added = peak_memory_mb(replicas, shared)
        rows.append({
            "inputs": "shared" if shared else "per task", "replicas": replicas,
            "speed-up": speedup, "hand-stacked speed-up": by_hand, "seconds": times,
            # per replica and step, in microseconds: products and everything else
            "fit products us": one * 1e6,
            "fit other us": (best_seq / replicas / steps - one) * 1e6,
            "replicas products us": stacked / replicas * 1e6,
            "replicas other us": (best_vec / replicas / steps - stacked / replicas) * 1e6,
            "peak memory MB": peak, "training adds MB": added})
        print(f"  {rows[-1]['inputs']:8s} inputs, {replicas:3d} replicas: "
              f"{fmt_ratio(speedup)} faster (by hand {fmt_ratio(by_hand)}); per "
              f"replica-step: fit "
              f"{rows[-1]['fit products us']:.0f} us products + "
              f"{rows[-1]['fit other us']:.0f} us other, replicas "
              f"{rows[-1]['replicas products us']:.1f} + "
              f"{rows[-1]['replicas other us']:.1f} us; peak memory "
              f"{rows[-1]['peak memory MB']:.0f} MB (training adds "
              f"{rows[-1]['training adds MB']:.0f})", flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run, no ratios")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    setup(seed=0, threads=1, device="cpu", verbose=False)
    print(f"replicas against one fit after another: hard sharing {HIDDEN}, {TASKS} tasks, "
          f"{N_TRAIN} examples, batch {BATCH}, {EPOCHS} epochs, 1 thread")
    if args.quick:
        return measure(True, 1, replica_counts=(2,))
    return measure(True, args.rounds) + measure(False, args.rounds)


if __name__ == "__main__":
    main()
