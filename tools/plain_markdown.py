"""Turn the book's MyST Markdown into plain Markdown that any notebook front end renders.

Jupyter Book understands roles ({glue:text}`x`, {cite}`key`, {doc}`page`) and directives
(exercise, solution, admonition); JupyterLab without extensions, Colab and VS Code show them as
raw text and code fences. `to_plain` rewrites one Markdown cell:

- {glue:text}`name`  -> the value the notebook stored under `name`
- {cite}`a,b`        -> ([Author, year](bibliography); [Author and Other, year](...))
- {cite:t}`a`        -> [Author (year)](bibliography)
- {doc}`page`        -> [the page's title](its page in the online book)
- {term}`word <Term>` -> [word](the online glossary)
- {numref}`fig-name` -> Figure 4.2 (figures numbered within the chapter, as online)
- {ref}`ex-label`    -> Exercise 4.3 (exercises may be referred to before they appear)
- exercise           -> a bold numbered heading: chapter.number, as in the online book
- solution           -> folded in <details>, or dropped (student versions)
- admonition, note.. -> a blockquote with a bold title

Anything else in braces raises `MystError`, so a new kind of markup cannot slip through.
"""
import re
from dataclasses import dataclass, field

ROLE = re.compile(r"\{([\w:-]+)\}`([^`]*)`")
DIRECTIVE = re.compile(r"^(\s*)(`{3,}|:{3,})\{([\w-]+)\}\s*(.*)$")
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
OPTION = re.compile(r"^\s*:([\w-]+):\s*(.*)$")
ADMONITIONS = {"note", "tip", "hint", "important", "warning", "caution", "attention",
               "danger", "error", "seealso"}
LEFTOVERS = ("{glue", "{cite", "```{", ":::{", "{doc}", "{ref}", "{numref}", "{eq}", "{term}")
FIGURE = "Figure %s"  # as numfig_format in _config.yml


class MystError(ValueError):
    """Markup that has no plain-Markdown rendering here, or a reference that does not resolve."""


@dataclass
class Context:
    """What one notebook's conversion needs: its glue values, and how to link out."""
    glue: dict
    cite: callable            # (keys, textual=False) -> text of one citation
    doc: callable             # target as written -> (title, url)
    glossary: str = "glossary.html"  # where {term} links go
    solutions: bool = True    # False: drop solutions (student versions)
    figures: dict = field(default_factory=dict)     # figure name -> number
    chapter: str = ""         # "4." in chapter 4: exercises 4.1, 4.2, figures 4.1, ...
    exercises: dict = field(default_factory=dict)   # label -> number, filled as we go
    labels: dict = field(default_factory=dict)      # label -> number of every exercise (ref)


def _roles(line: str, ctx: Context) -> str:
    def replace(match):
        role, text = match.groups()
        if role == "glue:text":
            if text not in ctx.glue:
                raise MystError(f"{{glue:text}}`{text}`: no value of that name is stored in the "
                                "notebook; re-execute it (make execute NB=...)")
            return ctx.glue[text]
        if role in ("cite", "cite:p", "cite:t"):
            keys = [key.strip() for key in text.split(",")]
            return ctx.cite(keys, textual=True) if role == "cite:t" else ctx.cite(keys)
        if role == "doc":
            explicit = re.fullmatch(r"(.*?)\s*<([^>]+)>", text)
            title, url = ctx.doc(explicit.group(2) if explicit else text)
            return f"[{explicit.group(1) if explicit else title}]({url})"
        if role == "term":
            explicit = re.fullmatch(r"(.*?)\s*<([^>]+)>", text)
            return f"[{explicit.group(1) if explicit else text}]({ctx.glossary})"
        if role == "ref":
            explicit = re.fullmatch(r"(.*?)\s*<([^>]+)>", text)
            label = explicit.group(2) if explicit else text
            if label not in ctx.labels:
                raise MystError(f"{{ref}}`{text}`: no exercise with that label in the notebook")
            return explicit.group(1) if explicit else f"Exercise {ctx.chapter}{ctx.labels[label]}"
        if role == "numref":
            explicit = re.fullmatch(r"(.*?)\s*<([^>]+)>", text)
            name = explicit.group(2) if explicit else text
            if name not in ctx.figures:
                raise MystError(f"{{numref}}`{text}`: no figure of that name in the notebook")
            return (explicit.group(1) if explicit else FIGURE) % f"{ctx.chapter}{ctx.figures[name]}"
        raise MystError(f"the role {{{role}}} has no plain-Markdown rendering in "
                        "tools/plain_markdown.py; add one there")
    return ROLE.sub(replace, line)


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def _blockquote(title: str, body: str) -> str:
    lines = [f"**{title}**" if title else ""] + ([""] if title else []) + body.splitlines()
    return "\n".join(f"> {line}".rstrip() for line in lines)


def _render(name: str, argument: str, options: dict, body: str, ctx: Context):
    if name == "exercise":
        number = len(ctx.exercises) + 1
        if "label" in options:
            ctx.exercises[options["label"]] = number
        title = f"Exercise {ctx.chapter}{number}" + (f": {argument}" if argument else "")
        return f"**{title}**\n\n{body}"
    if name == "solution":
        if not ctx.solutions:
            return None
        number = ctx.exercises.get(argument)
        if number is None:
            raise MystError(f"a solution to {argument!r}, but no exercise above has that label")
        return (f"<details>\n<summary>Solution to Exercise {ctx.chapter}{number}</summary>\n\n"
                f"{body}\n\n"
                "</details>")
    if name == "admonition" or name in ADMONITIONS:
        title = argument if name == "admonition" else (argument or name.capitalize())
        return _blockquote(title, body)
    raise MystError(f"the directive {{{name}}} has no plain-Markdown rendering in "
                    "tools/plain_markdown.py; add one there")


def exercise_labels(sources) -> dict:
    """label -> number of every labelled exercise in these Markdown sources, numbered in order."""
    labels, number = {}, 0
    for source in sources:
        lines = source.splitlines()
        for i, line in enumerate(lines):
            directive = DIRECTIVE.match(line)
            if directive and directive.group(3) == "exercise":
                number += 1
                for option in lines[i + 1:]:
                    if not OPTION.match(option):
                        break
                    key, value = OPTION.match(option).groups()
                    if key == "label":
                        labels[value.strip()] = number
    return labels


def to_plain(source: str, ctx: Context) -> str:
    """One Markdown cell's MyST source as plain Markdown (see the module's docstring)."""
    lines, out, i = source.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        directive = DIRECTIVE.match(line)
        if directive:
            _, fence, name, argument = directive.groups()
            i += 1
            options = {}
            while i < len(lines) and OPTION.match(lines[i]):
                key, value = OPTION.match(lines[i]).groups()
                options[key] = value
                i += 1
            start = i
            while i < len(lines) and not _closes(lines[i], fence):
                i += 1
            if i == len(lines):
                raise MystError(f"the {{{name}}} directive is never closed (by {fence})")
            body = to_plain("\n".join(lines[start:i]), ctx).strip("\n")
            i += 1
            rendered = _render(name, _roles(argument.strip(), ctx), options, body, ctx)
            if rendered is not None:
                out.append(rendered)
            elif out and not out[-1].strip() and i < len(lines) and not lines[i].strip():
                i += 1  # a dropped block leaves one blank line, not two
            continue
        fence = FENCE.match(line)
        if fence:  # a plain code block: copied as it is
            out.append(line)
            i += 1
            while i < len(lines) and not _closes(lines[i], fence.group(1)):
                out.append(lines[i])
                i += 1
            if i < len(lines):
                out.append(lines[i])
                i += 1
            continue
        out.append(_roles(line, ctx))
        i += 1
    return "\n".join(out)


def leftover_markup(text: str) -> list:
    """The MyST markers still in `text` (an empty list for plain Markdown)."""
    return [marker for marker in LEFTOVERS if marker in text]
