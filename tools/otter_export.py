"""The labs in otter-grader's assignment format, for courses that grade.

    python tools/otter_export.py OUT_DIR [LAB ...]    # default: every lab in book/labs

For each lab, OUT_DIR/<lab>.ipynb is an Otter Assign master notebook: the lab as readers see
it (plain Markdown, tools/reader.py), in which every implement-then-check exercise becomes a
graded question of one point: the solution cell (its BEGIN / END SOLUTION lines become
Otter's `...` prompt), a public test (the lab's own check must say "Correct") and a hidden
test on other inputs. The answers to "predict, then run" and the book's hidden self-checks
are left out. Then, with `pip install otter-grader`:

    otter assign OUT_DIR/lab_sharing.ipynb dist/        # student and autograder versions
    otter run -a dist/autograder/<zip> submission.ipynb  # grade one submission, no Docker

The formative checks of `mtl_tutor.labs` stay in the notebooks as they are.
"""
import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_raw_cell
from reader import ROOT, reader_notebook

CONFIG = """# ASSIGNMENT CONFIG
name: {name}
init_cell: false
check_all_cell: false
export_cell: false
generate: true
run_tests: false"""

# Hidden tests, on inputs the labs' checks do not use; ANSWER is the student's function.
HIDDEN = {
    "check_total_loss": """import torch
import mtl_tutor as mt
_g = torch.Generator().manual_seed(123)
_tasks = [mt.Task("u"), mt.Task("v", "binary"), mt.Task("w")]
_p = {t.name: torch.randn(16, generator=_g) for t in _tasks}
_y = {"u": torch.randn(16, generator=_g), "w": 3 * torch.randn(16, generator=_g),
      "v": (torch.rand(16, generator=_g) > 0.5).float()}
_want = sum(mt.losses.task_loss(t, _p[t.name], _y[t.name]) for t in _tasks)
assert torch.isclose(torch.as_tensor(ANSWER(_tasks, _p, _y)), _want)""",
    "check_pairwise_penalty": """import torch
import mtl_tutor as mt
from mtl_tutor.penalties import pairwise_l2, stacked_weights
_ = torch.manual_seed(321)
_layers = mt.single_task_nets(3, (4, 2), [mt.Task(n) for n in "xyz"]).branches
_want = sum(pairwise_l2(w) for w in stacked_weights(_layers))
assert torch.isclose(torch.as_tensor(ANSWER(_layers)), _want)""",
    "check_gradient_reversal": """import torch
_x = torch.randn(5, 2, requires_grad=True)
ANSWER(_x, 2.0).sum().backward()
assert torch.allclose(_x.grad, torch.full_like(_x, -2.0))""",
    "check_shuffle": """import torch
_y = torch.arange(30.0)
_s = ANSWER(_y, 7)
assert sorted(_s.tolist()) == _y.tolist() and torch.equal(_s, ANSWER(_y, 7))""",
    "check_mean_cosine": """import torch
import mtl_tutor as mt
_M = torch.randn(4, 6, generator=torch.Generator().manual_seed(5))
assert abs(float(ANSWER(_M)) - mt.tensors.mean_cosine(_M)) < 1e-5""",
    "check_head_outputs": """_x = data.test.x[:7] if data.test.shared_inputs else data.test.x[:, :7]
_out = ANSWER(_x)
assert all(len(_out[name]) == 7 for name in data.names)""",
}
CHECK = re.compile(r"^labs\.(check_\w+)\((.+)\)\s*$")
# Otter's tests compare printed output (doctest), so the check's message is kept quiet.
PUBLIC = """import contextlib
import io
with contextlib.redirect_stdout(io.StringIO()):
    _verdict = labs.{check}({args})
assert _verdict"""


def question(name: str, solution, check: str, args: str) -> list:
    """The cells of one graded question: solution, public test, hidden test."""
    answer = args.split(",")[0].strip()
    hidden = '""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG\n'
    solution = nbformat.from_dict(solution)
    solution.metadata["tags"] = []
    return [new_raw_cell(f"# BEGIN QUESTION\nname: {name}\npoints: 1"),
            new_raw_cell("# BEGIN SOLUTION"), solution, new_raw_cell("# END SOLUTION"),
            new_raw_cell("# BEGIN TESTS"),
            new_code_cell(PUBLIC.format(check=check, args=args)),
            new_code_cell(hidden + HIDDEN[check].replace("ANSWER", answer)),
            new_raw_cell("# END TESTS"), new_raw_cell("# END QUESTION")]


def master(path: Path) -> nbformat.NotebookNode:
    """The Otter Assign master notebook of one lab."""
    nb = reader_notebook(path, student=False)
    cells, count = [new_raw_cell(CONFIG.format(name=path.stem))], 0
    for i, cell in enumerate(nb.cells):
        tags = set(cell.metadata.get("tags", []))
        if "remove-cell" in tags or cell.source.startswith("> **Student version**"):
            continue  # the Colab install, the book's self-checks, the banner
        if cell.cell_type == "markdown" and "solution" in tags:
            continue  # the answers to "predict, then run"
        following = nb.cells[i + 1].source.strip() if i + 1 < len(nb.cells) else ""
        check = CHECK.match(following.splitlines()[-1] if following else "")
        if cell.cell_type == "code" and "solution" in tags:
            if not check or check.group(1) not in HIDDEN:
                raise SystemExit(f"{path.name}: a solution cell not followed by a known check")
            count += 1
            cells += question(f"{path.stem}_q{count}", cell, *check.groups())
            continue
        cells.append(cell)
    nb.cells = cells
    return nb


def main(out_dir: Path, labs: list) -> list:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in labs:
        nbformat.write(master(path), out_dir / path.name)
        written.append(out_dir / path.name)
    return written


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    labs = [Path(p).resolve() for p in sys.argv[2:]] or sorted(
        (ROOT / "book" / "labs").glob("lab_*.ipynb"))
    for written in main(Path(sys.argv[1]), labs):
        print(written)
