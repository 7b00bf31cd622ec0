"""Claims: the right test for each kind, the family corrected, records kept, and a claim
that does not hold fails the strict run."""
import json

import pytest

import mtl_tutor as mt
from mtl_tutor.claims import Claims
from mtl_tutor.stats import Paired

CLEAR = Paired("a", "b", (-0.30, -0.25, -0.28, -0.31, -0.27, -0.26, -0.29, -0.30))
NOISY = Paired("a", "b", (-0.3, 0.2, -0.1, 0.25, -0.2, 0.1, -0.05, 0.15))
TINY = Paired("a", "b", (0.01, -0.012, 0.008, -0.005, 0.003, -0.007, 0.006, -0.004))
BORDER = Paired("a", "b", (-0.10, -0.02, -0.06, -0.01, -0.08, -0.03, -0.07, -0.05))


def test_superiority_uses_the_family_level():
    alone = Claims("ch", family_size=1)
    assert alone.lower("x", BORDER).verdict == "lower"  # p below 0.05
    assert BORDER.p < 0.05
    crowded = Claims("ch", family_size=1000)  # alpha / 1000: the same data do not suffice
    claim = crowded.lower("x", BORDER)
    assert BORDER.p > 0.05 / 1000 and claim.verdict == "no detectable difference"
    assert not claim.holds and claim.level == pytest.approx(5e-5)
    assert claim.words("below", "above", "not detectably different") == \
        "not detectably different"


def test_a_standalone_claim_says_why_and_is_decided_at_alpha():
    claims = Claims("ch", family_size=1000)
    claim = claims.lower("x", BORDER, alone="the chapter's one pre-registered claim")
    assert claim.holds and claim.level == 0.05


def test_equivalence_needs_its_margin_and_absence_is_not_a_match():
    claims = Claims("ch", family_size=3)
    assert claims.equivalent("tiny", TINY, margin=0.02).verdict == "equivalent"
    assert claims.equivalent("noisy", NOISY, margin=0.02).verdict == "not shown"
    absent = claims.no_difference("noisy", NOISY)
    assert absent.holds and absent.verdict == "no detectable difference"
    assert TINY.equivalent(0.02, alpha=0.05 / 3)


def test_no_worse_is_one_sided():
    claims = Claims("ch", family_size=2)
    assert claims.no_worse("better", CLEAR, margin=0.01).holds
    assert not claims.no_worse("noisy", NOISY, margin=0.01).holds


def test_headline_claims_need_twenty_seeds():
    with pytest.raises(ValueError, match="headline claim: it needs at least 20 seeds"):
        Claims("ch", family_size=1).lower("x", CLEAR, headline=True)


def test_check_adds_holm_and_fails_strictly_on_a_false_claim(monkeypatch, capsys):
    monkeypatch.setenv("MTL_TUTOR_STRICT", "1")
    claims = Claims("ch", family_size=2)
    claims.lower("clear", CLEAR)
    claims.lower("noisy", NOISY)
    with pytest.raises(AssertionError, match="noisy: no detectable difference"):
        claims.check()
    assert claims.made[0].holm_p == pytest.approx(min(1.0, 2 * min(CLEAR.p, NOISY.p)))
    assert "clear" in capsys.readouterr().out  # the table is shown


def test_check_counts_the_declared_family(monkeypatch):
    monkeypatch.setenv("MTL_TUTOR_STRICT", "1")
    claims = Claims("ch", family_size=3)
    claims.lower("clear", CLEAR)
    with pytest.raises(AssertionError, match="declared 3 claims in its family, made 1"):
        claims.check()


def test_robustness_runs_log_every_claim(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv("MTL_TUTOR_CLAIMS_LOG", str(log))
    monkeypatch.setenv("MTL_TUTOR_SEED", "1234")
    monkeypatch.delenv("MTL_TUTOR_STRICT", raising=False)
    claims = Claims("ch", family_size=1)
    claims.lower("clear", CLEAR)
    claims.check()
    record = json.loads(log.read_text().splitlines()[0])
    assert record["claim"] == "clear" and record["holds"] and record["offset"] == 1234


def test_a_comparison_gives_each_arms_capacity_and_budget():
    from mtl_tutor.compare import Arm, compare
    from mtl_tutor.problems import make_related_tasks

    def data(seed):
        return make_related_tasks(n_tasks=2, n_train=16, n_val=8, n_test=16, seed=seed)
    arms = [Arm(name, lambda d, n=n: mt.ForkedMLP(d.n_features, (4,), d.tasks, n),
                grid={"weight_decay": [0.0, 1e-2]}) for name, n in (("STL", 0), ("hard", 1))]
    result = compare(arms, data, [0, 1], epochs=2)
    claim = Claims("ch", family_size=1).no_difference("x", result.paired("hard", "STL"),
                                                      comparison=result)
    assert claim.arms["a"]["budget"] == 2 and claim.arms["b"]["parameters"] == \
        result.parameters("STL")


def test_the_audit_reads_records_from_stored_outputs(tmp_path):
    import nbformat
    from jupyter_client.manager import start_new_kernel  # noqa: F401 (a kernel is used)
    from nbclient import NotebookClient

    from mtl_tutor.audit import audit_table
    source = ("import mtl_tutor as mt\nfrom mtl_tutor.stats import Paired\n"
              "c = mt.Claims('probe', family_size=3)\n"
              "c.lower('a beats b', Paired('a', 'b', (-1.0, -1.2, -0.9, -1.1)))\n"
              "c.equivalent('a matches b', Paired('a', 'b', (0.001, -0.002, 0.0, 0.001)),"
              " margin=0.05)\n"
              "c.lower('c beats b', Paired('c', 'b', (1.0, -1.2, 0.9, -1.1)),"
              " withdrawn='not confirmed')\nc.check()")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    NotebookClient(nb, kernel_name="python3").execute()
    nbformat.write(nb, tmp_path / "probe.ipynb")
    (tmp_path / "robustness.json").write_text(json.dumps({"notebooks": {
        "book/probe.ipynb": {"claims": {"a beats b": {"MTL_TUTOR_SEED=5": True,
                                                      "MTL_TUTOR_SCALE=2": False}}}}}))
    table = audit_table(tmp_path).set_index("claim")
    assert list(table.index) == ["a beats b", "a matches b", "c beats b"]
    assert table.loc["a beats b", "verdict"] == "lower"
    assert table.loc[["a beats b", "a matches b"], "holds"].all()
    assert not table.loc["c beats b", "holds"]
    assert table.loc["c beats b", "withdrawn"] == "not confirmed"
    assert table.loc["a beats b", "withdrawn"] == "no"
    assert table.loc["a matches b", "margin"] == "0.05"
    assert table.loc["a beats b", "robustness"].startswith("failed at MTL_TUTOR_SCALE=2")
    assert table.loc["a matches b", "robustness"] == "not run"
    assert table.loc["a beats b", "interval"].endswith("(98.3 % CI)")  # 1 - 0.05 / 3


def test_a_chapter_shows_each_claims_record_at_fresh_settings(tmp_path, monkeypatch):
    """The claims table reads the last robustness run beside the chapter; a claim that
    failed at any setting is not robust, one not in the run is neither counted nor flagged."""
    (tmp_path / "robustness.json").write_text(json.dumps({"notebooks": {
        "book/ch.ipynb": {"claims": {"a beats b": {"MTL_TUTOR_SEED=5": True,
                                                   "MTL_TUTOR_SCALE=2": False},
                                     "b beats c": {"MTL_TUTOR_SEED=5": True}}}}}))
    monkeypatch.chdir(tmp_path)
    claims = Claims("ch", family_size=3)
    for name in ("a beats b", "b beats c", "c beats d"):
        claims.lower(name, Paired("x", "y", (-1.0, -1.2, -0.9, -1.1)))
    assert list(claims.table()["fresh settings"]) == ["held 1 of 2", "held 1 of 1", "not run"]
    assert claims.not_robust() == ["a beats b"]
    monkeypatch.chdir(tmp_path.parent)  # no run recorded here: nothing to flag
    assert claims.not_robust() == [] and set(claims.table()["fresh settings"]) == {"not run"}


def test_a_withdrawn_claim_stays_in_the_family_and_on_record(monkeypatch, tmp_path):
    """A declared claim that a run did not confirm is made as declared with its reason:
    it counts in the family (the levels of the others do not change), is shown with its
    reason, is not flagged as not robust, and does not fail the strict check."""
    monkeypatch.setenv("MTL_TUTOR_STRICT", "1")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "robustness.json").write_text(json.dumps({"notebooks": {
        "book/ch.ipynb": {"claims": {"noisy": {"MTL_TUTOR_SEED=5": False}}}}}))
    claims = Claims("ch", family_size=2)
    clear = claims.lower("clear", CLEAR)
    noisy = claims.lower("noisy", NOISY, withdrawn="not confirmed at the book's seeds")
    assert clear.level == noisy.level == pytest.approx(0.025) and not noisy.holds
    assert claims.withdrawn() == ["noisy"] and claims.not_robust() == []
    table = claims.table().set_index("claim")
    assert table.loc["noisy", "withdrawn"] == "not confirmed at the book's seeds"
    assert table.loc["clear", "withdrawn"] == "no"
    claims.check()  # no AssertionError: the failing claim is withdrawn
    with pytest.raises(ValueError, match="says why"):
        claims.lower("x", CLEAR, withdrawn="")


def test_a_table_without_withdrawn_claims_has_no_such_column():
    claims = Claims("ch", family_size=1)
    claims.lower("clear", CLEAR)
    assert "withdrawn" not in claims.table().columns
