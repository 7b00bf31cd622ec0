"""Re-execute notebooks with other seeds and at a larger scale; list every hidden check
that fails, by notebook and claim.

    python tools/robustness.py [NOTEBOOK ...]   (make robustness; every notebook by default)

Settings: MTL_TUTOR_SEED=1000, MTL_TUTOR_SEED=2000 (other random draws for every
experiment) and MTL_TUTOR_SCALE=2 (twice the seeds or sizes). Notebooks are executed in
memory (nothing is written back), two at a time, errors allowed so one failing check does
not hide the next. Each notebook's latest result (date, failures, minutes) is merged into
book/robustness.json, which the status page shows; exit status 1 if anything failed.
"""
import fcntl
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "book" / "robustness.json"
SETTINGS = [{"MTL_TUTOR_SEED": "1000"}, {"MTL_TUTOR_SEED": "2000"}, {"MTL_TUTOR_SCALE": "2"}]
SKIP = {"status.ipynb"}  # it only shows stored records


def failures(path: Path, setting: dict) -> tuple[list, float]:
    start = time.perf_counter()
    for attempt in range(3):
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=1800, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(path.parent)}})
        try:
            client.execute(env={**os.environ, **setting})
            break
        except RuntimeError as error:
            # two kernels started at the same moment can pick the same port; start again
            if "before replying to kernel_info" not in str(error) or attempt == 2:
                raise
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type != "error":
                continue
            hidden = "remove-cell" in cell.metadata.get("tags", [])
            found.append({"notebook": str(path.relative_to(ROOT)), "cell": index,
                          "hidden_check": hidden,
                          "claim": output.evalue.strip() or _first_comment(cell.source),
                          "error": output.ename})
    return found, time.perf_counter() - start


def _first_comment(source: str) -> str:
    for line in source.splitlines():
        if line.strip().startswith("#"):
            return line.strip("# ").strip()
    return source.splitlines()[0] if source else ""


def _job(args):
    path, setting = args
    found, seconds = failures(Path(path), setting)
    label = " ".join(f"{k}={v}" for k, v in setting.items())
    print(f"{label} {Path(path).name}: {len(found)} failing, {seconds:.0f} s", flush=True)
    return [{**f, "setting": label} for f in found], seconds


def main(names):
    paths = [Path(n).resolve() for n in names] or sorted((ROOT / "book").rglob("*.ipynb"))
    paths = [p for p in paths if p.name not in SKIP and "_build" not in p.parts
             and ".ipynb_checkpoints" not in p.parts]
    jobs = [(str(p), s) for s in SETTINGS for p in paths]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_job, jobs))
    found = [f for fs, _ in results for f in fs]
    with open(RECORD.with_suffix(".lock"), "w") as lock:  # several runs at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = json.loads(RECORD.read_text()) if RECORD.exists() else {"notebooks": {}}
        record["settings"] = [" ".join(f"{k}={v}" for k, v in s.items()) for s in SETTINGS]
        for path in paths:
            name = str(path.relative_to(ROOT))
            record["notebooks"][name] = {
                "date": date.today().isoformat(),
                "minutes": round(sum(s for (p, _), (_, s) in zip(jobs, results)
                                     if p == str(path)) / 60, 1),
                "failures": [f for f in found if f["notebook"] == name]}
        RECORD.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    minutes = round((time.perf_counter() - start) / 60, 1)
    for f in found:
        kind = "hidden check" if f["hidden_check"] else "cell"
        print(f"FAIL [{f['setting']}] {f['notebook']} {kind} {f['cell']}: {f['claim']}")
    print(f"{len(found)} failing checks or cells in {len(jobs)} runs ({minutes} min)")
    return 1 if found else 0


if __name__ == "__main__":
    os.environ["MTL_TUTOR_STRICT"] = "1"  # a claim that fails fails the run (mt.assert_claim)
    sys.exit(main(sys.argv[1:]))
