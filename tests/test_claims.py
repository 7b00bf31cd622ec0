"""Hidden checks test claims, not one draw: a comparison is an interval or a sign test.

A static reading of every hidden (remove-cell) check: the patterns below compare means or
count wins without any interval, which a different seed can flip."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "book").rglob("*.ipynb")
                   if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts)
BARE_ORDERINGS = {
    "the best of a table of means (idxmin/idxmax)": re.compile(r"\.idx(min|max)\(\)"),
    "a count of wins against a fixed number": re.compile(r"wins\w*(\[[^\]]*\])?\s*>=?\s*\d"),
    "an ordering of two means": re.compile(r"\.mean\(\)[^\n,]*[<>][^\n,]*\.mean\(\)"),
}


def hidden_checks(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "remove-cell" in cell["metadata"].get("tags", []):
            source = "".join(cell["source"])
            for line in source.splitlines():
                if line.lstrip().startswith("assert"):
                    yield line


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_hidden_checks_do_not_compare_bare_means(path):
    found = [f"{what}: {line.strip()}" for line in hidden_checks(path)
             for what, pattern in BARE_ORDERINGS.items() if pattern.search(line)]
    assert not found, "\n".join(found)


def test_the_patterns_catch_what_they_should():
    assert BARE_ORDERINGS["a count of wins against a fixed number"].search("assert wins >= 3")
    assert BARE_ORDERINGS["the best of a table of means (idxmin/idxmax)"].search(
        'assert e.idxmin() == "STL"')
    assert BARE_ORDERINGS["an ordering of two means"].search("assert a.mean() < b.mean()")
    assert not any(p.search("assert cmp.lower, str(cmp)") for p in BARE_ORDERINGS.values())
