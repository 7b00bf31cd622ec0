"""Run a command under the book's pinned numerics (mtl_tutor/numerics.py PINS).

    python tools/pinned.py CMD [ARGS ...]    run CMD with the pins in its environment
    python tools/pinned.py --install-kernel  install the venv's Jupyter kernel with the pins

Every execution whose outputs are recorded or compared goes through here (the Makefile's
PINNED), and the kernel spec carries the same pins, so JupyterLab started from the venv
computes what nbval compares.
"""
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mtl_tutor.numerics import PINS  # noqa: E402


def install_kernel():
    env_args = [arg for name, value in PINS.items() for arg in ("--env", name, value)]
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix",
                    "--name", "python3", *env_args], check=True, stdout=subprocess.DEVNULL)


def main(argv):
    if argv == ["--install-kernel"]:
        install_kernel()
        return
    if not argv:
        sys.exit(__doc__)
    os.execvpe(argv[0], argv, {**os.environ, **PINS})


if __name__ == "__main__":
    main(sys.argv[1:])
