"""Lab 2's first and third exercises, noisy copies and the parameter count: kept sets of
right answers (each must get "Correct") and wrong ones (each must get "Not yet" with a hint
that names its mistake: the test asserts the hint's key words)."""
import numpy as np
import pytest
import torch
from lab_answers import _ellipsis, _stub, judge

import mtl_tutor as mt
from mtl_tutor import labs
from mtl_tutor.problems import mechanisms

# --- noisy copies ---------------------------------------------------------------------------

def _gen(seed):
    return torch.Generator().manual_seed(seed)


def copies(f, k, noise, seed):
    return f[:, None] + noise * torch.randn(len(f), k, generator=_gen(seed))


def _loop(f, k, noise, seed):
    g = _gen(seed)
    return torch.stack([f + noise * torch.randn(len(f), generator=g) for _ in range(k)], 1)


def _numpy(f, k, noise, seed):
    rng = np.random.default_rng(seed)
    return f.numpy()[:, None] + rng.normal(0, noise, size=(len(f), k))


def _global_seed(f, k, noise, seed):
    torch.manual_seed(seed)
    return f.unsqueeze(1).repeat(1, k) + torch.randn(len(f), k) * noise


def _normal(f, k, noise, seed):
    return torch.normal(f[:, None].expand(-1, k), noise, generator=_gen(seed))


NOISY_RIGHT = {"broadcast": copies, "loop": _loop, "numpy": _numpy,
               "global seed": _global_seed, "torch.normal": _normal}


def _same_noise(f, k, noise, seed):
    return (f + noise * torch.randn(len(f), generator=_gen(seed)))[:, None].repeat(1, k)


def _variance(f, k, noise, seed):
    return copies(f, k, noise ** 2, seed)


def _uniform(f, k, noise, seed):
    return f[:, None] + noise * torch.rand(len(f), k, generator=_gen(seed))


def _centred_uniform(f, k, noise, seed):
    return f[:, None] + noise * (torch.rand(len(f), k, generator=_gen(seed)) - 0.5)


def _unseeded(f, k, noise, seed):
    return f[:, None] + noise * torch.randn(len(f), k)


def _in_place(f, k, noise, seed):
    f += 0.0 * f + 1e-3
    return copies(f, k, noise, seed)


def _noise_only(f, k, noise, seed):
    return noise * torch.randn(len(f), k, generator=_gen(seed))


def _multiplicative(f, k, noise, seed):
    return f[:, None] * (1 + noise * torch.randn(len(f), k, generator=_gen(seed)))


def _with_clean(f, k, noise, seed):
    return torch.cat([f[:, None], copies(f, k, noise, seed)], 1)


def _correlated(f, k, noise, seed):
    g = _gen(seed)
    common = torch.randn(len(f), 1, generator=g)
    own = torch.randn(len(f), k, generator=g)
    return f[:, None] + noise * (0.8 * common + 0.6 * own)


NOISY_WRONG = {
    "the same noise for every copy": (_same_noise, "same noise"),
    "variance for standard deviation": (_variance, "standard deviation"),
    "noise divided by the copies": (lambda f, k, n, s: copies(f, k, n / k, s),
                                    "standard deviation"),
    "uniform noise": (_uniform, "mean"),
    "centred uniform noise": (_centred_uniform, "standard deviation"),
    "no noise": (lambda f, k, n, s: f[:, None].repeat(1, k), "add noise"),
    "unseeded": (_unseeded, "same seed"),
    "seed ignored": (lambda f, k, n, s: copies(f, k, n, 0), "different seeds"),
    "f changed in place": (_in_place, "in place"),
    "noise alone": (_noise_only, "not the noise alone"),
    "multiplicative": (_multiplicative, "grows with |f|"),
    "correlated copies": (_correlated, "correlated"),
    "transposed": (lambda f, k, n, s: copies(f, k, n, s).T, "transposed"),
    "clean column too": (_with_clean, "shape (n, k)"),
    "one copy": (lambda f, k, n, s: copies(f, 1, n, s), "shape (n, k)"),
    "a list": (lambda f, k, n, s: list(copies(f, k, n, s).T), "return a tensor"),
    "library generator": (lambda f, k, n, s: mechanisms.make_noisy_copies(
        k, n_train=len(f), noise=n, seed=s).train.y, "mtl_tutor's own"),
    "crash": (lambda f, k, n, s: f.foo, "raised AttributeError"),
    "stub": (_stub, "no answer yet"),
    "otter stub": (_ellipsis, "no answer yet"),
}


@pytest.mark.parametrize("name", NOISY_RIGHT)
def test_noisy_copies_accepts(capsys, name):
    ok, out = judge(capsys, labs.check_noisy_copies, NOISY_RIGHT[name])
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", NOISY_WRONG)
def test_noisy_copies_rejects(capsys, name):
    fn, words = NOISY_WRONG[name]
    ok, out = judge(capsys, labs.check_noisy_copies, fn)
    assert not ok and words in out, out


# --- parameter count --------------------------------------------------------------------------

def count(d, w, T, shared):
    hidden, head = d * w + w, w + 1
    return hidden + T * head if shared else T * (hidden + head)


def _count_by_layers(d, w, T, shared):
    layers = [(d, w)] + [(w, 1)] * T if shared else [(d, w), (w, 1)] * T
    return sum(a * b + b for a, b in layers)


def _count_numpy(d, w, T, shared):
    return np.int64(count(d, w, T, shared))


def _count_float(d, w, T, shared):
    return float(count(d, w, T, shared))


def _count_if(d, w, T, shared):
    if shared:
        return (d + 1) * w + T * (w + 1)
    return T * ((d + 1) * w + (w + 1))


COUNT_RIGHT = {"formula": count, "by layers": _count_by_layers, "numpy integer": _count_numpy,
               "whole float": _count_float, "factored": _count_if}


def _library(d, w, T, shared):
    tasks = [mt.Task(f"t{i}") for i in range(T)]
    build = mt.hard_sharing if shared else mt.single_task_nets
    return mt.count_parameters(build(d, (w,), tasks))


COUNT_WRONG = {
    "no biases": (lambda d, w, T, s: d * w + T * w if s else T * (d * w + w), "biases"),
    "methods swapped": (lambda d, w, T, s: count(d, w, T, not s), "other method"),
    "one task only": (lambda d, w, T, s: d * w + w + w + 1, "every task"),
    "one head for STL too": (lambda d, w, T, s: count(d, w, T, s) if s
                             else T * (d * w + w) + w + 1, "T times"),
    "no output bias": (lambda d, w, T, s: d * w + w + T * w if s else T * (d * w + w + w),
                       "output's bias"),
    "trunk per task in hard sharing": (lambda d, w, T, s: T * (d * w + w) + T * (w + 1),
                                       "count it once"),
    "weights squared": (lambda d, w, T, s: count(d, w * w, T, s), "a * b weights"),
    "inputs plus outputs": (lambda d, w, T, s: T * (d + w + 1), "a * b weights"),
    "off by one": (lambda d, w, T, s: count(d, w, T, s) + 1, "a * b weights"),
    "heads without hidden input": (lambda d, w, T, s: d * w + w + 2 * T if s
                                   else T * (d * w + w + 2), "a * b weights"),
    "a fraction": (lambda d, w, T, s: count(d, w, T, s) + 0.5, "whole number"),
    "a string": (lambda d, w, T, s: str(count(d, w, T, s)), "whole number"),
    "a bool": (lambda d, w, T, s: True, "whole number"),
    "a pair": (lambda d, w, T, s: (count(d, w, T, False), count(d, w, T, True)),
               "whole number"),
    "None for STL": (lambda d, w, T, s: count(d, w, T, s) if s else None, "no answer yet"),
    "library count": (_library, "mtl_tutor's own"),
    "library through an alias": (lambda d, w, T, s: (lambda f: f(mt.hard_sharing(
        d, (w,), [mt.Task("a")] * T)))(mt.count_parameters), "mtl_tutor's own"),
    "crash": (lambda d, w, T, s: d.bit_length() / 0, "raised ZeroDivisionError"),
    "stub": (_stub, "no answer yet"),
    "otter stub": (_ellipsis, "no answer yet"),
}


@pytest.mark.parametrize("name", COUNT_RIGHT)
def test_parameter_count_accepts(capsys, name):
    ok, out = judge(capsys, labs.check_parameter_count, COUNT_RIGHT[name])
    assert ok and out.startswith("Correct:"), out


@pytest.mark.parametrize("name", COUNT_WRONG)
def test_parameter_count_rejects(capsys, name):
    fn, words = COUNT_WRONG[name]
    ok, out = judge(capsys, labs.check_parameter_count, fn)
    assert not ok and words in out, out


def test_twenty_wrong_answers_each():
    assert min(len(NOISY_WRONG), len(COUNT_WRONG)) >= 20
