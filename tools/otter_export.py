"""The labs in otter-grader's assignment format, for courses that grade.

    python tools/otter_export.py OUT_DIR [LAB ...]    # default: every lab in book/labs

For each lab, OUT_DIR/<lab>.ipynb is an Otter Assign master notebook: the lab as readers see
it (plain Markdown, tools/reader.py), in which every implement-then-check exercise becomes a
graded question of one point, all or nothing: the solution cell (its BEGIN / END SOLUTION
lines become Otter's `...` prompt), a public test (the lab's own check must say "Correct";
when it does not, its hint is the failure message) and a hidden test on other inputs. A
question scores its point only when both pass. The answers to "predict, then run" and the
book's hidden self-checks are left out. Then, in the book's environment (it has
otter-grader, torch and mtl_tutor):

    otter assign OUT_DIR/lab_sharing.ipynb dist/        # student and autograder versions
    otter run -a dist/autograder/<zip> submission.ipynb  # grade one submission, no Docker

`otter run` grades in the environment it runs in, so run it in the book's. The autograder
zip's own environment (for Gradescope or Otter's Docker grading) installs only what
OUT_DIR/requirements.txt names: torch and mtl_tutor from the repository in _config.yml;
that path is not tested here.

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
requirements: requirements.txt
init_cell: true
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
_g = torch.Generator().manual_seed(7)
for _scale in (2.0, 0.3):
    _x = torch.randn(5, 2, generator=_g).requires_grad_()
    _up = torch.randn(5, 2, generator=_g)
    _y = ANSWER(_x, _scale)
    assert torch.equal(_y.detach(), _x.detach())
    _y.backward(_up.clone())
    assert torch.allclose(_x.grad, -_scale * _up)""",
    "check_dann_loss": """import torch
from mtl_tutor.adversarial import DomainAdversarialNet
from mtl_tutor.labs.lab_auxiliary_dann import dann_reference
_g = torch.Generator().manual_seed(13)
_ = torch.manual_seed(13)
_net = DomainAdversarialNet(3, hidden=6, feature_dim=2)
_sx, _tx = torch.randn(9, 3, generator=_g), torch.randn(5, 3, generator=_g)
_sy = (torch.rand(9, generator=_g) > 0.5).float()
_want = dann_reference(_net, _sx, _sy, _tx)
assert torch.isclose(torch.as_tensor(ANSWER(_net, _sx, _sy, _tx)), _want, rtol=1e-4)""",
    "check_noisy_copies": """import torch
_f = torch.linspace(-1, 1, 3000)
_c = torch.as_tensor(ANSWER(_f.clone(), 4, 0.3, 21)).double()
_again = torch.as_tensor(ANSWER(_f.clone(), 4, 0.3, 21)).double()
assert _c.shape == (3000, 4) and torch.equal(_c, _again)
_r = _c - _f.double()[:, None]
assert ((_r.std(0) - 0.3).abs() < 0.03).all()
assert (torch.corrcoef(_r.T) - torch.eye(4)).abs().max() < 0.1""",
    "check_parameter_count": """assert ANSWER(9, 5, 3, False) == 3 * (9 * 5 + 5 + 5 + 1)
assert ANSWER(9, 5, 3, True) == 9 * 5 + 5 + 3 * (5 + 1)""",
    "check_reversal_schedule": """import math
for _p in (0.02, 0.3, 0.8):
    assert abs(float(ANSWER(_p)) - (2 / (1 + math.exp(-10 * _p)) - 1)) < 1e-6""",
    "check_shuffle": """import torch
_y = torch.arange(30.0)
_s = ANSWER(_y, 7)
assert sorted(_s.tolist()) == _y.tolist() and torch.equal(_s, ANSWER(_y, 7))""",
    "check_mean_cosine": """import torch
import mtl_tutor as mt
_M = torch.randn(4, 6, generator=torch.Generator().manual_seed(5))
assert abs(float(ANSWER(_M)) - mt.tensors.mean_cosine(_M)) < 1e-5""",
    "check_laf_factors": """import torch
from mtl_tutor.labs.lab_tensor_factors import laf_reference
_W = torch.randn(20, 6, generator=torch.Generator().manual_seed(8))
for _t in (0.2, 0.5):
    _L, _S = (torch.as_tensor(f).float() for f in ANSWER(_W.clone(), _t))
    _wL, _wS = laf_reference(_W, _t)
    assert _S.shape == _wS.shape and torch.allclose(_L @ _S, _wL @ _wS, atol=1e-4)
    assert torch.allclose(_S @ _S.T, torch.eye(_S.shape[0]), atol=1e-4)""",
    "check_auc": """import torch
from mtl_tutor.labs.lab_tensor_factors import auc_reference
_g = torch.Generator().manual_seed(9)
_p, _n = torch.randint(0, 4, (7,), generator=_g).float(), torch.randn(12, generator=_g)
assert abs(float(ANSWER(_p.clone(), _n.clone())) - auc_reference(_p, _n)) < 1e-6""",
    "check_uncertainty_loss": """import torch
_L = torch.tensor([3.0, 0.2, 1.5], requires_grad=True)
_s = torch.tensor([1.1, -0.6, 0.0], requires_grad=True)
_v = ANSWER(_L, _s)
assert torch.isclose(_v, (0.5 * torch.exp(-_s) * _L + 0.5 * _s).sum().detach())
_v.backward()
assert torch.allclose(_s.grad, (0.5 - 0.5 * torch.exp(-_s) * _L).detach())""",
    "check_pcgrad": """import torch
_g = torch.randn(4, 6, generator=torch.Generator().manual_seed(9))
_kept = _g.clone()
_out = _g.clone()
for _t in range(4):
    for _u in range(4):
        _d = _out[_t] @ _g[_u]
        if _u != _t and _d < 0:
            _out[_t] = _out[_t] - _d / _g[_u].pow(2).sum() * _g[_u]
assert torch.allclose(ANSWER(_g), _out, atol=1e-5) and torch.equal(_g, _kept)""",
    "check_delta_m": """_e = {"x": 1.2, "y": 0.05, "z": 300.0}
_r = {"z": 250.0, "x": 1.5, "y": 0.04}
_want = sum((_e[t] - _r[t]) / _r[t] for t in _r) / 3
assert abs(float(ANSWER(_e, _r)) - _want) < 1e-6""",
    "check_head_outputs": """import torch
_ = torch.manual_seed(11)
_net = ANSWER(data.n_features, 12, data.tasks)
_x = data.test.x[:7] if data.test.shared_inputs else data.test.x[:, :7]
_out = _net(_x)
assert all(_out[name].shape == (7,) for name in data.names)
assert len({_out[name].sum().item() for name in data.names}) == len(data.names)""",
    "check_soft_threshold": """import numpy as np
_V = np.random.default_rng(9).normal(size=(7, 3))
_V[2] = 0.0
_want = np.sign(_V) * np.maximum(np.abs(_V) - 0.3, 0.0)
assert np.allclose(ANSWER(_V.copy(), 0.3), _want)""",
    "check_group_soft_threshold": """import numpy as np
_V = np.random.default_rng(8).normal(size=(7, 3))
_V[4] = 0.0
_norms = np.linalg.norm(_V, axis=1, keepdims=True)
_want = _V * np.maximum(0.0, 1.0 - 1.1 / np.maximum(_norms, 1.1))
assert np.allclose(ANSWER(_V.copy(), 1.1), _want)""",
    "check_proximal_gradient": """import numpy as np
from sklearn.linear_model import MultiTaskLasso
_rng = np.random.default_rng(17)
_X = _rng.normal(size=(40, 8))
_Y = _X[:, :3] @ _rng.normal(size=(3, 3)) + 0.3 * _rng.normal(size=(40, 3))
_prox = lambda V, tau: V * np.maximum(  # noqa: E731
    0.0, 1.0 - tau / np.maximum(np.linalg.norm(V, axis=1, keepdims=True), tau))
_W = ANSWER(_X, _Y, 0.05, _prox, 1e-9, 100_000)
_ref = MultiTaskLasso(alpha=0.05, fit_intercept=False, tol=1e-14,
                      max_iter=200_000).fit(_X, _Y).coef_.T
assert np.linalg.norm(_W - _ref) <= 1e-4 * np.linalg.norm(_ref)""",
}
CHECK = re.compile(r"^labs\.(check_\w+)\((.+?)\)\s*(?:#.*)?$")
# Otter's tests compare printed output (doctest), so the check's message is kept quiet.
PUBLIC = """import contextlib
import io
with contextlib.redirect_stdout(io.StringIO()):
    _verdict = labs.{check}({args})
assert _verdict, _verdict.message"""


def question(name: str, solution, check: str, args: str) -> list:
    """The cells of one graded question: solution, public test, hidden test."""
    answer = args.split(",")[0].strip()
    hidden = '""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG\n'
    solution = nbformat.from_dict(solution)
    solution.metadata = {"tags": []}  # shown, not folded as in the book; no run record
    solution.outputs, solution.execution_count = [], None
    return [new_raw_cell(f"# BEGIN QUESTION\nname: {name}\npoints: 1\nall_or_nothing: true"),
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


def requirements() -> str:
    """What the autograder zip's environment installs besides otter-grader."""
    from colab_cells import package_version
    from reader import config

    url = config()["repository"]["url"].rstrip("/")
    return f"torch\nmtl_tutor @ git+{url}@v{package_version()}\n"


def main(out_dir: Path, labs: list) -> list:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "requirements.txt").write_text(requirements())
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
    from student import placeholder_warning
    warning = placeholder_warning()
    if warning:
        print(warning, file=sys.stderr)
