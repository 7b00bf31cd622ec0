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


# The tests behind "matches", "no worse" and random splits: p-values, TOST, non-inferiority
# and the corrected resampled t, each against scipy, statsmodels or a hand calculation.

def samples():
    rng = np.random.default_rng(3)
    return [np.array([-0.3, -0.1, -0.25, 0.05, -0.2, -0.15]), rng.normal(0.0, 1.0, 5),
            rng.normal(0.4, 1.0, 20), rng.normal(-0.02, 0.05, 50), np.array([1.0, 3.0])]


def test_p_is_the_paired_t_test():
    rng = np.random.default_rng(0)
    for d in samples():
        b = rng.normal(5.0, 2.0, len(d))
        cmp = mt.Paired("a", "b", tuple(d))
        assert cmp.p == pytest.approx(stats.ttest_1samp(d, 0.0).pvalue, rel=1e-10)
        assert cmp.p == pytest.approx(stats.ttest_rel(b + d, b).pvalue, rel=1e-6)
        assert (cmp.p < 0.05) == cmp.detected  # the test behind the 95 % interval


def test_p_when_every_difference_is_equal_or_there_is_one():
    assert mt.Paired("a", "b", (0.0, 0.0, 0.0)).p == 1.0
    cmp = mt.Paired("a", "b", (-0.25, -0.25, -0.25))  # s = 0 exactly: t is infinite
    assert cmp.sem == 0 and cmp.p == 0.0 and cmp.lower
    assert cmp.equivalent(0.3) and not cmp.equivalent(0.2) and cmp.no_worse(0.0)
    with pytest.raises(ValueError, match="at least 2 differences"):
        _ = mt.Paired("a", "b", (-0.1,)).p


def test_tost_matches_statsmodels_and_the_90_percent_interval():
    from statsmodels.stats.weightstats import ttost_paired

    rng = np.random.default_rng(1)
    results = []
    for d in samples():
        b = rng.normal(5.0, 2.0, len(d))
        cmp = mt.Paired("a", "b", tuple(d))
        ninety = mt.Paired("a", "b", tuple(d), confidence=0.90)
        for margin in (0.05, 0.3, 1.0, 3.0):
            expected = ttost_paired(b + d, b, -margin, margin)[0]
            assert cmp.tost_p(margin) == pytest.approx(expected, rel=1e-6, abs=1e-12)
            inside = -margin < ninety.low and ninety.high < margin
            assert cmp.equivalent(margin) == inside == (expected < 0.05)
            results.append(cmp.equivalent(margin))
    assert any(results) and not all(results)  # the cases test both answers


def test_an_interval_across_zero_is_not_a_match():
    cmp = mt.Paired("a", "b", (-0.2, 0.2, -0.1, 0.15))
    assert not cmp.detected and not cmp.equivalent(0.1)
    assert cmp.equivalent(1.0)  # inside a wide enough margin it is
    tight = mt.Paired("a", "b", (0.001, -0.001, 0.0005, -0.0005, 0.0))
    assert tight.equivalent(0.01) and not tight.equivalent(0.01, alpha=1e-6)
    near = mt.Paired("a", "b", (0.02, -0.01, 0.03, 0.0, 0.01))  # TOST p = 0.0506
    assert not near.equivalent(0.025) and near.equivalent(0.025, alpha=0.1)


def test_no_worse_is_a_one_sided_test_that_higher_is_worse():
    for d in samples():
        cmp = mt.Paired("a", "b", tuple(d))
        for margin in (0.0, 0.1, 0.5):
            expected = stats.ttest_1samp(d, margin, alternative="less").pvalue
            assert cmp.no_worse_p(margin) == pytest.approx(expected, rel=1e-10)
            upper = mt.Paired("a", "b", tuple(d), confidence=0.90).high  # one-sided 95 %
            assert cmp.no_worse(margin) == (upper < margin)
    worse = mt.Paired("a", "b", (0.30, 0.31, 0.29, 0.30))  # a's errors 0.3 higher
    assert not worse.no_worse(0.1) and worse.no_worse(0.5)
    better = mt.Paired("a", "b", (-0.30, -0.31, -0.29, -0.30))
    assert better.no_worse(0.0) and better.no_worse(0.1)


def test_margins_and_levels_must_make_sense():
    cmp = mt.Paired("a", "b", (0.1, 0.2, 0.15))
    for bad in (-0.1, 0.0, math.nan):
        with pytest.raises(ValueError, match="must be positive"):
            cmp.equivalent(bad)
    with pytest.raises(ValueError, match="must be 0 or more"):
        cmp.no_worse(-0.1)
    with pytest.raises(ValueError, match="alpha"):
        cmp.equivalent(0.5, alpha=0.95)
    with pytest.raises(ValueError, match="at least 2 differences"):
        mt.Paired("a", "b", (0.1,)).equivalent(0.5)


def test_resampled_splits_use_the_nadeau_bengio_variance():
    # by hand: d = 1, 2, 3, 4: mean 2.5, s^2 = 5/3; J = 4 splits of 80 train / 20 test
    # examples: variance of the mean (1/4 + 20/80) 5/3 = 5/6 instead of s^2 / 4 = 5/12
    cmp = mt.Paired("a", "b", (1.0, 2.0, 3.0, 4.0), resampled=(80, 20))
    assert cmp.sem == pytest.approx(math.sqrt(5 / 6))
    half = 3.182446305284263 * math.sqrt(5 / 6)  # t quantile 0.975 at 3 degrees of freedom
    assert (cmp.low, cmp.high) == pytest.approx((2.5 - half, 2.5 + half))
    assert cmp.p == pytest.approx(2 * stats.t.sf(2.5 / math.sqrt(5 / 6), 3))
    plain = mt.Paired("a", "b", (1.0, 2.0, 3.0, 4.0))
    assert plain.sem == pytest.approx(math.sqrt(5 / 12)) and plain.lower is False
    assert plain.higher and not cmp.higher  # the correction widens the interval past 0
    assert str(cmp).startswith("a - b = 2.5 (95% CI ")
    tiny_test = mt.Paired("a", "b", (1.0, 2.0, 3.0, 4.0), resampled=(1e12, 1))
    assert tiny_test.sem == pytest.approx(plain.sem)


def test_paired_and_paired_table_pass_resampled_on():
    table = runs([-0.3, -0.1, -0.25, 0.05, -0.2, -0.15])
    cmp = mt.paired(table, "err", "method", "A", "B", resampled=(90, 10))
    d = np.array(cmp.differences)
    assert cmp.sem == pytest.approx(d.std(ddof=1) * math.sqrt(1 / 6 + 10 / 90))
    out = mt.paired_table(table.assign(n=1), "err", "method", "A", "B", by="n",
                          resampled=(90, 10))
    assert (out["low"].iloc[0], out["high"].iloc[0]) == pytest.approx((cmp.low, cmp.high))


def test_the_plain_interval_is_unchanged_to_the_last_bit():
    d = [-0.3, -0.1, -0.25, 0.05, -0.2, -0.15]
    cmp = mt.Paired("a", "b", tuple(d))
    assert cmp.sem == float(np.std(d, ddof=1) / math.sqrt(len(d)))  # the old formula


def test_a_paired_refuses_nan_and_impossible_settings():
    with pytest.raises(ValueError, match="NaN"):
        mt.Paired("a", "b", (0.1, math.nan))
    with pytest.raises(ValueError, match="confidence"):
        mt.Paired("a", "b", (0.1, 0.2), confidence=95)
    for bad in ((80,), (80, 0), (-80, 20)):
        with pytest.raises(ValueError, match="n_train, n_test"):
            mt.Paired("a", "b", (0.1, 0.2), resampled=bad)
