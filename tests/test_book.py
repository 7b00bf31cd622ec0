"""Structural checks of the book: every notebook is listed, stored with outputs, installs
mtl_tutor on Colab from the configured repository, and backs its claims."""
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab_cells  # noqa: E402

NOTEBOOKS = colab_cells.notebooks()
TOC = (ROOT / "_toc.yml").read_text()


def load(path):
    return json.loads(path.read_text())


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def test_there_are_notebooks():
    assert NOTEBOOKS, "book/ has no notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_in_the_table_of_contents(path):
    assert str(path.relative_to(ROOT).with_suffix("")) in TOC


def test_colab_cells_match_the_configured_repository():
    stale = colab_cells.stale(colab_cells.repository_url())
    assert not stale, f"run `make colab-cells`: stale Colab cells in {stale}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_with_outputs_and_no_errors(path):
    cells = code_cells(load(path))
    assert any(c["outputs"] for c in cells), "execute it (make execute) and commit the outputs"
    errors = [o for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors
    # A warning in a stored output shows the reader a problem and carries this machine's
    # paths, which nbval then compares on another checkout.
    warnings = ["".join(o["text"])[:200] for c in cells for o in c["outputs"]
                if o.get("name") == "stderr" and "Warning" in "".join(o["text"])]
    assert not warnings, f"fix the warning and re-execute: {warnings}"


NOT_CHAPTERS = {"status.ipynb", "audit.ipynb"}  # pages that show records
CHAPTERS = [p for p in NOTEBOOKS if "labs" not in p.parts and p.name not in NOT_CHAPTERS]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_conventions(path):
    nb = load(path)
    first = "".join(nb["cells"][0]["source"])
    assert first.startswith("# "), "a chapter starts with its title"
    assert re.search(r"\*\*Time:\*\*", first) and re.search(r"\*\*Prerequisites:\*\*", first)
    source = "".join("".join(c["source"]) for c in code_cells(nb))
    assert "mt.setup(" in source and "glue(" in source
    hidden_checks = [c for c in code_cells(nb) if "remove-cell" in c["metadata"].get("tags", [])
                     and re.search(r"mt\.assert_claim\(|\.check\(\)", "".join(c["source"]))]
    assert hidden_checks, ("claims in the prose need a hidden (remove-cell) check: "
                           "mt.assert_claim, or mt.Claims' check()")
    glued = set(re.findall(r'glue\(\s*"([^"]+)"', source))
    prose = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    used = set(re.findall(r"\{glue:text\}`([^`:]+)", prose))
    assert used <= glued, f"prose uses unglued names {used - glued}"
    assert glued <= used, f"glued but never used in the prose: {glued - used}"
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    headings = re.findall(r"^## (Summary|Exercises|Further reading)\b", markdown, re.M)
    assert headings[-2:] == ["Summary", "Exercises"] or \
        headings[-3:] == ["Summary", "Exercises", "Further reading"], \
        f"a chapter ends Summary, Exercises (then Further reading): {headings}"
    figures = [c for c in code_cells(nb) if any("image/png" in o.get("data", {})
                                                for o in c["outputs"])
               and not {"remove-output", "remove-cell"} & set(c["metadata"].get("tags", []))]
    for cell in figures:
        figure = cell["metadata"].get("mystnb", {}).get("figure", {})
        assert figure.get("caption") and figure.get("name"), "every figure needs a caption"
        assert f"{{numref}}`{figure['name']}`" in prose, f"{figure['name']} is never referred to"


def test_every_notebook_has_a_recorded_execution_time():
    times = json.loads((ROOT / "book" / "execution_times.json").read_text())["notebooks"]
    timed = {Path(p).name for p in times}
    assert {p.name for p in NOTEBOOKS} - NOT_CHAPTERS <= timed, "run make execute"


CODE_WIDTH = 88  # characters: what fits a code block at 1280 px in 11.7 px type (custom.css)


def fenced_code(markdown: str) -> list:
    """The lines of the prose's code blocks, fenced or indented, also inside MyST
    directives ({exercise}, {solution}, ...), except ```text blocks (which wrap:
    custom.css)."""
    lines, stack = [], []  # open fences: (backticks, is code, is checked)
    for line in markdown.splitlines():
        if stack and line.strip() == stack[-1][0]:
            stack.pop()
            continue
        if stack and stack[-1][1]:
            if stack[-1][2]:
                lines.append(line)
            continue
        opening = re.match(r"^\s*(`{3,})(\S*)", line)
        if opening:
            marks, info = opening.groups()
            code = not info.startswith("{")
            stack.append((marks, code, code and info != "text"))
        elif line.startswith("    "):  # an indented code block
            lines.append(line[4:])
    return lines


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_visible_code_fits_the_page(path):
    """Code a reader sees (code cells that are not removed, and code blocks in the prose)
    has no line longer than CODE_WIDTH: nothing to scroll sideways in the online book."""
    long = []
    for cell in load(path)["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code":
            if {"remove-cell", "remove-input"} & set(cell["metadata"].get("tags", [])):
                continue
            lines = source.splitlines()
        else:
            lines = fenced_code(source)
        long += [line for line in lines if len(line) > CODE_WIDTH]
    assert not long, f"lines over {CODE_WIDTH} characters (wrap them): {long[:5]}"


@pytest.mark.parametrize("path", sorted((ROOT / "book").rglob("*.md")), ids=lambda p: p.name)
def test_code_blocks_of_the_pages_fit_the_page(path):
    long = [line for line in fenced_code(path.read_text()) if len(line) > CODE_WIDTH]
    assert not long, f"lines over {CODE_WIDTH} characters (wrap them): {long[:5]}"


def list_markers_in_maths(markdown: str) -> list:
    """Prose lines that begin with "+ " or "* " and hold maths: MyST reads such a line as
    a list item, which splits a formula wrapped onto it (a '+' that starts a line of a sum)."""
    found, fences = [], []
    for line in markdown.split("\n"):
        stripped = line.strip()
        if stripped.startswith("```"):  # code fences hide their lines; directives do not
            if stripped == "```" and fences:
                fences.pop()
            else:
                fences.append("directive" if stripped.startswith("```{") else "code")
            continue
        if "code" not in fences and re.match(r"[+*] ", line) and "$" in line:
            found.append(line)
    return found


def test_the_list_marker_finder_finds_a_split_sum():
    sum_split = "```{solution} ex\nTucker: $K_1 K_2\n+ D_1 K_1 = 296$.\n```"
    assert list_markers_in_maths(sum_split) == ["+ D_1 K_1 = 296$."]
    assert list_markers_in_maths("- a bullet with $x$\n```python\n+ $x$\n```") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_formula_is_split_by_a_list_marker(path):
    found = [line for cell in load(path)["cells"] if cell["cell_type"] == "markdown"
             for line in list_markers_in_maths("".join(cell["source"]))]
    assert not found, f"lines that MyST reads as list items inside maths (rewrap them): {found}"
