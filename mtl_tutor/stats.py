"""Paired comparisons over seeds: what turns "A beat B" from one run into a claim.

Every experiment in the book gives each method the same data (and, where the models match,
the same initialisation) for a given seed. So the honest question is not whether A's mean is
below B's, but whether the per-seed differences A - B are consistently of one sign: their
mean, a 95 % t-interval for it, and in how many seeds A came out lower::

    cmp = mt.paired(results, "test MSE", between="method", a="hard sharing", b="STL")
    cmp.lower   # True if the whole interval lies below 0: A is lower than B
    print(cmp)
    # hard sharing - STL = -0.18 (95% CI -0.21 to -0.15), lower in 20 of 20 seeds

An interval that includes 0 is no detectable difference, not a match: "a matches b" needs a
stated margin (`equivalent`), "a is no worse than b" too (`no_worse`).
"""
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as _scipy_stats

from .book import fmt
from .delta_m import delta_m, delta_m_per_run  # noqa: F401 (the book imports them from here)

NO_DIFFERENCE = "no detectable difference at this scale"


@dataclass(frozen=True)
class Paired:
    """The per-seed differences `a - b` of one measurement, and what they support.

    resampled=(n_train, n_test): the differences come from J random train/test splits of one
    data set, which overlap, so they are correlated and s^2 / J understates the variance of
    their mean. The interval and the tests then use the corrected resampled t of Nadeau and
    Bengio (2003): variance (1/J + n_test/n_train) s^2, still J - 1 degrees of freedom.
    """

    a: str
    b: str
    differences: tuple
    confidence: float = 0.95
    resampled: tuple | None = None

    def __post_init__(self):
        if not np.isfinite(np.asarray(self.differences, dtype=float)).all():
            raise ValueError("Paired: a difference is NaN or infinite; check those runs.")
        if not 0 < self.confidence < 1:
            raise ValueError(f"Paired: confidence is a level in (0, 1), e.g. 0.95; got "
                             f"{self.confidence}.")
        if self.resampled is not None and not (
                len(self.resampled) == 2 and all(s > 0 for s in self.resampled)):
            raise ValueError(f"Paired: resampled is (n_train, n_test), the two sizes of each "
                             f"split, both positive; got {self.resampled}.")

    @property
    def n(self) -> int:
        return len(self.differences)

    @property
    def mean(self) -> float:
        return float(np.mean(self.differences))

    @property
    def sd(self) -> float:
        """Standard deviation s of the differences (n - 1 in the denominator)."""
        return float(np.std(self.differences, ddof=1)) if self.n > 1 else math.nan

    @property
    def sem(self) -> float:
        """Standard error of the mean difference: s / sqrt(n), or with `resampled`
        s * sqrt(1/n + n_test/n_train) (Nadeau and Bengio 2003)."""
        if self.n < 2:
            return math.nan
        if self.resampled is None:
            return self.sd / math.sqrt(self.n)
        n_train, n_test = self.resampled
        return self.sd * math.sqrt(1 / self.n + n_test / n_train)

    @property
    def low(self) -> float:
        return self.mean - self._half_width()

    @property
    def high(self) -> float:
        return self.mean + self._half_width()

    def _half_width(self) -> float:
        if self.n < 2:
            return math.nan
        if self.sem == 0:
            return 0.0
        return float(_scipy_stats.t.ppf(0.5 + self.confidence / 2, self.n - 1) * self.sem)

    @property
    def wins(self) -> int:
        """Seeds in which `a` came out strictly lower than `b`."""
        return int(sum(d < 0 for d in self.differences))

    @property
    def losses(self) -> int:
        return int(sum(d > 0 for d in self.differences))

    @property
    def sign_p(self) -> float:
        """Two-sided sign test: how surprising the wins/losses split is if neither method
        is better (ties left out)."""
        trials = self.wins + self.losses
        if trials == 0:
            return 1.0
        return float(_scipy_stats.binomtest(self.wins, trials, 0.5).pvalue)

    @property
    def lower(self) -> bool:
        """The whole interval lies below 0: `a` is lower than `b` (e.g. a lower error)."""
        return self.high < 0

    @property
    def higher(self) -> bool:
        """The whole interval lies above 0: `a` is higher than `b`."""
        return self.low > 0

    @property
    def detected(self) -> bool:
        return self.lower or self.higher

    def within(self, margin: float) -> bool:
        """The whole interval lies within +-`margin`: any difference is smaller than that."""
        return -margin < self.low and self.high < margin

    def _t(self, null: float, where: str) -> float:  # infinite if all differences are equal
        if self.n < 2:
            raise ValueError(f"Paired.{where}: a t-test needs at least 2 differences, got "
                             f"{self.n}; run more seeds.")
        gap = self.mean - null
        if self.sem == 0:
            return 0.0 if gap == 0 else math.copysign(math.inf, gap)
        return gap / self.sem

    @property
    def p(self) -> float:
        """Two-sided p-value of the paired t-test of "mean difference 0", t = mean / sem with
        n - 1 degrees of freedom: below 1 - confidence exactly when the interval excludes 0.
        (All differences equal: 1 if they are 0, else 0.)"""
        return float(2 * _scipy_stats.t.sf(abs(self._t(0.0, "p")), self.n - 1))

    def tost_p(self, margin: float) -> float:
        """p-value of equivalence within +-margin by two one-sided t-tests (TOST, Schuirmann
        1987): the larger p-value of the tests of mean <= -margin and of mean >= margin."""
        _check_margin(margin, "tost_p", zero_allowed=False)
        low, high = self._t(-margin, "tost_p"), self._t(margin, "tost_p")
        t = _scipy_stats.t(self.n - 1)
        return float(max(t.sf(low), t.cdf(high)))

    def equivalent(self, margin: float, alpha: float = 0.05) -> bool:
        """"a matches b": equivalence within +-margin at level alpha. True iff both one-sided
        tests reject (`tost_p` < alpha), i.e. the 1 - 2 alpha interval (90 % for alpha 0.05)
        lies inside (-margin, margin). State the margin, the largest difference that does
        not matter, before looking at the results."""
        _check_alpha(alpha, "equivalent")
        return self.tost_p(margin) < alpha

    def no_worse_p(self, margin: float) -> float:
        """One-sided p-value of "a is worse than b by margin or more", mean(a - b) >= margin,
        against mean(a - b) < margin (non-inferiority; worse means higher, as for errors)."""
        _check_margin(margin, "no_worse_p", zero_allowed=True)
        return float(_scipy_stats.t.cdf(self._t(margin, "no_worse_p"), self.n - 1))

    def no_worse(self, margin: float, alpha: float = 0.05) -> bool:
        """Non-inferiority for errors (lower is better): "a is no worse than b", within
        `margin`. True iff the one-sided t-test rejects mean(a - b) >= margin (`no_worse_p`
        < alpha), i.e. the one-sided 1 - alpha upper bound lies below margin. margin 0 tests
        that a is lower. For a score where higher is better, swap a and b."""
        _check_alpha(alpha, "no_worse")
        return self.no_worse_p(margin) < alpha

    def verdict(self, lower: str = "lower", higher: str = "higher",
                neither: str = NO_DIFFERENCE) -> str:
        """`lower`, `higher` or `neither`, by where the interval lies."""
        return lower if self.lower else higher if self.higher else neither

    @property
    def interval(self) -> str:
        """The interval as the book prints it: "-0.21 to -0.15"."""
        return f"{fmt(self.low)} to {fmt(self.high)}"

    def percent(self) -> str:
        """A difference of fractions in percent, as the book prints it:
        "-20.5 % (95 % CI -25.9 % to -15.1 %)"."""
        mean, low, high = (fmt(100 * v) for v in (self.mean, self.low, self.high))
        return f"{mean} % (95 % CI {low} % to {high} %)"

    def __str__(self) -> str:
        return (f"{self.a} - {self.b} = {fmt(self.mean)} ({self.confidence:.0%} CI "
                f"{self.interval}), lower in {self.wins} of {self.n} seeds")


def _check_margin(margin, where: str, zero_allowed: bool):
    if not (math.isfinite(margin) and (margin > 0 or (zero_allowed and margin == 0))):
        least = "0 or more" if zero_allowed else "positive"
        raise ValueError(f"Paired.{where}: the margin is the largest difference that does not "
                         f"matter, in the measurement's units, and must be {least}; got "
                         f"{margin}.")


def _check_alpha(alpha, where: str):
    if not 0 < alpha < 0.5:
        raise ValueError(f"Paired.{where}: alpha is a test's level in (0, 0.5), e.g. 0.05; "
                         f"got {alpha}.")


def paired(table: pd.DataFrame, value: str, between: str, a, b, on="seed",
           relative: bool = False, confidence: float = 0.95, resampled=None) -> Paired:
    """Compare `a` and `b` (two values of the column `between`) on `value`, paired by `on`
    (the seed, or a list of columns that identify one run).

    With `relative=True` each difference is (a - b) / b, a fraction of b (e.g. -0.3 = 30 %
    lower). Every pair must be complete: a seed with only one of the two is an error.
    resampled=(n_train, n_test): the runs are random splits of one data set (see `Paired`).
    """
    on = [on] if isinstance(on, str) else list(on)
    for column in [value, between, *on]:
        if column not in table.columns:
            raise KeyError(f"paired: no column {column!r}; the table has {list(table.columns)}.")
    present = set(table[between].unique())
    for side in (a, b):
        if side not in present:
            raise KeyError(f"paired: {between} = {side!r} is not in the table; it has "
                           f"{sorted(map(str, present))}.")
    rows = table[table[between].isin([a, b])]
    if not np.isfinite(rows[value].to_numpy(dtype=float)).all():
        raise ValueError(f"paired: {value!r} has NaN or infinite values; check the runs.")
    wide = rows.pivot_table(index=on, columns=between, values=value, aggfunc="mean")
    incomplete = wide[[a, b]].isna().any(axis=1)
    if incomplete.any():
        raise ValueError(f"paired: {int(incomplete.sum())} run(s) have {value!r} for only one "
                         f"of {a!r} and {b!r}; compare methods run on the same seeds.")
    diffs = wide[a] - wide[b]
    if relative:
        diffs = diffs / wide[b]
    return Paired(str(a), str(b), tuple(float(d) for d in diffs), confidence, resampled)


def paired_table(table: pd.DataFrame, value: str, between: str, a, b, by, on="seed",
                 relative: bool = False, confidence: float = 0.95,
                 resampled=None) -> pd.DataFrame:
    """`paired` once for each value of the column(s) `by` (e.g. each training-set size),
    as a table: mean difference, interval, wins out of seeds, and the verdict."""
    by = [by] if isinstance(by, str) else list(by)
    rows = []
    for key, group in table.groupby(by, sort=True):
        cmp = paired(group, value, between, a, b, on=on, relative=relative,
                     confidence=confidence, resampled=resampled)
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)), "difference": cmp.mean, "low": cmp.low,
                     "high": cmp.high, "wins": cmp.wins, "seeds": cmp.n,
                     "verdict": cmp.verdict()})
    return pd.DataFrame(rows).set_index(by)


def summarize(table: pd.DataFrame, by, value: str) -> pd.DataFrame:
    """Mean, standard error (sem) and count of `value` for each group of `by` columns."""
    by = [by] if isinstance(by, str) else list(by)
    out = table.groupby(by)[value].agg(["mean", "sem", "count"]).reset_index()
    out["sem"] = out["sem"].fillna(0.0)  # a single seed has no spread to show
    return out
