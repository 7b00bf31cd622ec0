"""Views of the mechanisms' data and measures of what a model learned (Part II).

Views make one arm's data from a seed's draw (`mt.Arm(data=...)`): the first n examples,
labels averaged over noisy copies, a task's labels shuffled, a view of the inputs lost,
tasks of another draw joined. Measures read a trained model: how well it fitted random
labels, where its first layer's weight and its sensitivity sit, how much of a known set
of factors its representation holds. `mechanisms` re-exports them all.
"""
import math

import numpy as np
import torch

from ..data import MultiTaskData, Split, Task
from .related import TEST, stream


def shuffle_task(data: MultiTaskData, name: str, seed: int = 0) -> MultiTaskData:
    """A copy of `data` whose task `name` has its training and validation labels shuffled
    across examples: same label distribution, no relation to the inputs (Caruana's control)."""
    if name not in data.names:
        raise ValueError(f"Unknown task {name!r}; the tasks are {data.names}.")
    g = torch.Generator().manual_seed(seed)

    def shuffled(split):
        y = dict(split.y)
        y[name] = y[name][torch.randperm(split.n, generator=g)]
        return Split(split.x, y, split.per_task)

    return MultiTaskData(data.tasks, shuffled(data.train), shuffled(data.val), data.test,
                         data.info)


def lose_view(data: MultiTaskData, view: str, seed: int = 0) -> MultiTaskData:
    """`data` whose test inputs have view `view` of `make_redundant_views` replaced by fresh
    noise (a failed sensor): a model that reads that view gets worse, one that ignores it not."""
    columns = data.info["views"][view]
    x = data.test.x.clone()
    x[..., columns] = torch.randn(x[..., columns].shape, generator=stream(seed, TEST, 99))
    return MultiTaskData(data.tasks, data.train, data.val, Split(x, data.test.y, per_task=True),
                         data.info)


def encode_bits(values: torch.Tensor, low: float, high: float, bits: int = 10) -> torch.Tensor:
    """Code each value in [low, high] as `bits` binary inputs (its quantised level in
    base 2, most significant bit first): (n,) -> (n, bits)."""
    levels = ((values - low) / (high - low) * (2 ** bits - 1)).round().long()
    powers = 2 ** torch.arange(bits - 1, -1, -1)
    return ((levels[:, None] // powers) % 2).float()


def fit_to_noise(train_error: float) -> float:
    """How well a model fitted random binary labels: 1 - 2 * training error, i.e. the
    correlation (1/n) sum_i sigma_i * sign(f(x_i)) for labels sigma = +-1. 0 = not at all,
    1 = every random label fitted."""
    return 1.0 - 2.0 * train_error


def input_weight_share(first_layer_weight: torch.Tensor, relevant) -> float:
    """The share of a first layer's squared weight that sits on the `relevant` inputs.

    first_layer_weight: (inputs, hidden), e.g. one task's slice of a `TaskLinear`, or an
    `nn.Linear`'s weight transposed. Uniform weights give len(relevant) / inputs.
    """
    w = first_layer_weight.detach()
    if w.dim() != 2:
        raise ValueError(f"Expected a (inputs, hidden) weight matrix, got {tuple(w.shape)}.")
    per_input = w.pow(2).sum(dim=1)
    return float(per_input[list(relevant)].sum() / per_input.sum())


def f1_rmse(model, data, split="test") -> np.ndarray:
    """Root mean squared error on F1 of every trial of a `make_sum_difference` model."""
    part = data.split(split)
    with torch.no_grad():
        preds = model(part.x.to(next(model.parameters()).device))
    out = []
    for t in data.tasks:
        p, y = preds[t.name].cpu(), part.y[t.name]
        if t.outputs == 2:
            p, y = p[:, 0], y[:, 0]
        out.append(math.sqrt(float((p - y).pow(2).mean())))
    return np.array(out)


def input_sensitivity_share(model, x: torch.Tensor, task: str, relevant) -> float:
    """The share of task `task`'s sensitivity to its inputs that falls on the `relevant`
    ones: mean abs(d prediction / d x_i) over the examples x, per input i, normalised."""
    x = x.detach().clone().requires_grad_(True)
    model.eval()
    model(x)[task].sum().backward()
    per_input = x.grad.abs().mean(dim=0)
    return float(per_input[list(relevant)].sum() / per_input.sum())


def first_examples(data: MultiTaskData, n: int) -> MultiTaskData:
    """`data` with only the first `n` training examples (of every task); validation and
    test as they are. With a generator drawn for many examples, every view that keeps the
    first n has the same n examples."""
    if not 1 <= n <= data.train.n:
        raise ValueError(f"n must lie between 1 and the {data.train.n} training examples, "
                         f"got {n}.")
    x = data.train.x[:, :n] if data.train.per_task else data.train.x[:n]
    train = Split(x, {k: v[:n] for k, v in data.train.y.items()}, data.train.per_task)
    return MultiTaskData(data.tasks, train, data.val, data.test, data.info,
                         data.missing_labels)


def average_copies(data: MultiTaskData) -> MultiTaskData:
    """Perfect noise averaging for `make_noisy_copies`: one task, "main", trained on the
    mean of all tasks' training labels (shared inputs). Its validation and test labels
    stay main's own, so it is stopped and chosen on the same (noisy) signal as an arm that
    learns the copies as tasks."""
    if not data.train.shared_inputs:
        raise ValueError("average_copies needs tasks that label the same (shared) inputs.")
    mean = torch.stack([data.train.y[n] for n in data.names]).mean(dim=0)
    main = data.subset(["main"])
    return MultiTaskData(main.tasks, Split(data.train.x, {"main": mean}), main.val, main.test,
                         data.info)


def join_tasks(data: MultiTaskData, other: MultiTaskData, names) -> MultiTaskData:
    """`data` with tasks of `other` added (each split's examples of its own: per-task
    inputs of the same sizes), `names` mapping other's task names to new ones; e.g.
    extra tasks from another environment, learnable but unrelated to data's tasks."""
    names = dict(names)
    clash = sorted(set(names.values()) & set(data.names))
    if clash:
        raise ValueError(f"The new names {clash} are tasks of data already.")
    part = other.subset(list(names))

    def join(a, b):
        if not (a.per_task and b.per_task) or a.x.shape[1:] != b.x.shape[1:]:
            raise ValueError("join_tasks needs per-task inputs of the same shape in both.")
        y = {**a.y, **{names[k]: v for k, v in b.y.items()}}
        return Split(torch.cat([a.x, b.x]), y, per_task=True)

    tasks = data.tasks + [Task(names[t.name], t.kind, t.outputs) for t in part.tasks]
    return MultiTaskData(tasks, join(data.train, part.train), join(data.val, part.val),
                         join(data.test, part.test), data.info)


def factor_recovery(represent, factors, x_fit: torch.Tensor, x_eval: torch.Tensor,
                    ridge: float = 1e-3) -> np.ndarray:
    """How much of each known factor a representation holds: a linear probe.

    represent(x) -> (n, width) features (e.g. a trained trunk), factors(x) -> (n, k) the
    true factors (e.g. `info["teacher"].factors`). A ridge regression from the features
    (with an intercept) to each factor is fitted on x_fit and scored on x_eval; returns
    each factor's R^2 there (1: the factor is a linear read-out of the representation,
    0: no better than its mean).
    """
    with torch.no_grad():
        h_fit, h_eval = represent(x_fit).double(), represent(x_eval).double()
        f_fit, f_eval = factors(x_fit).double(), factors(x_eval).double()
    mean_h, scale = h_fit.mean(0), h_fit.std(0).clamp_min(1e-8)
    z_fit, z_eval = (h_fit - mean_h) / scale, (h_eval - mean_h) / scale
    gram = z_fit.T @ z_fit + ridge * len(z_fit) * torch.eye(z_fit.shape[1], dtype=z_fit.dtype)
    coef = torch.linalg.solve(gram, z_fit.T @ (f_fit - f_fit.mean(0)))
    residual = f_eval - (z_eval @ coef + f_fit.mean(0))
    total = (f_eval - f_eval.mean(0)).pow(2).sum(0)
    return (1 - residual.pow(2).sum(0) / total).numpy()


def error_parts(prediction: torch.Tensor, target: torch.Tensor) -> dict:
    """A squared error taken apart: mse = bias^2 + var(prediction) + var(target)
    - 2 cov(prediction, target). A predictor whose variance exceeds twice its covariance
    with the target scores worse than the constant that predicts the target's mean."""
    p, y = prediction.detach().double().flatten(), target.double().flatten()
    cov = ((p - p.mean()) * (y - y.mean())).mean()
    return {"mse": float((p - y).pow(2).mean()), "bias^2": float((p.mean() - y.mean()) ** 2),
            "var(prediction)": float(p.var(unbiased=False)),
            "var(target)": float(y.var(unbiased=False)), "cov": float(cov),
            "correlation": float(cov / (p.std(unbiased=False) * y.std(unbiased=False)
                                        ).clamp_min(1e-12))}


def f2_as(data: MultiTaskData, f2: str) -> MultiTaskData:
    """A view of `make_sum_difference(f2="output")` data with F2 used as `f2` says:
    "output" (as it is), "none" (F1 alone) or "input" (F2 an extra input, at test time
    too): the same trials as `make_sum_difference(f2=f2)` draws."""
    if f2 not in ("none", "input", "output"):
        raise ValueError(f"f2 must be 'none', 'input' or 'output', got {f2!r}.")
    if data.info.get("f2") != "output":
        raise ValueError("f2_as needs the data of make_sum_difference(f2='output').")
    if f2 == "output":
        return data

    def view(split):
        targets = [split.y[t.name] for t in data.tasks]
        x = split.x if f2 == "none" else torch.cat(
            [split.x, torch.stack([y[:, 1] for y in targets])[..., None]], dim=-1)
        return Split(x, {t.name: y[:, 0] for t, y in zip(data.tasks, targets)}, per_task=True)

    tasks = [Task(t.name, t.kind, 1) for t in data.tasks]
    return MultiTaskData(tasks, view(data.train), view(data.val), view(data.test),
                         {**data.info, "f2": f2})


def shuffle_tasks(data: MultiTaskData, names, seed: int = 0) -> MultiTaskData:
    """`shuffle_task` for each task of `names`, each with its own permutation (seed + its
    position): the null version of several extra tasks at once."""
    for i, name in enumerate(names):
        data = shuffle_task(data, name, seed=seed + i)
    return data


def relevant_inputs_only(data: MultiTaskData) -> MultiTaskData:
    """`data` with only its inputs `info["relevant"]` (e.g. `make_attention_tasks`'s): the
    view of an oracle told where to look. Its info's "relevant" becomes 0 .. k - 1."""
    keep = data.info.get("relevant")
    if not keep:
        raise ValueError("relevant_inputs_only needs data whose info names its 'relevant' "
                         "inputs, e.g. make_attention_tasks'.")

    def cut(split):
        return Split(split.x[..., keep], split.y, split.per_task)

    return MultiTaskData(data.tasks, cut(data.train), cut(data.val), cut(data.test),
                         {**data.info, "relevant": list(range(len(keep)))},
                         data.missing_labels)
