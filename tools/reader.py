"""Reader notebooks: the book's notebooks as plain Jupyter notebooks, readable anywhere.

    python tools/reader.py [OUT_DIR]      # default: _build/reader   (make reader)

The book's notebooks are written for Jupyter Book: numbers glued into the prose, citations,
exercises and admonitions in MyST. Opened in Colab, VS Code or a bare JupyterLab they read
badly. This writes, under OUT_DIR/book/ (mirroring book/), every notebook with its Markdown
made plain (tools/plain_markdown.py: glued numbers filled in, citations linked to the online
book's bibliography, solutions folded) and its outputs and figures kept. Lab notebooks become
their student versions (tools/student.py: no solutions, no hidden checks). The chapters keep
their hidden claim checks, collapsed: interactively `mt.assert_claim` prints one line instead
of stopping, so a reader who changes a setting can explore.

OUT_DIR also gets what Binder needs to build (binder/, the package, pyproject.toml,
requirements.txt), so it is exactly the tree of the `notebooks` branch that the online book's
launch buttons open (see README, "Publishing the book").
"""
import ast
import functools
import re
import shutil
import sys
from pathlib import Path

import nbformat
import yaml
from plain_markdown import FIGURE, Context, MystError, exercise_labels, leftover_markup, to_plain
from pybtex.database import parse_file
from pybtex.richtext import Text
from solutions import COLAB_MARKER, student_version

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
GLUE_MIME = "application/papermill.record/text/plain"
READER_BRANCH = "notebooks"  # repository.branch in _config.yml: what the launch buttons open
BRANCH_FILES = ["README.md", "LICENSE", "pyproject.toml", "requirements.txt", "binder",
                "mtl_tutor", "_toc.yml"]
DATA = "*.json"  # what the status page reads next to its notebook


def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def chapter_numbers() -> dict:
    """Page (e.g. 'book/why_mtl') -> its chapter number, as the numbered table of contents
    gives them (_toc.yml: every page after the root, in order)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]
    return {page: number for number, page in enumerate(pages, 1)}


def site_url() -> str:
    """The online book's address (html.baseurl in _config.yml), ending in '/'."""
    url = (config().get("html") or {}).get("baseurl", "")
    if not url:
        raise SystemExit("_config.yml has no html: baseurl: (the online book's address)")
    return url.rstrip("/") + "/"


def notebooks() -> list:
    return sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def is_lab(path: Path) -> bool:
    return path.parent.name == "labs"


def glue_values(nb) -> dict:
    """name -> the text `mt.glue` stored in the notebook's outputs."""
    values = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is not None and GLUE_MIME in output.get("data", {}):
                values[name] = ast.literal_eval(output["data"][GLUE_MIME])
    return values


def shown_figures(nb) -> list:
    """(cell, its figure options) for each captioned figure the online book shows, in order."""
    found = []
    for cell in nb.cells:
        figure = cell.metadata.get("mystnb", {}).get("figure", {})
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code" and figure.get("name") and \
                not {"remove-output", "remove-cell"} & set(tags):
            found.append((cell, figure))
    return found


def _surnames(entry) -> list:
    return [Text.from_latex(" ".join(p.prelast_names + p.last_names)).render_as("text")
            for p in entry.persons["author"]]


@functools.lru_cache
def bibliography():
    return parse_file(BOOK / "references.bib").entries


def citation_formatter(bibliography_url: str):
    entries = bibliography()

    def cite(keys, textual=False):
        parts = []
        for key in keys:
            if key not in entries:
                raise MystError(f"{{cite}}`{key}`: no such entry in book/references.bib")
            names = _surnames(entries[key])
            who = names[0] if len(names) == 1 else \
                f"{names[0]} and {names[1]}" if len(names) == 2 else f"{names[0]} et al."
            year = entries[key].fields['year']
            parts.append(f"[{who} ({year})]({bibliography_url})" if textual
                         else f"[{who}, {year}]({bibliography_url})")
        return "; ".join(parts) if textual else "(" + "; ".join(parts) + ")"
    return cite


def title_of(path: Path) -> str:
    """The first level-1 heading of a notebook or Markdown page."""
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    else:
        text = path.read_text()
    match = re.search(r"^# (.+)$", text, re.M)
    if not match:
        raise MystError(f"{path.relative_to(ROOT)} has no '# title' line")
    return match.group(1).strip()


def doc_resolver(path: Path, site: str):
    def doc(target):
        page = (path.parent / target).resolve()
        source = next((page.with_suffix(s) for s in (".ipynb", ".md")
                       if page.with_suffix(s).exists()), None)
        if source is None:
            raise MystError(f"{{doc}}`{target}` in {path.name}: no such page")
        return title_of(source), site + str(page.relative_to(ROOT)) + ".html"
    return doc


def banner(path: Path, site: str) -> str:
    page = site + str(path.relative_to(ROOT).with_suffix(".html"))
    where = f"[{title_of(path)}]({page}) in the online book *{config()['title']}*"
    if is_lab(path):
        return (f"> **Student version** of the lab {where}. The solutions are not included: "
                "write your answer where a cell says `# YOUR CODE HERE`, then run the check "
                "below it.")
    return (f"> **Reader version** of the chapter {where}. The numbers in the text are those "
            "the book recorded when it ran the code below; run the cells to reproduce them "
            "(on another machine the last digits may differ) and change any setting to "
            "explore. The collapsed cells check the book's claims: with settings of your own "
            "they print a line instead of stopping.")


def reader_notebook(path: Path, site: str = None, student: bool = None):
    """The reader version of one notebook of the book (labs: the student version)."""
    site = site or site_url()
    student = is_lab(path) if student is None else student
    nb = nbformat.read(path, as_version=4)
    figures = shown_figures(nb)
    ctx = Context(glue=glue_values(nb), cite=citation_formatter(site + "book/bibliography.html"),
                  doc=doc_resolver(path, site), solutions=not student,
                  figures={f["name"]: n for n, (_, f) in enumerate(figures, 1)},
                  chapter=chapter_prefix(path), glossary=site + "book/glossary.html",
                  labels=exercise_labels(c.source for c in nb.cells if c.cell_type == "markdown"))
    captions = {id(cell): (n, f["caption"]) for n, (cell, f) in enumerate(figures, 1)}
    cells = []
    for cell in nb.cells:
        try:
            if cell.cell_type == "markdown":
                cell.source = to_plain(cell.source, ctx)
                if not cell.source.strip():
                    continue
            cells.append(cell)
            if id(cell) in captions:
                number, caption = captions[id(cell)]
                text = to_plain(f"**{FIGURE % (ctx.chapter + str(number))}.** {caption}", ctx)
                cells.append(nbformat.v4.new_markdown_cell(text))
        except MystError as error:
            raise MystError(f"{path.relative_to(ROOT)}: {error}") from None
    nb.cells = cells
    if student:
        nb = student_version(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            _collapse(cell)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(banner(path, site)))
    return nb


def chapter_prefix(path: Path) -> str:
    page = str(path.resolve().relative_to(ROOT).with_suffix("")) if path.is_relative_to(ROOT) \
        else None
    number = chapter_numbers().get(page)
    return f"{number}." if number else ""


def _collapse(cell) -> None:
    """Hide in a front end what the online book hides; drop the glue records (no display)."""
    tags = cell.metadata.get("tags", [])
    hidden_check = "remove-cell" in tags and not cell.source.startswith(COLAB_MARKER)
    if hidden_check or "hide-input" in tags or "remove-input" in tags:
        cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
    if "hide-output" in tags:
        cell.metadata.setdefault("jupyter", {})["outputs_hidden"] = True
    cell.outputs = [o for o in cell.get("outputs", []) if GLUE_MIME not in o.get("data", {})]


def fresh_copy(out: Path, names: list) -> None:
    """`out` emptied, then the repository's files and folders `names` copied into it."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in names:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, out / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        else:
            shutil.copy2(source, out / name)


def write_tree(out: Path) -> list:
    """The `notebooks` branch's tree under `out`; returns the reader notebooks written."""
    site = site_url()
    fresh_copy(out, BRANCH_FILES)
    (out / "book").mkdir()
    for data in BOOK.glob(DATA):
        shutil.copy2(data, out / "book" / data.name)
    written = []
    for path in notebooks():
        nb = reader_notebook(path, site)
        left = leftover_markup(nbformat.writes(nb))
        if left:
            raise MystError(f"{path.relative_to(ROOT)}: MyST markup left: {left}")
        target = out / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        written.append(target)
    return written


def fill_workspace(tree: Path, workspace: Path) -> list:
    """Copy the reader notebooks (and the status page's data) into `workspace`, skipping
    files already there, so a reader's own changes survive the next `make lab`."""
    added = []
    for source in sorted((tree / "book").rglob("*")):
        target = workspace / source.relative_to(tree / "book")
        if source.is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            added.append(target)
    return added


if __name__ == "__main__":
    args = sys.argv[1:]
    workspace = Path(args.pop(args.index("--workspace") + 1)) if "--workspace" in args else None
    args = [a for a in args if a != "--workspace"]
    target = Path(args[0]) if args else ROOT / "_build" / "reader"
    try:
        written = write_tree(target)
    except MystError as error:
        raise SystemExit(f"make reader: {error}") from None
    print(f"{len(written)} reader notebooks in {target / 'book'}")
    if workspace:
        added = fill_workspace(target, workspace)
        print(f"{workspace}: {len(added)} files added; files already there were kept (delete "
              "one to get the book's version back)")
