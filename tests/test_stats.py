import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mtl_tutor as mt


def runs(diffs, base=1.0):
    rows = []
    for seed, d in enumerate(diffs):
        rows += [{"seed": seed, "method": "B", "err": base + seed * 0.1},
                 {"seed": seed, "method": "A", "err": base + seed * 0.1 + d}]
    return pd.DataFrame(rows)


def test_paired_matches_a_t_interval_on_the_differences():
    diffs = np.array([-0.3, -0.1, -0.25, 0.05, -0.2, -0.15])
    cmp = mt.paired(runs(diffs), "err", between="method", a="A", b="B")
    half = stats.t.ppf(0.975, len(diffs) - 1) * diffs.std(ddof=1) / math.sqrt(len(diffs))
    assert cmp.mean == pytest.approx(diffs.mean())
    assert (cmp.low, cmp.high) == pytest.approx((diffs.mean() - half, diffs.mean() + half))
    assert (cmp.wins, cmp.losses, cmp.n) == (5, 1, 6)
    assert cmp.lower and not cmp.higher and cmp.detected
    assert cmp.sign_p == pytest.approx(stats.binomtest(5, 6).pvalue)


def test_pairing_removes_the_spread_between_seeds():
    # the seeds differ a lot (0.1 apart), the differences do not: pairing sees the effect
    cmp = mt.paired(runs([-0.02] * 5 + [-0.03] * 5), "err", "method", "A", "B")
    assert cmp.lower and cmp.high < -0.015


def test_an_interval_across_zero_is_no_detectable_difference():
    cmp = mt.paired(runs([-0.2, 0.2, -0.1, 0.15]), "err", "method", "A", "B")
    assert not cmp.detected
    assert cmp.verdict() == mt.stats.NO_DIFFERENCE
    assert cmp.within(1.0) and not cmp.within(0.05)


def test_higher_and_the_verdict_words():
    cmp = mt.paired(runs([0.3, 0.4, 0.35]), "err", "method", "A", "B")
    assert cmp.higher and cmp.verdict("better", "worse") == "worse"
    assert "lower in 0 of 3 seeds" in str(cmp)


def test_relative_differences_are_fractions_of_b():
    cmp = mt.paired(runs([-0.5, -0.5], base=1.0).assign(err=lambda t: t.err.where(
        t.method == "A", 2.0).where(t.method == "B", 1.0)), "err", "method", "A", "B",
        relative=True)
    assert cmp.mean == pytest.approx(-0.5)


def test_paired_table_gives_one_row_per_group():
    table = pd.concat([runs([-0.3, -0.2, -0.25]).assign(n=10),
                       runs([0.01, -0.01, 0.02]).assign(n=100)])
    out = mt.paired_table(table, "err", "method", "A", "B", by="n")
    assert list(out.index) == [10, 100]
    assert list(out["verdict"]) == ["lower", mt.stats.NO_DIFFERENCE]
    assert list(out["seeds"]) == [3, 3]


def test_clear_errors_for_bad_input():
    table = runs([-0.1, -0.2])
    with pytest.raises(KeyError, match="is not in the table"):
        mt.paired(table, "err", "method", "A", "C")
    with pytest.raises(KeyError, match="no column"):
        mt.paired(table, "loss", "method", "A", "B")
    with pytest.raises(ValueError, match="only one"):
        mt.paired(table.drop(index=0), "err", "method", "A", "B")
    with pytest.raises(ValueError, match="NaN"):
        mt.paired(table.assign(err=np.nan), "err", "method", "A", "B")


def test_one_seed_has_no_interval_and_claims_nothing():
    cmp = mt.paired(runs([-0.5]), "err", "method", "A", "B")
    assert math.isnan(cmp.low) and not cmp.lower and not cmp.detected


def test_delta_m_is_the_mean_relative_change():
    stl = {"a": 2.0, "b": 0.1}
    assert mt.delta_m({"a": 1.0, "b": 0.1}, stl) == pytest.approx(-0.25)
    assert mt.delta_m(pd.Series({"b": 0.2, "a": 2.0}), pd.Series(stl)) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="same tasks"):
        mt.delta_m({"a": 1.0}, stl)
    with pytest.raises(ValueError, match="positive"):
        mt.delta_m({"a": 1.0, "b": 1.0}, {"a": 0.0, "b": 1.0})


def test_delta_m_per_run_compares_within_each_run():
    from mtl_tutor.stats import delta_m_per_run

    rows = pd.DataFrame([
        {"seed": 0, "r": 0.0, "method": "STL", "task errors": {"a": 1.0, "b": 2.0}},
        {"seed": 0, "r": 0.0, "method": "MTL", "task errors": {"a": 0.5, "b": 3.0}},
        {"seed": 0, "r": 0.9, "method": "STL", "task errors": {"a": 2.0, "b": 2.0}},
        {"seed": 0, "r": 0.9, "method": "MTL", "task errors": {"a": 1.0, "b": 1.0}},
    ])
    dm = delta_m_per_run(rows, "method", "STL", on=["seed", "r"])
    assert list(dm) == pytest.approx([0.0, 0.0, 0.0, -0.5])
    with pytest.raises(ValueError, match="exactly one"):
        delta_m_per_run(rows, "method", "STL", on="seed")  # two STL rows per seed
    with pytest.raises(ValueError, match="no column"):
        delta_m_per_run(rows, "method", "STL", errors="errors")


def test_percent_prints_a_difference_of_fractions_in_percent():
    table = pd.DataFrame({"seed": [0, 0, 1, 1, 2, 2], "method": ["a", "b"] * 3,
                          "delta": [0.10, 0.0, 0.30, 0.0, 0.20, 0.0]})
    c = mt.paired(table, "delta", "method", "a", "b")
    assert c.percent() == (f"{mt.fmt(100 * c.mean)} % (95 % CI {mt.fmt(100 * c.low)} % "
                           f"to {mt.fmt(100 * c.high)} %)")
    assert c.percent().startswith("20 % (95 % CI")
