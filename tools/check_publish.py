"""Refuse to publish the book while it still points at the template's placeholder addresses.

    python tools/check_publish.py      # make publish runs it after building

The repository URL (repository.url in _config.yml) is the one place that names where the book
lives: the launch buttons, the source links and every notebook's Colab cell use it. The
online book's address (html.baseurl) is where reader notebooks link to. A copy published with
the placeholders would send every reader to somebody else's repository, so publishing fails
until both are set, the Colab cells match (make colab-cells), and the release the Colab cells
install is tagged.
"""
import subprocess
import sys
from pathlib import Path

from colab_cells import package_version, stale
from reader import config

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDERS = ("https://github.com/mtl-tutor/mtl-course-book",
                "https://mtl-tutor.github.io/mtl-course-book")


def problems(settings: dict, tagged) -> list:
    url = settings["repository"]["url"].rstrip("/")
    site = (settings.get("html") or {}).get("baseurl", "").rstrip("/")
    found = []
    if url in PLACEHOLDERS:
        found.append(f"repository.url in _config.yml is the placeholder {url}: set it to your "
                     "repository, then run make colab-cells")
    if not site or site in PLACEHOLDERS:
        found.append(f"html.baseurl in _config.yml is {site or 'empty'}: set it to the address "
                     "the book will be published at")
    if url not in PLACEHOLDERS and stale(settings["repository"]["url"]):
        found.append("the notebooks' Colab cells do not match repository.url: run make "
                     "colab-cells and commit")
    version = package_version()
    if not tagged(f"v{version}"):
        found.append(f"the Colab cells install the release v{version}, which is not tagged: "
                     f"git tag v{version} && git push origin v{version}")
    return found


def tagged(tag: str) -> bool:
    return subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}"],
                          cwd=ROOT, capture_output=True).returncode == 0


if __name__ == "__main__":
    found = problems(config(), tagged)
    for problem in found:
        print(f"make publish: {problem}")
    if found:
        sys.exit(1)
    print("make publish: ready; publish _build/html (gh-pages) and _build/reader (the "
          "notebooks branch) as README.md says")
