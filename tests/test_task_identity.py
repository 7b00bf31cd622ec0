"""Task 0 ("main") is the same function on the same examples whatever the number of tasks,
so a sweep over the number of tasks measures the tasks, not a change of main task."""
import pytest
import torch

from mtl_tutor.problems import auxiliary as aux
from mtl_tutor.problems import (
    make_environment_tasks,
    make_related_tasks,
    make_task_family,
    mechanisms,
)

COUNTS = [1, 2, 4, 8, 16]

GENERATORS = {
    "related, own inputs": lambda T: make_related_tasks(n_tasks=T, relatedness=0.5, seed=3),
    "related, shared inputs": lambda T: make_related_tasks(
        n_tasks=T, relatedness=0.5, shared_inputs=True, seed=3),
    "related, binary": lambda T: make_related_tasks(n_tasks=T, kind="binary", seed=3),
    "related, multiclass": lambda T: make_related_tasks(n_tasks=T, kind="multiclass", seed=3),
    "environment": lambda T: make_environment_tasks(n_tasks=T, seed=3),
    "environment, shared inputs": lambda T: make_environment_tasks(
        n_tasks=T, shared_inputs=True, seed=3),
    "attention": lambda T: mechanisms.make_attention_tasks(n_tasks=T, seed=3),
    "attention, own inputs, other support": lambda T: mechanisms.make_attention_tasks(
        n_tasks=T, shared_inputs=False, extra_inputs="other", seed=3),
    "noisy copies": lambda T: mechanisms.make_noisy_copies(n_copies=T - 1, seed=3),
    "random labels": lambda T: mechanisms.make_random_label_tasks(n_tasks=T, seed=3),
    "sum and difference": lambda T: mechanisms.make_sum_difference(n_trials=T, seed=3),
    "redundant views": lambda T: mechanisms.make_redundant_views(n_extra=T, seed=3),
    "family, cluster size": lambda T: make_task_family(cluster_sizes=(T,), seed=3),
    "family, outsiders": lambda T: make_task_family(cluster_sizes=(2,), n_unrelated=T, seed=3),
    "auxiliary family": lambda T: aux.make_auxiliary_family(
        n_main=5, n_aux=20, relatedness=tuple(0.05 * i for i in range(T)),
        thresholds=(0.0,), seed=3),
}


def first_task(data, split):
    name = data.names[0]
    part = getattr(data, split)
    x = part.x[0] if part.per_task else part.x
    return x, part.y[name]


@pytest.mark.parametrize("generator", GENERATORS.values(), ids=GENERATORS.keys())
def test_first_task_does_not_depend_on_the_number_of_tasks(generator):
    made = {T: generator(T) for T in COUNTS}
    for T in COUNTS:
        assert len(made[T].names) >= T
    for split in ("train", "val", "test"):
        x1, y1 = first_task(made[1], split)
        for T in COUNTS[1:]:
            x, y = first_task(made[T], split)
            assert torch.equal(x, x1), (split, T)
            assert torch.equal(y, y1), (split, T)


def test_other_tasks_differ_and_seeds_differ():
    data = make_related_tasks(n_tasks=3, relatedness=0.5, seed=3)
    assert not torch.equal(data.test.y["task0"], data.test.y["task1"])
    other = make_related_tasks(n_tasks=3, relatedness=0.5, seed=4)
    assert not torch.equal(data.test.y["task0"], other.test.y["task0"])


def test_related_auxiliary_keeps_the_main_task_for_every_relatedness():
    made = [aux.make_related_auxiliary(n_main=5, n_related=n, relatedness=r, seed=3)
            for r in (0.0, 0.5, 0.9) for n in (20, 40)]
    for data in made[1:]:
        assert torch.equal(data.test.y["main"], made[0].test.y["main"])
        assert torch.equal(data.train.y["main"][:5], made[0].train.y["main"][:5])
    # relatedness is the expected correlation of the two functions (over seeds)
    corrs = []
    for seed in range(40):
        f = aux.make_related_auxiliary(n_main=5, n_related=5, relatedness=0.6,
                                       seed=seed).info["teacher"]
        x = torch.randn(2000, 10)
        corrs.append(torch.corrcoef(torch.stack([f(x, 0)[:, 0], f(x, 1)[:, 0]]))[0, 1])
    assert abs(torch.stack(corrs).mean() - 0.6) < 0.1


def test_main_labels_are_repeated_with_their_inputs():
    for data in (aux.make_related_auxiliary(n_main=5, n_related=20),
                 aux.make_auxiliary_family(n_main=5, n_aux=20)):
        y = data.train.y["main"]
        assert torch.equal(y[:5], y[5:10]) and torch.equal(y[:5], y[15:20])
