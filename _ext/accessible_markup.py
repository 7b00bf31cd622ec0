"""Sphinx extension: markup that assistive technology reads right (axe-core, make browser-test).

Three fixes to the HTML that docutils and MyST-NB write, on every page:
- the bibliography is a list (role="list") whose entries docutils marks
  role="doc-biblioentry", a role ARIA 1.3 deprecates and that is not a list item, so a
  screen reader's list has no items (axe: aria-required-children, critical): the entries
  become role="listitem";
- a table header cell with nothing in it (the corner of a pandas table, an empty heading in
  a Markdown table) is a data cell: a header that names nothing (axe: empty-table-header);
- MyST-NB's "Show code cell source" toggle (<summary>) is labelled "Toggle hidden content",
  so a person using speech input cannot say what they see (axe: label-content-name-mismatch):
  its visible text is its name.
"""
import re

EMPTY_HEADER = re.compile(r"<th(\s[^>]*)?>(?:\s|&nbsp;|<p>\s*</p>)*</th>")
FIXES = [
    (re.compile(r'role="doc-biblioentry"'), 'role="listitem"'),
    (EMPTY_HEADER, lambda m: f"<td{m.group(1) or ''}></td>"),
    (re.compile(r'<summary aria-label="Toggle hidden content">'), "<summary>"),
]


def accessible(body: str) -> str:
    for pattern, replacement in FIXES:
        body = pattern.sub(replacement, body)
    return body


def fix_page(app, pagename, templatename, context, doctree):
    if "body" in context:
        context["body"] = accessible(context["body"])


def setup(app):
    app.connect("html-page-context", fix_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
