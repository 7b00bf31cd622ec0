"""Sphinx extension: the book's maths rendered by a copy of MathJax 3 served with the site.

Sphinx loads MathJax from a CDN by default, so a book built or read without a network (a
classroom, a train) shows raw TeX. This copies the parts of MathJax that the pages use, from
the `django-static-mathjax` package (a pinned requirement), into `_static/mathjax/` and
points `mathjax_path` at it: TeX input, CommonHTML output with its fonts, the menu, and
the TeX extensions that load on demand.
"""
import shutil
from importlib.resources import files
from pathlib import Path

PARTS = ["tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "ui"]


def mathjax_source() -> Path:
    return Path(str(files("mathjax"))) / "static" / "mathjax" / "es5"


def use_local_copy(app, config):
    config.mathjax_path = "mathjax/tex-chtml.js"


def copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in PARTS:
        source = mathjax_source() / part
        if source.is_dir():
            shutil.copytree(source, target / part, dirs_exist_ok=True)
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / part)


def setup(app):
    app.connect("config-inited", use_local_copy)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
