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


@pytest.mark.parametrize("name", ["lab_tensor", "lab_linear"])
def test_grading_gives_the_solution_full_marks_and_the_stub_none(tmp_path, name):
    """Labs 4 and 6 (the quickest to run) graded locally with otter run, as a course
    would."""
    lab = ROOT / "book" / "labs" / f"{name}.ipynb"
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


# Lab 1's exercises answered wrongly, one mistake each, that the old export scored (a head
# shared by all tasks passed both of its tests).
WRONG_LAB1 = {
    "def total_loss": '''def total_loss(tasks, preds, targets):
    losses = [mt.losses.task_loss(t, preds[t.name], targets[t.name]) for t in tasks]
    return sum(losses) / len(tasks)  # a mean over tasks, not the sum
''',
    "class HardSharingNet": '''class HardSharingNet(nn.Module):
    def __init__(self, n_features, hidden, tasks):
        super().__init__()
        self.tasks = list(tasks)
        self.trunk = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, 1)  # one head shared by every task

    def forward(self, x):
        out = self.head(self.trunk(x)).squeeze(-1)
        return {t.name: out for t in self.tasks}
''',
    "def l2_penalty": '''def l2_penalty(layers):
    total = 0.0
    for layer in layers.modules():
        if isinstance(layer, mt.TaskLinear):
            w = layer.weight.flatten(1)
            total = total + (w[:, None] - w[None]).pow(2).sum()  # every pair twice
    return total
''',
}


def _graded(zipped, notebook, tmp_path, kind):
    submission = tmp_path / f"{kind}.ipynb"
    nbformat.write(notebook, submission)
    out = tmp_path / f"out_{kind}"
    out.mkdir()
    subprocess.run([str(OTTER), "run", "-a", str(zipped), "-o", str(out), str(submission)],
                   check=True, capture_output=True, cwd=tmp_path)
    results = json.loads((out / "results.json").read_text())
    return {t["name"]: (t.get("score"), t.get("max_score")) for t in results["tests"]
            if t.get("max_score")}


def test_grading_in_the_books_environment_scores_right_and_wrong_answers(tmp_path):
    """Lab 1 exported, assigned and graded with `otter run` in this environment (which has
    torch and mtl_tutor): the model answers get every point; answers with one mistake each
    get none, although the old export gave the shared head its point. The lab's slow
    experiments are left out of the submissions: only its exercises are graded."""
    lab = ROOT / "book" / "labs" / "lab_sharing.ipynb"
    (master,) = otter_export.main(tmp_path / "masters", [lab])
    dist = assign(master, tmp_path / "dist")
    (zipped,) = (dist / "autograder").glob("*.zip")
    full = nbformat.read(dist / "autograder" / lab.name, 4)  # the model answers
    answers = [c for c in full.cells if "otter_assign_solution_cell"
               in c.metadata.get("tags", [])]
    assert len(answers) == len(WRONG_LAB1)
    first = full.cells.index(answers[0])
    keep = [c for i, c in enumerate(full.cells) if c.cell_type == "code" and (
        i < first or c in answers or c.source.startswith(("grader.check", "labs.check",
                                                           "HIDDEN = ")))]
    right = nbformat.v4.new_notebook(cells=keep, metadata=full.metadata)
    scores = _graded(zipped, right, tmp_path, "right")
    assert len(scores) == len(answers) and all(s == m for s, m in scores.values()), scores

    wrong = nbformat.from_dict(right)
    for cell in wrong.cells:
        for start, code in WRONG_LAB1.items():
            if cell.source.startswith(start):
                cell.source = code
    scores = _graded(zipped, wrong, tmp_path, "wrong")
    assert len(scores) == len(answers) and all(s <= 0 for s, _ in scores.values()), scores


# Lab 5's exercises answered wrongly, one classic mistake each.
WRONG_LAB5 = {
    "def uncertainty_loss": '''def uncertainty_loss(losses, log_var):
    return (0.5 * torch.exp(-log_var) * losses).sum()  # the log sigma term left out
''',
    "def project": '''def project(grads):
    out = grads.clone()
    for t in range(len(grads)):
        for s in range(len(grads)):
            if s != t:  # projects every pair, conflicting or not
                dot = out[t] @ grads[s]
                out[t] = out[t] - dot / grads[s].pow(2).sum() * grads[s]
    return out
''',
    "def delta_m": '''def delta_m(errors, reference):
    return sum((errors[t] - reference[t]) / errors[t] for t in reference) / len(reference)
''',
}


def test_lab_weighting_grades_right_and_wrong_answers(tmp_path):
    """Lab 5 exported, assigned and graded with `otter run`, its exercises only (the
    comparison of Part 4 is left out of the submissions): the model answers get every
    point, answers with one mistake each get none."""
    lab = ROOT / "book" / "labs" / "lab_weighting.ipynb"
    (master,) = otter_export.main(tmp_path / "masters", [lab])
    dist = assign(master, tmp_path / "dist")
    (zipped,) = (dist / "autograder").glob("*.zip")
    full = nbformat.read(dist / "autograder" / lab.name, 4)
    answers = [c for c in full.cells if "otter_assign_solution_cell"
               in c.metadata.get("tags", [])]
    assert len(answers) == len(WRONG_LAB5)
    first = full.cells.index(answers[0])
    keep = [c for i, c in enumerate(full.cells) if c.cell_type == "code" and (
        i < first or c in answers or c.source.startswith(("grader.check", "labs.check")))]
    right = nbformat.v4.new_notebook(cells=keep, metadata=full.metadata)
    scores = _graded(zipped, right, tmp_path, "right")
    assert len(scores) == len(answers) and all(s == m for s, m in scores.values()), scores
    wrong = nbformat.from_dict(right)
    for cell in wrong.cells:
        for start, code in WRONG_LAB5.items():
            if cell.source.startswith(start):
                cell.source = code
    scores = _graded(zipped, wrong, tmp_path, "wrong")
    assert len(scores) == len(answers) and all(s <= 0 for s, _ in scores.values()), scores
