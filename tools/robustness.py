"""Re-execute notebooks with seeds nobody has run and at a larger scale; list every hidden
check that fails, and how each comparative claim fared at each setting.

    python tools/robustness.py [NOTEBOOK ...]   (make robustness; every notebook by default)

Settings: three seed offsets drawn afresh at every run (MTL_TUTOR_SEED: other random draws
for every experiment; ROBUSTNESS_OFFSETS=a,b,c repeats a run's offsets) and
MTL_TUTOR_SCALE=2 (twice the seeds or sizes). A claim that holds only at the offsets it was
tuned on is no claim: the offsets are new each time, so nothing can be tuned to them.
Notebooks are executed in memory (nothing is written back), two at a time, errors allowed
so one failing check does not hide the next. Every claim of `mt.Claims` is logged at every
setting (MTL_TUTOR_CLAIMS_LOG). Each notebook's latest result (date, settings, failures,
minutes, each claim's outcome per setting) is merged into book/robustness.json, which the
status and audit pages show; exit status 1 if anything failed.
"""
import fcntl
import json
import os
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "book" / "robustness.json"
SKIP = {"status.ipynb", "audit.ipynb"}  # they only show stored records
OFFSETS_ENV = "ROBUSTNESS_OFFSETS"


def settings() -> list:
    """Three fresh seed offsets (or those of ROBUSTNESS_OFFSETS) and twice the scale."""
    given = os.environ.get(OFFSETS_ENV)
    if given:
        offsets = [int(o) for o in given.split(",")]
    else:  # far from the book's own seeds (0 and up) and from one another
        draw = random.SystemRandom()
        offsets = sorted(draw.randrange(10_000, 10_000_000) for _ in range(3))
    return [{"MTL_TUTOR_SEED": str(o)} for o in offsets] + [{"MTL_TUTOR_SCALE": "2"}]


def label(setting: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in setting.items())


def failures(path: Path, setting: dict, log: str) -> tuple[list, float]:
    start = time.perf_counter()
    for attempt in range(3):
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=1800, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(path.parent)}})
        try:
            client.execute(env={**os.environ, **setting, "MTL_TUTOR_CLAIMS_LOG": log})
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
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as log:
        found, seconds = failures(Path(path), setting, log.name)
        claims = {c["claim"]: c["holds"] for c in map(json.loads, log.read().splitlines())}
    print(f"{label(setting)} {Path(path).name}: {len(found)} failing, {seconds:.0f} s, "
          f"{sum(claims.values())} of {len(claims)} claims held", flush=True)
    return [{**f, "setting": label(setting)} for f in found], seconds, claims


def main(names):
    paths = [Path(n).resolve() for n in names] or sorted((ROOT / "book").rglob("*.ipynb"))
    paths = [p for p in paths if p.name not in SKIP and "_build" not in p.parts
             and ".ipynb_checkpoints" not in p.parts]
    chosen = settings()
    print("settings: " + "; ".join(label(s) for s in chosen), flush=True)
    jobs = [(str(p), s) for s in chosen for p in paths]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_job, jobs))
    found = [f for fs, _, _ in results for f in fs]
    with open(RECORD.with_suffix(".lock"), "w") as lock:  # several runs at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = json.loads(RECORD.read_text()) if RECORD.exists() else {"notebooks": {}}
        for path in paths:
            name = str(path.relative_to(ROOT))
            mine = [(s, r) for (p, s), r in zip(jobs, results) if p == str(path)]
            claims = {}
            for setting, (_, _, outcomes) in mine:
                for claim, held in outcomes.items():
                    claims.setdefault(claim, {})[label(setting)] = held
            record["notebooks"][name] = {
                "date": date.today().isoformat(),
                "settings": [label(s) for s in chosen],
                "minutes": round(sum(r[1] for _, r in mine) / 60, 1),
                "failures": [f for f in found if f["notebook"] == name],
                "claims": claims}
        record.pop("settings", None)  # each notebook keeps the settings it was run at
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
