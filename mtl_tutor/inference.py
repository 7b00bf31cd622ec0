"""From intervals to decisions: many comparisons at once, ratios, and how many seeds.

A chapter that prints 80 intervals shows a few that exclude 0 by chance alone, so a family of
claims is corrected together (`holm`). "1.9-fold" or "59 % of the penalty" is a ratio of two
means and needs an interval of its own (`ratio`). And "no detectable difference" over 5 seeds
says little unless 5 seeds could have detected the effect that matters (`power`,
`seeds_needed`, `smallest_effect`)::

    holm({"n=50": cmp_50, "n=500": cmp_500})   # adjusted p-values: which claims stand
    print(ratio(stl_errors, mtl_errors))        # 1.9-fold (95% CI 1.6 to 2.3)
    seeds_needed(effect=0.02, sd=pilot.sd)      # seeds for power 0.8 at alpha 0.05
"""
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as _scipy_stats

from .book import fmt


def holm(p_values, alpha: float = 0.05) -> pd.DataFrame:
    """Holm's (1979) step-down correction of a family of m tests: the chance of any false
    claim in the family (the family-wise error rate) stays at most alpha.

    With the p-values sorted, p_(1) <= ... <= p_(m), the adjusted p-values are
    max over j <= i of min(1, (m - j + 1) p_(j)); a claim stands (its null hypothesis is
    rejected) where its adjusted p-value is at most alpha.

    p_values: a list, dict or Series of p-values or of `Paired` comparisons (their `p` is
    used); a dict's keys or a Series' index name the rows. Returns a table with columns
    "p", "adjusted p" and "reject", in the order given.
    """
    p = pd.Series(p_values, dtype=object).map(lambda v: getattr(v, "p", v)).astype(float)
    if p.empty:
        raise ValueError("holm: no p-values given; pass the whole family of tests.")
    bad = p[~((p >= 0) & (p <= 1))]  # NaN included
    if not bad.empty:
        raise ValueError(f"holm: p-values lie in [0, 1]; got {bad.to_dict()}.")
    _check_level(alpha, "holm", "alpha")
    m = len(p)
    order = np.argsort(p.to_numpy(), kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p.to_numpy()[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return pd.DataFrame({"p": p, "adjusted p": adjusted, "reject": adjusted <= alpha},
                        index=p.index)


@dataclass(frozen=True)
class Ratio:
    """A ratio of two means over paired runs, mean(a) / mean(b), with its interval."""

    estimate: float
    low: float
    high: float
    confidence: float
    method: str

    def __str__(self) -> str:
        """As the book prints a fold change: "1.9-fold (95% CI 1.6 to 2.3)"."""
        return (f"{fmt(self.estimate)}-fold ({self.confidence:.0%} CI {fmt(self.low)} to "
                f"{fmt(self.high)})")

    def percent(self) -> str:
        """As the book prints a share: "59 % (95 % CI 48 % to 70 %)"."""
        mean, low, high = (fmt(100 * v) for v in (self.estimate, self.low, self.high))
        return f"{mean} % ({100 * self.confidence:g} % CI {low} % to {high} %)"


def ratio(a, b, confidence: float = 0.95, method: str = "delta", resamples: int = 9999,
          seed: int = 0) -> Ratio:
    """mean(a) / mean(b) with a confidence interval, for paired runs: a[i] and b[i] come from
    the same seed (two Series are matched by their index, anything else by position).

    method="delta": the delta method. With R = mean(a) / mean(b) and d_i = a_i - R b_i, the
    standard error of R is sd(d) / (sqrt(n) abs(mean(b))), i.e. the square root of
    (s_a^2 - 2 R s_ab + R^2 s_b^2) / (n mean(b)^2); the interval is R +- t_(n-1) se, like
    `Paired`'s. Trust it when mean(b) is many standard errors away from 0.

    method="bootstrap": the paired bootstrap (the runs resampled whole, a with its b) with
    scipy.stats.bootstrap's BCa interval (bias-corrected and accelerated; Efron 1987),
    `resamples` resamples drawn from numpy's generator seeded by `seed`, so the interval is
    the same on every run.
    """
    if isinstance(a, pd.Series) and isinstance(b, pd.Series):
        b = b.reindex(a.index)
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"ratio: a and b are paired runs, one value each; got shapes "
                         f"{a.shape} and {b.shape}.")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("ratio: a or b has NaN or infinite values (or two Series whose "
                         "indexes differ); pass the same runs for both.")
    if len(a) < 3:
        raise ValueError(f"ratio: an interval needs at least 3 paired runs, got {len(a)}; "
                         f"run more seeds.")
    if b.mean() == 0:
        raise ValueError("ratio: mean(b) is 0, so mean(a) / mean(b) is undefined.")
    _check_level(confidence, "ratio", "confidence")
    estimate = a.mean() / b.mean()
    if method == "delta":
        se = np.std(a - estimate * b, ddof=1) / (math.sqrt(len(a)) * abs(b.mean()))
        half = _scipy_stats.t.ppf(0.5 + confidence / 2, len(a) - 1) * se
        low, high = estimate - half, estimate + half
    elif method == "bootstrap":
        result = _scipy_stats.bootstrap(
            (a, b), lambda x, y, axis=-1: x.mean(axis) / y.mean(axis), paired=True,
            vectorized=True, n_resamples=resamples, confidence_level=confidence,
            method="BCa", random_state=np.random.default_rng(seed))
        low, high = result.confidence_interval
        if not (np.isfinite(low) and np.isfinite(high)):
            raise ValueError("ratio: every bootstrap resample gives the same ratio, so BCa "
                             "has no interval; use method='delta'.")
    else:
        raise ValueError(f"ratio: method is 'delta' or 'bootstrap', got {method!r}.")
    return Ratio(float(estimate), float(low), float(high), confidence, method)


def power(effect: float, sd: float, n: int, alpha: float = 0.05) -> float:
    """The probability that a two-sided paired t-test at level alpha over n seeds detects a
    true mean difference `effect` when the per-seed differences have standard deviation
    `sd`: P(abs(T) > t_(1-alpha/2, n-1)), T noncentral t with n - 1 degrees of freedom and
    noncentrality sqrt(n) abs(effect) / sd (as statsmodels' TTestPower computes it).
    """
    _check_power("power", sd, alpha, n=n)
    if not math.isfinite(effect):
        raise ValueError(f"power: the effect is a difference in the measurement's units; "
                         f"got {effect}.")
    df, nc = n - 1, math.sqrt(n) * abs(effect) / sd
    crit = _scipy_stats.t.isf(alpha / 2, df)
    # the lower tail P(T < -crit) as P(T' > crit), T' with noncentrality -nc: scipy's
    # nct.cdf can return NaN far in its lower tail (scipy issue 25470), nct.sf does not
    return float(_scipy_stats.nct.sf(crit, df, nc) + _scipy_stats.nct.sf(crit, df, -nc))


def seeds_needed(effect: float, sd: float, target: float = 0.8, alpha: float = 0.05) -> int:
    """How many seeds a two-sided paired t-test at level alpha needs to detect a mean
    difference `effect` with probability `target` (the power) when the per-seed differences
    have standard deviation `sd` (a pilot's `Paired.sd`): the smallest n >= 2 with
    `power(effect, sd, n, alpha) >= target`. The search starts from the normal
    approximation n = ((z_(1-alpha/2) + z_target) sd / effect)^2.
    """
    _check_power("seeds_needed", sd, alpha, target)
    if not (math.isfinite(effect) and effect != 0):
        raise ValueError(f"seeds_needed: the effect to detect is a non-zero difference in "
                         f"the measurement's units; got {effect}.")
    z = _scipy_stats.norm.isf(alpha / 2) + _scipy_stats.norm.ppf(target)
    n = max(2, math.floor((z * sd / effect) ** 2))
    while n > 2 and power(effect, sd, n - 1, alpha) >= target:
        n -= 1
    while power(effect, sd, n, alpha) < target:
        n += 1
    return n


def smallest_effect(n: int, sd: float, target: float = 0.8, alpha: float = 0.05) -> float:
    """The smallest mean difference (positive, in the measurement's units) that a two-sided
    paired t-test at level alpha detects with probability `target` over n seeds whose
    differences have standard deviation `sd`: the root of power(effect, sd, n, alpha) =
    target. A "no detectable difference" over n seeds rules out little below this size.
    """
    _check_power("smallest_effect", sd, alpha, target, n)
    high = sd  # double until the power is reached, then bisect (Brent's method)
    while power(high, sd, n, alpha) < target:
        high *= 2
    return float(optimize.brentq(lambda e: power(e, sd, n, alpha) - target, 0.0, high,
                                 xtol=1e-12 * sd))


def _check_level(value, where: str, name: str):
    if not 0 < value < 1:
        raise ValueError(f"{where}: {name} lies strictly between 0 and 1; got {value}.")


def _check_power(where: str, sd, alpha, target=None, n=None):
    if not (math.isfinite(sd) and sd > 0):
        raise ValueError(f"{where}: sd, the standard deviation of the per-seed differences "
                         f"(e.g. a pilot's Paired.sd), must be positive; got {sd}.")
    _check_level(alpha, where, "alpha")
    if target is not None and not alpha < target < 1:
        raise ValueError(f"{where}: the target power lies between alpha ({alpha}) and 1, "
                         f"e.g. 0.8; got {target}.")
    if n is not None and not (isinstance(n, (int, np.integer)) and n >= 2):
        raise ValueError(f"{where}: n is a number of seeds, at least 2; got {n}.")
