"""`make student`: solutions are stripped, everything else is kept."""
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import student  # noqa: E402


def test_strip_solution_keeps_the_rest():
    source = "x = 1\ndef f(a):\n    # BEGIN SOLUTION\n    return a + x\n    # END SOLUTION\nf(2)"
    out = student.strip_solution(source)
    assert "return a + x" not in out and "x = 1" in out and "f(2)" in out
    assert "    # YOUR CODE HERE\n    raise NotImplementedError" in out
    with pytest.raises(ValueError, match="without"):
        student.strip_solution("# BEGIN SOLUTION\nx = 1")


def test_student_version_drops_solutions_and_outputs():
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("a = 1\n# BEGIN SOLUTION\nb = 2\n# END SOLUTION\ncheck(b)")
    code.metadata["tags"] = ["solution"]
    code.outputs = [nbformat.v4.new_output("stream", text="hi")]
    answer = nbformat.v4.new_markdown_cell("The answer is 2.")
    answer.metadata["tags"] = ["solution"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Lab"), code, answer]
    out = student.student_version(nb)
    assert [c.cell_type for c in out.cells] == ["markdown", "code"]
    assert "b = 2" not in out.cells[1].source and "check(b)" in out.cells[1].source
    assert out.cells[1].outputs == []
    unmarked = nbformat.v4.new_code_cell("x = 1")
    unmarked.metadata["tags"] = ["solution"]
    nb.cells = [unmarked]
    with pytest.raises(ValueError, match="markers"):
        student.student_version(nb)
