"""The autograder zip's own environment, as Gradescope or `otter grade` would build it: Lab 4
exported and assigned (tools/otter_export.py), its zip unpacked, and a fresh venv (no system
site packages, none of the book's) given only what the zip's environment.yml names: its
conda packages besides Python and pip (jupyter_server), then its pip list (otter-grader,
torch's CPU build, mtl_tutor from the source archive inside the zip), installed from the
zip's top level as setup.sh's `mamba env create` does. `otter run` in that venv, offline,
then grades the lab's model answers (every point) and answers with one mistake in each
question (no point).

It installs from the package index for minutes, so `make test` skips it:
`make otter-env-test` (run by .ci/run) sets OTTER_ENV_TEST=1 and runs it.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import otter_export  # noqa: E402

LAB = ROOT / "book" / "labs" / "lab_tensor.ipynb"
OTTER = Path(sys.executable).with_name("otter")
pytestmark = [
    pytest.mark.skipif(not os.environ.get("OTTER_ENV_TEST"),
                       reason="minutes of installing: `make otter-env-test` runs it"),
    pytest.mark.skipif(not OTTER.exists(), reason="otter-grader is not installed")]

# One classic mistake per question of Lab 4 (each fails its public or its hidden test).
WRONG = {
    "def mean_cosine": '''def mean_cosine(M):
    columns = torch.nn.functional.normalize(M, dim=0)
    return (columns.T @ columns).mean().item()  # the diagonal's ones counted too
''',
    "def auc": '''def auc(positive, negative):
    return (positive[:, None] > negative[None]).float().mean().item()  # ties count 0
''',
    "def laf_factors": '''def laf_factors(W, threshold):
    U, s, Vh = torch.linalg.svd(W, full_matrices=False)
    k = 1
    while s[k:].pow(2).sum() > threshold**2 * s.pow(2).sum():
        k += 1
    return U[:, :k], s[:k, None] * Vh[:k]  # Sigma put into S: S is not orthonormal
''',
}


def clean_environment() -> dict:
    """The caller's environment without the book's venv, pins and kernels."""
    sys.path.insert(0, str(ROOT))
    from mtl_tutor.book import STRICT_ENV
    from mtl_tutor.numerics import PINS
    drop = set(PINS) | {STRICT_ENV, "VIRTUAL_ENV", "PYTHONPATH", "JUPYTER_PATH"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def zip_environment(source: Path) -> list:
    """The requirement lines of the unpacked zip's environment.yml: its conda packages
    besides Python and pip, then its pip list."""
    env = yaml.safe_load((source / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    python = next(d for d in conda if d.startswith("python="))
    assert python == f"python={sys.version_info[0]}.{sys.version_info[1]}", python
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return [d for d in conda if d.split("=")[0] not in ("python", "pip")] + pip


def graded(venv: Path, zipped: Path, notebook, folder: Path, kind: str) -> dict:
    submission = folder / f"{kind}.ipynb"
    nbformat.write(notebook, submission)
    out = folder / f"out_{kind}"
    out.mkdir()
    done = subprocess.run(
        [str(ROOT / "tools" / "offline.sh"), str(venv / "bin" / "otter"), "run", "-a",
         str(zipped), "-o", str(out), str(submission)],
        capture_output=True, text=True, cwd=folder, env=clean_environment())
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    return {t["name"]: (t.get("score"), t.get("max_score")) for t in results["tests"]
            if t.get("max_score")}


def test_the_zips_own_environment_grades_right_and_wrong_answers(tmp_path):
    (master,) = otter_export.main(tmp_path / "masters", [LAB])
    zipped = otter_export.assign(master, tmp_path / "dist")
    source = tmp_path / "autograder" / "source"  # where Gradescope unpacks the zip
    with zipfile.ZipFile(zipped) as z:
        z.extractall(source)
    lines = zip_environment(source)
    assert any(line.startswith("otter-grader") for line in lines), lines
    (source / "from_environment.txt").write_text("\n".join(lines) + "\n")

    started = time.perf_counter()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                   env=clean_environment())
    # Where PyTorch's index (named for torch's CPU build) is out of reach, as on a machine
    # that reaches only the package index, no retries: pip then passes it by at once
    # instead of backing off for every package, and takes torch 2.13.0+cpu from the
    # index it reaches (or fails, which the test reports)
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                           "-r", "from_environment.txt"], cwd=source, capture_output=True,
                          text=True, env={**clean_environment(), "PIP_RETRIES": "0"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(f"fresh venv from the zip's requirements: {time.perf_counter() - started:.0f} s")
    freeze = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "freeze"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert "torch==2.13.0+cpu" in freeze, freeze
    assert any(p.startswith("mtl_tutor") or p.startswith("mtl-tutor") for p in freeze)
    assert not any(p.startswith("nvidia") for p in freeze), freeze

    dist = tmp_path / "dist" / "autograder"
    right = nbformat.read(dist / LAB.name, 4)  # the model answers, the whole lab
    started = time.perf_counter()
    scores = graded(venv, zipped, right, tmp_path, "right")
    print(f"model answers graded: {scores} ({time.perf_counter() - started:.0f} s)")
    assert len(scores) == len(WRONG) and all(s == m for s, m in scores.values()), scores

    # The exercises only (the lab's experiments left out), each answered wrongly.
    answers = [c for c in right.cells
               if "otter_assign_solution_cell" in c.metadata.get("tags", [])]
    first = right.cells.index(answers[0])
    keep = [c for i, c in enumerate(right.cells) if c.cell_type == "code" and (
        i < first or c in answers or c.source.startswith(("grader.check", "labs.check")))]
    wrong = nbformat.v4.new_notebook(cells=keep, metadata=right.metadata)
    replaced = 0
    for cell in wrong.cells:
        for start, code in WRONG.items():
            if cell.source.startswith(start):
                cell.source, replaced = code, replaced + 1
    assert replaced == len(WRONG) == len(answers)
    scores = graded(venv, zipped, wrong, tmp_path, "wrong")
    print(f"wrong answers graded: {scores}")
    assert len(scores) == len(WRONG) and all(s <= 0 for s, _ in scores.values()), scores
    shutil.rmtree(venv)
