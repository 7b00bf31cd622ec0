"""Sphinx extension: each inline script once per page.

Sphinx 7.4 writes an inline script (one with a body, no file) twice when an extension adds
it after the builder started: once as added, and once more when the builder collects the
late assets before writing, because the copy's empty file name ('') does not equal the
original's None. sphinx-thebe's `const THEBE_JS_URL = ...` then runs twice, and the second
declaration is an error in every page's console (sphinx-togglebutton's selector repeats
too). This keeps the first of each script that repeats, on every page.
"""


def script_key(script) -> tuple:
    return (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))


def drop_repeated_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    kept = []
    for script in scripts:
        key = script_key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept


def setup(app):
    app.connect("html-page-context", drop_repeated_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
