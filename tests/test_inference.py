"""mtl_tutor.inference against statsmodels, scipy and hand calculations."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

from mtl_tutor.inference import holm, power, ratio, seeds_needed, smallest_effect
from mtl_tutor.stats import Paired


def families():
    rng = np.random.default_rng(0)
    return [rng.uniform(size=80), rng.uniform(0, 0.02, size=12),  # many small ones
            np.array([0.01, 0.04, 0.03, 0.005]), np.array([0.025, 0.025]),  # ties, boundary
            np.array([0.0, 1.0, 0.5, 0.5, 1e-9]), np.array([0.03]), np.array([0.9, 0.8])]


def test_holm_matches_statsmodels():
    for p in families():
        for alpha in (0.05, 0.1):
            reject, adjusted, _, _ = multipletests(p, alpha=alpha, method="holm")
            out = holm(p, alpha=alpha)
            assert list(out["p"]) == list(p)
            assert out["adjusted p"].to_numpy() == pytest.approx(adjusted, rel=1e-12)
            assert list(out["reject"]) == list(reject)
    assert holm(families()[2])["reject"].sum() == 2  # the known case rejects some, not all


def test_holm_names_rows_and_reads_comparisons():
    out = holm({"n=50": 0.01, "n=500": 0.04})
    assert list(out.index) == ["n=50", "n=500"]
    assert list(out["adjusted p"]) == pytest.approx([0.02, 0.04])
    comparisons = {"big": Paired("a", "b", (-0.3, -0.31, -0.29, -0.32)),
                   "none": Paired("a", "b", (-0.2, 0.2, -0.1, 0.15))}
    out = holm(comparisons)
    assert list(out["p"]) == [comparisons["big"].p, comparisons["none"].p]
    assert list(out["reject"]) == [True, False]


def test_holm_refuses_what_is_not_a_family_of_p_values():
    for bad, message in (([], "no p-values"), ([0.1, math.nan], r"\[0, 1\]"),
                         ([0.1, 1.2], r"\[0, 1\]"), ([-0.1], r"\[0, 1\]")):
        with pytest.raises(ValueError, match=message):
            holm(bad)
    with pytest.raises(ValueError, match="alpha"):
        holm([0.1], alpha=5)


def test_the_delta_method_by_hand():
    # a = 2, 3, 5, 6 and b = 1, 2, 2, 3: means 4 and 2, R = 2; s_a^2 = 10/3, s_b^2 = 2/3,
    # s_ab = 4/3: var R = (10/3 - 2 * 2 * 4/3 + 4 * 2/3) / (4 * 2^2) = 1/24
    r = ratio([2.0, 3.0, 5.0, 6.0], [1.0, 2.0, 2.0, 3.0])
    half = 3.182446305284263 * math.sqrt(1 / 24)  # t quantile 0.975 at 3 degrees of freedom
    assert r.estimate == 2.0 and r.method == "delta"
    assert (r.low, r.high) == pytest.approx((2 - half, 2 + half))
    assert ratio([-2.0, -3.0, -5.0, -6.0], [-1.0, -2.0, -2.0, -3.0]) == r  # mean(b) < 0
    assert str(r) == f"2-fold (95% CI {r.low:.3g} to {r.high:.3g})"
    assert r.percent() == f"200 % (95 % CI {100 * r.low:.3g} % to {100 * r.high:.3g} %)"


def test_the_delta_method_is_the_covariance_formula():
    rng = np.random.default_rng(4)
    b = rng.gamma(5.0, size=15)
    a = 0.6 * b + rng.normal(0, 0.3, 15)
    r = ratio(a, b, confidence=0.9)
    (va, cab), (_, vb) = np.cov(a, b)
    R = a.mean() / b.mean()
    se = math.sqrt((va - 2 * R * cab + R**2 * vb) / (15 * b.mean() ** 2))
    half = stats.t.ppf(0.95, 14) * se
    assert (r.estimate, r.low, r.high) == pytest.approx((R, R - half, R + half))


def test_the_bootstrap_is_scipys_paired_bca_with_a_fixed_seed():
    rng = np.random.default_rng(5)
    b = rng.gamma(5.0, size=20)
    a = 1.9 * b + rng.normal(0, 1.0, 20)
    r = ratio(a, b, method="bootstrap", seed=7, resamples=2000)
    expected = stats.bootstrap((a, b), lambda x, y, axis=-1: x.mean(axis) / y.mean(axis),
                               paired=True, vectorized=True, n_resamples=2000,
                               method="BCa", random_state=np.random.default_rng(7))
    assert (r.low, r.high) == tuple(expected.confidence_interval)
    assert r == ratio(a, b, method="bootstrap", seed=7, resamples=2000)  # repeatable
    assert r != ratio(a, b, method="bootstrap", seed=8, resamples=2000)  # the seed is used
    delta = ratio(a, b)
    assert r.low < r.estimate < r.high and r.estimate == delta.estimate
    assert r.low == pytest.approx(delta.low, rel=0.05)  # the two methods roughly agree
    assert r.high == pytest.approx(delta.high, rel=0.05)


def test_ratio_pairs_series_by_their_index():
    a = pd.Series([2.0, 3.0, 5.0, 6.0], index=[0, 1, 2, 3])
    b = pd.Series([3.0, 2.0, 2.0, 1.0], index=[3, 2, 1, 0])
    assert ratio(a, b) == ratio(a.to_numpy(), [1.0, 2.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="indexes differ"):
        ratio(a, b.rename(index={3: 4}))


def test_ratio_refuses_bad_input():
    for a, b, message in (([1.0, 2.0, 3.0], [1.0, 2.0], "shapes"),
                          ([1.0, math.nan, 3.0], [1.0, 2.0, 3.0], "NaN"),
                          ([1.0, 2.0], [1.0, 2.0], "at least 3"),
                          ([1.0, 2.0, 3.0], [-1.0, 0.0, 1.0], "undefined")):
        with pytest.raises(ValueError, match=message):
            ratio(a, b)
    with pytest.raises(ValueError, match="method"):
        ratio([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], method="fieller")
    with pytest.raises(ValueError, match="confidence"):
        ratio([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], confidence=95)
    b = np.array([1.0, 2.0, 3.0, 4.0])
    assert ratio(2 * b, b).low == ratio(2 * b, b).high == 2.0
    with pytest.warns(Warning), pytest.raises(ValueError, match="use method='delta'"):
        ratio(2 * b, b, method="bootstrap")


def power_by_hand(effect, sd, n, alpha):
    """Power of the two-sided one-sample t-test from the noncentral t, with scipy."""
    crit, nc = stats.t.ppf(1 - alpha / 2, n - 1), math.sqrt(n) * abs(effect) / sd
    return stats.nct.sf(crit, n - 1, nc) + stats.nct.sf(crit, n - 1, -nc)


def test_power_is_statsmodels_ttest_power():
    for effect, sd, n, alpha in ((0.5, 1.0, 34, 0.05), (0.02, 0.03, 12, 0.05),
                                 (-0.1, 0.05, 5, 0.01), (1.0, 2.0, 50, 0.1), (3.0, 1.0, 2, 0.05)):
        expected = TTestPower().power(abs(effect) / sd, n, alpha, alternative="two-sided")
        assert power(effect, sd, n, alpha) == pytest.approx(expected, rel=1e-7)
    assert power(0.0, 1.0, 10) == pytest.approx(0.05)  # no effect: the test's level
    # where statsmodels 0.15 (through scipy's nct.cdf) gives NaN, the answer is near 1
    assert power(10.0, 1.0, 3) == pytest.approx(0.9999995771690, abs=1e-12)


def test_seeds_needed_is_the_smallest_n_with_enough_power():
    assert seeds_needed(0.5, 1.0) == 34  # d = 0.5: 34, as in G*Power's tables
    assert seeds_needed(-1.0, 1.0) == 10  # the sign does not matter
    assert seeds_needed(10.0, 1.0) == 3  # power at n = 2 is only 0.73
    assert seeds_needed(50.0, 1.0) == 2
    for d, target, alpha in ((0.3, 0.8, 0.05), (0.8, 0.9, 0.01), (0.05, 0.8, 0.05)):
        solved = TTestPower().solve_power(d, None, alpha, target, alternative="two-sided")
        assert seeds_needed(d, 1.0, target, alpha) == math.ceil(solved)
    cases = [(0.5, 1.0, 0.8, 0.05), (0.02, 0.03, 0.8, 0.05), (0.1, 0.05, 0.9, 0.01),
             (0.01, 0.1, 0.8, 0.05), (2.0, 1.0, 0.8, 0.05), (10.0, 1.0, 0.8, 0.05),
             (smallest_effect(3, 0.7), 0.7, 0.8, 0.05)]  # power at n = 3 is 0.8 to 1e-9
    for effect, sd, target, alpha in cases:
        n = seeds_needed(effect, sd, target, alpha)
        assert power_by_hand(effect, sd, n, alpha) >= target
        assert n == 2 or power_by_hand(effect, sd, n - 1, alpha) < target


def test_smallest_effect_has_exactly_the_power_asked_for():
    for n, sd, target, alpha in ((20, 0.05, 0.8, 0.05), (5, 1.0, 0.8, 0.05),
                                 (50, 0.3, 0.9, 0.01), (2, 1.0, 0.8, 0.05)):
        effect = smallest_effect(n, sd, target, alpha)
        assert power_by_hand(effect, sd, n, alpha) == pytest.approx(target, abs=1e-9)
        solved = TTestPower().solve_power(None, n, alpha, target, alternative="two-sided")
        assert effect == pytest.approx(sd * solved, rel=1e-6)
    assert smallest_effect(20, 2.0) == pytest.approx(2 * smallest_effect(20, 1.0))


def test_power_helpers_refuse_bad_input():
    with pytest.raises(ValueError, match="non-zero"):
        seeds_needed(0.0, 1.0)
    with pytest.raises(ValueError, match="sd"):
        seeds_needed(0.1, 0.0)
    with pytest.raises(ValueError, match="target power"):
        seeds_needed(0.1, 1.0, target=0.01)
    with pytest.raises(ValueError, match="alpha"):
        smallest_effect(10, 1.0, alpha=1.5)
    for bad in (1, 2.5):
        with pytest.raises(ValueError, match="at least 2"):
            smallest_effect(bad, 1.0)
    with pytest.raises(ValueError, match="effect"):
        power(math.nan, 1.0, 10)
