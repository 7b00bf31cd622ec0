"""How training time grows with the problem: `mt.fit` against the loops a user writes.

    python -m mtl_tutor.scaling            # the table (a few minutes on a laptop CPU)
    python -m mtl_tutor.scaling --quick    # a smoke run: two small sizes

At each size (examples x hidden width x tasks) four loops train hard sharing (a trunk of two
hidden layers, one output per task) for one epoch of minibatches of 32, on the same data
from the same seed, in turn, after an untimed warm-up round (the loops are the benchmark's,
`mtl_tutor.bench`): the idiomatic DataLoader loop, the best loop an expert writes by hand,
`mt.fit` (without validation, as the other loops), and a bare loop on fit's own model
(the floor for that model). The table gives median seconds of three rounds, fit's speed-up
over the idiomatic and the best loop, and fit's overhead over the bare loop.
"""
import argparse
import statistics

from .bench import (
    BATCH,
    D,
    bare_loop,
    best_loop,
    fit_hard_sharing,
    idiomatic_loop,
    make_data,
    measure,
)
from .runtime import setup

SIZES = [(4096, 64, 10), (4096, 512, 10), (65536, 64, 10), (65536, 512, 10), (4096, 64, 40)]
QUICK_SIZES = [(1024, 32, 4), (2048, 64, 4)]
LOOPS = {"idiomatic s": idiomatic_loop, "best loop s": best_loop, "fit s": fit_hard_sharing,
         "bare loop s": bare_loop}


def table(sizes, rounds=3) -> list:
    rows = []
    for n, width, tasks in sizes:
        data = make_data(n, tasks=tasks)  # the benchmark's problem, at this size
        times = measure({k: (run, data, width, 1) for k, run in LOOPS.items()}, rounds)
        row = {"examples": n, "width": width, "tasks": tasks}
        row.update({k: statistics.median(v) for k, v in times.items()})
        row["idiomatic / fit"] = row["idiomatic s"] / row["fit s"]
        row["best / fit"] = row["best loop s"] / row["fit s"]
        row["fit overhead"] = row["fit s"] / row["bare loop s"] - 1
        rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run on two small sizes")
    args = parser.parse_args(argv)
    setup(seed=0, threads=1, device="cpu", verbose=False)
    rounds = 1 if args.quick else 3
    rows = table(QUICK_SIZES if args.quick else SIZES, rounds)
    print(f"one epoch, batch {BATCH}, {D} inputs, two hidden layers, 1 thread, CPU; median of "
          f"{rounds} round(s) after a warm-up\n")
    print(f"{'examples':>8s} {'width':>5s} {'tasks':>5s} {'idiom s':>8s} {'best s':>7s} "
          f"{'fit s':>7s} {'bare s':>7s} {'idiom/fit':>9s} {'best/fit':>8s} {'overhead':>8s}")
    for r in rows:
        print(f"{r['examples']:8d} {r['width']:5d} {r['tasks']:5d} {r['idiomatic s']:8.3f} "
              f"{r['best loop s']:7.3f} {r['fit s']:7.3f} {r['bare loop s']:7.3f} "
              f"{r['idiomatic / fit']:9.2f} {r['best / fit']:8.2f} {r['fit overhead']:8.0%}")
    if args.quick:
        print("\nsmoke run: too small for the ratios to mean anything")
    return rows


if __name__ == "__main__":
    main()
