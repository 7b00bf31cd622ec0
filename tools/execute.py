"""Execute notebooks in place (outputs stored), and record how long each took.

    python tools/execute.py book/why_mtl.ipynb [more.ipynb ...]

Times go to book/execution_times.json, with the machine they were measured on; the
book's execution status page (book/status.ipynb) shows them and is executed last when it is
among the notebooks (`make execute` with no NB runs them all). The numerics fingerprint the
outputs are recorded with goes to book/numerics.json (tools/gate.py compares it).
"""
import fcntl
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from mtl_tutor import numerics  # noqa: E402

TIMES = ROOT / "book" / "execution_times.json"
MEASURE = ("CPU seconds of the notebook's kernel (one thread: its time on an idle machine); "
           "wall-clock seconds, which count whatever else ran, under 'wall seconds'")
NUMERICS = ROOT / "book" / "numerics.json"


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


def record_numerics(paths) -> None:
    """Store the fingerprint the outputs are recorded with (tools/gate.py compares it).
    Refuses to mix: recording some notebooks under other numerics than the rest would leave
    a book that matches no machine."""
    missing = [name for name, ok in numerics.pins_in_force().items() if not ok]
    if missing:
        sys.exit(f"execute.py: the numerics pins are not set ({', '.join(missing)}); "
                 "run it through `make execute`.")
    here = numerics.fingerprint(parts=True)
    stored = json.loads(NUMERICS.read_text()) if NUMERICS.exists() else None
    every = {p.resolve() for p in ROOT.joinpath("book").rglob("*.ipynb")
             if ".ipynb_checkpoints" not in p.parts}
    if stored and stored["fingerprint"] != here["fingerprint"] and \
            not every <= {Path(p).resolve() for p in paths} and not os.environ.get("FORCE"):
        sys.exit(f"execute.py: this machine's numerics fingerprint {here['fingerprint']} "
                 f"differs from the book's {stored['fingerprint']}; outputs recorded here "
                 "would not match the other notebooks'. Re-execute every notebook "
                 "(make execute), or set FORCE=1.")
    # where the fingerprint was reproduced (tools/emulate.py record): kept while it holds
    same = stored and stored["fingerprint"] == here["fingerprint"]
    NUMERICS.write_text(json.dumps({**here, "capability": numerics.capability(),
                                    "pins": numerics.PINS, "machine": machine(),
                                    "verified_on": stored.get("verified_on", []) if same else []},
                                   indent=1) + "\n")


def kernels_cpu_seconds() -> float:
    """CPU seconds of the finished child processes (a notebook's kernel once it has shut down)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def execute(path: Path) -> tuple:
    """Execute one notebook in place; its kernel's CPU seconds and the wall-clock seconds.
    The kernel runs one thread, so its CPU time is its time on an idle machine; the wall
    time also counts whatever else the machine ran (it swings 2-4x on a shared one)."""
    nb = nbformat.read(path, as_version=4)
    start, cpu_start = time.perf_counter(), kernels_cpu_seconds()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds, cpu = time.perf_counter() - start, kernels_cpu_seconds() - cpu_start
    nbformat.write(nb, path)
    return cpu, seconds


def save_time(path: Path, seconds: tuple) -> None:
    with open(TIMES.with_suffix(".lock"), "w") as lock:  # several `make execute` at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = json.loads(TIMES.read_text()) if TIMES.exists() else {"notebooks": {}}
        cpu, wall = seconds
        record["notebooks"][str(path.relative_to(ROOT))] = round(cpu, 1)
        record.setdefault("wall seconds", {})[str(path.relative_to(ROOT))] = round(wall, 1)
        record["machine"] = machine()
        record["measure"] = MEASURE
        TIMES.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


def main(paths):
    record_numerics(paths)
    status = ROOT / "book" / "status.ipynb"
    for name in paths:
        path = Path(name).resolve()
        if path == status:
            continue  # executed last, after the times it shows are written
        seconds = execute(path)
        print(f"{path.relative_to(ROOT)}: {seconds[0]:.1f} s of CPU, {seconds[1]:.1f} s wall",
              flush=True)
        save_time(path, seconds)
    if status in {Path(name).resolve() for name in paths}:
        execute(status)


if __name__ == "__main__":
    os.environ["MTL_TUTOR_STRICT"] = "1"  # a claim that fails fails the run (mt.assert_claim)
    main(sys.argv[1:])
