"""`make reader`: the book's notebooks as plain notebooks that read well in Colab, VS Code or
a bare JupyterLab (no MyST left, numbers filled in, solutions folded, labs as student
versions), and the Colab cell installing the tagged release."""
import json
import re
import sys
from importlib.metadata import version
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import check_publish  # noqa: E402
import check_site  # noqa: E402
import colab_cells  # noqa: E402
import reader  # noqa: E402
from plain_markdown import Context, MystError, exercise_labels, leftover_markup, to_plain  # noqa: E402

import mtl_tutor  # noqa: E402


def fake_cite(keys, textual=False):
    text = "; ".join(key.upper() for key in keys)
    return text if textual else f"({text})"


def context(solutions=True):
    return Context(glue={"gain": "12.5", "ci": "3.1 to 21.9"}, cite=fake_cite,
                   doc=lambda target: (f"Title of {target}", f"https://site/{target}.html"),
                   solutions=solutions)


def test_glossary_terms_link_to_the_glossary():
    ctx = context()
    ctx.glossary = "https://site/book/glossary.html"
    assert to_plain("A {term}`trunk` and {term}`hard sharing <Hard parameter sharing>`.", ctx) \
        == ("A [trunk](https://site/book/glossary.html) and "
            "[hard sharing](https://site/book/glossary.html).")


def test_textual_citations_name_the_authors_in_the_sentence():
    assert to_plain("As {cite:t}`a` showed, and {cite:p}`b`.", context()) == "As A showed, and (B)."
    cite = reader.citation_formatter("https://site/bibliography.html")
    key = next(iter(reader.bibliography()))
    assert cite([key], textual=True).endswith(")](https://site/bibliography.html)")
    assert cite([key]).startswith("([")


def test_exercises_can_be_referred_to_before_they_appear():
    sources = ["See {ref}`ex-b` and {ref}`the first <ex-a>`.", EXERCISES]
    ctx = context()
    ctx.labels = exercise_labels(sources)
    assert ctx.labels == {"ex-a": 1, "ex-b": 2}
    assert to_plain(sources[0], ctx) == "See Exercise 2 and the first."
    with pytest.raises(MystError, match="no exercise with that label"):
        to_plain("{ref}`ex-missing`", ctx)


def test_roles_become_text_and_links():
    out = to_plain("A gain of {glue:text}`gain`% (CI {glue:text}`ci`), see {cite}`a,b` and "
                   "{doc}`why_mtl` or {doc}`this page <../hard_sharing>`.", context())
    assert out == ("A gain of 12.5% (CI 3.1 to 21.9), see (A; B) and "
                   "[Title of why_mtl](https://site/why_mtl.html) or "
                   "[this page](https://site/../hard_sharing.html).")


EXERCISES = """Text.

```{exercise} Predict, then run
:label: ex-a

What happens?
```

```{solution} ex-a
:class: dropdown

It falls, because {glue:text}`gain`.
```

```{exercise}
:label: ex-b
Second.
```
"""


def test_exercises_are_numbered_and_solutions_folded():
    out = to_plain(EXERCISES, context())
    assert "**Exercise 1: Predict, then run**\n\nWhat happens?" in out
    assert "**Exercise 2**\n\nSecond." in out
    assert ("<details>\n<summary>Solution to Exercise 1</summary>\n\nIt falls, because 12.5."
            "\n\n</details>") in out
    assert not leftover_markup(out) and ":label:" not in out and ":class:" not in out


def test_student_versions_drop_solutions():
    out = to_plain(EXERCISES, context(solutions=False))
    assert "It falls" not in out and "<details>" not in out and "**Exercise 2**" in out
    assert "\n\n\n" not in out


def test_admonitions_become_blockquotes_and_code_blocks_are_kept():
    source = (":::{admonition} In this chapter\n:class: tip\n**You will learn** X.\n\nAnd Y.\n"
              ":::\n\n```{note}\nCareful.\n```\n\n```python\nx = {'a': 1}  # {glue:text}`no`\n```")
    out = to_plain(source, context())
    assert out.startswith("> **In this chapter**\n>\n> **You will learn** X.\n>\n> And Y.")
    assert "> **Note**\n>\n> Careful." in out
    assert "```python\nx = {'a': 1}  # {glue:text}`no`\n```" in out  # code is left alone


@pytest.mark.parametrize("source, message", [
    ("{glue:text}`missing`", "no value of that name"),
    ("{eq}`eq-1`", "no plain-Markdown rendering"),
    ("```{figure} a.png\n```", "no plain-Markdown rendering"),
    ("```{exercise} A\nnever closed", "never closed"),
    ("```{solution} ex-nowhere\nx\n```", "no exercise above"),
])
def test_unknown_or_broken_markup_is_an_error(source, message):
    with pytest.raises(MystError, match=message):
        to_plain(source, context())


def test_citations_are_author_year_links():
    cite = reader.citation_formatter("https://site/bib.html")
    assert cite(["caruana1997"]) == "([Caruana, 1997](https://site/bib.html))"
    assert cite(["kumar2012", "misra2016"]) == ("([Kumar and Daumé III, 2012](https://site/bib."
                                                "html); [Misra et al., 2016](https://site/bib.html))")
    with pytest.raises(MystError, match="no such entry"):
        cite(["nobody2099"])


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    out = tmp_path_factory.mktemp("reader")
    return out, reader.write_tree(out)


def test_every_notebook_has_a_reader_version_without_myst(tree):
    out, written = tree
    assert sorted(p.relative_to(out) for p in written) == \
        sorted(p.relative_to(ROOT) for p in reader.notebooks())
    for path in written:
        text = path.read_text()
        for marker in ("{glue", "{cite", "```{", ":::{", "{doc}"):
            assert marker not in text, f"{marker} left in {path.name}"


def test_the_tree_is_what_binder_builds_from(tree):
    out, _ = tree
    for name in ("binder/requirements.txt", "binder/postBuild", "pyproject.toml",
                 "requirements.txt", "mtl_tutor/__init__.py", "mtl_tutor/labs/verdict.py"):
        assert (out / name).is_file(), name


def cells(path):
    return nbformat.read(path, as_version=4).cells


def test_chapters_keep_their_code_outputs_and_glued_numbers(tree):
    out, _ = tree
    for source in reader.notebooks():
        if reader.is_lab(source):
            continue
        book, plain = cells(source), cells(out / source.relative_to(ROOT))
        code = [c.source for c in book if c.cell_type == "code"]
        assert [c.source for c in plain if c.cell_type == "code"] == code
        figures = sum("image/png" in o.get("data", {}) for c in book for o in c.get("outputs", []))
        assert figures == sum("image/png" in o.get("data", {})
                              for c in plain for o in c.get("outputs", []))
        glued = reader.glue_values(nbformat.read(source, as_version=4))
        prose = "\n".join(c.source for c in plain if c.cell_type == "markdown")
        used = [name for name in glued if f"`{name}`" in "".join(c.source for c in book)]
        for name in used:
            assert glued[name] in prose, f"{source.name}: glued {name} missing from the prose"


def test_labs_are_student_versions(tree):
    out, _ = tree
    labs = [p for p in reader.notebooks() if reader.is_lab(p)]
    assert labs
    for source in labs:
        plain = cells(out / source.relative_to(ROOT))
        text = json.dumps([c.source for c in plain])
        assert "BEGIN SOLUTION" not in text and "<details>" not in text
        assert "YOUR CODE HERE" in text and "Student version" in text
        assert not any(c.get("outputs") for c in plain if c.cell_type == "code")
        stubs = [c for c in plain if "YOUR CODE HERE" in c.source]
        assert not any(c.metadata.get("jupyter", {}).get("source_hidden") for c in stubs)


def test_hidden_checks_stay_collapsed_in_chapters(tree):
    out, _ = tree
    plain = cells(out / "book" / "why_mtl.ipynb")
    checks = [c for c in plain if "mt.assert_claim" in c.source]
    assert checks and all(c.metadata["jupyter"]["source_hidden"] for c in checks)


def test_colab_cells_install_the_tagged_release():
    assert version("mtl_tutor") == mtl_tutor.__version__ == colab_cells.package_version()
    expected = f'@v{mtl_tutor.__version__}"'
    for path in colab_cells.notebooks():
        first = next(c for c in cells(path) if c.cell_type == "code")
        assert first.source.rstrip().endswith(expected), path.name


def fake_site(tmp_path, links):
    html, tree = tmp_path / "html", tmp_path / "reader"
    (html / "book").mkdir(parents=True)
    (tree / "book").mkdir(parents=True)
    (tree / "book" / "why_mtl.ipynb").write_text("{}")
    anchors = "".join(f'<a href="{link}">x</a>' for link in links)
    (html / "book" / "why_mtl.html").write_text(f"<html>{anchors}</html>")
    return html, tree


REPO = "https://github.com/mtl-tutor/mtl-course-book"
GOOD = ["https://colab.research.google.com/github/mtl-tutor/mtl-course-book/blob/notebooks/"
        "book/why_mtl.ipynb",
        "https://mybinder.org/v2/gh/mtl-tutor/mtl-course-book/notebooks?urlpath=lab/tree/book/"
        "why_mtl.ipynb",
        f"https://hub.example.edu/hub/user-redirect/git-pull?repo={REPO}&amp;urlpath=lab/tree/"
        "mtl-course-book/book/why_mtl.ipynb&amp;branch=notebooks"]


BUTTONS = {"launch_buttons": {"colab_url": "https://colab.research.google.com",
                              "binderhub_url": "https://mybinder.org",
                              "jupyterhub_url": "https://hub.example.edu"}}


def test_launch_check_accepts_links_to_reader_notebooks(tmp_path, monkeypatch):
    monkeypatch.setattr(check_site, "config", lambda: BUTTONS)
    html, tree = fake_site(tmp_path, GOOD + [REPO])
    assert check_site.problems(html, tree, [Path("book/why_mtl.ipynb")]) == []


@pytest.mark.parametrize("bad", [link.replace("notebooks", "main") for link in GOOD] +
                         [link.replace("why_mtl", "hard_sharing") for link in GOOD])
def test_launch_check_rejects_links_to_sources_or_other_pages(tmp_path, monkeypatch, bad):
    monkeypatch.setattr(check_site, "config", lambda: BUTTONS)
    html, tree = fake_site(tmp_path, [bad])
    assert check_site.problems(html, tree, [Path("book/why_mtl.ipynb")])


def test_launch_check_needs_buttons_and_the_reader_notebook(tmp_path):
    html, tree = fake_site(tmp_path / "a", [REPO])
    assert "no launch buttons" in check_site.problems(html, tree, [Path("book/why_mtl.ipynb")])[0]
    html, tree = fake_site(tmp_path / "b", GOOD[:1])
    (tree / "book" / "why_mtl.ipynb").unlink()
    assert "make reader" in check_site.problems(html, tree, [Path("book/why_mtl.ipynb")])[0]


def test_the_launch_buttons_are_configured_to_open_the_reader_branch():
    assert reader.config()["repository"]["branch"] == reader.READER_BRANCH


def test_lab_workspace_keeps_a_readers_changes(tmp_path, tree):
    out, _ = tree
    workspace = tmp_path / "notebooks"
    first = reader.fill_workspace(out, workspace)
    assert workspace / "why_mtl.ipynb" in first and workspace / "labs" / "lab_tensor.ipynb" in first
    assert (workspace / "execution_times.json").exists()
    (workspace / "why_mtl.ipynb").write_text("my changes")
    (workspace / "tensor_basics.ipynb").unlink()
    again = reader.fill_workspace(out, workspace)
    assert again == [workspace / "tensor_basics.ipynb"]
    assert (workspace / "why_mtl.ipynb").read_text() == "my changes"


def test_site_check_finds_resources_from_other_hosts(tmp_path):
    html = tmp_path / "html"
    (html / "_static" / "mathjax").mkdir(parents=True)
    (html / "_static" / "mathjax" / "tex-chtml.js").write_text("")
    (html / "a.html").write_text('<script src="_static/x.js"></script><a href="https://b.org">'
                                 '</a><link rel="canonical" href="https://site/a.html">')
    assert check_site.external_resources(html) == []
    (html / "b.html").write_text('<script defer="defer" src="https://cdn.example/m.js"></script>'
                                 '<link rel="stylesheet" href="//fonts.example/f.css">')
    assert len(check_site.external_resources(html)) == 2
    (html / "_static" / "mathjax" / "tex-chtml.js").unlink()
    assert "missing" in check_site.external_resources(html)[-1]


def test_figure_references_and_captions():
    ctx = context()
    ctx.figures = {"fig-a": 1, "fig-b": 2}
    assert to_plain("As {numref}`fig-b` shows, and {numref}`panel %s <fig-a>`.", ctx) == \
        "As Figure 2 shows, and panel 1."
    with pytest.raises(MystError, match="no figure of that name"):
        to_plain("{numref}`fig-c`", ctx)


def test_reader_notebooks_caption_the_figures(tmp_path, monkeypatch):
    nb = nbformat.v4.new_notebook()
    shown = nbformat.v4.new_code_cell("plot()")
    shown.metadata["mystnb"] = {"figure": {"caption": "Error against $T$.", "name": "fig-x"}}
    hidden = nbformat.v4.new_code_cell("plot()")
    hidden.metadata = {"tags": ["remove-output"], "mystnb": {"figure": {"caption": "No.",
                                                                         "name": "fig-y"}}}
    nb.cells = [nbformat.v4.new_markdown_cell("# T\n\nSee {numref}`fig-x`."), hidden, shown]
    path = tmp_path / "figures.ipynb"
    nbformat.write(nb, path)
    monkeypatch.setattr(reader, "banner", lambda path, site: "A banner.")
    out = reader.reader_notebook(path, site="https://site/", student=False)
    sources = [c.source for c in out.cells]
    assert "See Figure 1." in sources[0]
    assert sources[-1] == "**Figure 1.** Error against $T$."


def test_reader_numbers_exercises_and_figures_by_chapter_as_the_site_does(tree):
    numbers = reader.chapter_numbers()
    assert reader.config() and "numbered: true" in (ROOT / "_toc.yml").read_text()
    listed = re.findall(r"file: (\S+)", (ROOT / "_toc.yml").read_text())  # in reading order
    assert numbers["book/why_mtl"] == 1 and numbers["book/labs/lab_sharing"] == 17
    assert all(numbers[page] == n for n, page in enumerate(listed, 1) if page in numbers)
    out, _ = tree
    text = "\n".join(c.source for c in cells(out / "book" / "auxiliary_tasks.ipynb"))
    chapter = numbers["book/auxiliary_tasks"]
    assert f"**Exercise {chapter}.1: " in text and f"**Figure {chapter}.1.** " in text


def test_publishing_refuses_the_placeholders_and_an_untagged_release():
    template = reader.config()
    found = check_publish.problems(template, tagged=lambda tag: False)
    assert any("repository.url" in p for p in found) and any("html.baseurl" in p for p in found)
    assert any("not tagged" in p for p in found)
    own = {**template, "repository": {**template["repository"],
                                      "url": "https://github.com/someone/their-book"},
           "html": {**template["html"], "baseurl": "https://someone.github.io/their-book/"}}
    found = check_publish.problems(own, tagged=lambda tag: True)
    assert found == ["the notebooks' Colab cells do not match repository.url: run make "
                     "colab-cells and commit"]
