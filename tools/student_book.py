"""A student edition of the site: the lab pages carry no solutions, and there is no
instructor guide (its model answers are for teachers).

    python tools/student_book.py     # make student-book -> _build/student-book/_build/html

The book's sources are copied to _build/student-book/; each lab notebook is replaced by its
student version (tools/student.py: solution code stubbed, solution cells, hidden checks and
outputs removed) with its solution blocks cut out of the remaining text, its glued numbers
written in (their cells' outputs are gone) and references to its figures made plain (the
figures are outputs too). The copy is built with the same strict settings, and the built lab
pages are searched for any trace of a solution.
"""
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from reader import fresh_copy, glue_values
from solutions import BEGIN, student_version

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "student-book"
COPY = ["_config.yml", "_toc.yml", "_ext", "_static", "book"]
SOLUTION_BLOCK = re.compile(r"^(`{3,}|:{3,})\{solution\}.*?^\1[ \t]*$\n?", re.M | re.S)
GUIDE = "book/labs/instructor_guide"


def lab_for_students(path: Path):
    """The MyST lab notebook a student may see: no solutions, numbers written in."""
    glued = glue_values(nbformat.read(path, as_version=4))
    nb = student_version(nbformat.read(path, as_version=4))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text = SOLUTION_BLOCK.sub("", cell.source)
            text = re.sub(r"\{glue:text\}`([^`]+)`", lambda m: glued[m.group(1)], text)
            cell.source = re.sub(r"\{numref\}`[^`]+`", "the figure the next cells draw", text)
    nb.cells = [c for c in nb.cells if c.cell_type != "markdown" or c.source.strip()]
    return nb


def write_sources(out: Path) -> None:
    fresh_copy(out, COPY)
    for path in sorted((ROOT / "book" / "labs").glob("*.ipynb")):
        nbformat.write(lab_for_students(path), out / path.relative_to(ROOT))
    (out / f"{GUIDE}.md").unlink()
    toc = out / "_toc.yml"
    toc.write_text(toc.read_text().replace(f"      - file: {GUIDE}\n", ""))
    intro = out / "book" / "intro.md"
    intro.write_text(intro.read_text().replace("{doc}`labs/instructor_guide`",
                                               "instructor guide (in the teachers' edition)"))


def leaks(html: Path) -> list:
    """Lab pages that still show a solution or the instructor guide's page."""
    found = [str(p) for p in (html / "book" / "labs").glob("instructor_guide*.html")]
    for page in sorted((html / "book" / "labs").glob("*.html")):
        text = page.read_text()
        if 'class="solution' in text or BEGIN in text or "Solution to" in text:
            found.append(f"{page.name}: contains a solution")
    return found


if __name__ == "__main__":
    write_sources(OUT)
    subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(OUT), "-W",
                    "-n", "--keep-going", "-q"], check=True)
    found = leaks(OUT / "_build" / "html")
    if found or not list((OUT / "_build" / "html" / "book" / "labs").glob("lab_*.html")):
        sys.exit(f"student book: solutions visible: {found or 'no lab pages built'}")
    print(f"student book: {OUT / '_build' / 'html'}; the lab pages contain no solution")
