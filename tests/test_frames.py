"""Own data: a DataFrame in either layout, tasks of different sizes (missing labels),
standardisation with errors in original units, and data without a validation split."""
import numpy as np
import pandas as pd
import pytest
import torch

import mtl_tutor as mt


def schools(sizes=(40, 12, 3), seed=0):
    """Long layout: pupils with a school (the task), a score, a number and a category."""
    rng = np.random.default_rng(seed)
    rows = []
    for school, n in enumerate(sizes):
        x = rng.normal(size=n)
        rows += [{"school": f"s{school}", "reading": xi, "sex": rng.choice(["F", "M"]),
                  "score": 10 + 5 * (1 + school) * xi + rng.normal()} for xi in x]
    return pd.DataFrame(rows)


def test_long_layout_gives_one_task_per_school_with_its_own_examples():
    df = schools()
    data = mt.from_frame(df, "score", task="school")
    assert data.names == ["s0", "s1", "s2"] and data.missing_labels
    assert data.info["features"] == ["reading", "sex_F", "sex_M"]
    # every school in every split as far as its size allows, at least one in training
    labelled = {s: int((~torch.isnan(data.train.y[s])).sum()) for s in data.names}
    assert labelled == {"s0": 24, "s1": 8, "s2": 1}
    total = sum(int((~torch.isnan(sp.y[s])).sum()) for sp in (data.train, data.val, data.test)
                for s in data.names)
    assert total == len(df)
    # each row is labelled for its own school only
    assert ((~torch.isnan(data.train.stacked_y().stacked)).sum(dim=1) == 1).all()


def test_standardised_targets_and_errors_in_original_units():
    df = schools(sizes=(200, 200), seed=1)
    data = mt.from_frame(df, "score", ["reading"], task="school", seed=3)
    # long layout: one scale for every school, so their levels and spreads stay comparable
    y = data.train.stacked_y().stacked
    y = y[~torch.isnan(y)]
    assert abs(float(y.mean())) < 1e-5 and abs(float(y.std()) - 1) < 1e-5
    assert data.info["target_scale"]["s0"] == data.info["target_scale"]["s1"]
    mean, sd = data.info["target_scale"]["s1"]
    assert 9 < mean < 11 and sd == pytest.approx(df.score.std(), rel=0.1)
    mt.setup(seed=0)
    model = mt.hard_sharing(data.n_features, (8,), data.tasks)
    mt.fit(model, data, epochs=40, lr=1e-2, progress=False)
    table = mt.evaluate(model, data)
    # the loss is in standard units, the error in the score's units: error = loss * sd^2
    for s in data.names:
        sd = data.info["target_scale"][s][1]
        assert table.loc[s, "error"] == pytest.approx(table.loc[s, "loss"] * sd**2, rel=1e-5)
    assert (table["n"] == 40).all()
    # the relation is linear with noise sd 1: a fitted model is close to the noise
    assert table["error"].max() < 2.0


def test_wide_layout_with_missing_labels_trains_each_task_on_its_labels():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    df = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "t0": x[:, 0] * 2, "t1": x[:, 1] - 1})
    df.loc[:149, "t1"] = np.nan  # half the examples have no label for t1
    wide = mt.from_frame(df, ["t0", "t1"], seed=1)  # wide layout: a scale per task
    for name in ("t0", "t1"):
        y = wide.train.y[name][~torch.isnan(wide.train.y[name])]
        assert abs(float(y.mean())) < 1e-5 and abs(float(y.std()) - 1) < 1e-5
    data = mt.from_frame(df, ["t0", "t1"], standardise=False)
    assert data.missing_labels and data.n_features == 2
    mt.setup(seed=0)
    model = mt.hard_sharing(2, (16,), data.tasks)
    history = mt.fit(model, data, epochs=60, lr=1e-2, progress=False)
    assert np.isfinite(history["val_loss"]).all()
    table = mt.evaluate(model, data)
    assert table.loc["t1", "n"] < table.loc["t0", "n"]
    assert table["error"].max() < 0.05  # noiseless linear targets: both learned


def test_masked_loss_ignores_missing_labels_exactly():
    tasks = [mt.Task("a"), mt.Task("b")]
    pred = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    y = torch.tensor([[0.0, float("nan")], [float("nan"), float("nan")], [1.0, 2.0]])
    losses = mt.losses.task_losses(tasks, mt.data.Stacked(["a", "b"], pred),
                            mt.data.Stacked(["a", "b"], y), missing_labels=True)
    assert losses.tolist() == [(1 + 16) / 2, 16.0]
    # the per-task path (mixed kinds) agrees
    mixed = [mt.Task("a"), mt.Task("b", "regression", 1), mt.Task("c", "binary")]
    preds = {"a": pred[:, 0], "b": pred[:, 1], "c": torch.zeros(3)}
    targets = {"a": y[:, 0], "b": y[:, 1], "c": torch.tensor([1.0, float("nan"), 0.0])}
    out = mt.losses.task_losses(mixed, preds, targets, missing_labels=True)
    assert out[:2].tolist() == [(1 + 16) / 2, 16.0]
    assert out[2].item() == pytest.approx(np.log(2))


def test_no_validation_split_trains_every_epoch_and_keeps_the_last_weights():
    df = schools(sizes=(60, 60))
    data = mt.from_frame(df, "score", task="school", val=None)
    assert data.val is None and "none" in repr(data)
    mt.setup(seed=0)
    model = mt.hard_sharing(data.n_features, (4,), data.tasks)
    history = mt.fit(model, data, epochs=7, progress=False)
    assert len(history) == 7 and "val_loss" not in history
    with pytest.raises(ValueError, match="patience.*no val split"):
        mt.fit(model, data, epochs=7, patience=2, progress=False)
    with pytest.raises(ValueError, match="no val split"):
        mt.evaluate(model, data, split="val")


def test_linear_problem_from_a_long_frame_matches_per_school_least_squares():
    df = schools(sizes=(50, 30, 20), seed=2)
    data = mt.from_frame(df, "score", ["reading"], task="school", val=None, test=None,
                         standardise=False)
    x = torch.cat([data.train.x, torch.ones(len(data.train.x), 1)], dim=1)
    problem = mt.linear.LinearProblem(x, data.train.stacked_y().stacked)
    A, _ = mt.linear.proximal_gradient(problem, mt.linear.Ridge(0.0), iters=5000, tol=1e-14)
    for t, s in enumerate(data.names):
        rows = df.school == s
        X = np.c_[df.loc[rows, "reading"], np.ones(rows.sum())]
        coef = np.linalg.lstsq(X, df.loc[rows, "score"], rcond=None)[0]
        assert A[:, t].numpy() == pytest.approx(coef, abs=1e-4)
    assert problem.mse(A).shape == (3,)


def test_tasks_of_different_sizes_from_arrays_diabetes_by_sex():
    """scikit-learn's diabetes data split by sex: 235 and 207 patients, no cutting."""
    from sklearn.datasets import load_diabetes
    x, y = load_diabetes(return_X_y=True)
    sex = x[:, 1] > 0
    data = mt.from_arrays({"women": (np.delete(x[~sex], 1, axis=1), y[~sex]),
                           "men": (torch.tensor(np.delete(x[sex], 1, axis=1)), y[sex])})
    assert data.names == ["women", "men"] and data.n_features == 9
    counts = [int((~torch.isnan(s.y[t])).sum()) for s in (data.train, data.val, data.test)
              for t in data.names]
    held_out = [2 * round(0.2 * n) for n in ((~sex).sum(), sex.sum())]  # val and test
    assert sum(counts) == len(y) and counts[:2] == [(~sex).sum() - held_out[0],
                                                    sex.sum() - held_out[1]]
    mt.setup(seed=0)
    model = mt.hard_sharing(data.n_features, (16,), data.tasks)
    mt.fit(model, data, epochs=80, lr=3e-3, patience=15, progress=False)
    table = mt.evaluate(model, data)
    variance = float(np.var(y))  # a constant prediction's error, in the target's units
    assert (table["error"] < 0.75 * variance).all()
    with pytest.raises(ValueError, match="every task needs the same features"):
        mt.from_arrays({"a": (x[:5], y[:5]), "b": (x[:5, :3], y[:5])})
