"""Handwritten digits as ten one-vs-all tasks (scikit-learn's 8x8 digits stand in for MNIST),
and the small four-layer network of the tensor-factorisation chapter.

The network: the 64 pixels, then fully connected layers of 32, 32 and 16 units with ReLU,
then one output per task. Each of its four parametrised layers is either shared by all
tasks (`nn.Linear`), task-stacked (`TaskLinear`: STL) or factorised (DMTRL, `dmtrl_net`
with fixed ranks, or `factorise_net` with a threshold). (DMTRL factorises convolution
kernels the same way, see `DMTRLConv2d`; fully connected layers keep this experiment fast
on a laptop CPU.)

Scores: `mean_auc` and the ten-way error need no decision threshold; the balanced error
needs one, at the logit 0 (`balanced_error`, the default) or per task where the validation
split puts it (`validation_thresholds`); `digit_scores` gives them all, as `mt.compare`'s
score.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..data import MultiTaskData, Split, Stacked, Task
from ..factorised import LAFWeights, TTWeights, TuckerWeights, factorise
from ..layers import TaskLinear
from ..models import ForkedMLP

SIZES = (64, 32, 32, 16, 1)  # pixels, three hidden layers, one output per task


def load_digit_tasks(per_digit=10, seed=0, val_per_digit=None, n_test=500) -> MultiTaskData:
    """Ten binary tasks "is it digit k?" on shared 8x8 images, shaped (n, 1, 8, 8) in [0, 1].

    A fixed test set of `n_test` images is set aside (the same for every size and seed).
    From the rest, drawn with `seed`, the training set takes `per_digit` images of every
    digit (stratified: no digit is missing) and the validation set `val_per_digit` others of
    every digit (by default as many as training: validation sized to the training set).
    """
    from sklearn.datasets import load_digits  # here: sklearn takes a second to import

    val_per_digit = per_digit if val_per_digit is None else val_per_digit
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0
    labels = torch.tensor(digits.target)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(1234))
    test, pool = order[:n_test], order[n_test:]
    fewest = min(int((labels[pool] == k).sum()) for k in range(10))
    for name, n in [("per_digit", per_digit), ("val_per_digit", val_per_digit)]:
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"{name} must be a positive whole number, got {n!r}.")
    if per_digit + val_per_digit > fewest:
        raise ValueError(f"per_digit + val_per_digit = {per_digit + val_per_digit} images of "
                         f"a digit, but the pool has only {fewest} of the rarest one: "
                         f"ask for fewer, or a smaller n_test.")
    shuffled = pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))]
    by_digit = [shuffled[labels[shuffled] == k] for k in range(10)]
    train = torch.cat([d[:per_digit] for d in by_digit])
    val = torch.cat([d[per_digit:per_digit + val_per_digit] for d in by_digit])
    tasks = [Task(f"is_{k}", "binary") for k in range(10)]

    def split(index):
        return Split(x[index], {f"is_{k}": (labels[index] == k).float() for k in range(10)})

    return MultiTaskData(tasks, split(train), split(val), split(test),
                         {"labels": {"train": labels[train], "val": labels[val],
                                     "test": labels[test]}, "seed": seed})


class DigitNet(nn.Module):
    """The four-layer network; `layers` are its four parametrised layers in order."""

    def __init__(self, tasks, layers):
        super().__init__()
        self.tasks = list(tasks)
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        h = x.flatten(-3)  # (n, 64) pixels
        for layer in self.layers[:-1]:
            h = F.relu(layer(h))
        return Stacked([t.name for t in self.tasks], self.layers[-1](h).squeeze(-1).t())


def digit_net(tasks, n_shared=0) -> DigitNet:
    """STL (n_shared=0), or hard sharing of the first n_shared layers (at most 3: the last
    layer is always one output per task)."""
    if not 0 <= n_shared <= 3:
        raise ValueError(f"n_shared must be between 0 and 3, got {n_shared}.")
    pairs = list(zip(SIZES[:-1], SIZES[1:]))
    layers = [nn.Linear(a, b) if i < n_shared else TaskLinear(len(tasks), a, b)
              for i, (a, b) in enumerate(pairs)]
    return DigitNet(tasks, layers)


def factorise_net(net: DigitNet, kind, threshold=0.1, ranks=None,
                  keep_norm=False) -> DigitNet:
    """DMTRL from an STL `DigitNet`: every layer's task stack factorised with `kind`
    (LAFWeights, TuckerWeights or TTWeights), ranks chosen by the relative-error threshold,
    or given by `ranks`, a function of a layer's stack shape (see `factorise`)."""
    shared = [layer for layer in net.layers if not isinstance(layer, TaskLinear)]
    if shared:
        raise ValueError("factorise_net needs an STL network (digit_net(tasks, 0)): "
                         f"found a shared layer {shared[0]}.")
    return factorise(net, kind, threshold, ranks, keep_norm)


def dmtrl_ranks(kind, rank: int, shape, other: int = 16) -> list:
    """The fixed ranks of one layer of `dmtrl_net`: the task mode gets `rank` (K), and
    Tucker's and TT's input and output modes at most `other`, each capped at what the stack
    (T, in, out) can reach. LAF: [K]; Tucker: [in, out, K]; TT: [r_1, K]."""
    T, n_in, n_out = shape
    task = min(rank, T, n_in * n_out)
    if kind is LAFWeights:
        return [task]
    if kind is TuckerWeights:
        return [min(n_in, other, n_out * T), min(n_out, other, n_in * T), task]
    if kind is TTWeights:
        first = min(n_in, other, n_out * T)
        return [first, min(task, first * n_out)]
    raise ValueError(f"kind must be LAFWeights, TuckerWeights or TTWeights, got {kind!r}.")


def dmtrl_net(tasks, kind, rank: int, start: DigitNet | None = None, other: int = 16,
              singular_values: str = "L") -> DigitNet:
    """DMTRL with fixed ranks (`dmtrl_ranks`): every layer's task stack factorised with
    `kind`, from `start` (an STL `DigitNet`, e.g. trained) or, by default, from a freshly
    initialised STL network (random initialisation as the paper advises: draw the stack,
    then decompose it; the truncated factors are rescaled to the stack's norm, which
    truncation at a rank far below full would otherwise shrink). Fixed ranks give every
    seed the same shapes, so seeds train together (`mt.fit_replicas`, `mt.compare`).
    singular_values: where LAF puts them ("L" or "S")."""
    if not isinstance(rank, int) or rank < 1:
        raise ValueError(f"rank must be a positive whole number, got {rank!r}.")
    random = start is None
    start = digit_net(tasks, 0) if random else start
    net = factorise_net(start, kind, ranks=lambda shape: dmtrl_ranks(kind, rank, shape, other),
                        keep_norm=random)
    if kind is LAFWeights and singular_values != "L":
        for layer in net.layers:
            w = layer.weights.compose().detach()
            layer.weights = LAFWeights.from_tensor(w, ranks=layer.weights.ranks(),
                                                   singular_values=singular_values)
    return net


def sharing_measures(model: DigitNet, data, split="test") -> dict:
    """How much each layer shares, by three measures: the linear CKA of the tasks' hidden
    activations on the split's images (layers 1-3), the weight similarity of the composed
    weights, and rho of the SVD of the composed weights with the singular values in L and
    in S (layers 1-4; NaN for a layer shared by all tasks, which has one weight)."""
    from ..factorised import layer_rho_conventions, layer_weight_similarity
    from ..factorised import representation_similarity as cka

    out = {}
    for i, h in enumerate(hidden_activations(model, data.split(split).x)):
        out[f"CKA {i + 1}"] = cka(h)
    for i, layer in enumerate(model.layers):
        stacked = not isinstance(layer, nn.Linear)
        rhos = layer_rho_conventions(layer) if stacked else {"L": math.nan, "S": math.nan}
        out[f"similarity {i + 1}"] = layer_weight_similarity(layer) if stacked else 1.0
        out[f"rho L {i + 1}"], out[f"rho S {i + 1}"] = rhos["L"], rhos["S"]
    return out


def load_digit_pair(per_digit=10, seed=0) -> MultiTaskData:
    """Heterogeneous MTL on the same images: the ten-way digit (multiclass) and whether the
    digit is 5 or more (binary). Inputs are the 64 pixels, shape (n, 64)."""
    ten = load_digit_tasks(per_digit, seed)
    tasks = [Task("digit", "multiclass", 10), Task("big", "binary")]

    def split(name):
        part, labels = ten.split(name), ten.info["labels"][name]
        return Split(part.x.flatten(1), {"digit": labels, "big": (labels >= 5).float()})

    return MultiTaskData(tasks, split("train"), split("val"), split("test"), ten.info)


PAIR_HIDDEN = (32, 32, 16)


def pair_net(tasks, n_shared=0, kind=None, rank=None) -> ForkedMLP:
    """A network for the heterogeneous pair: 64 pixels, hidden layers of 32, 32 and 16
    units, one head per task. STL (n_shared=0), hard sharing of the first n_shared layers,
    or, with `kind` (TuckerWeights or TTWeights) and `rank` r, DMTRL from a random start:
    every task-stacked hidden layer factorised with its input and output modes at rank
    at most r and the task mode full (2 for two tasks), so that the tasks share input and
    output subspaces; rescaled to the random stack's norm."""
    net = ForkedMLP(64, PAIR_HIDDEN, tasks, n_shared)
    if kind is None:
        return net
    if kind not in (TuckerWeights, TTWeights) or not isinstance(rank, int) or rank < 1:
        raise ValueError("pair_net factorises with kind TuckerWeights or TTWeights and a "
                         f"positive whole rank, got {kind!r} and {rank!r}.")

    def ranks(shape):
        T, n_in, n_out = shape
        first = min(n_in, rank, n_out * T)
        return [first, min(n_out, rank, n_in * T), T] if kind is TuckerWeights else [first, T]
    return factorise(net, kind, ranks=ranks, keep_norm=True)


@torch.no_grad()
def multiclass_error(model, data, split="test") -> float:
    """The ten-way error of the argmax over the ten tasks' outputs."""
    scores, labels = _scores(model, data, split)
    return (scores.argmax(dim=1) != labels).float().mean().item()


def _scores(model, data, split):
    """The ten outputs (n, 10) on a split, on the CPU, and the split's digit labels."""
    model.eval()
    device = next(model.parameters()).device
    return model(data.split(split).x.to(device)).stacked.cpu(), data.info["labels"][split]


def _balanced(scores, labels, threshold):
    """Each task's balanced error when it says "yes" for a score above `threshold`."""
    says_yes = scores > threshold
    is_yes = torch.nn.functional.one_hot(labels, 10).bool()
    miss = (says_yes != is_yes).float()
    on_positives = (miss * is_yes).sum(0) / is_yes.sum(0)
    on_negatives = (miss * ~is_yes).sum(0) / (~is_yes).sum(0)
    return (on_positives + on_negatives) / 2


@torch.no_grad()
def balanced_error(model, data, split="test", threshold=0.0) -> float:
    """The one-vs-all tasks' balanced error, averaged over the ten tasks: for each task the
    mean of its error on positives and its error on negatives. A classifier that always says
    "no" scores 0.5 (its plain error is 0.1), so it measures what the network learned about
    the rare positives. A task says "yes" when its logit exceeds `threshold`: 0 (the
    default), one number, or one per task (e.g. `validation_thresholds`)."""
    scores, labels = _scores(model, data, split)
    threshold = torch.as_tensor(threshold, dtype=scores.dtype)
    return _balanced(scores, labels, threshold).mean().item()


@torch.no_grad()
def validation_thresholds(model, data) -> torch.Tensor:
    """Each task's decision threshold on its logit, chosen on the validation split: the one
    with the lowest validation balanced error (of the midpoints between neighbouring
    validation scores and one beyond each end), the one nearest to 0 among equals."""
    scores, labels = _scores(model, data, "val")
    chosen = []
    for k in range(10):
        s, is_yes = scores[:, k], labels == k
        ordered = s.sort().values
        candidates = torch.cat([ordered[:1] - 1, (ordered[1:] + ordered[:-1]) / 2,
                                ordered[-1:] + 1])
        says_yes = s[:, None] > candidates[None, :]  # (n, candidates)
        errors = ((~says_yes[is_yes]).float().mean(0) + says_yes[~is_yes].float().mean(0)) / 2
        best = candidates[errors <= errors.min() + 1e-12]
        chosen.append(best[best.abs().argmin()])
    return torch.stack(chosen)


def digit_scores(model, data, split="test") -> dict:
    """The ten one-vs-all tasks' test scores, as `mt.compare`'s score: 1 - AUC and the
    ten-way error (no threshold needed), the balanced error at thresholds chosen on
    validation ("balanced error"), and at the logit 0 ("balanced error at 0")."""
    return {"1 - AUC": 1 - mean_auc(model, data, split),
            "balanced error": balanced_error(model, data, split,
                                             validation_thresholds(model, data)),
            "balanced error at 0": balanced_error(model, data, split),
            "ten-way error": multiclass_error(model, data, split)}


@torch.no_grad()
def hidden_activations(model: DigitNet, x) -> list:
    """The activations of the three hidden layers on inputs x, each (tasks, n, units); a
    layer shared by all tasks gives every task the same activations."""
    model.eval()
    device = next(model.parameters()).device
    h, out = x.to(device).flatten(-3), []
    for layer in model.layers[:-1]:
        h = F.relu(layer(h))
        out.append((h if h.dim() == 3 else h.expand(len(model.tasks), *h.shape)).cpu())
    return out


@torch.no_grad()
def mean_auc(model, data, split="test") -> float:
    """The one-vs-all tasks' area under the ROC curve, averaged over the ten tasks: the
    chance that a random positive image scores above a random negative one (ties count
    half). 0.5 is chance; unlike an error rate it needs no decision threshold."""
    scores, labels = _scores(model, data, split)
    areas = []
    for k in range(10):
        positive, negative = scores[labels == k, k], scores[labels != k, k]
        above = (positive[:, None] > negative[None]).float().mean()
        tied = (positive[:, None] == negative[None]).float().mean()
        areas.append(above + tied / 2)
    return torch.stack(areas).mean().item()
