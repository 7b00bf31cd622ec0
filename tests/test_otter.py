"""The labs exported to otter-grader's format (tools/otter_export.py): one graded question
per implement-then-check exercise, student versions without solutions, and grading that
gives the solutions full marks and the stubs none."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import otter_export  # noqa: E402

LABS = sorted((ROOT / "book" / "labs").glob("lab_*.ipynb"))
OTTER = Path(sys.executable).with_name("otter")
pytestmark = pytest.mark.skipif(not OTTER.exists(), reason="otter-grader is not installed")


def solution_lines(path):
    """The non-trivial lines between BEGIN and END SOLUTION in a lab's solution cells."""
    lines, inside = [], False
    for cell in nbformat.read(path, 4).cells:
        for line in cell.source.splitlines():
            if line.strip() == "# BEGIN SOLUTION":
                inside = True
            elif line.strip() == "# END SOLUTION":
                inside = False
            elif inside and len(line.strip()) > 12:
                lines.append(line.strip())
    return lines


def assign(master, out):
    subprocess.run([str(OTTER), "assign", str(master), str(out)], check=True,
                   capture_output=True, cwd=out.parent)
    return out


def test_every_exercise_becomes_a_question_with_public_and_hidden_tests(tmp_path):
    for master in otter_export.main(tmp_path, LABS):
        lab = nbformat.read(ROOT / "book" / "labs" / master.name, 4)
        exercises = [c for c in lab.cells
                     if c.cell_type == "code" and "solution" in c.metadata.get("tags", [])]
        cells = nbformat.read(master, 4).cells
        raw = [c.source for c in cells if c.cell_type == "raw"]
        assert raw[0].startswith("# ASSIGNMENT CONFIG")
        assert sum(r.startswith("# BEGIN QUESTION") for r in raw) == len(exercises) > 0
        hidden = [c for c in cells if "hidden: true" in c.source]
        assert len(hidden) == len(exercises)
        assert not [c for c in cells if {"remove-cell", "solution"}
                    & set(c.metadata.get("tags", []))]


def test_otter_student_versions_hold_no_solution(tmp_path):
    for master in otter_export.main(tmp_path / "masters", LABS):
        dist = assign(master, tmp_path / f"dist_{master.stem}")
        student = (dist / "student" / master.name).read_text()
        leaked = [line for line in solution_lines(ROOT / "book" / "labs" / master.name)
                  if line in student]
        assert not leaked, (master.name, leaked)


def test_grading_gives_the_solution_full_marks_and_the_stub_none(tmp_path):
    """Lab 4 (the quickest to run) graded locally with otter run, as a course would."""
    lab = ROOT / "book" / "labs" / "lab_tensor.ipynb"
    (master,) = otter_export.main(tmp_path / "masters", [lab])
    dist = assign(master, tmp_path / "dist")
    (zipped,) = (dist / "autograder").glob("*.zip")
    scores = {}
    for kind in ("autograder", "student"):  # the autograder folder holds the solutions
        submission = tmp_path / f"{kind}.ipynb"
        shutil.copy(dist / kind / lab.name, submission)
        out = tmp_path / f"out_{kind}"
        out.mkdir()
        subprocess.run([str(OTTER), "run", "-a", str(zipped), "-o", str(out),
                        str(submission)], check=True, capture_output=True, cwd=tmp_path)
        results = json.loads((out / "results.json").read_text())
        scores[kind] = [(t.get("score"), t.get("max_score")) for t in results["tests"]
                        if t.get("max_score")]
    assert scores["autograder"] and all(s == m for s, m in scores["autograder"])
    assert all(s == 0 for s, _ in scores["student"])
