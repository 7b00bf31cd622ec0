import pytest
import torch

import mtl_tutor as mt


@pytest.mark.parametrize("kind,outputs", [("regression", 1), ("binary", 1), ("multiclass", 3)])
@pytest.mark.parametrize("shared", [False, True])
def test_generator_shapes(kind, outputs, shared):
    data = mt.problems.make_related_tasks(n_tasks=3, n_train=7, n_val=5, n_test=11, n_features=4,
                                 kind=kind, n_classes=3, shared_inputs=shared, seed=1)
    assert data.names == ["task0", "task1", "task2"]
    assert all(t.kind == kind and t.outputs == outputs for t in data.tasks)
    for split, n in ((data.train, 7), (data.val, 5), (data.test, 11)):
        assert split.x.shape == ((n, 4) if shared else (3, n, 4))
        for y in split.y.values():
            assert y.shape == (n,)
            if kind == "multiclass":
                assert y.dtype == torch.long and 0 <= y.min() and y.max() < 3
            elif kind == "binary":
                assert set(y.unique().tolist()) <= {0.0, 1.0}


def test_generator_is_seeded():
    a = mt.problems.make_related_tasks(seed=5)
    b = mt.problems.make_related_tasks(seed=5)
    c = mt.problems.make_related_tasks(seed=6)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.train.y["task1"], b.train.y["task1"])
    assert not torch.equal(a.train.x, c.train.x)


def test_test_set_does_not_depend_on_training_size():
    a = mt.problems.make_related_tasks(n_train=10, seed=0)
    b = mt.problems.make_related_tasks(n_train=100, seed=0)
    assert torch.equal(a.test.x, b.test.x)


def test_relatedness_one_is_the_same_function_up_to_noise():
    data = mt.problems.make_related_tasks(n_tasks=4, n_train=200, relatedness=1.0, noise=0.1,
                                          seed=0)
    teacher, x = data.info["teacher"], torch.randn(500, data.n_features)
    for t in range(1, 4):
        assert torch.allclose(teacher(x, t), teacher(x, 0))
    # the targets are that function plus noise of the requested size
    for t, name in enumerate(data.names):
        residual = data.train.y[name] - teacher(data.train.x[t], t)[:, 0]
        assert 0.07 < residual.std() < 0.13


@pytest.mark.parametrize("r", [0.0, 0.5, 0.9])
def test_relatedness_is_the_mean_correlation_between_task_functions(r):
    data = mt.problems.make_related_tasks(n_tasks=30, relatedness=r, seed=0)
    teacher, x = data.info["teacher"], torch.randn(5000, data.n_features)
    f = torch.stack([teacher(x, t)[:, 0] for t in range(30)])
    corr = torch.corrcoef(f)
    mean_off_diagonal = (corr.sum() - 30) / (30 * 29)
    assert abs(mean_off_diagonal - r) < 0.05


def test_generator_rejects_bad_knobs():
    with pytest.raises(ValueError, match="relatedness must lie in"):
        mt.problems.make_related_tasks(relatedness=1.5)
    with pytest.raises(ValueError, match="n_train must be at least 1"):
        mt.problems.make_related_tasks(n_train=0)


def test_task_family_has_its_group_structure():
    within, unrelated = [], []
    for seed in range(10):  # random functions correlate by chance: average over draws
        data = mt.problems.make_task_family(cluster_sizes=(2, 2), n_unrelated=1, relatedness=0.9,
                                   seed=seed)
        assert data.info["groups"] == [0, 0, 1, 1, -1] and data.train.shared_inputs
        corr = torch.corrcoef(torch.stack([data.test.y[name] for name in data.names]))
        within += [corr[0, 1], corr[2, 3]]
        unrelated += [corr[t, 4] for t in range(4)]
    assert torch.stack(within).mean() > 0.8
    assert abs(torch.stack(unrelated).mean()) < 0.2


def test_numpy_pandas_and_float64_data_are_converted_once():
    """What torch.from_numpy and pandas give (float64, integer labels, a DataFrame of targets,
    task names as strings) trains; one note says float64 became float32."""
    import warnings

    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)

    def part(n):
        x = rng.normal(size=(n, 3))  # float64
        targets = pd.DataFrame({"price": x @ [1.0, -1.0, 0.5], "sold": (x[:, 0] > 0).astype(int)})
        return mt.Split(x, targets)

    from mtl_tutor import split as data_module

    data_module._converted.clear()  # as in a fresh session
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = mt.MultiTaskData(["price", mt.Task("sold", "binary")], part(40), part(20),
                                part(20))
    notes = {str(w.message) for w in caught}
    assert len(notes) == 1 and "float64" in notes.pop()
    assert data.train.x.dtype == torch.float32
    assert data.train.y["price"].dtype == torch.float32
    assert data.train.y["sold"].dtype == torch.float32  # binary 0/1 integers as floats
    assert data.tasks[0] == mt.Task("price")
    model = mt.hard_sharing(data.n_features, (8,), data.tasks)
    history = mt.fit(model, data, epochs=5, progress=False)
    assert len(history) == 5


def test_a_target_matrix_and_integer_class_labels():
    x = torch.randn(30, 4)
    y = torch.randn(30, 2)
    split = mt.Split(x, y)
    data = mt.MultiTaskData(["a", "b"], split, mt.Split(x, y), mt.Split(x, y))
    assert torch.equal(data.train.y["b"], y[:, 1])
    labels = torch.randint(0, 3, (30,), dtype=torch.int32)
    one = mt.MultiTaskData([mt.Task("c", "multiclass", 3)], *(mt.Split(x, labels) for _ in "tvt"))
    assert one.train.y["c"].dtype == torch.long


def test_holdout_makes_a_validation_split():
    split = mt.Split(torch.arange(20.0)[:, None], {"a": torch.arange(20.0)})
    rest, held = split.holdout(0.25, seed=1)
    assert (rest.n, held.n) == (15, 5)
    together = torch.cat([rest.x[:, 0], held.x[:, 0]]).sort().values
    assert torch.equal(together, torch.arange(20.0))  # every example once
    assert torch.equal(held.x[:, 0], held.y["a"])  # inputs and targets stay paired


def test_task_hierarchy_builds_each_level_on_the_one_below():
    data = mt.problems.make_task_hierarchy(n_train=30, n_val=10, n_test=2000, noise=0.0,
                                           low_outputs=8, seed=3)
    assert data.names == ["low", "middle", "high"]
    assert data.train.y["low"].shape == (30, 8) and data.train.y["high"].shape == (30,)
    assert data.info["depth"] == {"low": 1, "middle": 2, "high": 3}
    for name in data.names:  # standardised targets
        y = data.test.y[name]
        assert abs(y.mean().item()) < 0.15 and abs(y.std().item() - 1) < 0.15
    # the high task is three tanh layers deep: no linear function of the inputs fits it
    x, high = data.test.x, data.test.y["high"]
    design = torch.cat([x, torch.ones(len(x), 1)], 1)
    fit = torch.linalg.lstsq(design, high[:, None]).solution
    assert (high[:, None] - design @ fit).pow(2).mean() > 0.05
    same = mt.problems.make_task_hierarchy(n_train=30, n_val=10, low_outputs=8, seed=3)
    assert torch.equal(same.train.x, data.train.x)
    with pytest.raises(ValueError, match="at least 1"):
        mt.problems.make_task_hierarchy(low_outputs=0)
