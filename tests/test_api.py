"""The public API is small, each exported name is taught, and no module reaches into another's privates."""

from __future__ import annotations

import ast
from pathlib import Path

import refimpl

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "refimpl"


def test_public_api_is_small_and_importable():
    """refimpl exports about 20-25 names, each of them a real attribute of the package."""
    assert 20 <= len(refimpl.__all__) <= 25, len(refimpl.__all__)
    assert len(set(refimpl.__all__)) == len(refimpl.__all__)
    missing = [name for name in refimpl.__all__ if not hasattr(refimpl, name)]
    assert not missing, missing


def _names_used(source: str) -> set:
    """Names a program uses (calls, reads, attributes), not those it merely imports."""
    used = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
    return used


def test_every_exported_name_is_used_in_a_tutorial():
    """Each name of refimpl.__all__ is used (not only imported) in the code of at least one tutorial."""
    used = set().union(*(_names_used(p.read_text()) for p in sorted((ROOT / "tutorial").glob("0*.py"))))
    unused = [name for name in refimpl.__all__ if name not in used]
    assert not unused, f"exported but used in no tutorial's code: {unused}"


# Documented public API of the standard library that is spelled with a leading underscore.
_STDLIB_PUBLIC = {"_replace", "_asdict", "_fields", "_make", "_getframe", "_exit"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in _STDLIB_PUBLIC


def _defined_private_names(tree) -> set:
    """Private names a module defines: functions, classes, methods and assigned attributes."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and _private(node.name):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _private(node.attr):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and _private(node.id):
            names.add(node.id)
    return names


def private_name_violations(package: Path) -> list:
    """Every import of another module's private name, and every access to a private attribute
    that the accessing module does not define itself (the package's private modules, such as
    ``_validation``, are the package's own: ``from . import _validation`` is allowed)."""
    found = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text())
        own = _defined_private_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = f"{'.' * node.level}{node.module}"
                found += [f"{path.name}: from {source} import {a.name}" for a in node.names if _private(a.name)
                          and not (node.module is None and (path.parent / f"{a.name}.py").exists())]
            elif isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in own:
                found.append(f"{path.name}:{node.lineno}: .{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names():
    """Modules talk through public names only (private helpers stay in the module that defines them)."""
    assert private_name_violations(PACKAGE) == []


def test_the_private_name_check_catches_a_violation(tmp_path):
    """The check above is not vacuous: a module calling another module's private method is reported."""
    (tmp_path / "a.py").write_text("class Pair:\n    def _hidden(self):\n        return 1\n")
    (tmp_path / "b.py").write_text("from .a import _helper\n\ndef f(pair):\n    return pair._hidden()\n")
    assert private_name_violations(tmp_path) == ["b.py: from .a import _helper", "b.py:4: ._hidden"]
