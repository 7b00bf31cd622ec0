"""The book on emulated x86-64 CPUs (user-mode `qemu-x86_64 -cpu MODEL`, Debian's qemu-user).

    python tools/emulate.py fingerprint [MODEL ...]   the numerics fingerprint on each CPU
    python tools/emulate.py record [MODEL ...]        ... and record in book/numerics.json
                                                      where it matched the book's
    python tools/emulate.py nbval MODEL NOTEBOOK ...  strict nbval, the Jupyter kernel emulated

Run under tools/pinned.py (`make emulate NB=book/why_mtl.ipynb CPU=Haswell-v4`,
`make verify-numerics`). Without MODEL: the CPUS below. qemu 7.2 emulates CPUs up to AVX2,
not AVX-512, and about 20 to 50 times slower than native: a notebook of a minute takes
most of an hour. Only the process qemu starts is emulated: its children (a Jupyter kernel)
run natively unless their command starts with qemu too, hence the kernel spec made here.
"""
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from mtl_tutor.numerics import PINS  # noqa: E402

RECORD = ROOT / "book" / "numerics.json"
# qemu's CPU models checked by the tests: Intel and AMD with AVX2, and the oldest CPU the
# pinned NumPy runs on (x86-64-v2); qemu64, the default model, lacks SSE4.2 and runs nothing.
CPUS = {
    "Haswell-v4": "Intel Haswell (AVX2, FMA)",
    "EPYC-Rome": "AMD EPYC Rome, Zen 2 (AVX2, FMA)",
    "Nehalem": "Intel Nehalem (x86-64-v2: SSE4.2, no AVX)",
}
MORE_CPUS = {"SandyBridge": "Intel Sandy Bridge (AVX, no AVX2 or FMA)",
             "Skylake-Client-v4": "Intel Skylake (AVX2, FMA)"}
KERNEL = "mtl-tutor-emulated"
# What a process on the emulated CPU reports: ATen's capability, whether the pins held, and
# the CPU's AVX2 and AVX-512 flags (as NumPy detects them: proof that the CPU is emulated).
SEEN = ("import json; from numpy._core._multiarray_umath import __cpu_features__ as f; "
        "from mtl_tutor import numerics as n; seen = {'capability': n.capability(), "
        "'pins': all(n.pins_in_force().values()), 'avx2': f['AVX2'], 'avx512': f['AVX512F']}")
PROBE = SEEN + "; print(json.dumps({**seen, 'probe': n.fingerprint(parts=True)}))"


def qemu() -> str:
    path = shutil.which("qemu-x86_64")
    if not path:
        sys.exit("emulate: qemu-x86_64 is not installed; tools/install_qemu.sh installs it "
                 "(Debian's qemu-user), as `make emulate` and `make unit` do.")
    return path


def check_model(model: str) -> None:
    listed = subprocess.run([qemu(), "-cpu", "help"], capture_output=True, text=True).stdout
    if model not in {line.split()[1] for line in listed.splitlines() if line.startswith("x86 ")}:
        sys.exit(f"emulate: qemu knows no CPU model {model!r}; `qemu-x86_64 -cpu help` lists "
                 f"them (checked by the book: {', '.join({**CPUS, **MORE_CPUS})}).")


def emulated(model: str, code: str, timeout: float = 600) -> str:
    """Run Python `code` on an emulated `model` under the pins; return what it printed."""
    result = subprocess.run([qemu(), "-cpu", model, sys.executable, "-c", code], cwd=ROOT,
                            env={**os.environ, **PINS}, capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode:
        errors = [line for line in result.stderr.splitlines() if "TCG doesn't" not in line]
        raise RuntimeError(f"{sys.executable} on emulated {model} failed "
                           f"({result.returncode}):\n" + "\n".join(errors[-15:]))
    return result.stdout


def probe(model: str) -> dict:
    """The fingerprint (with its parts), ATen's capability, whether the pins held and the
    emulated CPU's AVX2 and AVX-512 flags, computed on an emulated `model`."""
    return json.loads(emulated(model, PROBE).splitlines()[-1])


def probes(models) -> dict:
    """`probe` of each model, two at a time (one per core of the machine the book is made on)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(models, pool.map(probe, models)))


def recorded() -> str:
    return json.loads(RECORD.read_text())["fingerprint"]


def report(results: dict) -> list:
    """One line per model; returns the models whose fingerprint matches the book's."""
    book, matched = json.loads(RECORD.read_text()), []
    for model, seen in results.items():
        parts = seen["probe"]
        differing = [k for k, v in parts.items() if k != "fingerprint" and v != book.get(k)]
        matched += [] if differing else [model]
        print(f"{model:18} {parts['fingerprint']} (AVX2 {seen['avx2']}, AVX-512 "
              f"{seen['avx512']}, ATen {seen['capability']}): "
              + (f"differs from the book's in {', '.join(differing)}" if differing
                 else "matches the book's"))
    return matched


def native_cpu() -> str:
    """This machine's CPU model name and its widest vector extension, e.g. 'AMD EPYC (AVX-512)'."""
    info = Path("/proc/cpuinfo").read_text()
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                 if line.startswith("model name")), "unknown CPU")
    flags = set(info.split())
    widest = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{name} ({widest})"


def record(models) -> None:
    """Write to book/numerics.json the CPUs where the book's fingerprint was reproduced:
    the emulated models and this machine's own CPU (natively)."""
    from mtl_tutor.numerics import fingerprint

    matched = report(probes(models))
    stored = json.loads(RECORD.read_text())
    verified = [{"cpu": {**CPUS, **MORE_CPUS}.get(m, m), "how": f"emulated: qemu-x86_64 -cpu {m}"}
                for m in matched]
    if fingerprint() == stored["fingerprint"]:
        verified.insert(0, {"cpu": native_cpu(), "how": "native"})
    stored["verified_on"] = verified
    RECORD.write_text(json.dumps(stored, indent=1) + "\n")
    print(f"recorded {len(verified)} CPUs in {RECORD.relative_to(ROOT)}")


def kernel_spec(model: str) -> dict:
    """A Jupyter kernel spec (in _build/emulate/MODEL) whose command starts with qemu, so
    the kernel itself runs on the emulated CPU; returns the environment that finds it."""
    home = ROOT / "_build" / "emulate" / model
    spec = home / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    from jupyter_client.kernelspec import KernelSpecManager

    native = KernelSpecManager().get_kernel_spec("python3")  # the venv's, with the pins
    argv = [qemu(), "-cpu", model, *native.argv]
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": f"Python 3 (emulated {model})", "language": "python",
         "env": native.env}, indent=1))
    return {**os.environ, **PINS, "JUPYTER_PATH": str(home), "MTL_TUTOR_STRICT": "1"}


def kernel_cpu(env: dict) -> dict:
    """The CPU flags the emulated kernel sees, and the pins it runs with."""
    from jupyter_client.manager import start_new_kernel

    os.environ["JUPYTER_PATH"] = env["JUPYTER_PATH"]
    manager, client = start_new_kernel(kernel_name=KERNEL, startup_timeout=600)
    lines = []
    try:
        client.execute_interactive(SEEN + "; print(json.dumps(seen))", timeout=600,
                                   output_hook=lambda m: lines.append(m["content"].get(
                                       "text", "")) if m["msg_type"] == "stream" else None)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return json.loads("".join(lines))


def nbval(model: str, notebooks) -> int:
    """Strict nbval (every stored text output digit for digit) on an emulated `model`."""
    env = kernel_spec(model)
    seen = kernel_cpu(env)
    print(f"kernel on emulated {model}: AVX2 {seen['avx2']}, AVX-512 {seen['avx512']}, "
          f"ATen {seen['capability']}, pins {'set' if seen['pins'] else 'NOT set'}", flush=True)
    if not seen["pins"]:
        return 1
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval",
               "--nbval-kernel-name", KERNEL, "--nbval-sanitize-with", "tests/sanitize.cfg",
               "--nbval-cell-timeout", "7200", "--nbval-kernel-startup-timeout", "600",
               *notebooks]
    return subprocess.call(command, cwd=ROOT, env=env)


def main(argv) -> int:
    if not argv or argv[0] not in ("fingerprint", "record", "nbval"):
        sys.exit(__doc__)
    if argv[0] == "nbval":
        if len(argv) < 3:
            sys.exit("emulate nbval: give a CPU model and notebooks, e.g. "
                     "`nbval Haswell-v4 book/why_mtl.ipynb`.")
        check_model(argv[1])
        return nbval(argv[1], argv[2:])
    models = argv[1:] or list(CPUS)
    for model in models:
        check_model(model)
    if argv[0] == "record":
        record(models)
        return 0
    matched = report(probes(models))
    return 0 if len(matched) == len(models) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
