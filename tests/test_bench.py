"""The benchmark runs and reports its three comparisons (ratios are measured, not asserted:
timings belong in the benchmark, not in tests)."""
import mtl_tutor.bench as bench


def test_quick_benchmark_prints_the_three_comparisons(capsys):
    bench.main(["--quick"])
    out = capsys.readouterr().out
    assert "speed-up of mt.fit over the idiomatic loop" in out
    assert "speed-up of the stacked STL over a loop of models" in out
    assert "of this machine's matmul rate" in out


def test_the_compared_loops_learn_the_same_problem():
    data = bench.make_data(256)
    before = bench.make_data(256)  # untouched copy for the baseline loss
    zero = sum(float((y**2).mean()) for y in before.train.y.values())
    for run in (bench.idiomatic_hard_sharing, bench.looped_stl):
        assert run(data, 3, 32, 1e-2) < 0.5 * zero
    for model in (bench.hard_sharing, bench.single_task_nets):
        assert bench.engine(model, data, 3, 32, 1e-2) < 0.5 * zero
