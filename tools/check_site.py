"""Checks of the built site that need no browser (make test runs them after the build).

    python tools/check_site.py      # after `make reader` and `jupyter-book build`

- Launch buttons: every notebook page's Colab, Binder and JupyterHub links point at the
  `notebooks` branch (the tree `make reader` writes: plain notebooks; for labs, the student
  versions), at the same path as the page's notebook, which exists in _build/reader.
- Offline: no page loads a script, style sheet, font or image from another host (MathJax is
  served with the site, _ext/local_mathjax.py), and the local MathJax is there.
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


EXTERNAL = re.compile(r'<(?:script|img|iframe)[^>]*\ssrc="(https?:)?//[^"]+"|'
                      r'<link[^>]*\srel="(?:stylesheet|preload|modulepreload)"[^>]*'
                      r'href="(https?:)?//[^"]+"')


def external_resources(html: Path) -> list:
    """'page: tag' for every resource a page would fetch from another host."""
    found = []
    for page in sorted(html.rglob("*.html")):
        for match in EXTERNAL.finditer(page.read_text()):
            found.append(f"{page.relative_to(html)}: {match.group(0)[:120]}")
    if not (html / "_static" / "mathjax" / "tex-chtml.js").exists():
        found.append("_static/mathjax/tex-chtml.js is missing (_ext/local_mathjax.py)")
    return found


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
    html = ROOT / "_build" / "html"
    found = problems(html, ROOT / "_build" / "reader", [p.relative_to(ROOT) for p in notebooks()])
    found += external_resources(html)
    for problem in found:
        print(problem)
    if found:
        sys.exit(f"check_site: {len(found)} problems")
    print(f"check_site: every notebook page's launch buttons open its reader notebook on the "
          f"{READER_BRANCH} branch; no page fetches anything from another host")
