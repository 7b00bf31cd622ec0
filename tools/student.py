"""Write student versions of the lab notebooks: solutions removed, checks kept.

    python tools/student.py [OUT_DIR]     # default: student/

The student version of a notebook is made by tools/solutions.py; `make student` writes
them as plain notebooks (tools/reader.py: no MyST markup, numbered exercises), the same
files as the `notebooks` branch's labs.
"""
import sys
from pathlib import Path

import nbformat
from check_publish import PLACEHOLDERS
from reader import config, reader_notebook
from solutions import (  # noqa: F401 (the names the tests and tools use from here)
    BEGIN,
    COLAB_MARKER,
    END,
    STUB,
    strip_solution,
    student_version,
)

ROOT = Path(__file__).resolve().parents[1]


def placeholder_warning() -> str | None:
    """A warning when _config.yml still names the template's placeholder addresses, which
    the student notebooks then carry (links to the online book, the Colab install cell)."""
    settings = config()
    found = [where for where, url in [
        ("repository.url", settings["repository"]["url"]),
        ("html.baseurl", (settings.get("html") or {}).get("baseurl", ""))]
        if url.rstrip("/") in PLACEHOLDERS]
    if not found:
        return None
    return ("WARNING: " + " and ".join(found) + " in _config.yml still name the template's "
            "placeholder addresses (" + ", ".join(PLACEHOLDERS) + "). The notebooks just "
            "written link to them: their links to the online book and their Colab install "
            "cell point at somebody else's repository, or nowhere. Set both to your own "
            "addresses, run `make colab-cells`, then `make student` again before handing "
            "the notebooks out.")


def main(out_dir: Path) -> list:
    written = []
    for path in sorted((ROOT / "book" / "labs").glob("*.ipynb")):
        nb = reader_notebook(path, student=True)
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out_dir / path.name)
        written.append(out_dir / path.name)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "student"
    for path in main(target):
        print(path)
    warning = placeholder_warning()
    if warning:
        print(warning, file=sys.stderr)
