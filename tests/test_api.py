"""The package's public face: small, documented, and made of small modules."""
import ast
import inspect
import pkgutil
import re
import sys
from pathlib import Path

import mtl_tutor as mt

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mtl_tutor"
NAMESPACES = {"problems", "architectures", "weighting", "penalties", "losses", "stats",
              "inference", "plots",
              "checkpoints", "linear", "tensors", "factorised", "adversarial", "labs",
              "widgets", "numerics"}


def modules():
    return sorted(name for _, name, is_pkg in
                  pkgutil.walk_packages([str(PACKAGE)], prefix="mtl_tutor.") if not is_pkg)


def test_the_flat_face_is_a_few_dozen_documented_names():
    names = [n for n in mt.__all__ if n not in NAMESPACES]
    assert len(names) <= 45, f"{len(names)} names in mt's face; move specialised ones out"
    assert set(mt.__all__) >= NAMESPACES
    assert all(inspect.ismodule(getattr(mt, n)) for n in NAMESPACES)
    for name in names:
        obj = getattr(mt, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), f"mt.{name} has no docstring"


def test_chapter_problems_live_in_their_namespace_not_the_face():
    assert not [n for n in mt.__all__ if n.startswith("make_")]
    assert not hasattr(mt, "make_related_tasks")
    assert mt.problems.make_related_tasks and mt.problems.mechanisms.make_noisy_copies
    assert mt.linear.Ridge and mt.linear.choose_strength and mt.tensors.hosvd


def test_no_module_is_over_300_lines():
    long = {p.relative_to(ROOT): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 300}
    assert not long, f"split these modules (one concept each): {long}"


def test_every_module_is_in_the_api_reference():
    documented = set(re.findall(r"automodule:: (\S+)", (ROOT / "book" / "api.md").read_text()))
    internal = {"mtl_tutor.bench", "mtl_tutor.bench_loops", "mtl_tutor.scaling",
                "mtl_tutor.replica_bench"}  # benchmarks, not an API
    labs = {m for m in modules() if m.startswith("mtl_tutor.labs.")}  # documented as mt.labs
    missing = set(modules()) - documented - internal - labs
    assert not missing, f"book/api.md does not document {sorted(missing)}"


def test_docstring_examples_fit_the_api_page():
    """Indented example lines in docstrings show as code blocks on the API page: at most
    88 characters, like the book's code (tests/test_book.py)."""
    long = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            doc = ast.get_docstring(node) if isinstance(
                node, (ast.Module, ast.ClassDef, ast.FunctionDef)) else None
            long += [f"{path.name}: {line.strip()[:60]}" for line in (doc or "").splitlines()
                     if line.startswith("    ") and len(line) > 88]
    assert not long, long


def local_imports(path: Path, root: Path) -> set:
    """The files of `root` that `path` imports, anywhere in it (in a function too).
    `root` is a package (mtl_tutor: relative and absolute imports) or a folder of scripts
    that import each other by bare name (tools)."""
    package = root.name == "mtl_tutor"
    here = path.relative_to(root.parent).with_suffix("").parts
    where = here[:-1]  # the package `path` belongs to (an __init__ is its own package)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(where[:len(where) - node.level + 1])
            else:
                base = []
            module = base + (node.module.split(".") if node.module else [])
            candidates = [module] + [module + [a.name] for a in node.names]
        elif isinstance(node, ast.Import):
            candidates = [a.name.split(".") for a in node.names]
        else:
            continue
        for parts in candidates:
            if not parts:
                continue
            if not package:
                parts = [root.name, *parts]
            for target in (root.parent.joinpath(*parts).with_suffix(".py"),
                           root.parent.joinpath(*parts, "__init__.py")):
                if target.exists() and target != path and target.is_relative_to(root):
                    found.add(target)
    return found


def import_cycles(root: Path) -> list:
    """Every set of files of `root` that import each other round in a circle (the
    strongly connected components of the import graph with more than one file)."""
    graph = {p: local_imports(p, root) for p in root.rglob("*.py")}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(str(p.relative_to(ROOT)) for p in component))
    for node in graph:
        if node not in index:
            visit(node)
    return cycles


def test_no_file_imports_one_that_imports_it_back():
    for folder in ("mtl_tutor", "tools"):
        assert import_cycles(ROOT / folder) == [], f"import circles in {folder}/"


def test_the_circle_finder_finds_a_circle(tmp_path):
    package = tmp_path / "mtl_tutor"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from . import a\n")
    (package / "a.py").write_text("from .sub.b import f\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text("def f():\n    from ..a import g\n")
    (package / "c.py").write_text("import mtl_tutor.a\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        cycles = import_cycles(package)
    finally:
        ROOT = saved
    assert cycles == [["mtl_tutor/a.py", "mtl_tutor/sub/b.py"]]
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "x.py").write_text("from y import z\n")
    (tools / "y.py").write_text("def z():\n    import x\n")
    ROOT = tmp_path
    try:
        assert import_cycles(tools) == [["tools/x.py", "tools/y.py"]]
    finally:
        ROOT = saved


def test_the_readme_says_which_chapter_uses_which_module():
    sys.path.insert(0, str(ROOT / "tools"))
    import chapter_modules
    assert chapter_modules.readme_table() == chapter_modules.table(), \
        "README's chapter-to-module table is out of date: python tools/chapter_modules.py --write"
    assert "`train`" in chapter_modules.table()  # the chapters do use fit
