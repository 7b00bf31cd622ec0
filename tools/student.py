"""Write student versions of the lab notebooks: solutions removed, checks kept.

    python tools/student.py [OUT_DIR]     # default: student/

In a lab notebook, a code cell tagged `solution` has its lines between `# BEGIN SOLUTION`
and `# END SOLUTION` replaced by a stub that stops with a clear message (so the student
sees where to write); a markdown cell tagged `solution` is dropped. The book's hidden
self-checks (code cells tagged `remove-cell`, other than the Colab install cell) are dropped
too: they assert the lab's stored results, which a student's own answers need not reproduce.
All outputs are cleared. `make student` writes them as plain notebooks (tools/reader.py: no
MyST markup, numbered exercises), the same files as the `notebooks` branch's labs.
"""
import sys
from pathlib import Path

import nbformat
from colab_cells import MARKER as COLAB_MARKER

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
STUB = 'raise NotImplementedError("Exercise: write your answer here, then run the check.")'


def strip_solution(source: str) -> str:
    out, inside = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f"{indent}{STUB}")
        elif line.strip() == END:
            if not inside:
                raise ValueError(f"{END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} without {END}")
    return "\n".join(out)


def student_version(nb):
    cells = []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "remove-cell" in tags and cell.cell_type == "code" and \
                not cell.source.startswith(COLAB_MARKER):
            continue
        if "solution" in tags:
            if cell.cell_type == "markdown":
                continue
            if BEGIN not in cell.source:
                raise ValueError("a code cell tagged 'solution' needs # BEGIN SOLUTION / "
                                 f"# END SOLUTION markers:\n{cell.source[:200]}")
            cell.source = strip_solution(cell.source)
            cell.metadata["tags"] = [t for t in tags if t != "hide-input"]  # students see it
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    nb.cells = cells
    return nb


def main(out_dir: Path) -> list:
    from reader import reader_notebook  # reader builds on this module

    written = []
    for path in sorted((ROOT / "book" / "labs").glob("*.ipynb")):
        nb = reader_notebook(path, student=True)
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out_dir / path.name)
        written.append(out_dir / path.name)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "student"
    for path in main(target):
        print(path)
