"""The benchmark runs and reports its comparisons (ratios are measured, not asserted:
timings belong in the benchmark, not in tests)."""
import math

import numpy as np
import pytest
import torch

import mtl_tutor.bench as bench
import mtl_tutor.bench_loops as loops


def test_quick_benchmark_is_a_smoke_run_without_ratios(capsys):
    bench.main(["--quick"])
    out = capsys.readouterr().out
    assert "mt.fit, hard sharing" in out and "one stacked model" in out
    assert "smoke run" in out
    assert "speed-up" not in out and "CI" not in out  # too short (issue 24: it printed 46x)


def test_the_loops_time_training_alone():
    """A loop returns its final loss as a function, so the pass over the whole training set
    is not timed; calling it gives the loss."""
    data = loops.make_data(64)
    for run in (loops.best_loop, loops.looped_stl, loops.fit_stacked_stl):
        final = run(data, 8, 1)
        assert callable(final) and final() > 0
    calls = []

    def train():
        calls.append("train")
        return lambda: calls.append("final loss")
    bench.measure({"a": (train,)}, rounds=2)
    assert calls == ["train"] * 3  # a warm-up and two timed rounds; no final loss timed


def test_measure_warms_up_and_interleaves_the_loops():
    calls = []
    runs = {name: (lambda name=name: calls.append(name),) for name in "abc"}
    times = bench.measure(runs, rounds=3)
    # one untimed warm-up round, then three; each loop once a round, the order rotating
    assert calls == list("abc" "bca" "cab" "abc")
    assert [len(v) for v in times.values()] == [3, 3, 3]


def test_ratio_is_the_geometric_mean_of_paired_rounds_with_an_interval():
    fast = np.array([1.0, 2.0, 4.0])
    r, low, high = bench.ratio(3 * fast, fast)  # exactly 3x in every round, however slow
    assert r == pytest.approx(3) and low == pytest.approx(3) and high == pytest.approx(3)
    r, low, high = bench.ratio(np.array([2.0, 4.5, 3.0]), np.array([1.0, 1.5, 1.0]))
    assert low < r < high and r == pytest.approx((2 * 3 * 3) ** (1 / 3))
    assert math.isnan(bench.ratio(np.array([2.0]), np.array([1.0]))[1])


def test_the_compared_loops_learn_the_same_problem():
    data = loops.make_data(256)
    zero = float((loops.targets(data) ** 2).mean(0).sum())  # the constant-zero predictor
    finals = {run.__name__: run(data, 64, 25)() for run in (
        loops.idiomatic_loop, loops.best_loop, loops.bare_loop, loops.looped_stl,
        loops.fit_hard_sharing, loops.fit_best_model, loops.fit_stacked_stl)}
    assert all(final < 0.1 * zero for final in finals.values()), (zero, finals)


def test_matmul_floor_grows_with_the_work():
    small, large = bench.matmul_floor(16, 320, 1), bench.matmul_floor(256, 320, 4)
    assert 0 < small < large


def test_scaling_table_compares_like_with_like(capsys):
    """The quick scaling run prints one row per size with its ratios; every loop is timed."""
    from mtl_tutor import scaling

    rows = scaling.main(["--quick"])
    out = capsys.readouterr().out
    assert len(rows) == len(scaling.QUICK_SIZES) and "best/fit" in out and "smoke run" in out
    assert all(r[k] > 0 for r in rows for k in scaling.LOOPS)


def test_fit_is_compared_without_validation_like_the_loops():
    """The hand-written loops do not validate, so the problem fit gets in the comparisons
    has no validation split; validating every epoch is timed apart, on the same training data."""
    plain, validated = loops.make_data(64), loops.make_data(64, validation=True)
    assert plain.val is None and validated.val.n == 256
    assert all(torch.equal(plain.train.y[k], validated.train.y[k]) for k in plain.names)
    import mtl_tutor as mt
    history = mt.fit(mt.hard_sharing(loops.D, (8, 8), plain.tasks), plain, epochs=2,
                     progress=False, restore_best=False)
    assert list(history.columns) == ["epoch", "train_loss"]  # no validation pass was made


def test_fit_on_the_best_loops_network_is_that_loop():
    """The like-with-like line: from one seed, fit trains the best loop's own network to
    exactly its weights (same initialisation, minibatches, loss and Adam), so the two times
    differ by the engines alone."""
    from mtl_tutor.runtime import set_seed

    data = loops.make_data(200)
    set_seed(0)
    by_hand = loops.best_loop(data, 16, 3)()
    set_seed(0)
    assert loops.fit_best_model(data, 16, 3)() == by_hand


def test_replica_benchmark_smoke_run_measures_both_engines_and_memory():
    import mtl_tutor.replica_bench as replica_bench
    rows = replica_bench.main(["--quick"])
    assert len(rows) == 1 and rows[0]["replicas"] == 2
    times = rows[0]["seconds"]
    assert set(times) == {"fit, one after another", "fit_replicas", "hand-stacked"}
    assert all(len(v) == 1 and v[0] > 0 for v in times.values())  # one timed round each
    assert 100 < rows[0]["peak memory MB"] < 2000  # a Python process with torch, measured


def test_replica_products_are_timed_at_the_stacked_shapes():
    import mtl_tutor.replica_bench as replica_bench
    one = replica_bench.product_seconds(1, True, repeats=5)
    many = replica_bench.product_seconds(40, False, repeats=5)
    assert 0 < one < many  # 40 replicas of 8x the rows cost more than one model's


def test_the_hand_stacked_route_trains_the_same_networks():
    """The benchmark's other route (a replica axis written by hand) is the same training:
    from the same seeds and minibatch orders its last validation loss is fit_replicas'."""
    import mtl_tutor.replica_bench as replica_bench
    from mtl_tutor.replicas import fit_replicas, seeded_models
    for shared in (True, False):
        data = replica_bench.problem(shared)
        by_hand = replica_bench.hand_stacked(data, 3)
        models, generators = seeded_models(replica_bench.build(data), range(3))
        histories = fit_replicas(models, data, generators=generators,
                                 **replica_bench.SETTINGS)
        assert by_hand == pytest.approx(sum(h.val_loss.iloc[-1] for h in histories) / 3,
                                        rel=1e-4)
