"""Handwritten digits as ten one-vs-all tasks (scikit-learn's 8x8 digits stand in for MNIST),
and the small four-layer network of the tensor-factorisation chapter.

The network: conv 3x3 (1 -> 8 channels), max-pool, conv 3x3 (8 -> 16), max-pool, fully
connected (64 -> 32), fully connected (32 -> 1 per task), ReLU between. Each of the four
parametrised layers is either shared by all tasks (a plain `nn.Conv2d` / `nn.Linear`),
task-stacked (`TaskConv2d` / `TaskLinear`: STL) or factorised (DMTRL).
"""
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

from .data import MultiTaskData, Split, Stacked, Task
from .factorised import DMTRLConv2d, DMTRLLinear
from .layers import TaskConv2d, TaskLinear

CHANNELS = (1, 8, 16)
HIDDEN = 32


def load_digit_tasks(train_fraction=0.1, seed=0, n_val=300, n_test=500) -> MultiTaskData:
    """Ten binary tasks "is it digit k?" on shared 8x8 images, shaped (n, 1, 8, 8) in [0, 1].

    A fixed test set of `n_test` images and validation set of `n_val` are set aside (the
    same for every fraction and seed); the training set is a `train_fraction` of the rest,
    drawn with `seed`.
    """
    if not 0 < train_fraction <= 1:
        raise ValueError(f"train_fraction must lie in (0, 1], got {train_fraction}.")
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0
    labels = torch.tensor(digits.target)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(1234))
    test, val, pool = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    pick = torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))
    train = pool[pick[:max(10, round(train_fraction * len(pool)))]]
    tasks = [Task(f"is_{k}", "binary") for k in range(10)]

    def split(index):
        return Split(x[index], {f"is_{k}": (labels[index] == k).float() for k in range(10)})

    return MultiTaskData(tasks, split(train), split(val), split(test),
                         {"labels": {"train": labels[train], "val": labels[val],
                                     "test": labels[test]}})


def _pool(h):
    """2x2 max-pooling of (n, C, H, W) or (tasks, n, C, H, W)."""
    if h.dim() == 4:
        return F.max_pool2d(h, 2)
    pooled = F.max_pool2d(h.flatten(0, 1), 2)
    return pooled.reshape(*h.shape[:2], *pooled.shape[1:])


class DigitNet(nn.Module):
    """The four-layer network; `layers` are its four parametrised layers in order."""

    def __init__(self, tasks, layers):
        super().__init__()
        self.tasks = list(tasks)
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        conv1, conv2, fc1, fc2 = self.layers
        h = _pool(F.relu(conv1(x)))
        h = _pool(F.relu(conv2(h)))
        h = F.relu(fc1(h.flatten(-3)))
        return Stacked([t.name for t in self.tasks], fc2(h).squeeze(-1))


def digit_net(tasks, n_shared=0) -> DigitNet:
    """STL (n_shared=0), or hard sharing of the first n_shared layers (at most 3: the last
    layer is always one output per task)."""
    if not 0 <= n_shared <= 3:
        raise ValueError(f"n_shared must be between 0 and 3, got {n_shared}.")
    T = len(tasks)
    shared = [nn.Conv2d(1, 8, 3, padding=1), nn.Conv2d(8, 16, 3, padding=1),
              nn.Linear(64, HIDDEN)]
    stacked = [TaskConv2d(T, 1, 8, 3, padding=1), TaskConv2d(T, 8, 16, 3, padding=1),
               TaskLinear(T, 64, HIDDEN), TaskLinear(T, HIDDEN, 1)]
    return DigitNet(tasks, shared[:n_shared] + stacked[n_shared:])


def factorise_net(net: DigitNet, kind, threshold=0.1) -> DigitNet:
    """DMTRL from an STL `DigitNet`: every layer's task stack factorised with `kind`
    (LAFWeights, TuckerWeights or TTWeights), ranks chosen by the relative-error threshold."""
    layers = []
    for layer in net.layers:
        if isinstance(layer, TaskConv2d):
            layers.append(DMTRLConv2d.from_stack(kind, layer.weight, layer.bias, threshold,
                                                 padding=layer.padding))
        elif isinstance(layer, TaskLinear):
            layers.append(DMTRLLinear.from_stack(kind, layer.weight, layer.bias, threshold))
        else:
            raise ValueError("factorise_net needs an STL network (digit_net(tasks, 0)): "
                             f"found a shared layer {layer}.")
    return DigitNet(net.tasks, layers)


@torch.no_grad()
def multiclass_error(model, data, split="test") -> float:
    """The ten-way error of the argmax over the ten tasks' outputs."""
    model.eval()
    part = data.split(split)
    device = next(model.parameters()).device
    scores = model(part.x.to(device)).stacked.cpu()  # (10, n)
    return (scores.argmax(dim=0) != data.info["labels"][split]).float().mean().item()
