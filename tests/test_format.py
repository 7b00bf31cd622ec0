"""Glued numbers read exactly like the tables beside them: one format (mt.fmt) for both."""
import json
import re
from pathlib import Path

import pytest

import mtl_tutor as mt

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "book").rglob("*.ipynb")
                   if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts)
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])")


@pytest.mark.parametrize("value, text", [
    (0.0612, "0.0612"), (13.84, "13.8"), (13.97, "14"), (37184.0, "37200"), (0.5, "0.5"),
    (-0.18, "-0.18"), (1e-5, "0.00001"), (7, "7"), (-0.0, "0"), (0.99996, "1")])
def test_fmt(value, text):
    assert mt.fmt(value) == text


def glued_values(nb):
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            record = out.get("metadata", {}).get("scrapbook", {})
            key = record.get("mime_prefix", "") + "text/plain"
            if record.get("name") and key in out.get("data", {}):
                yield record["name"], "".join(out["data"][key])


def printed_numbers(nb):
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if out.get("metadata", {}).get("scrapbook"):
                continue
            text = "".join(out.get("text", "")) + "".join(
                out.get("data", {}).get("text/plain", ""))
            yield from NUMBER.findall(text)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_glued_numbers_are_formatted_like_the_tables(path):
    nb = json.loads(path.read_text())
    printed = {}
    for token in printed_numbers(nb):
        printed.setdefault(float(token), set()).add(token)
    problems = []
    for name, raw in glued_values(nb):
        text = raw.strip("'\"")
        if not NUMBER.fullmatch(text):
            continue  # words, intervals, lists: checked where they are made
        if raw == text:
            problems.append(f"{name} = {raw} was glued as a number, not through mt.glue")
        elif mt.fmt(float(text)) != text and mt.fmt(int(float(text))) != text:
            problems.append(f"{name} = {text} is not in the book's format ({mt.fmt(float(text))})")
        other = printed.get(float(text), set()) - {text}
        if other:
            problems.append(f"{name} = {text}, but the notebook prints {sorted(other)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_tables_are_not_rounded_by_hand(path):
    """`.round(3)` would print 0.061 where the prose glues 0.0612; setup's format does it."""
    nb = json.loads(path.read_text())
    rounded = [c["source"] for c in nb["cells"] if c["cell_type"] == "code"
               and re.search(r"\.round\(\d\)\s*$", "".join(c["source"]))]
    assert not rounded, f"a displayed table is rounded by hand: {rounded[0][-1]}"
