"""A chapter's comparative claims: each made with the test that fits it, the family
corrected for multiplicity, each recorded for the audit page, and checked::

    claims = mt.Claims("why_mtl", family_size=3)
    small = claims.lower("hard sharing beats tuned STL at 10 examples per task",
                         result.paired("hard sharing", "STL"), comparison=result,
                         headline=True)
    mt.glue("small_verdict", small.words("lower", "higher", "no detectable difference"))
    ...
    claims.check()  # all claims made as declared; each must hold (under nbval)

The tests: "lower" or "higher" (superiority: the paired t-test rejects "no difference" and
the mean lies on that side), "equivalent" within a margin fixed before the run (TOST),
"no worse" by more than a margin (one-sided), and "no detectable difference" (the test does
not reject: an absence of evidence, never evidence of a match). A chapter declares how
many claims it makes (`family_size`); each is decided at Bonferroni's level alpha / m as
it is made, so that the chance of any false claim in the family stays below alpha, and
`check` adds Holm's adjusted p-values (Holm rejects whatever Bonferroni does, and
sometimes more). A claim that stands alone (one pre-registered headline) says why
(`alone="..."`) and is decided at alpha. A declared claim that a run did not confirm, or
that failed at a fresh seed offset, is not dropped: it is made as declared with
`withdrawn="why"`, stays in the family and on the audit page, and is not required to hold.
"""
import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .book import assert_claim, fmt
from .inference import holm
from .runtime import scaled, seed_offset

ROBUSTNESS_FILE = "robustness.json"  # beside the chapters, written by `make robustness`
RECORD_KEY = "mtl_tutor_claims"  # the output metadata the audit page reads the records from
LOG_ENV = "MTL_TUTOR_CLAIMS_LOG"  # make robustness: a file every claim is appended to
HEADLINE_SEEDS = 20
WORDS = {"lower": "lower", "higher": "higher", "neither": "no detectable difference"}


def last_robustness_run(book: Path | None = None) -> dict:
    """The last robustness run (book/robustness.json), looked for in `book`, else here and
    one folder up (a chapter runs in book/, a lab in book/labs/); {} where there is none."""
    for folder in [book] if book else [Path("."), Path("..")]:
        if (folder / ROBUSTNESS_FILE).exists():
            return json.loads((folder / ROBUSTNESS_FILE).read_text())
    return {}


def robustness_outcomes(notebook: str, claim: str, robustness: dict) -> dict:
    """{setting: held} for one claim of a notebook (its stem, e.g. "why_mtl")."""
    for path, runs in robustness.get("notebooks", {}).items():
        if Path(path).stem == notebook:
            return runs.get("claims", {}).get(claim, {})
    return {}


def robustness_of(notebook: str, claim: str, robustness: dict) -> str:
    """Where a claim held in the last robustness run: 'held at all 4: ...', or the
    settings it failed at; 'not run' if it was not in the run."""
    outcomes = robustness_outcomes(notebook, claim, robustness)
    if not outcomes:
        return "not run"
    failed = [setting for setting, held in outcomes.items() if not held]
    if failed:
        return f"failed at {', '.join(failed)} (held at {len(outcomes) - len(failed)} of " \
               f"{len(outcomes)})"
    return f"held at all {len(outcomes)}: {', '.join(outcomes)}"


@dataclass
class Claim:
    """One claim and what its test says. `verdict` is the test's outcome ("lower",
    "higher", "equivalent", "no worse", "no detectable difference", "not shown");
    `holds` whether it is the claimed one."""

    chapter: str
    claim: str
    test: str
    a: str
    b: str
    seeds: int
    mean: float
    ci95: str
    level: float
    interval: str
    confidence: float
    p: float
    verdict: str
    holds: bool
    margin: float | None = None
    alone: str | None = None
    headline: bool = False
    arms: dict | None = None
    holm_p: float | None = None
    withdrawn: str | None = None

    def words(self, lower: str = "lower", higher: str = "higher",
              neither: str = WORDS["neither"]) -> str:
        """The test's outcome in the prose's words (for glue): one of the three."""
        return {"lower": lower, "higher": higher}.get(self.verdict, neither)


class Claims:
    """The comparative claims of one chapter (a family of `family_size` tests)."""

    def __init__(self, chapter: str, family_size: int, alpha: float = 0.05):
        if family_size < 1:
            raise ValueError(f"family_size is the number of claims the chapter makes (at "
                             f"least 1), got {family_size}.")
        self.chapter, self.family_size, self.alpha = chapter, family_size, alpha
        self.made = []

    def _level(self, alone) -> float:
        return self.alpha if alone else self.alpha / self.family_size

    def _add(self, claim, cmp, test, expected, verdict, p, interval, level, margin=None,
             alone=None, headline=False, comparison=None, two_sided=True,
             withdrawn=None) -> Claim:
        if headline and cmp.n < scaled(HEADLINE_SEEDS):
            raise ValueError(f"{claim!r} is a headline claim: it needs at least "
                             f"{scaled(HEADLINE_SEEDS)} seeds, has {cmp.n}.")
        if withdrawn is not None and not (isinstance(withdrawn, str) and withdrawn.strip()):
            raise ValueError(f"withdrawn= says why {claim!r} was withdrawn (a sentence), "
                             f"got {withdrawn!r}.")
        arms = None
        if comparison is not None:
            arms = {side: {"parameters": comparison.parameters(name),
                           "budget": comparison.budget(name),
                           "edges": comparison.edges(name) or "none"}
                    for side, name in (("a", cmp.a), ("b", cmp.b))}
        confidence = 1 - level if two_sided else 1 - 2 * level  # of the interval shown
        record = Claim(self.chapter, claim, test, cmp.a, cmp.b, cmp.n, cmp.mean,
                       cmp.interval, level, interval, confidence, p, verdict,
                       verdict == expected, margin, alone, headline, arms,
                       withdrawn=withdrawn)
        self.made.append(record)
        return record

    def _superiority(self, claim, cmp, expected, **kwargs) -> Claim:
        level = self._level(kwargs.get("alone"))
        wide = dataclasses.replace(cmp, confidence=1 - level)
        verdict = "lower" if wide.lower else "higher" if wide.higher else WORDS["neither"]
        return self._add(claim, cmp, "paired t-test, two-sided", expected, verdict, cmp.p,
                         wide.interval, level, **kwargs)

    def lower(self, claim: str, cmp, **kwargs) -> Claim:
        """a is lower than b (e.g. a lower error): the interval lies below 0."""
        return self._superiority(claim, cmp, "lower", **kwargs)

    def higher(self, claim: str, cmp, **kwargs) -> Claim:
        """a is higher than b: the interval lies above 0."""
        return self._superiority(claim, cmp, "higher", **kwargs)

    def no_difference(self, claim: str, cmp, **kwargs) -> Claim:
        """No detectable difference: the test does not reject. An absence of evidence at
        this number of seeds, never evidence that a and b match (use `equivalent`)."""
        return self._superiority(claim, cmp, WORDS["neither"], **kwargs)

    def equivalent(self, claim: str, cmp, margin: float, **kwargs) -> Claim:
        """a and b differ by less than `margin` either way (TOST at the claim's level:
        the 1 - 2 level interval lies inside +-margin). Fix the margin before the run."""
        level = self._level(kwargs.get("alone"))
        wide = dataclasses.replace(cmp, confidence=1 - 2 * level)
        holds = cmp.equivalent(margin, alpha=level)
        return self._add(claim, cmp, f"TOST, margin {fmt(margin)}", "equivalent",
                         "equivalent" if holds else "not shown", cmp.tost_p(margin),
                         wide.interval, level, margin=margin, two_sided=False, **kwargs)

    def no_worse(self, claim: str, cmp, margin: float, **kwargs) -> Claim:
        """a is no worse than b by more than `margin` (lower is better: mean(a - b) <
        margin, one-sided at the claim's level). Fix the margin before the run."""
        level = self._level(kwargs.get("alone"))
        wide = dataclasses.replace(cmp, confidence=1 - 2 * level)
        holds = cmp.no_worse(margin, alpha=level)
        return self._add(claim, cmp, f"non-inferiority, margin {fmt(margin)}", "no worse",
                         "no worse" if holds else "not shown", cmp.no_worse_p(margin),
                         f"below {fmt(wide.high)}", level, margin=margin, two_sided=False,
                         **kwargs)

    def table(self) -> pd.DataFrame:
        """The claims made so far, one row each; "fresh settings": how many of the last
        robustness run's settings (other seed offsets, twice the scale) the claim held at."""
        robustness = last_robustness_run()
        rows = []
        for c in self.made:
            outcomes = robustness_outcomes(self.chapter, c.claim, robustness)
            rows.append({"claim": c.claim, "test": c.test, "seeds": c.seeds, "mean": c.mean,
                         "interval": c.interval, "p": c.p, "Holm p": c.holm_p,
                         "verdict": c.verdict, "holds": c.holds,
                         "fresh settings": f"held {sum(outcomes.values())} of {len(outcomes)}"
                         if outcomes else "not run", "withdrawn": c.withdrawn or "no"})
        table = pd.DataFrame(rows)
        if table.empty or (table["withdrawn"] == "no").all():
            return table.drop(columns="withdrawn", errors="ignore")
        return table

    def not_robust(self) -> list:
        """The claims made so far that failed at a setting of the last robustness run:
        they do not stand until revised and run again at offsets drawn after the revision."""
        robustness = last_robustness_run()
        return [c.claim for c in self.made if not c.withdrawn and not all(
            robustness_outcomes(self.chapter, c.claim, robustness).values())]

    def withdrawn(self) -> list:
        """The claims made with `withdrawn=...`: declared, tested, and not claimed."""
        return [c.claim for c in self.made if c.withdrawn]

    def check(self) -> None:
        """Holm's adjusted p-values for the family, the records for the audit page (and
        for `make robustness`), then the check that every claim holds."""
        family = [c for c in self.made if not c.alone]
        if family:
            adjusted = holm([c.p for c in family], self.alpha)["adjusted p"]
            for c, p in zip(family, adjusted):
                c.holm_p = float(p)
        records = [dataclasses.asdict(c) for c in self.made]
        _show(self.table(), records)
        log = os.environ.get(LOG_ENV)
        if log:
            with open(log, "a") as out:
                for record in records:
                    out.write(json.dumps({**record, "offset": seed_offset(),
                                          "scale": scaled(1)}) + "\n")
        assert_claim(len(family) == self.family_size,
                     f"{self.chapter}: declared {self.family_size} claims in its family, "
                     f"made {len(family)}")
        failing = [f"{c.claim}: {c.verdict} ({c.test}, interval {c.interval})"
                   for c in self.made if not c.holds and not c.withdrawn]
        assert_claim(not failing, f"{self.chapter}: " + "; ".join(failing))


def _show(table: pd.DataFrame, records: list) -> None:
    """Display the claims: a text table (what nbval compares) with the records in the
    output's metadata (what the audit page reads from the stored notebook)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is None or get_ipython() is None:  # a plain Python session
        print(table.to_string())
        return
    clean = json.loads(json.dumps(records, default=float).replace("NaN", "null"))
    display({"text/plain": table.to_string()}, metadata={RECORD_KEY: clean}, raw=True)
