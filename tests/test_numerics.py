"""The pinned numerics: set inside every notebook kernel, and the fingerprint gate that
compares digits where they can match and validates claims where they cannot."""
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from jupyter_client.manager import start_new_kernel

from mtl_tutor import numerics

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_nbval_strict import nbval_flags, probe_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CPUINFO = Path("/proc/cpuinfo")
# Only an x86-64 CPU with AVX2 can run ATen's AVX2 kernels; elsewhere the gate checks claims.
AVX2 = platform.machine().lower() in ("x86_64", "amd64") and CPUINFO.exists() and \
    " avx2" in CPUINFO.read_text()
UNPINNED = {k: v for k, v in os.environ.items() if k not in numerics.PINS}


def test_the_fingerprint_is_repeatable_and_names_each_kernel():
    parts = numerics.fingerprint(parts=True)
    assert parts["fingerprint"] == numerics.fingerprint()
    assert {"matmul", "conv2d", "softmax", "randn", "adam"} <= set(parts)


def test_the_kernel_spec_carries_the_pins():
    # Started with an environment that lacks them, as JupyterLab from the venv would be.
    manager, client = start_new_kernel(kernel_name="python3", env=UNPINNED)
    try:
        code = ("import json, torch, mtl_tutor.numerics as n; "
                "print(json.dumps([n.pins_in_force(), n.capability()]))")
        lines = []
        client.execute_interactive(code, timeout=60, output_hook=lambda m: lines.append(
            m["content"].get("text", "")) if m["msg_type"] == "stream" else None)
        pins, capability = json.loads("".join(lines))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert all(pins.values()), pins
    if AVX2:
        assert capability == "AVX2"


def run_gate(tmp_path, source, stored, expect=None):
    path = probe_notebook(tmp_path, source, stored)
    env = dict(UNPINNED)
    if expect:
        env["MTL_TUTOR_EXPECT_FINGERPRINT"] = expect
    command = [sys.executable, "tools/pinned.py", sys.executable, "tools/gate.py", "-q",
               "-p", "no:cacheprovider", *nbval_flags(), str(path)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)


# The probe cell checks the pins from inside the kernel nbval starts, and prints a number.
PROBE = ("import mtl_tutor.numerics as n\n"
         "assert all(n.pins_in_force().values()), n.pins_in_force()\n"
         "print(6 * 7)")


def test_matching_fingerprint_compares_digits(tmp_path):
    here = numerics.fingerprint()
    right = run_gate(tmp_path, PROBE, "42\n", expect=here)
    assert right.returncode == 0, right.stdout
    assert "matches the recorded book" in right.stdout
    wrong = run_gate(tmp_path, PROBE, "43\n", expect=here)
    assert wrong.returncode != 0 and "43" in wrong.stdout


def test_mismatched_fingerprint_validates_claims_only(tmp_path):
    result = run_gate(tmp_path, PROBE, "43\n", expect="0000000000000000")
    assert result.returncode == 0, result.stdout
    line = result.stdout.splitlines()[0]
    assert "differs from the recorded 0000000000000000" in line
    assert "validating claims only" in line
    failing = run_gate(tmp_path, PROBE + "\nassert 6 * 7 == 43, 'a claim that fails'",
                       "42\n", expect="0000000000000000")
    assert failing.returncode != 0 and "a claim that fails" in failing.stdout


def test_the_book_records_its_fingerprint_and_pins():
    record = json.loads((ROOT / "book" / "numerics.json").read_text())
    assert record["pins"] == numerics.PINS
    assert len(record["fingerprint"]) == 16 and record["capability"]


def test_unit_tests_run_under_the_pins():
    """`make unit` runs through tools/pinned.py like the notebooks do."""
    assert all(numerics.pins_in_force().values()), "run the tests through make unit"
    if AVX2:
        assert numerics.capability() == "AVX2"
