"""The README's table from each chapter and lab to the modules of mtl_tutor it uses.

    python tools/chapter_modules.py            # print the table
    python tools/chapter_modules.py --write    # rewrite it in README.md

A notebook uses a module when its code calls something defined there, as `mt.<name>`
(`mt.fit` is `train`), through a namespace (`mt.weighting.GradNorm`), or with
`from mtl_tutor.<module> import ...`. tests/test_api.py checks the README is current.
"""
import ast
import importlib
import inspect
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- chapter-modules -->", "<!-- /chapter-modules -->"


def _module_of(obj, fallback):
    if inspect.ismodule(obj):
        return obj.__name__
    return getattr(obj, "__module__", None) or fallback


def used_modules(path: Path) -> list:
    """The modules of mtl_tutor (without the prefix) the notebook's code uses."""
    import mtl_tutor as mt
    cells = json.loads(path.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    found = set()
    for chain in re.findall(r"\bmt\.([A-Za-z_][\w.]*)", code):
        obj = mt
        for part in chain.split("."):
            if not hasattr(obj, part):
                break
            obj = getattr(obj, part)
            if not inspect.ismodule(obj):
                break
        if obj is not mt:
            found.add(_module_of(obj, ""))
    python = "\n".join(  # IPython's magics (%pip) become `pass`
        line[: len(line) - len(line.lstrip())] + "pass"
        if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines())
    for node in ast.walk(ast.parse(python)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mtl_tutor"):
            imported = importlib.import_module(node.module)
            for alias in node.names:
                try:  # a submodule (`from mtl_tutor.problems import splits`) is imported here,
                    # so the answer does not depend on what was imported before
                    obj = importlib.import_module(f"{node.module}.{alias.name}")
                except ImportError:
                    obj = getattr(imported, alias.name, None)
                if obj is not None:
                    found.add(_module_of(obj, node.module))
    return sorted(m.removeprefix("mtl_tutor.") for m in found if m.startswith("mtl_tutor."))


def notebooks() -> list:
    return sorted((ROOT / "book").glob("*.ipynb")) + sorted((ROOT / "book" / "labs").glob(
        "*.ipynb"))


def table() -> str:
    rows = ["| notebook | modules of mtl_tutor it uses |", "|---|---|"]
    for path in notebooks():
        modules = ", ".join(f"`{m}`" for m in used_modules(path))
        rows.append(f"| `{path.relative_to(ROOT / 'book')}` | {modules} |")
    return "\n".join(rows)


def readme_table() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split(BEGIN)[1].split(END)[0].strip()


def write() -> None:
    path = ROOT / "README.md"
    text = path.read_text()
    head, rest = text.split(BEGIN)
    path.write_text(f"{head}{BEGIN}\n{table()}\n{END}{rest.split(END)[1]}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if sys.argv[1:] == ["--write"]:
        write()
    else:
        print(table())
