"""Check that the built book's launch buttons open the reader notebooks.

    python tools/check_launch.py      # after `make reader` and `jupyter-book build` (make test)

Every notebook page's Colab, Binder and JupyterHub links must point at the `notebooks` branch
(the tree `make reader` writes: plain notebooks; for labs, the student versions), at the same
path as the page's notebook, and that notebook must exist in _build/reader.
"""
import re
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from reader import READER_BRANCH, config

ROOT = Path(__file__).resolve().parents[1]


def launch_links(page: Path) -> list:
    launch = config()["launch_buttons"]
    hosts = [h.rstrip("/") for h in (launch.get("colab_url"), launch.get("binderhub_url"),
                                     launch.get("jupyterhub_url")) if h]
    links = re.findall(r'href="([^"]+)"', page.read_text())
    return [link.replace("&amp;", "&") for link in links
            if any(link.startswith(host + "/") for host in hosts)]


def notebook_of(link: str) -> tuple:
    """(branch, path in the repository) that a Colab, Binder or nbgitpuller link opens."""
    url = urlparse(link)
    query = parse_qs(url.query)
    colab = re.match(r"/github/[^/]+/[^/]+/blob/([^/]+)/(.+)$", url.path)
    if colab:
        return colab.groups()
    binder = re.match(r"/v2/gh/[^/]+/[^/]+/([^/?]+)$", url.path)
    if binder and "urlpath" in query:
        return binder.group(1), query["urlpath"][0].split("/tree/", 1)[1]
    if "urlpath" in query and "branch" in query:  # nbgitpuller on a JupyterHub
        return query["branch"][0], query["urlpath"][0].split("/tree/", 1)[1].split("/", 1)[1]
    return None, None


def problems(html: Path, reader: Path, notebooks: list) -> list:
    found = []
    for notebook in notebooks:
        page = html / notebook.with_suffix(".html")
        links = launch_links(page) if page.exists() else []
        if not links:
            found.append(f"{page.relative_to(html)}: no launch buttons")
        for link in links:
            branch, path = notebook_of(link)
            if branch != READER_BRANCH or path != str(notebook):
                found.append(f"{link} opens {path} on {branch}, not {notebook} on "
                             f"{READER_BRANCH}")
            elif not (reader / path).exists():
                found.append(f"{link}: {path} is not in {reader.name} (run make reader)")
    return found


if __name__ == "__main__":
    from reader import notebooks
    found = problems(ROOT / "_build" / "html", ROOT / "_build" / "reader",
                     [p.relative_to(ROOT) for p in notebooks()])
    for problem in found:
        print(problem)
    if found:
        sys.exit(f"check_launch: {len(found)} launch links do not open a reader notebook")
    print(f"check_launch: every notebook page's launch buttons open its reader notebook on "
          f"the {READER_BRANCH} branch")
