"""The audit of the book's comparative claims: every claim's record, read from the stored
outputs of the notebooks (`Claims.check` writes them), with how it fared in the last
robustness run (book/robustness.json, written by `make robustness`). Withdrawn claims
(declared, tested, not confirmed) are listed too, marked with why."""
import json
from pathlib import Path

import pandas as pd

from .book import fmt
from .claims import RECORD_KEY, last_robustness_run, robustness_of


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


def _arm(record, side, key):
    arms = record.get("arms") or {}
    return str(arms.get(side, {}).get(key, "not recorded"))


def audit_table(book: Path) -> pd.DataFrame:
    """One row per comparative claim of the book: chapter, claim, arms, parameters and
    budget per arm, seeds, test, margin, interval, verdict, whether it holds, its
    robustness, and "withdrawn": "no", or why it was withdrawn."""
    robustness = last_robustness_run(book)
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
            "robustness": robustness_of(Path(r["notebook"]).stem, r["claim"], robustness),
            "withdrawn": r.get("withdrawn") or "no"})
    columns = ["chapter", "claim", "arms (a vs b)", "parameters", "budget", "seeds", "test",
               "margin", "interval", "verdict", "holds", "robustness", "withdrawn"]
    return pd.DataFrame(rows, columns=columns)
