"""The lab checks accept right answers and reject known-wrong ones with a specific hint."""
from pathlib import Path

import pytest
import torch

import mtl_tutor as mt
from mtl_tutor import labs
from mtl_tutor.auxiliary import reverse_gradient
from mtl_tutor.penalties import pairwise_l2, stacked_weights

ROOT = Path(__file__).resolve().parents[1]


def verdict(capsys, check, *args):
    ok = check(*args)
    return ok, capsys.readouterr().out


def _stub(*args):
    raise NotImplementedError("Exercise: write your answer here, then run the check.")


def right_total(tasks, preds, targets):
    return sum(mt.task_loss(t, preds[t.name], targets[t.name]) for t in tasks)


def test_verdict_is_truthy_and_silent_in_notebooks(capsys):
    ok, out = verdict(capsys, labs.check_total_loss, right_total)
    assert ok and isinstance(ok, labs.Verdict) and out.startswith("Correct:")
    assert ok._ipython_display_() is None  # IPython shows nothing more than the message
    assert repr(ok) == "Verdict(passed=True)"


def test_total_loss(capsys):
    assert verdict(capsys, labs.check_total_loss, right_total)[0]
    cases = {
        "mean": (lambda t, p, y: right_total(t, p, y) / len(t), "mean"),
        "one task": (lambda t, p, y: mt.task_loss(t[0], p["a"], y["a"]), "summed over all tasks"),
        "vector": (lambda t, p, y: torch.stack([mt.task_loss(k, p[k.name], y[k.name])
                                                for k in t]), "one number"),
        "all mse": (lambda t, p, y: sum(((p[k.name] - y[k.name]) ** 2).mean() for k in t),
                    "binary"),
        "not a tensor": (lambda t, p, y: 1.0, "torch tensor"),
        "crash": (lambda t, p, y: p["nope"], "raised KeyError"),
        "stub": (_stub, "no answer yet"),
    }
    for name, (fn, hint) in cases.items():
        ok, out = verdict(capsys, labs.check_total_loss, fn)
        assert not ok and hint in out, (name, out)


def right_penalty(layers):
    return sum(pairwise_l2(w) for w in stacked_weights(layers))


def test_pairwise_penalty(capsys):
    assert verdict(capsys, labs.check_pairwise_penalty, right_penalty)[0]

    def with_biases(layers):
        stacked = [m for m in layers.modules() if isinstance(m, mt.TaskLinear)]
        return right_penalty(layers) + sum(pairwise_l2(m.bias[..., None]) for m in stacked)

    cases = {
        "biases": (with_biases, "biases"),
        "twice": (lambda m: 2 * right_penalty(m), "twice"),
        "not squared": (lambda m: right_penalty(m).sqrt(), "squared"),
        "vector": (lambda m: torch.stack([pairwise_l2(w) for w in stacked_weights(m)]),
                   "one number"),
        "one layer": (lambda m: pairwise_l2(stacked_weights(m)[0]), "one layer"),
        "detached": (lambda m: right_penalty(m).detach(), "no gradient"),
        "item": (lambda m: right_penalty(m).item(), ".item()"),
        "biases moved": (lambda m: right_penalty(m) + _bias_shift(m), "biases change"),
    }
    for name, (fn, hint) in cases.items():
        ok, out = verdict(capsys, labs.check_pairwise_penalty, fn)
        assert not ok and hint in out, (name, out)


def _wrong_reversal(backward, store_scale=True):
    """A gradient reversal with a student's mistake in its backward pass."""
    class Reversal(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            if store_scale:
                ctx.scale = scale
            return x.view_as(x)

        @staticmethod
        def backward(ctx, grad):
            return backward(ctx, grad)

    return Reversal.apply


def test_gradient_reversal(capsys):
    assert verdict(capsys, labs.check_gradient_reversal, reverse_gradient)[0]
    cases = {
        "sign": (_wrong_reversal(lambda ctx, g: (ctx.scale * g, None)), "sign"),
        "identity": (lambda x, s: x * 1.0, "unchanged"),
        "no scale": (lambda x, s: reverse_gradient(x, 1.0), "ignored"),
        "detached": (lambda x, s: x.detach(), "gradients"),
        "changed": (lambda x, s: -x, "unchanged"),
        "shape": (lambda x, s: x.sum(), "shape"),
        "one gradient": (_wrong_reversal(lambda ctx, g: -ctx.scale * g), "None for scale"),
        "backward fails": (_wrong_reversal(lambda ctx, g: (-ctx.scale * g, None),
                                           store_scale=False), "raised AttributeError"),
    }
    for name, (fn, hint) in cases.items():
        ok, out = verdict(capsys, labs.check_gradient_reversal, fn)
        assert not ok and hint in out, (name, out)


def test_head_outputs(capsys):
    data = mt.make_related_tasks(n_tasks=3, n_train=10)
    model = mt.hard_sharing(data.n_features, (8,), data.tasks)
    assert verdict(capsys, labs.check_head_outputs, model, data)[0]

    class Unsqueezed(torch.nn.Module):
        def forward(self, x):
            return {name: v[:, None] for name, v in model(x).items()}

    class Missing(torch.nn.Module):
        def forward(self, x):
            return {"task0": model(x)["task0"]}

    for wrong, hint in [(Unsqueezed(), "Squeeze"), (Missing(), "no predictions"),
                        (lambda x: x, "dict")]:
        ok, out = verdict(capsys, labs.check_head_outputs, wrong, data)
        assert not ok and hint in out, out
    bad = mt.hard_sharing(data.n_features + 1, (8,), data.tasks)  # built for the wrong inputs
    ok, out = verdict(capsys, labs.check_head_outputs, bad, data)
    assert not ok and "raised ValueError" in out


def _bias_shift(layers):
    """A term that depends on the biases yet is zero for freshly initialised layers (biases
    below 0.5): only moving the biases, as the check does, exposes it."""
    bias = next(m.bias for m in layers.modules() if isinstance(m, mt.TaskLinear))
    return (bias.detach() > 0.9).float().sum() * 1.0


def right_shuffle(y, seed):
    return y[torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))]


def test_shuffle(capsys):
    assert verdict(capsys, labs.check_shuffle, right_shuffle)[0]

    def in_place(y, seed):
        y[:] = right_shuffle(y, seed)
        return y

    cases = {
        "in place": (in_place, "in place"),
        "new labels": (lambda y, s: torch.randint(0, 7, y.shape).float(), "labels themselves"),
        "unchanged": (lambda y, s: y.clone(), "original order"),
        "unseeded": (lambda y, s: y[torch.randperm(len(y))], "same seed"),
        "seed ignored": (lambda y, s: right_shuffle(y, 3), "not used"),
        "shape": (lambda y, s: right_shuffle(y, s)[:10], "shape"),
    }
    for name, (fn, hint) in cases.items():
        ok, out = verdict(capsys, labs.check_shuffle, fn)
        assert not ok and hint in out, (name, out)


def test_sharing_strength(capsys):
    assert verdict(capsys, labs.check_sharing_strength,
                   lambda S: mt.sharing_strength(S, normalise=False))[0]

    def cosines(S, dim=0):
        c = torch.nn.functional.normalize(S, dim=dim)
        return c.T @ c if dim == 0 else c @ c.T

    def off_diagonal_mean(m):
        n = m.shape[0]
        return (m.sum() - m.diagonal().sum()) / (n * (n - 1))

    cases = {
        "diagonal": (lambda S: cosines(S).mean(), "with itself"),
        "rows": (lambda S: off_diagonal_mean(cosines(S, 1)), "rows"),
        "dots": (lambda S: off_diagonal_mean(S.T @ S), "dot products"),
        "matrix": (lambda S: cosines(S), "one number"),
        "crash": (lambda S: S.foo, "raised AttributeError"),
    }
    for name, (fn, hint) in cases.items():
        ok, out = verdict(capsys, labs.check_sharing_strength, fn)
        assert not ok and hint in out, (name, out)


ODD_ANSWERS = [None, "text", 3, [1.0], torch.tensor(1), torch.tensor([1.0, 2.0]),
               torch.tensor(float("nan")), torch.zeros(2, 2, dtype=torch.long)]


def test_odd_answers_get_a_hint_never_a_traceback(capsys):
    """Whatever a student's function returns, every check answers with a hint."""
    data = mt.make_related_tasks(n_tasks=3, n_train=10)
    checks = [labs.check_total_loss, labs.check_pairwise_penalty,
              labs.check_gradient_reversal, labs.check_shuffle, labs.check_sharing_strength,
              lambda fn: labs.check_head_outputs(fn, data)]
    for check in checks:
        for odd in ODD_ANSWERS:
            ok, out = verdict(capsys, check, lambda *args, odd=odd: odd)
            assert not ok and out.startswith("Not yet:"), (check, odd, out)
        ok, out = verdict(capsys, check, lambda *args: {name: odd for name, odd in
                                                        zip(data.names, ODD_ANSWERS)})
        assert not ok and out.startswith("Not yet:"), (check, out)


def test_head_outputs_rejects_unregistered_heads_and_a_linear_trunk(capsys):
    """Issue 22: both models return the right shapes, yet neither is a working answer."""
    data = mt.make_related_tasks(n_tasks=3, n_train=10)

    class PlainDictHeads(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = torch.nn.Sequential(torch.nn.Linear(data.n_features, 8), torch.nn.ReLU())
            self.heads = {n: torch.nn.Linear(8, 1) for n in data.names}  # never registered

        def forward(self, x):
            h = self.trunk(x)  # per-task inputs (tasks, n, features): task i reads h[i]
            return {n: head(h[i]).squeeze(-1) for i, (n, head) in enumerate(self.heads.items())}

    class LinearTrunk(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = torch.nn.Linear(data.n_features, 8)  # no activation
            self.heads = torch.nn.ModuleDict({n: torch.nn.Linear(8, 1) for n in data.names})

        def forward(self, x):
            h = self.trunk(x)  # per-task inputs (tasks, n, features): task i reads h[i]
            return {n: head(h[i]).squeeze(-1) for i, (n, head) in enumerate(self.heads.items())}

    ok, out = verdict(capsys, labs.check_head_outputs, PlainDictHeads(), data)
    assert not ok and "nn.ModuleDict" in out and "`heads`" in out, out
    ok, out = verdict(capsys, labs.check_head_outputs, LinearTrunk(), data)
    assert not ok and "linear in its inputs" in out, out


def test_sharing_strength_takes_every_numeric_form(capsys):
    """A float, a 0-d tensor, a one-element tensor and a NumPy scalar are all right answers."""
    import numpy as np

    right = mt.sharing_strength

    def as_float(S):
        return right(S, normalise=False)

    for form in (as_float, lambda S: torch.tensor(as_float(S)),
                 lambda S: torch.tensor([as_float(S)]), lambda S: np.float32(as_float(S)),
                 lambda S: np.array(as_float(S))):
        ok, out = verdict(capsys, labs.check_sharing_strength, form)
        assert ok, out
    ok, out = verdict(capsys, labs.check_sharing_strength, lambda S: np.zeros(3))
    assert not ok and "one number" in out


@pytest.mark.slow
def test_lab_tensor_runs_on_with_a_tensor_valued_rho():
    """Issue 22: a rho returning a 0-d tensor passed its check, then the next cells crashed.
    Parts 1 to 3 of the lab, with that answer in place of the solution, run without error."""
    import nbformat
    from nbclient import NotebookClient

    path = ROOT / "book" / "labs" / "lab_tensor.ipynb"
    nb = nbformat.read(path, as_version=4)
    answer = next(i for i, c in enumerate(nb.cells) if c.source.startswith("def rho("))
    nb.cells[answer].source = (
        "def rho(S):\n"
        "    c = torch.nn.functional.normalize(S, dim=0)\n"
        "    gram = c.T @ c\n"
        "    T = S.shape[1]\n"
        "    return (gram.sum() - gram.trace()) / (T * (T - 1))  # a 0-d tensor\n")
    part4 = next(i for i, c in enumerate(nb.cells) if "def fair(" in c.source)
    nb.cells = nb.cells[:part4]
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs)
    assert "Correct:" in printed and "rho = 0.444" in printed
