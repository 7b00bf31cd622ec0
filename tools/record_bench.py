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

from mtl_tutor import bench, scaling  # noqa: E402

RECORD = ROOT / "book" / "benchmark.json"


def main():
    results = bench.main([])
    rows = scaling.main([])
    record = {"date": datetime.date.today().isoformat(), "machine": machine(),
              "threads": 1, "bench": results, "scaling": rows}
    RECORD.write_text(json.dumps(record, indent=1) + "\n")
    print(f"\nrecorded in {RECORD.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
