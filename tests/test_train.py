import pandas as pd
import pytest
import torch

import mtl_tutor as mt
from mtl_tutor import Task


@pytest.fixture
def data():
    return mt.problems.make_related_tasks(n_tasks=3, n_train=64, n_val=32, n_test=200,
                                          relatedness=0.8, noise=0.05, seed=0)


@pytest.mark.parametrize("n_shared", [0, 1])
def test_fit_drives_the_loss_down(data, n_shared):
    mt.set_seed(0)
    model = mt.ForkedMLP(data.n_features, (32,), data.tasks, n_shared)
    before = mt.evaluate(model, data, "train")["loss"].sum()
    history = mt.fit(model, data, epochs=60, lr=1e-2, progress=False)
    after = mt.evaluate(model, data, "train")["loss"].sum()
    assert after < 0.2 * before
    assert list(history.columns[:3]) == ["epoch", "train_loss", "val_loss"]
    assert len(history) == 60
    # the restored weights are the best epoch's
    best = history.attrs["best_epoch"]
    val_now = mt.evaluate(model, data, "val")["loss"].sum()
    assert val_now == pytest.approx(history.loc[history.epoch == best, "val_loss"].item(), rel=1e-5)


def test_fit_learns_classification():
    data = mt.problems.make_related_tasks(n_tasks=2, n_train=200, kind="multiclass", n_classes=3,
                                 noise=0.0, seed=1)
    mt.set_seed(0)
    model = mt.hard_sharing(data.n_features, (32,), data.tasks)
    chance = mt.evaluate(model, data)["error"].mean()
    mt.fit(model, data, epochs=40, progress=False)
    assert mt.evaluate(model, data)["error"].mean() < min(0.3, chance)


def test_early_stopping_stops(data):
    mt.set_seed(0)
    model = mt.hard_sharing(data.n_features, (64,), data.tasks)
    history = mt.fit(model, data, epochs=500, lr=3e-2, patience=5, progress=False)
    assert len(history) < 500
    assert len(history) - history.attrs["best_epoch"] == 5


def test_weighting_and_penalty_hooks_are_used(data):
    seen = {}

    def weighting(losses):
        seen["tasks"] = sorted(losses)
        return 2 * sum(losses.values())

    def penalty():
        seen["penalty"] = True
        return torch.zeros(())

    mt.fit(mt.hard_sharing(data.n_features, (8,), data.tasks), data, epochs=1,
           weighting=weighting, penalty=penalty, progress=False)
    assert seen == {"tasks": data.names, "penalty": True}


def test_evaluate_table(data):
    table = mt.evaluate(mt.hard_sharing(data.n_features, (8,), data.tasks), data)
    assert isinstance(table, pd.DataFrame)
    assert list(table.index) == data.names and list(table.columns) == ["kind", "loss", "error"]


def test_divergence_names_epoch_and_task(data):
    data.train.y["task1"] = data.train.y["task1"] * 1e30
    with pytest.raises(FloatingPointError, match=r"diverged at epoch 1: the loss of task 'task1'"):
        mt.fit(mt.hard_sharing(data.n_features, (8,), data.tasks), data, epochs=3,
               progress=False)


def test_sweep_collects_a_tidy_table():
    def run(seed, n):
        return [{"method": "a", "value": n + seed}, {"method": "b", "value": -n}]

    table = mt.sweep(run, seeds=[0, 1], n=[10, 20])
    assert len(table) == 8 and list(table.columns) == ["n", "seed", "method", "value"]
    summary = mt.stats.summarize(table[table.method == "a"], "n", "value")
    assert summary["mean"].tolist() == [10.5, 20.5] and summary["count"].tolist() == [2, 2]


@pytest.mark.parametrize("kind", ["regression", "binary"])
def test_vectorised_losses_equal_one_loss_per_task(kind):
    data = mt.problems.make_related_tasks(n_tasks=4, n_train=30, kind=kind, seed=2)
    model = mt.hard_sharing(data.n_features, (8,), data.tasks)
    preds = model(data.train.x)
    assert isinstance(preds, mt.data.Stacked)  # the fast path is taken
    fast = mt.losses.task_losses(data.tasks, preds, data.train.y)
    slow = torch.stack([mt.losses.task_loss(t, preds[t.name], data.train.y[t.name])
                        for t in data.tasks])
    torch.testing.assert_close(fast, slow)


def test_heterogeneous_losses_are_computed_one_by_one():
    tasks = [Task("digit", "multiclass", 3), Task("size")]
    preds = {"digit": torch.randn(5, 3), "size": torch.randn(5)}
    targets = {"digit": torch.tensor([0, 1, 2, 0, 1]), "size": torch.randn(5)}
    losses = mt.losses.task_losses(tasks, preds, targets)
    torch.testing.assert_close(losses[0], torch.nn.functional.cross_entropy(preds["digit"],
                                                                            targets["digit"]))
    torch.testing.assert_close(losses[1], ((preds["size"] - targets["size"]) ** 2).mean())


def test_equal_weights_is_the_plain_sum():
    values = torch.tensor([0.5, 1.5, 2.0])
    assert mt.weighting.equal_weights(mt.data.Stacked(["a", "b", "c"], values)).item() == 4.0
    assert mt.weighting.equal_weights(dict(zip("abc", values.unbind()))).item() == 4.0


@pytest.mark.parametrize("shared", [False, True])
def test_batches_cover_every_example_once(shared):
    data = mt.problems.make_related_tasks(n_tasks=2, n_train=23, shared_inputs=shared, seed=0)
    seen_x, seen_y = [], []
    for batch in data.train.batches(5):
        assert batch.n <= 5 and isinstance(batch.y, mt.data.Stacked)
        seen_x.append(batch.x if shared else batch.x[0])
        seen_y.append(batch.y["task0"])
    x0 = data.train.x if shared else data.train.x[0]
    order = torch.cat(seen_x).sum(1).argsort()
    torch.testing.assert_close(torch.cat(seen_x)[order], x0[x0.sum(1).argsort()])
    assert sorted(torch.cat(seen_y).tolist()) == sorted(data.train.y["task0"].tolist())


@pytest.mark.parametrize("case", ["shared", "per task", "mixed targets"])
def test_batches_are_slices_of_one_shuffle(case):
    """One permutation per epoch, then consecutive slices: the same minibatches, in the same
    order, as indexing with each slice of `torch.randperm` (what the loop did before)."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(*((2,) if case == "per task" else ()), 23, 4, generator=g)
    y = {"a": torch.randn(23, generator=g), "b": torch.randn(23, generator=g)}
    if case == "mixed targets":  # targets of two dtypes: batched task by task
        y["b"] = torch.randint(0, 3, (23,), generator=g)
    split = mt.Split(x, y)
    torch.manual_seed(0)
    batches = list(split.batches(5))
    torch.manual_seed(0)
    expected = torch.randperm(23).split(5)
    assert [b.n for b in batches] == [len(i) for i in expected] == [5, 5, 5, 5, 3]
    for batch, index in zip(batches, expected):
        assert torch.equal(batch.x, x[:, index] if case == "per task" else x[index])
        assert isinstance(batch.y, mt.data.Stacked) == (case != "mixed targets")
        for name in y:
            assert torch.equal(batch.y[name], y[name][index])


@pytest.mark.parametrize("shared", [False, True])
def test_fit_is_the_plain_adam_loop(shared):
    """fit's speed-ups (one shuffle per epoch, one batched loss, gradients dropped directly)
    change nothing: it ends with exactly the weights of the textbook loop, zero_grad and all."""
    data = mt.problems.make_related_tasks(n_tasks=3, n_train=64, shared_inputs=shared, seed=0)
    data = mt.MultiTaskData(data.tasks, data.train, None, data.test)  # no validation
    torch.manual_seed(1)
    model = mt.hard_sharing(data.n_features, (8,), data.tasks)
    reference = mt.hard_sharing(data.n_features, (8,), data.tasks)
    reference.load_state_dict(model.state_dict())
    torch.manual_seed(2)
    mt.fit(model, data, epochs=3, batch_size=10, lr=1e-2, progress=False)
    torch.manual_seed(2)
    optimizer = torch.optim.Adam(reference.parameters(), lr=1e-2)
    x, y = data.train.x, data.train.y
    for _ in range(3):
        for index in torch.randperm(data.train.n).split(10):
            preds = reference(x[index] if shared else x[:, index])
            loss = sum(((preds[name] - y[name][index]) ** 2).mean() for name in data.names)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    for (name, a), b in zip(model.named_parameters(), reference.parameters()):
        torch.testing.assert_close(a, b, msg=f"{name} differs")


def test_no_host_sync_inside_the_training_step(data, monkeypatch):
    """Reading a value from the device (item, tolist, cpu, numpy) waits for the GPU; fit does
    it once per epoch for its history, never per minibatch (issue 24: GPU-ready without a
    GPU). Counted here on the CPU: the count must not grow with the number of batches."""
    counts = []
    for batch_size in (64, 8):  # 1 and 8 batches per epoch
        calls = []
        for name in ("item", "tolist", "cpu", "numpy"):
            original = getattr(torch.Tensor, name)
            monkeypatch.setattr(torch.Tensor, name,
                                lambda self, *a, _f=original, _n=name, _c=calls, **k:
                                _c.append(_n) or _f(self, *a, **k))
        model = mt.hard_sharing(data.n_features, (8,), data.tasks)
        mt.fit(model, data, epochs=3, batch_size=batch_size, progress=False)
        monkeypatch.undo()
        counts.append(len(calls))
    assert counts[0] == counts[1], f"host syncs depend on the number of batches: {counts}"
    assert counts[0] <= 2 * 3, f"more than two host reads per epoch: {counts[0]} in 3 epochs"


def test_stacked_is_a_read_only_mapping_with_tasks_on_the_last_axis():
    values = torch.arange(6.0).reshape(3, 2)  # 3 examples, tasks a and b
    stacked = mt.data.Stacked(["a", "b"], values)
    assert list(stacked) == ["a", "b"] and len(stacked) == 2 and "b" in stacked
    torch.testing.assert_close(stacked["b"], torch.tensor([1.0, 3.0, 5.0]))
    assert {**stacked}.keys() == {"a", "b"}
    with pytest.raises(KeyError):
        stacked["c"]


@pytest.mark.parametrize("shared", [False, True])
def test_one_output_heads_match_the_task_stacked_layer(shared):
    """The heads' shortcut (one nn.Linear-like product for shared inputs) computes what the
    task-stacked layer computes, per task, in the (n, tasks) layout of the targets."""
    data = mt.problems.make_related_tasks(n_tasks=3, n_train=7, shared_inputs=shared, seed=1)
    model = mt.hard_sharing(data.n_features, (5,), data.tasks)
    preds = model(data.train.x)
    assert preds.stacked.shape == (7, 3)
    h = model.trunk(data.train.x)
    reference = model.heads.stacked(h)  # (tasks, n, 1)
    for t, name in enumerate(data.names):
        torch.testing.assert_close(preds[name], reference[t, :, 0])


def test_mode_switch_sets_every_module_and_respects_overridden_train():
    from mtl_tutor.train import mode_switch

    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5),
                                torch.nn.Sequential(torch.nn.BatchNorm1d(2)))
    switch = mode_switch(model)
    switch(False)
    assert not any(m.training for m in model.modules())
    switch(True)
    assert all(m.training for m in model.modules())

    class Frozen(torch.nn.Linear):  # keeps itself in eval mode, as some users' layers do
        def train(self, mode=True):
            return super().train(False)

    model = torch.nn.Sequential(Frozen(2, 2), torch.nn.Dropout(0.5))
    mode_switch(model)(True)
    assert model.training and model[1].training and not model[0].training


def test_monitor_stops_and_restores_on_one_tasks_validation_loss(data):
    """Issue 18: with monitor, the epoch kept is the one with the lowest validation loss of
    that task, not of the sum; the restored weights give that task's best loss."""
    shuffled = mt.problems.mechanisms.shuffle_task(data, "task1", seed=0)  # a noise task
    for monitor, column in [(None, "val_loss"), ("task0", "val_loss[task0]")]:
        mt.set_seed(0)
        model = mt.hard_sharing(data.n_features, (32,), data.tasks)
        history = mt.fit(model, shuffled, epochs=40, lr=1e-2, monitor=monitor,
                         progress=False)
        best = int(history.loc[history[column].idxmin(), "epoch"])
        assert history.attrs["best_epoch"] == best
        assert history.attrs["stopped_early"] is False  # no patience: the cap ended it
        val = mt.evaluate(model, shuffled, "val")["loss"]
        want = history[column].min()
        got = val.sum() if monitor is None else val[monitor]
        assert got == pytest.approx(want, rel=1e-4)
    mt.set_seed(0)
    history = mt.fit(mt.hard_sharing(data.n_features, (32,), data.tasks), shuffled,
                     epochs=400, lr=3e-2, patience=5, monitor="task0", progress=False)
    assert history.attrs["stopped_early"] is True
    with pytest.raises(ValueError, match="monitor must name one of the tasks"):
        mt.fit(mt.hard_sharing(data.n_features, (8,), data.tasks), data, epochs=1,
               monitor="task9", progress=False)


def test_a_monitor_dict_stops_and_restores_on_the_weighted_validation_loss(data):
    """Early stopping on sum_t weight_t * val_loss_t (e.g. each task's loss over its
    scale), in fit and in fit_replicas alike; a dict must weigh every task."""
    weights = {name: 10.0 ** -i for i, name in enumerate(data.names)}
    settings = dict(epochs=30, lr=3e-2, patience=4, monitor=weights, progress=False)
    mt.set_seed(0)
    model = mt.hard_sharing(data.n_features, (32,), data.tasks)
    history = mt.fit(model, data, **settings)
    weighted = sum(w * history[f"val_loss[{n}]"] for n, w in weights.items())
    assert history.attrs["best_epoch"] == int(history.loc[weighted.idxmin(), "epoch"])
    val = mt.evaluate(model, data, "val")["loss"]
    assert sum(w * val[n] for n, w in weights.items()) == pytest.approx(weighted.min(),
                                                                          rel=1e-4)
    models, generators = mt.seeded_models(
        lambda: mt.hard_sharing(data.n_features, (32,), data.tasks), [0])
    [again] = mt.fit_replicas(models, data, generators=generators, **settings)
    assert again.attrs == history.attrs
    # a function of the data gives each replica its own dict
    models, generators = mt.seeded_models(
        lambda: mt.hard_sharing(data.n_features, (32,), data.tasks), [0])
    [again] = mt.fit_replicas(models, data, generators=generators,
                              **{**settings, "monitor": lambda d: weights})
    assert again.attrs == history.attrs
    with pytest.raises(ValueError, match="gives every task"):
        mt.fit(mt.hard_sharing(data.n_features, (8,), data.tasks), data, epochs=1,
               monitor={data.names[0]: 1.0}, progress=False)
