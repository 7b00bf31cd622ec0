"""Execute notebooks in place (outputs stored), and record how long each took.

    python tools/execute.py book/why_mtl.ipynb [more.ipynb ...]

Times go to book/execution_times.json, with the machine they were measured on; the
book's execution status page (book/status.ipynb) shows them.
"""
import json
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
TIMES = ROOT / "book" / "execution_times.json"


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__.split("+")[0], "device": "cpu"}


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    return seconds


def main(paths):
    record = json.loads(TIMES.read_text()) if TIMES.exists() else {"notebooks": {}}
    status = ROOT / "book" / "status.ipynb"
    for name in paths:
        path = Path(name).resolve()
        if path == status:
            continue  # executed last, after the times it shows are written
        seconds = execute(path)
        print(f"{path.relative_to(ROOT)}: {seconds:.1f} s", flush=True)
        record["notebooks"][str(path.relative_to(ROOT))] = round(seconds, 1)
        record["machine"] = machine()
        TIMES.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    if status.exists():
        execute(status)


if __name__ == "__main__":
    main(sys.argv[1:])
