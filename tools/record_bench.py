"""Run the benchmark and the scaling table and record them for the status page.

    python tools/record_bench.py      (make bench)

Writes book/benchmark.json: the machine, the date, the benchmark's ratios with their
intervals and every round's seconds, and the scaling table. Run it on an idle machine:
anything else running at the same time slows the loops unevenly.
"""
import datetime
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from execute import machine  # noqa: E402

from mtl_tutor import bench, replica_bench, scaling  # noqa: E402

RECORD = ROOT / "book" / "benchmark.json"


def markdown(record) -> str:
    """The record as the README's two tables."""
    sizes = record["bench"]
    lines = ["| comparison | " + " | ".join(
        f"{name}: {b['examples']} examples, width {b['width']}" for name, b in sizes.items())
        + " |", "|---|" + "---|" * len(sizes)]
    for label in next(iter(sizes.values()))["ratios"]:
        cells = [(f"{b['ratios'][label]:.1%}" if label == "matmul share" else
                  bench.fmt_ratio(b["ratios"][label]))
                 for b in sizes.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "| examples | width | tasks | idiomatic s | best s | fit s | bare s | "
              "idiomatic / fit | best / fit | fit over bare |", "|---" * 10 + "|"]
    for r in record["scaling"]:
        lines.append(f"| {r['examples']} | {r['width']} | {r['tasks']} | "
                     f"{r['idiomatic s']:.3f} | {r['best loop s']:.3f} | {r['fit s']:.3f} | "
                     f"{r['bare loop s']:.3f} | {r['idiomatic / fit']:.2f} | "
                     f"{r['best / fit']:.2f} | {r['fit overhead']:.0%} |")
    return "\n".join(lines)


def main():
    results = bench.main([])
    rows = scaling.main([])
    replicas = replica_bench.main([])
    record = {"date": datetime.date.today().isoformat(), "machine": machine(),
              "threads": 1, "bench": results, "scaling": rows, "replicas": replicas}
    RECORD.write_text(json.dumps(record, indent=1) + "\n")
    print(f"\nrecorded in {RECORD.relative_to(ROOT)}; for the README:\n\n{markdown(record)}")


if __name__ == "__main__":
    main()
