"""Sphinx extension: a table cell holding a phrase is not squeezed to one word a line.

A table too wide for a phone scrolls in its container (custom.css), and the browser then
shrinks each column to its longest word: a column of phrases beside one of formulas and
code became a column of single words, and linear_mtl's table of penalties 1,765 px tall at
400 px. A cell whose text is longer than PROSE_CHARS characters gets the class `prose-cell`,
which custom.css gives a minimum width of a short line.
"""
import html
import re

PROSE_CHARS = 30
CELL = re.compile(r"<(td|th)((?:\s[^>]*)?)>(.*?)</\1>", re.S)
TAG = re.compile(r"<[^>]+>")
MATHS = re.compile(r"\\\(.*?\\\)", re.S)  # a formula keeps its own width (custom.css)


def text_length(cell_html: str) -> int:
    text = html.unescape(TAG.sub("", MATHS.sub("", cell_html)))
    return len(" ".join(text.split()))


def mark_prose_cells(body: str) -> str:
    def mark(match):
        tag, attributes, content = match.groups()
        if text_length(content) <= PROSE_CHARS:
            return match.group(0)
        if 'class="' in attributes:
            attributes = attributes.replace('class="', 'class="prose-cell ', 1)
        else:
            attributes += ' class="prose-cell"'
        return f"<{tag}{attributes}>{content}</{tag}>"
    return CELL.sub(mark, body)


def mark_page(app, pagename, templatename, context, doctree):
    if "body" in context:
        context["body"] = mark_prose_cells(context["body"])


def setup(app):
    app.connect("html-page-context", mark_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
