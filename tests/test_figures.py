"""Figures a reader can read: no text smaller than 8 pt in the book's figure code, so that
at 100 dpi and the scale the browser test allows (tools/browser_test.py) text stays >= 9 px,
and colours from a palette that colour-blind readers can tell apart."""
import re
from pathlib import Path

import matplotlib as mpl
import nbformat

import mtl_tutor as mt

ROOT = Path(__file__).resolve().parents[1]
SMALLEST_PT = 8
SIZES = re.compile(r"(?:fontsize|labelsize|titlesize)\s*=\s*([0-9.]+|\"[a-z-]+\"|'[a-z-]+')")
NAMED = {"xx-small": 5.79, "x-small": 6.94, "small": 8.33}  # at matplotlib's 10 pt default


def figure_code():
    for path in sorted((ROOT / "book").rglob("*.ipynb")):
        if "_build" in path.parts or ".ipynb_checkpoints" in path.parts:
            continue
        for cell in nbformat.read(path, 4).cells:
            if cell.cell_type == "code":
                yield path.name, cell.source
    for path in sorted((ROOT / "mtl_tutor").rglob("*.py")):
        yield path.name, path.read_text()


def test_no_text_smaller_than_eight_points():
    small = []
    for name, code in figure_code():
        for size in SIZES.findall(code):
            points = NAMED.get(size.strip("\"'"), None) if size[0] in "\"'" else float(size)
            if points is not None and points < SMALLEST_PT:
                small.append(f"{name}: {size}")
    assert not small, f"text below {SMALLEST_PT} pt (below 9 px when shown): {small}"


def test_the_book_draws_with_a_colour_blind_safe_palette():
    mt.setup(seed=0, verbose=False)
    colours = [c.lower() for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert colours[:8] == [c.lower() for c in mt.plots.PALETTE]
    assert mpl.rcParams["font.size"] >= 10
