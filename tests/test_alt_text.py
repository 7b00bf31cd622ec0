"""Every figure a notebook shows has alt text written for it (cell metadata
mystnb.image.alt, which MyST-NB puts on the <img>): without it the page's alt text is the
image's file path. The browser test checks the built pages too (tools/browser_test.py)."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "book").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts and "_build" not in p.parts)


def missing_alt_text(path: Path) -> list:
    """The figure names (or cell numbers) of shown figures without a real alt text."""
    missing = []
    for number, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell["cell_type"] != "code" or {"remove-output", "remove-cell"} & tags:
            continue
        if not any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            continue
        options = cell["metadata"].get("mystnb", {})
        alt = options.get("image", {}).get("alt", "").strip()
        if len(alt.split()) < 5 or re.search(r"\.(png|svg|jpe?g)\b|[0-9a-f]{16,}", alt):
            missing.append(options.get("figure", {}).get("name", f"cell {number}"))
    return missing


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_has_alt_text(path):
    missing = missing_alt_text(path)
    assert not missing, f"figures without alt text (mystnb.image.alt): {missing}"
