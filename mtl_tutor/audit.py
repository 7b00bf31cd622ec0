"""The audit of the book's comparative claims: every claim's record, read from the stored
outputs of the notebooks (`Claims.check` writes them), with how it fared in the last
robustness run (book/robustness.json, written by `make robustness`)."""
import json
from pathlib import Path

import pandas as pd

from .book import fmt
from .claims import RECORD_KEY


def claim_records(book: Path) -> list:
    """Every claim record stored in the notebooks under `book` (chapters, then labs), in
    the order the notebooks make them; each with its notebook's path."""
    records = []
    paths = sorted(book.glob("*.ipynb")) + sorted(book.glob("labs/*.ipynb"))
    for path in paths:
        for cell in json.loads(path.read_text())["cells"]:
            for output in cell.get("outputs", []):
                for record in output.get("metadata", {}).get(RECORD_KEY, []):
                    records.append({**record, "notebook": str(path.relative_to(book))})
    return records


def robustness_of(record: dict, robustness: dict) -> str:
    """Where a claim held in the last robustness run: 'held at all 4 settings (offsets
    ..., scale 2)', or which settings it failed at; 'not run' if it was not run."""
    runs = robustness.get("notebooks", {}).get(f"book/{record['notebook']}", {})
    outcomes = runs.get("claims", {}).get(record["claim"])
    if not outcomes:
        return "not run"
    failed = [setting for setting, held in outcomes.items() if not held]
    if failed:
        return f"failed at {', '.join(failed)} (held at {len(outcomes) - len(failed)} of " \
               f"{len(outcomes)})"
    return f"held at all {len(outcomes)}: {', '.join(outcomes)}"


def _arm(record, side, key):
    arms = record.get("arms") or {}
    return str(arms.get(side, {}).get(key, "not recorded"))


def audit_table(book: Path) -> pd.DataFrame:
    """One row per comparative claim of the book: chapter, claim, arms, parameters and
    budget per arm, seeds, test, margin, interval, verdict, whether it holds, and its
    robustness."""
    path = book / "robustness.json"
    robustness = json.loads(path.read_text()) if path.exists() else {}
    rows = []
    for r in claim_records(book):
        rows.append({
            "chapter": Path(r["notebook"]).stem, "claim": r["claim"],
            "arms (a vs b)": f"{r['a']} vs {r['b']}",
            "parameters": f"{_arm(r, 'a', 'parameters')} / {_arm(r, 'b', 'parameters')}",
            "budget": f"{_arm(r, 'a', 'budget')} / {_arm(r, 'b', 'budget')}",
            "seeds": r["seeds"], "test": r["test"] + (" (stands alone)" if r.get("alone")
                                                      else ""),
            "margin": "none" if r.get("margin") is None else fmt(r["margin"]),
            "interval": f"{r['interval']} ({fmt(100 * r['confidence'])} % CI)",
            "verdict": r["verdict"], "holds": r["holds"],
            "robustness": robustness_of(r, robustness)})
    columns = ["chapter", "claim", "arms (a vs b)", "parameters", "budget", "seeds", "test",
               "margin", "interval", "verdict", "holds", "robustness"]
    return pd.DataFrame(rows, columns=columns)
