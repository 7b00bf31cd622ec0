"""make robustness: fresh seed offsets at every run, and every claim's outcome recorded."""
import json
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import robustness  # noqa: E402


def test_every_run_draws_three_fresh_offsets_and_doubles_the_scale(monkeypatch):
    monkeypatch.delenv(robustness.OFFSETS_ENV, raising=False)
    first, second = robustness.settings(), robustness.settings()
    offsets = [int(s["MTL_TUTOR_SEED"]) for s in first[:3]]
    assert len(set(offsets)) == 3 and min(offsets) >= 10_000  # not the book's own seeds
    assert first[3] == {"MTL_TUTOR_SCALE": "2"}
    assert first[:3] != second[:3]  # drawn again: nothing to tune a claim to
    monkeypatch.setenv(robustness.OFFSETS_ENV, "11,22,33")
    assert [s.get("MTL_TUTOR_SEED") for s in robustness.settings()] == ["11", "22", "33",
                                                                         None]


PROBE = """import os
import mtl_tutor as mt
from mtl_tutor.stats import Paired
offset = int(os.environ.get("MTL_TUTOR_SEED", "0"))
claims = mt.Claims("probe", family_size=2)
claims.lower("always", Paired("a", "b", (-1.0, -1.1, -0.9, -1.05)))
# holds at even offsets only, fails at odd ones (and at scale 2, offset 0)
sign = -1 if offset % 2 == 0 and offset else 1
claims.lower("even offsets", Paired("a", "b", tuple(sign * v for v in (1.0, 1.1, 0.9, 1.2))))
claims.check()
"""


def test_each_claims_outcome_is_recorded_per_setting(tmp_path, monkeypatch):
    notebook = tmp_path / "probe.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(PROBE)]
    nbformat.write(nb, notebook)
    monkeypatch.setattr(robustness, "ROOT", tmp_path)
    monkeypatch.setattr(robustness, "RECORD", tmp_path / "robustness.json")
    monkeypatch.setenv(robustness.OFFSETS_ENV, "20,21,22")
    monkeypatch.setenv("MTL_TUTOR_STRICT", "1")
    assert robustness.main([str(notebook)]) == 1  # a claim failed somewhere
    record = json.loads((tmp_path / "robustness.json").read_text())["notebooks"]["probe.ipynb"]
    assert record["settings"] == ["MTL_TUTOR_SEED=20", "MTL_TUTOR_SEED=21",
                                  "MTL_TUTOR_SEED=22", "MTL_TUTOR_SCALE=2"]
    assert record["claims"]["always"] == {s: True for s in record["settings"]}
    assert record["claims"]["even offsets"] == {
        "MTL_TUTOR_SEED=20": True, "MTL_TUTOR_SEED=21": False, "MTL_TUTOR_SEED=22": True,
        "MTL_TUTOR_SCALE=2": False}
    assert {f["setting"] for f in record["failures"]} == {"MTL_TUTOR_SEED=21",
                                                          "MTL_TUTOR_SCALE=2"}
