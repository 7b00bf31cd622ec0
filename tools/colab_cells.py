"""Keep each notebook's Colab install cell in step with the repository URL in _config.yml and
the package's version: the cell installs the release tagged v<version>, so a published book
and the package its notebooks install cannot drift apart.

    python tools/colab_cells.py           # list notebooks whose cell is missing or stale
    python tools/colab_cells.py --write   # rewrite those cells
"""
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
MARKER = "# On Colab: install mtl_tutor"


def repository_url() -> str:
    text = (ROOT / "_config.yml").read_text()
    match = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", text, re.M)
    if not match:
        raise SystemExit("_config.yml has no repository: url: setting")
    return match.group(1)


def package_version() -> str:
    """mtl_tutor.__version__, read without importing the package."""
    text = (ROOT / "mtl_tutor" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def colab_cell_source(url: str, version: str = None) -> str:
    version = version or package_version()
    return (f"{MARKER} {version}, the release this book was built with\n"
            "# (hidden in the online book).\n"
            "import sys\n\n"
            'if "google.colab" in sys.modules:\n'
            f'    %pip install --quiet "mtl_tutor @ git+{url}@v{version}"')


def notebooks():
    return sorted(p for p in (ROOT / "book").rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def stale(url: str):
    """Notebooks whose first code cell is not the current Colab cell."""
    expected = colab_cell_source(url)
    out = []
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        first = next((c for c in nb.cells if c.cell_type == "code"), None)
        if first is None or first.source != expected or \
                "remove-cell" not in first.metadata.get("tags", []):
            out.append(path)
    return out


def write(url: str) -> None:
    for path in stale(url):
        nb = nbformat.read(path, as_version=4)
        first = next((c for c in nb.cells if c.cell_type == "code"), None)
        if first is not None and first.source.startswith(MARKER):
            first.source = colab_cell_source(url)
        else:
            cell = nbformat.v4.new_code_cell(colab_cell_source(url))
            index = nb.cells.index(first) if first is not None else len(nb.cells)
            nb.cells.insert(index, cell)
            first = cell
        first.metadata.setdefault("tags", [])
        if "remove-cell" not in first.metadata["tags"]:
            first.metadata["tags"].append("remove-cell")
        nbformat.write(nb, path)
        print(f"updated {path.relative_to(ROOT)}")


if __name__ == "__main__":
    url = repository_url()
    if "--write" in sys.argv:
        write(url)
    else:
        for path in stale(url):
            print(path.relative_to(ROOT))
