"""nbval, run with the Makefile's own flags, really compares stored and fresh outputs."""
import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def nbval_flags():
    makefile = (ROOT / "Makefile").read_text()
    return re.search(r"^NBVAL := (.*)$", makefile, re.M).group(1).split()


def probe_notebook(tmp_path, source, stored_text):
    """A one-cell notebook whose stored output is `stored_text`."""
    cell = nbformat.v4.new_code_cell(source, execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored_text)]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    return path


def run_nbval(tmp_path, source, stored_text):
    path = probe_notebook(tmp_path, source, stored_text)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *nbval_flags(), str(path)], cwd=ROOT, capture_output=True, text=True)


def test_a_changed_number_fails(tmp_path):
    result = run_nbval(tmp_path, "print(6 * 7)", "43\n")
    assert result.returncode != 0 and "43" in result.stdout and "42" in result.stdout


def test_the_right_number_passes(tmp_path):
    result = run_nbval(tmp_path, "print(6 * 7)", "42\n")
    assert result.returncode == 0, result.stdout


def test_only_progress_bars_are_sanitized(tmp_path):
    bar = "fit: 100%|##########| 50/50 [00:0{}<00:00, 9{}.1it/s]\n"
    result = run_nbval(tmp_path, f"print({bar.format(1, 1)!r}, end='')", bar.format(2, 7))
    assert result.returncode == 0, result.stdout
