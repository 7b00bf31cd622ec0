"""A Colab-like run: reader notebooks executed where only what a Colab user has is installed.

    python tools/colab_like.py [NOTEBOOK ...]    # default: two reader notebooks (make colab-like)
    python tools/colab_like.py --all             # every one; labs with their solutions

A fresh virtual environment gets the package built from this repository with its loose
version ranges (pyproject.toml), torch pinned as on Colab's image, and a kernel; none of the
book's exact pins, no pinned numerics, no strict claim checks. The reader notebooks
(`make reader`) then execute to the end without a network. If the loose install resolves to
newer packages than requirements.txt, digits may differ, so outputs are not compared, and a
claim that no longer holds prints its one line (counted in the report) instead of stopping.
Before the notebooks, the README's "Your own data" example runs there as written, on a small
made-up DataFrame: a new user's first five lines, with nothing but `pip install .`.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reader import fresh_copy

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "_build" / "colab-like-venv"
READER = ROOT / "_build" / "reader"
DEFAULT = ["book/why_mtl.ipynb", "book/tensor_basics.ipynb"]
TORCH = "torch==2.13.0"  # the only pin: Colab's image brings its own torch

# Runs inside the fresh environment: execute one notebook, report what a reader would see.
EXECUTE = """
import sys, nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[2]}}).execute()
text = "".join(o.text for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if o.get("output_type") == "stream")
lines = [line for line in text.splitlines() if "the book's claim does not hold" in line]
print(f"{path}: ran to the end; claims that did not hold with this install: {len(lines)}")
for line in lines:
    print("   ", line)
"""


# The DataFrame the README's example expects: two targets, a number and a text column.
README_DATA = """
import numpy as np, pandas as pd
rng = np.random.default_rng(0)
size = rng.normal(size=300)
region = rng.choice(["north", "south"], size=300)
df = pd.DataFrame({"size": size, "region": region,
                   "price": 3 * size + (region == "north") + rng.normal(size=300),
                   "demand": -size + rng.normal(size=300)})
"""


def readme_example() -> str:
    """The first Python block of the README's "Your own data" section."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Your own data"):]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def run(*command, **kwargs):
    subprocess.run(command, check=True, **kwargs)


def fresh_environment() -> Path:
    if VENV.exists():
        shutil.rmtree(VENV)
    run(sys.executable, "-m", "venv", str(VENV))
    python = VENV / "bin" / "python"
    with tempfile.TemporaryDirectory() as folder:  # a copy: building leaves build/ behind
        source = Path(folder) / "package"
        fresh_copy(source, ["pyproject.toml", "README.md", "LICENSE", "mtl_tutor"])
        run(python, "-m", "pip", "install", "-qq", TORCH, str(source), "ipykernel", "nbclient")
    return python


def plain_environment() -> dict:
    """The caller's environment without the book's pins or strict checks."""
    sys.path.insert(0, str(ROOT))
    from mtl_tutor.book import STRICT_ENV
    from mtl_tutor.numerics import PINS
    drop = set(PINS) | {STRICT_ENV, "VIRTUAL_ENV", "PYTHONPATH", "JUPYTER_PATH"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def solved_labs(folder: Path) -> list:
    """The labs' reader notebooks with their solutions (students get them without)."""
    import nbformat
    from reader import notebooks, reader_notebook
    paths = []
    for path in notebooks():
        if path.parent.name == "labs":
            paths.append(folder / path.name)
            nbformat.write(reader_notebook(path, student=False), paths[-1])
    return paths


def main(notebooks) -> None:
    missing = [nb for nb in notebooks if not (READER / nb).exists()]
    if missing:
        raise SystemExit(f"no reader notebook {missing}: run `make reader` first")
    python = fresh_environment()
    versions = subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True,
                              check=True).stdout.split()
    shown = ("torch==", "numpy==", "pandas==", "scipy==", "matplotlib==", "scikit-learn==")
    print("colab-like install:", " ".join(v for v in versions if v.startswith(shown)))
    offline = [str(ROOT / "tools" / "offline.sh")]
    example = readme_example()
    run(*offline, str(python), "-c", README_DATA + example + "\nprint(mt.evaluate(model, data))",
        env=plain_environment(), cwd=ROOT)
    print(f"README's own-data example ({len(example.splitlines())} lines) ran in the fresh venv")
    for nb in notebooks:
        path = READER / nb
        started = time.perf_counter()
        run(*offline, str(python), "-c", EXECUTE, str(path), str(path.parent),
            env=plain_environment(), cwd=ROOT)
        print(f"  ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--all"]:
        with tempfile.TemporaryDirectory() as folder:
            chapters = [str(p.relative_to(READER)) for p in sorted(READER.glob("book/*.ipynb"))]
            main(chapters + [str(p) for p in solved_labs(Path(folder))])
    else:
        main(sys.argv[1:] or DEFAULT)
