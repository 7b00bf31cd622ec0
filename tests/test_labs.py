"""The lab checks accept right answers and reject known-wrong ones with a specific hint."""
from pathlib import Path

import pytest
import torch

import mtl_tutor as mt
from mtl_tutor import labs
from mtl_tutor.losses import task_loss
from mtl_tutor.penalties import stacked_weights

ROOT = Path(__file__).resolve().parents[1]



# The tests' own answers, written with torch alone: the checks refuse answers that call
# mtl_tutor's own solution (test_answers_that_call_the_library_are_refused).
def pairwise_l2(w):
    """The sum over task pairs s < t of ||w_s - w_t||^2, for w of shape (tasks, ...)."""
    flat = w.reshape(w.shape[0], -1)
    return flat.shape[0] * flat.pow(2).sum() - flat.sum(dim=0).pow(2).sum()


class _OwnReversal(torch.autograd.Function):
    """The test's own gradient reversal (the check refuses mtl_tutor's, under any name)."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.scale * grad, None


def reverse_gradient(x, scale=1.0):
    """The test's own function, with the library's name: not refused."""
    return _OwnReversal.apply(x, scale)


def rho(S, normalise=False):
    """Mean cosine between two different tasks' columns (the paper's rho: softmax of |S|
    first, if asked)."""
    if normalise:
        S = torch.softmax(S.abs(), dim=0)
    c = torch.nn.functional.normalize(S, dim=0)
    gram, T = c.T @ c, S.shape[1]
    return ((gram.sum() - gram.trace()) / (T * (T - 1))).item()


def verdict(capsys, check, *args):
    ok = check(*args)
    return ok, capsys.readouterr().out


def _stub(*args):
    raise NotImplementedError("Exercise: write your answer here, then run the check.")


def right_total(tasks, preds, targets):
    return sum(task_loss(t, preds[t.name], targets[t.name]) for t in tasks)


def test_verdict_is_truthy_and_silent_in_notebooks(capsys):
    ok, out = verdict(capsys, labs.check_total_loss, right_total)
    assert ok and isinstance(ok, labs.Verdict) and out.startswith("Correct:")
    assert ok._ipython_display_() is None  # IPython shows nothing more than the message
    assert repr(ok) == "Verdict(passed=True)"


def test_total_loss(capsys):
    assert verdict(capsys, labs.check_total_loss, right_total)[0]
    cases = {
        "mean": (lambda t, p, y: right_total(t, p, y) / len(t), "mean"),
        "one task": (lambda t, p, y: task_loss(t[0], p["a"], y["a"]), "summed over all tasks"),
        "vector": (lambda t, p, y: torch.stack([task_loss(k, p[k.name], y[k.name])
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
    data = mt.problems.make_related_tasks(n_tasks=3, n_train=10)
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


def test_mean_cosine(capsys):
    assert verdict(capsys, labs.check_mean_cosine,
                   lambda S: rho(S))[0]

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
        ok, out = verdict(capsys, labs.check_mean_cosine, fn)
        assert not ok and hint in out, (name, out)


ODD_ANSWERS = [None, "text", 3, [1.0], torch.tensor(1), torch.tensor([1.0, 2.0]),
               torch.tensor(float("nan")), torch.zeros(2, 2, dtype=torch.long)]


def test_odd_answers_get_a_hint_never_a_traceback(capsys):
    """Whatever a student's function returns, every check answers with a hint."""
    data = mt.problems.make_related_tasks(n_tasks=3, n_train=10)
    checks = [labs.check_total_loss, labs.check_pairwise_penalty,
              labs.check_gradient_reversal, labs.check_shuffle, labs.check_mean_cosine,
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
    data = mt.problems.make_related_tasks(n_tasks=3, n_train=10)

    class PlainDictHeads(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.tasks = list(data.tasks)
            self.trunk = torch.nn.Sequential(torch.nn.Linear(data.n_features, 8), torch.nn.ReLU())
            self.heads = {n: torch.nn.Linear(8, 1) for n in data.names}  # never registered

        def forward(self, x):
            h = self.trunk(x)  # per-task inputs (tasks, n, features): task i reads h[i]
            return {n: head(h[i]).squeeze(-1) for i, (n, head) in enumerate(self.heads.items())}

    class LinearTrunk(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.tasks = list(data.tasks)
            self.trunk = torch.nn.Linear(data.n_features, 8)  # no activation
            self.heads = torch.nn.ModuleDict({n: torch.nn.Linear(8, 1) for n in data.names})

        def forward(self, x):
            h = self.trunk(x)  # per-task inputs (tasks, n, features): task i reads h[i]
            return {n: head(h[i]).squeeze(-1) for i, (n, head) in enumerate(self.heads.items())}

    ok, out = verdict(capsys, labs.check_head_outputs, PlainDictHeads(), data)
    assert not ok and "nn.ModuleDict" in out and "`heads`" in out, out
    ok, out = verdict(capsys, labs.check_head_outputs, LinearTrunk(), data)
    assert not ok and "linear in its inputs" in out, out


def test_mean_cosine_takes_every_numeric_form(capsys):
    """A float, a 0-d tensor, a one-element tensor and a NumPy scalar are all right answers."""
    import numpy as np

    def as_float(S):
        return rho(S)

    for form in (as_float, lambda S: torch.tensor(as_float(S)),
                 lambda S: torch.tensor([as_float(S)]), lambda S: np.float32(as_float(S)),
                 lambda S: np.array(as_float(S))):
        ok, out = verdict(capsys, labs.check_mean_cosine, form)
        assert ok, out
    ok, out = verdict(capsys, labs.check_mean_cosine, lambda S: np.zeros(3))
    assert not ok and "one number" in out


@pytest.mark.slow
def test_lab_tensor_runs_on_with_a_tensor_valued_answer():
    """Issue 22: a rho returning a 0-d tensor passed its check, then the next cells crashed.
    Parts 1 to 3 of the lab, with such an answer (the mean cosine as a 0-d tensor) in place
    of the solution, run without error and measure what the solution measures."""
    import nbformat
    from nbclient import NotebookClient

    path = ROOT / "book" / "labs" / "lab_tensor.ipynb"
    nb = nbformat.read(path, as_version=4)
    answer = next(i for i, c in enumerate(nb.cells) if c.source.startswith("def mean_cosine("))
    nb.cells[answer].source = (
        "def mean_cosine(M):\n"
        "    c = torch.nn.functional.normalize(M, dim=0)\n"
        "    gram = c.T @ c\n"
        "    T = M.shape[1]\n"
        "    return (gram.sum() - gram.trace()) / (T * (T - 1))  # a 0-d tensor\n")
    part4 = next(i for i, c in enumerate(nb.cells) if "def fair(" in c.source)
    nb.cells = nb.cells[:part4]
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    printed = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                      for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Correct:" in printed and "0.444" in printed and "0.804" in printed


# --- The wider suite: more of the mistakes students make, and more right answers. ---------

def _assert_cases(capsys, check, cases, *extra):
    missed = []
    for name, (fn, hint) in cases.items():
        ok, out = verdict(capsys, check, fn, *extra)
        if ok or hint not in out:
            missed.append((name, out))
    assert not missed, missed


def _assert_right(capsys, check, answers, *extra):
    for name, fn in answers.items():
        ok, out = verdict(capsys, check, fn, *extra)
        assert ok and out.startswith("Correct:"), (name, out)


def test_total_loss_more_answers(capsys):
    import numpy as np
    import torch.nn.functional as F

    def loop(tasks, preds, targets):
        total = torch.zeros(())
        for t in tasks:
            total = total + task_loss(t, preds[t.name], targets[t.name])
        return total

    def by_kind(tasks, preds, targets):
        total = 0
        for t in tasks:
            p, y = preds[t.name], targets[t.name]
            total += (F.binary_cross_entropy(torch.sigmoid(p), y) if t.kind == "binary"
                      else ((p - y) ** 2).mean())
        return total

    _assert_right(capsys, labs.check_total_loss, {
        "loop": loop, "by kind": by_kind,
        "stacked sum": lambda t, p, y: torch.stack([task_loss(k, p[k.name], y[k.name])
                                                    for k in t]).sum(),
        "dict order": lambda t, p, y: sum(task_loss(k, p[k.name], y[k.name])
                                          for k in reversed(t)),
    })

    def losses(t, p, y, **kw):
        return [task_loss(k, p[k.name], y[k.name]) for k in t]

    def summed_over_examples(t, p, y):
        return sum(F.mse_loss(p[k.name], y[k.name], reduction="sum") if k.kind != "binary" else
                   F.binary_cross_entropy_with_logits(p[k.name], y[k.name], reduction="sum")
                   for k in t)

    def wrong_targets(t, p, y):
        return sum(task_loss(k, p[k.name], y["a"]) for k in t if k.kind != "binary") + \
            task_loss(t[1], p["b"], y["b"])

    def bce_on_probabilities(t, p, y):
        return sum(task_loss(k, p[k.name], y[k.name]) for k in t if k.kind != "binary") + \
            F.binary_cross_entropy_with_logits(torch.sigmoid(p["b"]), y["b"])

    def in_place(t, p, y):
        p["b"].sigmoid_()
        return right_total(t, p, y)

    def targets_in_place(t, p, y):
        y["c"].div_(10)
        return right_total(t, p, y)

    _assert_cases(capsys, labs.check_total_loss, {
        "item": (lambda t, p, y: right_total(t, p, y).item(), "Python number"),
        "numpy": (lambda t, p, y: np.float32(right_total(t, p, y).item()), "torch tensor"),
        "list": (losses, "torch tensor"),
        "one-element": (lambda t, p, y: right_total(t, p, y).reshape(1), "one number"),
        "long": (lambda t, p, y: right_total(t, p, y).long(), "floating-point"),
        "nan": (lambda t, p, y: right_total(t, p, y) / 0 * 0, "division by zero"),
        "inf": (lambda t, p, y: right_total(t, p, y) / 0, "division by zero"),
        "detached": (lambda t, p, y: right_total(t, p, y).detach(), "no gradient"),
        "task 0 twice": (lambda t, p, y: right_total(t, p, y)
                         + task_loss(t[0], p["a"], y["a"]), "each task once"),
        "last two": (lambda t, p, y: sum(task_loss(k, p[k.name], y[k.name]) for k in t[1:]),
                     "every task"),
        "first two": (lambda t, p, y: sum(task_loss(k, p[k.name], y[k.name])
                                          for k in t[:-1]), "every task"),
        "sum over examples": (summed_over_examples, "mean over its examples"),
        "wrong targets": (wrong_targets, "own targets"),
        "sigmoid twice": (bce_on_probabilities, "logits"),
        "in place": (in_place, "in-place"),
        "targets in place": (targets_in_place, "in place"),
        "product": (lambda t, p, y: torch.stack(losses(t, p, y)).prod(), "does not match"),
        "negated": (lambda t, p, y: -right_total(t, p, y), "sign"),
        "mean task b": (lambda t, p, y: right_total(t, p, y) - task_loss(t[1], p["b"], y["b"]),
                        "every task"),
    })


def test_pairwise_penalty_more_answers(capsys):
    import numpy as np

    def loop(layers):
        total = 0
        for w in stacked_weights(layers):
            for s in range(w.shape[0]):
                for t in range(s + 1, w.shape[0]):
                    total = total + ((w[s] - w[t]) ** 2).sum()
        return total

    def all_ordered_halved(layers):
        total = 0
        for w in stacked_weights(layers):
            for s in range(w.shape[0]):
                for t in range(w.shape[0]):
                    total = total + (w[s] - w[t]).pow(2).sum()
        return total / 2

    def by_parameters(layers):
        return sum(pairwise_l2(p) for n, p in layers.named_parameters() if n.endswith("weight"))

    def cdist(layers):
        total = 0
        for w in stacked_weights(layers):
            flat = w.flatten(1)
            total = total + torch.cdist(flat, flat).pow(2).triu(1).sum()
        return total

    _assert_right(capsys, labs.check_pairwise_penalty, {
        "loop": loop, "ordered / 2": all_ordered_halved, "named": by_parameters,
        "cdist": cdist,
    })

    def mean_pairs(layers):
        total = 0
        for w in stacked_weights(layers):
            T = w.shape[0]
            total = total + pairwise_l2(w) / (T * (T - 1) / 2)
        return total

    def to_mean(layers):
        return sum((w - w.mean(0)).pow(2).sum() for w in stacked_weights(layers))

    def neighbours_only(layers):
        return sum((w[1:] - w[:-1]).pow(2).sum() for w in stacked_weights(layers))

    def weight_decay(layers):
        return sum(w.pow(2).sum() for w in stacked_weights(layers))

    def all_params(layers):
        return sum(pairwise_l2(p) for p in layers.parameters())

    def last_layer(layers):
        return pairwise_l2(stacked_weights(layers)[-1])

    def absolute(layers):
        return sum((w[:, None] - w[None]).abs().sum() / 2 for w in stacked_weights(layers))

    _assert_cases(capsys, labs.check_pairwise_penalty, {
        "numpy": (lambda m: np.float64(right_penalty(m).item()), "torch tensor"),
        "list": (lambda m: [pairwise_l2(w) for w in stacked_weights(m)], "torch tensor"),
        "half": (lambda m: right_penalty(m) / 2, "half"),
        "mean over pairs": (mean_pairs, "mean over the pairs"),
        "to the mean": (to_mean, "mean weight"),
        "neighbours": (neighbours_only, "every pair"),
        "weight decay": (weight_decay, "differences"),
        "all parameters": (all_params, "biases"),
        "last layer": (last_layer, "one layer"),
        "absolute": (absolute, "squared"),
        "nan": (lambda m: right_penalty(m) * float("nan"), "division by zero"),
        "long": (lambda m: right_penalty(m).long(), "floating-point"),
        "crash": (lambda m: m.weight, "raised AttributeError"),
        "stub": (_stub, "no answer yet"),
    })


def test_gradient_reversal_more_answers(capsys):

    def hook(x, scale):
        y = x.view_as(x)
        y.register_hook(lambda g: -scale * g)
        return y

    def detach_trick(x, scale):
        return x.detach() + (-scale * x - (-scale * x).detach())

    def clone_forward(backward=lambda ctx, g: (-ctx.scale * g, None)):
        class Reversal(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x, scale):
                ctx.scale = scale
                return x.clone()

            @staticmethod
            def backward(ctx, grad):
                return backward(ctx, grad)
        return Reversal.apply

    _assert_right(capsys, labs.check_gradient_reversal, {
        "hook": hook, "detach trick": detach_trick, "clone": clone_forward(),
        "neg then mul": _wrong_reversal(lambda ctx, g: (g.neg() * ctx.scale, None)),
    })

    _assert_cases(capsys, labs.check_gradient_reversal, {
        "reverses values": (lambda x, s: reverse_gradient(-x, s), "unchanged"),
        "scales values": (lambda x, s: reverse_gradient(x * s, s), "unchanged"),
        "no lambda": (_wrong_reversal(lambda ctx, g: (-g, None)), "ignored"),
        "divides": (_wrong_reversal(lambda ctx, g: (-g / ctx.scale, None)), "divide"),
        "squared scale": (_wrong_reversal(lambda ctx, g: (-ctx.scale ** 2 * g, None)),
                          "scale"),
        "ignores upstream": (_wrong_reversal(lambda ctx, g: (-ctx.scale * torch.ones_like(g),
                                                             None)), "incoming gradient"),
        "zero": (_wrong_reversal(lambda ctx, g: (torch.zeros_like(g), None)), "zero"),
        "None for x": (_wrong_reversal(lambda ctx, g: (None, -ctx.scale * g)), "None for scale"),
        "both None": (_wrong_reversal(lambda ctx, g: (None, None)), "no gradient"),
        "sign in forward": (clone_forward(lambda ctx, g: (ctx.scale * g, None)), "sign"),
        "numpy": (lambda x, s: x.detach().numpy(), "shape"),
        "list": (lambda x, s: [x], "shape"),
        "double": (lambda x, s: reverse_gradient(x, s).double(), "dtype"),
        "in place": (lambda x, s: x.mul_(1.0), "raised RuntimeError"),
        "plain negation": (lambda x, s: x - 2 * x + x.detach() * 0, "unchanged"),
        "stub": (_stub, "no answer yet"),
    })


def test_shuffle_more_answers(capsys):
    import numpy as np

    def numpy_rng(y, seed):
        return y[torch.from_numpy(np.random.default_rng(seed).permutation(len(y)))]

    def loop(y, seed):
        g = torch.Generator().manual_seed(seed)
        order = torch.randperm(len(y), generator=g).tolist()
        return torch.stack([y[i] for i in order])

    def argsort_noise(y, seed):
        g = torch.Generator().manual_seed(seed)
        return y[torch.rand(len(y), generator=g).argsort()]

    _assert_right(capsys, labs.check_shuffle, {
        "numpy rng": numpy_rng, "loop": loop, "argsort": argsort_noise,
        "clone first": lambda y, s: right_shuffle(y.clone(), s),
    })

    def global_rng(y, seed):
        return y[torch.randperm(len(y))]

    def numpy_global(y, seed):
        return y[torch.from_numpy(np.random.permutation(len(y)))]

    def shuffled_in_place(y, seed):
        y.copy_(right_shuffle(y, seed))
        return y.clone()

    def indices(y, seed):
        return torch.randperm(len(y), generator=torch.Generator().manual_seed(seed)).float()

    def roll(y, seed):
        return torch.roll(y, seed + 1)

    _assert_cases(capsys, labs.check_shuffle, {
        "global rng": (global_rng, "same seed"),
        "numpy global": (numpy_global, "same seed"),
        "in place copy": (shuffled_in_place, "in place"),
        "fixed seed": (lambda y, s: right_shuffle(y, 0), "not used"),
        "sorted": (lambda y, s: y.sort().values, "not used"),
        "reversed": (lambda y, s: y.flip(0), "not used"),
        "off by one": (lambda y, s: y[torch.randperm(len(y) - 1,
                                                     generator=torch.Generator().manual_seed(s))],
                       "shape"),
        "indices": (indices, "labels themselves"),
        "numpy": (lambda y, s: right_shuffle(y, s).numpy(), "tensor"),
        "list": (lambda y, s: right_shuffle(y, s).tolist(), "tensor"),
        "long": (lambda y, s: right_shuffle(y, s).long(), "dtype"),
        "2-d": (lambda y, s: right_shuffle(y, s)[None], "shape"),
        "roll": (roll, "shift"),
        "stub": (_stub, "no answer yet"),
        "crash": (lambda y, s: y.shuffle(), "raised AttributeError"),
    })


def test_mean_cosine_more_answers(capsys):
    import numpy as np

    def loop(S):
        T = S.shape[1]
        sims = [torch.nn.functional.cosine_similarity(S[:, s], S[:, t], dim=0)
                for s in range(T) for t in range(T) if s != t]
        return torch.stack(sims).mean()

    def upper(S):
        c = torch.nn.functional.normalize(S, dim=0)
        gram = c.T @ c
        i, j = torch.triu_indices(S.shape[1], S.shape[1], 1)
        return gram[i, j].mean().item()

    def with_numpy(S):
        a = S.numpy()
        c = a / np.linalg.norm(a, axis=0)
        gram = c.T @ c
        T = a.shape[1]
        return float((gram.sum() - np.trace(gram)) / (T * (T - 1)))

    def in_place(S):
        S /= S.norm(dim=0)
        gram = S.T @ S
        T = S.shape[1]
        return (gram.sum() - gram.trace()) / (T * (T - 1))

    _assert_right(capsys, labs.check_mean_cosine, {
        "loop": loop, "upper": upper, "numpy": with_numpy, "in place": in_place,
    })

    def gram(S):
        c = torch.nn.functional.normalize(S, dim=0)
        return c.T @ c

    def off(S):
        g = gram(S)
        return g.sum() - g.diagonal().sum()

    T_ = lambda S: S.shape[1]  # noqa: E731

    _assert_cases(capsys, labs.check_mean_cosine, {
        "sum": (lambda S: off(S), "sum"),
        "T squared": (lambda S: off(S) / T_(S) ** 2, "T(T - 1)"),
        "upper over all pairs": (lambda S: off(S) / 2 / (T_(S) * (T_(S) - 1)), "half"),
        "rows counted": (lambda S: off(S) / (S.shape[0] * (S.shape[0] - 1)), "number of tasks"),
        "softmax": (lambda S: rho(S, normalise=True), "normalise"),
        "absolute": (lambda S: (gram(S).abs().sum() - T_(S)) / (T_(S) * (T_(S) - 1)),
                     "mean cosine should be"),
        "list": (lambda S: [rho(S)], "return a number"),
        "string": (lambda S: "0.5", "return a number"),
        "nan": (lambda S: float("nan"), "mean cosine should be"),
        "stub": (_stub, "no answer yet"),
        "shape error": (lambda S: torch.cat([S, S[:1]], 1) @ S, "raised RuntimeError"),
    })


def test_head_outputs_more_answers(capsys):
    import numpy as np

    data = mt.problems.make_related_tasks(n_tasks=3, n_train=10)
    F, names = data.n_features, data.names

    class Net(torch.nn.Module):
        def __init__(self, act=torch.nn.ReLU, container="dict", squeeze=True, keys=None):
            super().__init__()
            self.tasks = list(data.tasks)
            self.trunk = torch.nn.Sequential(torch.nn.Linear(F, 8), act())
            heads = [torch.nn.Linear(8, 1) for _ in names]
            self.keys, self.squeeze, self.container = keys or names, squeeze, container
            if container == "dict":
                self.heads = torch.nn.ModuleDict(dict(zip(names, heads)))
            elif container == "list":
                self.heads = torch.nn.ModuleList(heads)
            elif container == "plain list":
                self.heads = heads
            else:
                self.heads = tuple(heads)

        def forward(self, x):
            h = self.trunk(x)
            heads = self.heads.values() if self.container == "dict" else self.heads
            out = {k: head(h[i]) for i, (k, head) in enumerate(zip(self.keys, heads))}
            return {k: v.squeeze(-1) if self.squeeze else v for k, v in out.items()}

    _assert_right(capsys, labs.check_head_outputs, {
        "module dict": Net(), "module list": Net(container="list"),
        "tanh": Net(torch.nn.Tanh), "gelu": Net(torch.nn.GELU),
        "library": mt.hard_sharing(F, (16, 8), data.tasks),
    }, data)

    class AsList(Net):
        def forward(self, x):
            return list(super().forward(x).values())

    class AsNumpy(Net):
        def forward(self, x):
            return {k: v.detach().numpy() for k, v in super().forward(x).items()}

    _assert_cases(capsys, labs.check_head_outputs, {
        "plain list": (Net(container="plain list"), "nn.ModuleDict"),
        "tuple": (Net(container="tuple"), "nn.ModuleDict"),
        "linear trunk": (Net(torch.nn.Identity), "linear in its inputs"),
        "unsqueezed": (Net(squeeze=False), "Squeeze"),
        "int keys": (Net(keys=[0, 1, 2]), "no predictions"),
        "list": (AsList(), "dict"),
        "numpy": (AsNumpy(), "must be a tensor"),
        "wrong width": (lambda x: {n: torch.zeros(4, 2) for n in names}, "expected"),
        "crash": (lambda x: {n: np.zeros(4) + x for n in names}, "raised TypeError"),
    }, data)


def test_answers_that_call_the_library_are_refused(capsys):
    """Where writing the function is the exercise, calling mtl_tutor's own version of it
    (directly, as mt.<name>, or imported under another name) is refused with a hint; a
    function of the student's own that shares the name is not."""
    from mtl_tutor.adversarial import reverse_gradient as library_reversal
    from mtl_tutor.penalties import pairwise_l2 as library_pairwise
    from mtl_tutor.problems import mechanisms
    borrowed = {
        labs.check_total_loss: [lambda t, p, y: mt.losses.task_losses(t, p, y).sum()],
        labs.check_pairwise_penalty: [
            lambda m: sum(library_pairwise(w) for w in stacked_weights(m)),
            lambda m: mt.sharing_penalty(m, l2=1.0)(),
            library_pairwise],
        labs.check_gradient_reversal: [library_reversal,
                                       lambda x, s: mt.adversarial.GradientReversal(s)(x)],
        labs.check_shuffle: [lambda y, seed: mechanisms.shuffle_task(y, "a", seed)],
        labs.check_mean_cosine: [mt.tensors.mean_cosine, mt.tensors.weight_similarity,
                                 lambda S: mt.tensors.mean_cosine(S)],
    }
    for check, answers in borrowed.items():
        for answer in answers:
            ok, out = verdict(capsys, check, answer)
            assert not ok and "which is the answer this exercise asks you to write" in out, out
    # the student's own functions with the library's names pass
    assert verdict(capsys, labs.check_gradient_reversal, reverse_gradient)[0]
    assert verdict(capsys, labs.check_pairwise_penalty,
                   lambda m: sum(pairwise_l2(w) for w in stacked_weights(m)))[0]


def test_every_lab_figure_has_alt_text():
    """A figure's cell carries `mystnb: image: alt:`, a description of what it shows, for
    readers who cannot see it."""
    import json

    for path in sorted((ROOT / "book" / "labs").glob("lab_*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            shows = any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
            if shows:
                alt = cell["metadata"].get("mystnb", {}).get("image", {}).get("alt", "")
                assert len(alt) > 40, (path.name, cell["source"][:2])
