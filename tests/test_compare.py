"""The comparison protocol: equal budgets, choices on validation, capacity and edges
reported, results paired by seed, and the same numbers as training each run alone."""
import math

import pytest

import mtl_tutor as mt
from mtl_tutor.compare import Arm, _edge, compare
from mtl_tutor.problems import make_related_tasks

SEEDS = [0, 1, 2]
FIT = dict(epochs=15, patience=5, batch_size=16)


def data(seed):
    return make_related_tasks(n_tasks=3, n_train=32, n_val=16, n_test=64, seed=seed)


def stl(d, width=8):
    return mt.single_task_nets(d.n_features, (width,), d.tasks)


def hard(d, width=8):
    return mt.hard_sharing(d.n_features, (width,), d.tasks)


DECAYS = [0.0, 1e-3, 1e-1]


@pytest.fixture(scope="module")
def result():
    arms = [Arm("STL", stl, grid={"weight_decay": DECAYS}),
            Arm("hard sharing", hard, grid={"width": [4, 8, 16]})]
    return compare(arms, data, SEEDS, **FIT)


def test_each_arm_chooses_per_seed_its_lowest_validation_loss(result):
    assert len(result.runs) == 2 * 3 * len(SEEDS)  # arms x configurations x seeds
    assert len(result.chosen) == 2 * len(SEEDS)
    for (arm, seed), runs in result.runs.groupby(["arm", "seed"]):
        chosen = result.chosen[(result.chosen.arm == arm) & (result.chosen.seed == seed)]
        assert chosen["validation"].item() == runs["validation"].min()
        assert chosen["configuration"].item() == runs.loc[runs.validation.idxmin(),
                                                          "configuration"]


def test_a_chosen_run_is_what_fit_gives_alone(result):
    row = result.chosen[(result.chosen.arm == "STL") & (result.chosen.seed == 1)].iloc[0]
    d = data(1)
    mt.set_seed(1)
    model = stl(d)
    history = mt.fit(model, d, weight_decay=row["setting weight_decay"], progress=False, **FIT)
    assert row["validation"] == pytest.approx(history["val_loss"].min(), rel=1e-4)
    assert row["error"] == pytest.approx(mt.evaluate(model, d)["error"].mean(), rel=1e-4)


def test_capacity_budget_and_edges_are_reported(result):
    summary = result.summary()
    assert list(summary.index) == ["STL", "hard sharing"]
    assert (summary["budget"] == 3).all() and (summary["seeds"] == len(SEEDS)).all()
    widths = [mt.count_parameters(hard(data(0), w)) for w in (4, 16)]
    assert summary.loc["hard sharing", "parameters"] == f"{widths[0]} to {widths[1]}"
    assert summary.loc["STL", "parameters"] == str(mt.count_parameters(stl(data(0))))
    for _, row in result.chosen.iterrows():
        value = row["setting width"] if row.arm == "hard sharing" else \
            row["setting weight_decay"]
        at_top = value in (16, 1e-1)
        at_bottom = value == 4  # a weight decay of 0 is no edge: there is nothing below
        assert ("at its top" in row.edge) == at_top and ("at its bottom" in row.edge) == \
            at_bottom


def test_paired_compares_the_chosen_runs_by_seed(result):
    cmp = result.paired("hard sharing", "STL")
    assert cmp.n == len(SEEDS)
    chosen = result.chosen.set_index(["arm", "seed"])["error"]
    assert cmp.mean == pytest.approx(
        sum(chosen["hard sharing", s] - chosen["STL", s] for s in SEEDS) / len(SEEDS))
    with pytest.raises(KeyError, match="No arm 'MMoE'"):
        result.paired("MMoE", "STL")


def test_unequal_budgets_are_refused_unless_explained():
    arms = [Arm("STL", stl), Arm("hard sharing", hard, grid={"weight_decay": DECAYS})]
    with pytest.raises(ValueError, match="same number of configurations.*'STL': 1"):
        compare(arms, data, SEEDS[:1], **FIT)
    result = compare(arms, data, SEEDS[:1], unequal_budgets="a demonstration", epochs=2)
    assert result.unequal_budgets == "a demonstration"
    assert result.summary()["budget"].tolist() == [1, 3]


def test_penalties_and_loss_weights_are_tuned_as_settings():
    arms = [Arm("l2", stl, grid={"penalty": [1e-3, 1e-1]},
                penalty=lambda m: mt.sharing_penalty(m.branches, l2=1.0)()),
            Arm("weighted", hard, grid={"weights": [{"task0": w, "task1": 1, "task2": 1}
                                                    for w in (1, 10)]})]
    result = compare(arms, data, SEEDS[:2], epochs=3)
    assert set(result.runs["setting penalty"].dropna()) == {1e-3, 1e-1}
    edges = result.chosen.set_index("arm").edge
    assert all("penalty at its" in e for e in edges["l2"])  # two values: both are edges
    # a grid of weight dicts has an edge in each key that varies (here task0's weight)
    assert all(e.startswith("weights at its ") and e.endswith(" (task0)")
               for e in edges["weighted"])
    assert not math.isnan(result.paired("l2", "weighted").mean)
    with pytest.raises(ValueError, match="tunes 'penalty' but has no penalty function"):
        compare([Arm("x", stl, grid={"penalty": [1.0]})], data, SEEDS[:1], epochs=1)


def test_a_grid_of_dicts_has_an_edge_in_each_key_that_varies():
    grid = [{"a": 1.0, "b": w} for w in (10, 100, 1000)]
    assert _edge(grid[0], grid) == "bottom (b)"
    assert _edge(grid[1], grid) == ""
    assert _edge(grid[2], grid) == "top (b)"
    both = [{"a": 1, "b": 1}, {"a": 2, "b": 3}]
    assert _edge(both[1], both) == "top (a) and top (b)"
    assert _edge({"a": "x"}, [{"a": "x"}, {"a": "y"}]) == ""  # not numbers: no order


def test_a_custom_validation_criterion_reads_the_val_split():
    seen = []

    def val_error(model, d):
        seen.append(True)
        return mt.evaluate(model, d, "val")["error"].mean()
    result = compare([Arm("STL", stl, grid={"weight_decay": DECAYS})], data, SEEDS[:2],
                     select=val_error, epochs=2)
    assert len(seen) == 3 * 2
    assert result.chosen["validation"].notna().all()
    with pytest.raises(ValueError, match="select must be"):
        compare([Arm("STL", stl)], data, SEEDS[:1], select="test error", epochs=1)


def test_a_weighting_gets_the_model_and_its_own_settings_from_the_grid():
    made = []

    def cagrad(d, model, c):
        made.append((model, c))
        return mt.weighting.CAGrad(model, model.trunk.parameters(), c=c)

    def build(d, **settings):
        assert not settings, "the weighting's settings do not go to build"
        return hard(d)
    arm = Arm("CAGrad", build, grid={"c": [0.2, 0.8]}, weighting=cagrad)
    assert arm.weighting_keys() == {"c"}
    result = compare([arm], data, SEEDS[:2], epochs=3)
    assert sorted(c for _, c in made) == [0.2, 0.2, 0.8, 0.8]
    assert all(isinstance(m, mt.ForkedMLP) for m, _ in made)
    assert set(result.runs["setting c"]) == {0.2, 0.8}
    assert len({id(m) for m, _ in made}) == 4  # each run its own model and weighting


def test_a_restricted_comparison_is_what_the_smaller_budget_would_have_chosen(result):
    untuned = result.restricted({"weight_decay": 0.0}, arms=["STL"],
                                unequal_budgets="a demonstration")
    assert untuned.summary()["budget"].tolist() == [1, 3]
    stl_runs = result.runs[(result.runs.arm == "STL") &
                           (result.runs["setting weight_decay"] == 0.0)]
    chosen = untuned.chosen.set_index(["arm", "seed"])
    for _, run in stl_runs.iterrows():  # the only configuration left is the one chosen
        assert chosen.loc[("STL", run.seed), "error"] == run.error
    hard_chosen = result.chosen[result.chosen.arm == "hard sharing"].set_index("seed")
    assert (chosen.loc["hard sharing", "error"] == hard_chosen["error"]).all()
    assert untuned.paired("hard sharing", "STL").n == len(SEEDS)
    with pytest.raises(ValueError, match="same number of configurations"):
        result.restricted({"weight_decay": 0.0}, arms=["STL"])
    with pytest.raises(ValueError, match="no configuration with weight_decay = 0.5"):
        result.restricted({"weight_decay": 0.5}, arms=["STL"], unequal_budgets="x")
    with pytest.raises(KeyError, match="No arm 'MMoE'"):
        result.restricted({}, arms=["MMoE"])

def test_an_arm_trains_on_its_own_view_of_each_seeds_data():
    def first_task(d):
        return d.subset(["task0"])

    def task0_error(model, d, split):
        return {"error": float(mt.evaluate(model, d, split).loc["task0", "error"])}
    arms = [Arm("task 0 alone", hard, grid={"weight_decay": DECAYS}, data=first_task),
            Arm("with the others", hard, grid={"weight_decay": DECAYS})]
    result = compare(arms, data, SEEDS[:2], score=task0_error, monitor="task0", **FIT)
    alone = result.chosen[result.chosen.arm == "task 0 alone"].iloc[0]
    assert alone["parameters"] == mt.count_parameters(hard(first_task(data(alone.seed))))
    assert alone["parameters"] < result.chosen.iloc[-1]["parameters"]
    d = first_task(data(alone.seed))  # the same run as fit on the view alone
    mt.set_seed(int(alone.seed))
    model = hard(d)
    history = mt.fit(model, d, weight_decay=alone["setting weight_decay"], monitor="task0",
                     progress=False, **FIT)
    assert alone["validation"] == pytest.approx(history["val_loss[task0]"].min(), rel=1e-4)
    assert alone["error"] == pytest.approx(task0_error(model, d, "test")["error"], rel=1e-4)


def test_a_weighted_monitor_chooses_on_the_loss_it_stopped_on():
    weights = {"task0": 2.0, "task1": 1.0, "task2": 0.5}  # e.g. one over each loss's scale
    arms = [Arm("STL", stl, grid={"weight_decay": DECAYS[:2]})]
    result = compare(arms, data, SEEDS[:1], monitor=lambda d: weights, **FIT)
    row = result.chosen.iloc[0]
    assert math.isfinite(row["validation"])
    d = data(0)
    mt.set_seed(0)
    model = stl(d)
    history = mt.fit(model, d, weight_decay=row["setting weight_decay"], monitor=weights,
                     progress=False, **FIT)
    weighted = sum(w * history[f"val_loss[{t}]"] for t, w in weights.items())
    assert row["validation"] == pytest.approx(weighted.min(), rel=1e-4)
