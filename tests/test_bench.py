"""The benchmark runs and reports its comparisons (ratios are measured, not asserted:
timings belong in the benchmark, not in tests)."""
import mtl_tutor.bench as bench


def test_quick_benchmark_is_a_smoke_run_without_ratios(capsys):
    bench.main(["--quick"])
    out = capsys.readouterr().out
    assert "hard sharing, mt.fit" in out and "one task-stacked model" in out
    assert "smoke run" in out
    assert "speed-up" not in out  # too short to mean anything (issue 24: it printed 46x)


def test_timed_warms_up_and_reports_median_and_range():
    calls = []
    (median, low, high), result = bench.timed(lambda: calls.append(1) or len(calls), repeats=3)
    assert len(calls) == 4 and result == 4  # one untimed warm-up, then three timed runs
    assert 0 <= low <= median <= high
    assert bench.ratio((2.0, 1.0, 3.0), (1.0, 0.5, 2.0)).split() == ["2.0x", "(range", "0.5",
                                                                      "to", "6.0)"]


def test_the_compared_loops_learn_the_same_problem():
    data = bench.make_data(256)
    before = bench.make_data(256)  # untouched copy for the baseline loss
    zero = sum(float((y**2).mean()) for y in before.train.y.values())
    for run in (bench.idiomatic_hard_sharing, bench.looped_stl):
        assert run(data, 3, 32, 1e-2) < 0.5 * zero
    for model in (bench.hard_sharing, bench.single_task_nets):
        assert bench.engine(model, data, 3, 32, 1e-2) < 0.5 * zero


def test_scaling_table_compares_like_with_like(capsys):
    """The quick scaling run prints one row per size with its ratios; every loop is timed."""
    from mtl_tutor import scaling

    rows = scaling.main(["--quick"])
    out = capsys.readouterr().out
    assert len(rows) == len(scaling.QUICK_SIZES) and "fit/best" in out and "smoke run" in out
    assert all(r["fit s"] > 0 and r["best loop s"] > 0 and r["bare loop s"] > 0 for r in rows)
