"""`make student`: solutions are stripped, everything else is kept."""
import re
import subprocess
import sys
import venv
from importlib import metadata
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
    code.outputs = [nbformat.v4.new_output("stream", text="hi")]
    answer = nbformat.v4.new_markdown_cell("The answer is 2.")
    answer.metadata["tags"] = ["solution"]
    code.metadata["tags"] = ["solution", "hide-input"]
    colab = nbformat.v4.new_code_cell(student.COLAB_MARKER + "\nimport sys")
    colab.metadata["tags"] = ["remove-cell"]
    self_check = nbformat.v4.new_code_cell("assert b == 2")
    self_check.metadata["tags"] = ["remove-cell"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Lab"), colab, code, answer, self_check]
    out = student.student_version(nb)
    assert [c.cell_type for c in out.cells] == ["markdown", "code", "code"]
    assert out.cells[1].source.startswith(student.COLAB_MARKER)
    assert "b = 2" not in out.cells[2].source and "check(b)" in out.cells[2].source
    assert out.cells[2].outputs == [] and out.cells[2].metadata["tags"] == ["solution"]
    unmarked = nbformat.v4.new_code_cell("x = 1")
    unmarked.metadata["tags"] = ["solution"]
    nb.cells = [unmarked]
    with pytest.raises(ValueError, match="markers"):
        student.student_version(nb)


ROOT = Path(__file__).resolve().parents[1]
LABS = sorted((ROOT / "book" / "labs").glob("*.ipynb"))


def test_there_are_four_labs_with_a_plan_and_exercises():
    assert len(LABS) >= 4
    for path in LABS:
        nb = nbformat.read(path, as_version=4)
        plan = nb.cells[0].source
        for part in ("Learning objectives", "Prerequisites:", "Time:"):
            assert part in plan, f"{path.name}: the first cell needs {part!r}"
        sources = [c.source for c in nb.cells]
        assert any("{exercise}" in s for s in sources) and any("{solution}" in s for s in sources)
        assert any("solution" in c.metadata.get("tags", []) for c in nb.cells if
                   c.cell_type == "code"), f"{path.name} has nothing for students to implement"


def _check_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and "labs.check_" in c.source]


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.name)
def test_the_full_lab_passes_every_check(path):
    """The stored outputs (which nbval proves current) show every check passing."""
    checks = _check_cells(nbformat.read(path, as_version=4))
    assert checks, f"{path.name} calls no check from mtl_tutor.labs"
    for cell in checks:
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert printed.startswith("Correct:"), f"{path.name}: {cell.source!r} printed {printed!r}"


@pytest.mark.slow
@pytest.mark.parametrize("path", LABS, ids=lambda p: p.name)
def test_student_version_runs_up_to_its_first_exercise(path):
    from nbclient import NotebookClient

    nb = student.student_version(nbformat.read(path, as_version=4))
    first = next(i for i, c in enumerate(nb.cells)
                 if c.cell_type == "code" and student.STUB in c.source)
    after = nb.cells[first + 1]
    with_check = after.cell_type == "code" and "labs.check_" in after.source
    nb.cells = nb.cells[:first + (2 if with_check else 1)]
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [(i, o.ename) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert all(i >= first and name == "NotImplementedError" for i, name in errors), errors
    if with_check:  # the unanswered exercise gets a hint, not a traceback
        printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs
                          if o.output_type == "stream")
        assert "Not yet: no answer yet" in printed


def test_every_prediction_exercise_has_a_cell_for_the_prediction_kept_for_students():
    for path in LABS:
        nb = nbformat.read(path, as_version=4)
        student_cells = student.student_version(nbformat.read(path, as_version=4)).cells
        kept = sum("prediction" in c.metadata.get("tags", []) for c in student_cells)
        predictions = 0
        for cell, after in zip(nb.cells, nb.cells[1:]):
            if cell.cell_type == "markdown" and "{exercise} Predict, then run" in cell.source:
                predictions += 1
                assert "prediction" in after.metadata.get("tags", []), \
                    f"{path.name}: no prediction cell after {cell.source[:60]!r}"
                assert after.source.startswith("**Your prediction**")
        assert kept == predictions, path.name


def test_the_student_site_has_no_solutions(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    import student_book

    for path in LABS:
        nb = student_book.lab_for_students(path)
        text = "\n".join(c.source for c in nb.cells)
        for marker in ("{solution}", student.BEGIN, "{glue:text}", "{numref}"):
            assert marker not in text, f"{path.name}: {marker}"
        assert student.STUB in text and "{exercise}" in text
    labs = tmp_path / "book" / "labs"
    labs.mkdir(parents=True)
    (labs / "lab_a.html").write_text("<p>Exercise</p><pre># YOUR CODE HERE</pre>")
    assert student_book.leaks(tmp_path) == []
    (labs / "lab_b.html").write_text('<div class="solution dropdown admonition">x</div>')
    (labs / "instructor_guide.html").write_text("model answers")
    assert len(student_book.leaks(tmp_path)) == 2


def installed_closure(name: str) -> set:
    """The top-level files and folders of distribution `name` and of everything it
    requires (without extras), as installed in this environment."""
    seen, todo, tops = set(), [name], set()
    while todo:
        dist = metadata.distribution(todo.pop())
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        for requirement in dist.requires or []:
            if "extra ==" not in requirement:
                todo.append(re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0])
        for file in dist.files or []:
            first = file.parts[0]
            if not first.endswith(".pth") and first != "..":  # with .dist-info
                tops.add(Path(dist.locate_file(first)))
    return tops


def test_make_student_needs_only_three_small_packages(tmp_path):
    """A teacher without the book's environment: a venv holding only nbformat, PyYAML and
    pybtex (and what they need, linked from this environment, so nothing is downloaded)
    makes the student versions: no torch, no Jupyter (the Makefile's STUDENT_NEEDS)."""
    needs = re.search(r"^STUDENT_NEEDS := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert needs and needs.group(1).split() == ["nbformat", "pyyaml", "pybtex"]
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    tops = set().union(*(installed_closure(name) for name in needs.group(1).split()))
    assert not {top.name for top in tops} & {"torch", "ipykernel", "jupyterlab", "notebook"}
    for top in tops:
        (site / top.name).symlink_to(top)
    out = tmp_path / "class"
    result = subprocess.run([str(python), str(ROOT / "tools" / "student.py"), str(out)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    labs = sorted(p.name for p in (ROOT / "book" / "labs").glob("lab_*.ipynb"))
    assert sorted(p.name for p in out.glob("*.ipynb")) == labs
    # this repository's _config.yml still names the template's addresses: said clearly
    placeholder = "mtl-tutor/mtl-course-book" in (ROOT / "_config.yml").read_text()
    assert ("WARNING" in result.stderr and "placeholder" in result.stderr) == placeholder
