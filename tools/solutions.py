"""Solutions out, checks in: the student version of a lab notebook.

In a lab notebook, a code cell tagged `solution` has its lines between `# BEGIN SOLUTION`
and `# END SOLUTION` replaced by a stub that stops with a clear message (so the student
sees where to write); a markdown cell tagged `solution` is dropped. The book's hidden
self-checks (code cells tagged `remove-cell`, other than the Colab install cell) are dropped
too: they assert the lab's stored results, which a student's own answers need not reproduce.
All outputs are cleared. Used by tools/reader.py (the reader notebooks of the labs) and
tools/student.py (`make student`).
"""
from colab_cells import MARKER as COLAB_MARKER

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
