"""The book's numerics fingerprint on emulated CPUs (qemu-x86_64, tools/emulate.py): an Intel
and an AMD model with AVX2, and a CPU without AVX (x86-64-v2, the oldest the pinned NumPy
runs on), must each compute the fingerprint the book was recorded with."""
import platform
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import emulate  # noqa: E402

pytestmark = pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"),
    reason="runs the venv's own x86-64 Python on emulated x86-64 CPUs")

# What NumPy detects on each emulated CPU: (AVX2, AVX-512). Proof that it is emulated.
FLAGS = {"Haswell-v4": (True, False), "EPYC-Rome": (True, False), "Nehalem": (False, False)}


@pytest.fixture(scope="module")
def seen():
    assert shutil.which("qemu-x86_64"), \
        "qemu-x86_64 is missing: tools/install_qemu.sh installs it (`make unit` runs it)"
    return emulate.probes(list(FLAGS))


def test_the_checked_models_are_the_tools():
    assert set(FLAGS) == set(emulate.CPUS)


@pytest.mark.parametrize("model", list(FLAGS))
def test_an_emulated_cpu_computes_the_books_fingerprint(seen, model):
    result = seen[model]
    assert (result["avx2"], result["avx512"]) == FLAGS[model], "not the emulated CPU"
    assert result["pins"], "the pins did not reach the emulated process"
    matched = emulate.report({model: result})
    assert matched == [model], f"{model}: {result['probe']} (book: {emulate.recorded()})"
