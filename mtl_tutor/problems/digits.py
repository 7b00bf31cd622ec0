"""Handwritten digits as ten one-vs-all tasks (scikit-learn's 8x8 digits stand in for MNIST),
and the small four-layer network of the tensor-factorisation chapter.

The network: the 64 pixels, then fully connected layers of 32, 32 and 16 units with ReLU,
then one output per task. Each of its four parametrised layers is either shared by all
tasks (`nn.Linear`), task-stacked (`TaskLinear`: STL) or factorised (DMTRL). (DMTRL
factorises convolution kernels the same way, see `DMTRLConv2d`; fully connected layers keep
this experiment fast on a laptop CPU.)
"""
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

from ..data import MultiTaskData, Split, Stacked, Task
from ..factorised import factorise
from ..layers import TaskLinear

SIZES = (64, 32, 32, 16, 1)  # pixels, three hidden layers, one output per task


def load_digit_tasks(per_digit=10, seed=0, val_per_digit=None, n_test=500) -> MultiTaskData:
    """Ten binary tasks "is it digit k?" on shared 8x8 images, shaped (n, 1, 8, 8) in [0, 1].

    A fixed test set of `n_test` images is set aside (the same for every size and seed).
    From the rest, drawn with `seed`, the training set takes `per_digit` images of every
    digit (stratified: no digit is missing) and the validation set `val_per_digit` others of
    every digit (by default as many as training: validation sized to the training set).
    """
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
                                     "test": labels[test]}})


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


def factorise_net(net: DigitNet, kind, threshold=0.1) -> DigitNet:
    """DMTRL from an STL `DigitNet`: every layer's task stack factorised with `kind`
    (LAFWeights, TuckerWeights or TTWeights), ranks chosen by the relative-error threshold."""
    shared = [layer for layer in net.layers if not isinstance(layer, TaskLinear)]
    if shared:
        raise ValueError("factorise_net needs an STL network (digit_net(tasks, 0)): "
                         f"found a shared layer {shared[0]}.")
    return factorise(net, kind, threshold)


def load_digit_pair(per_digit=10, seed=0) -> MultiTaskData:
    """Heterogeneous MTL on the same images: the ten-way digit (multiclass) and whether the
    digit is 5 or more (binary). Inputs are the 64 pixels, shape (n, 64)."""
    ten = load_digit_tasks(per_digit, seed)
    tasks = [Task("digit", "multiclass", 10), Task("big", "binary")]

    def split(name):
        part, labels = ten.split(name), ten.info["labels"][name]
        return Split(part.x.flatten(1), {"digit": labels, "big": (labels >= 5).float()})

    return MultiTaskData(tasks, split("train"), split("val"), split("test"), ten.info)


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


@torch.no_grad()
def balanced_error(model, data, split="test") -> float:
    """The one-vs-all tasks' balanced error, averaged over the ten tasks: for each task the
    mean of its error on positives and its error on negatives. A classifier that always says
    "no" scores 0.5 (its plain error is 0.1), so it measures what the network learned about
    the rare positives."""
    scores, labels = _scores(model, data, split)
    says_yes = scores > 0  # logits
    is_yes = torch.nn.functional.one_hot(labels, 10).bool()
    miss = (says_yes != is_yes).float()
    on_positives = (miss * is_yes).sum(0) / is_yes.sum(0)
    on_negatives = (miss * ~is_yes).sum(0) / (~is_yes).sum(0)
    return ((on_positives + on_negatives) / 2).mean().item()


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
