"""The pinned numerics: set inside every notebook kernel, and the fingerprint gate that
compares digits where they can match and validates claims where they cannot."""
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from jupyter_client.manager import start_new_kernel

from mtl_tutor import numerics

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_nbval_strict import nbval_flags, probe_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CPUINFO = Path("/proc/cpuinfo")
X86 = platform.machine().lower() in ("x86_64", "amd64")
# A CPU with AVX2 and FMA: there ATen's AVX2 kernels and glibc's FMA variants exist, and
# the pins must keep them out of the probe.
AVX2 = X86 and CPUINFO.exists() and {"avx2", "fma"} <= set(CPUINFO.read_text().split())
PINNED_CAPABILITY = numerics.PINS["ATEN_CPU_CAPABILITY"].upper()
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
    if X86:
        assert capability == PINNED_CAPABILITY


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
    if X86:
        assert numerics.capability() == PINNED_CAPABILITY


def fingerprint_without(*unpinned, **overrides):
    code = "import json, mtl_tutor.numerics as n; print(json.dumps(n.fingerprint(parts=True)))"
    env = {k: v for k, v in os.environ.items() if k not in unpinned}
    result = subprocess.run([sys.executable, "-c", code], env={**env, **overrides},
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


@pytest.mark.skipif(not AVX2, reason="needs a CPU with AVX2 and FMA")
def test_the_probe_sees_the_kernels_the_pins_exclude():
    """Lifting the ATen pin (AVX2 kernels) or the glibc pin (libm's FMA variants) changes
    the fingerprint: the probe sees the code paths the pins exclude."""
    pinned = numerics.fingerprint(parts=True)
    aten = fingerprint_without(ATEN_CPU_CAPABILITY="avx2")
    assert aten["adam"] != pinned["adam"] and aten["softmax"] != pinned["softmax"]
    glibc = fingerprint_without("GLIBC_TUNABLES")  # libm's FMA variants
    assert glibc["numpy"] != pinned["numpy"]
    assert glibc["fingerprint"] != pinned["fingerprint"]


def test_the_books_sqrt_is_within_an_ulp():
    x = torch.rand(100_000, generator=torch.Generator().manual_seed(0)) * 100
    root = numerics.sqrt(x)
    exact = torch.from_numpy(np.sqrt(x.numpy()))  # correctly rounded
    assert (root.view(torch.int32) - exact.view(torch.int32)).abs().max() <= 1
    assert torch.equal(numerics.sqrt(x[::2]), root[::2])  # strided: the same bits
    assert torch.equal(numerics.sqrt(torch.tensor([0.0, 4.0])), torch.tensor([0.0, 2.0]))
