"""The package's public face: small, documented, and made of small modules."""
import ast
import inspect
import pkgutil
import re
from pathlib import Path

import mtl_tutor as mt

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mtl_tutor"
NAMESPACES = {"problems", "linear", "tensors", "factorised", "adversarial", "labs", "widgets",
              "numerics"}


def modules():
    return sorted(name for _, name, is_pkg in
                  pkgutil.walk_packages([str(PACKAGE)], prefix="mtl_tutor.") if not is_pkg)


def test_the_flat_face_is_a_few_dozen_documented_names():
    names = [n for n in mt.__all__ if n not in NAMESPACES]
    assert len(names) <= 70, f"{len(names)} names in mt's face; move specialised ones out"
    assert set(mt.__all__) >= NAMESPACES
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
    internal = {"mtl_tutor.bench", "mtl_tutor.bench_loops", "mtl_tutor.scaling"}  # not an API
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
