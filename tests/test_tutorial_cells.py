"""The tutorials' code cells, read as source: they show the library's code, never redefine it, and stay short.

* A shown-code cell is a code cell whose only statement is ``show_source(refimpl.<dotted name>)``,
  one function per cell (the student versions of the tutorials find them by that form). Every
  target resolves to a function of the package, and at least 80 % of the labelled functions
  (those whose docstring has an ``Equation:`` line) are shown by some tutorial.
* No tutorial defines a function or class (``def``, ``class``, a lambda assigned) under a name
  that a module of ``refimpl`` defines: a notebook that needs the method calls the package.
* No code cell has more than ``MAX_LINES`` non-blank lines, unless its first line is a comment
  ``# long cell: <reason>``.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import refimpl

jupytext = pytest.importorskip("jupytext", reason="reading the tutorials needs the dev extra: pip install -e '.[dev]'")

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = sorted((ROOT / "tutorial").glob("[0-9][0-9]_*.py"))
MAX_LINES = 15
SHOWN_FRACTION = 0.8
LONG_CELL = "# long cell:"


def code_cells(path: Path) -> list[str]:
    """The source of every code cell of a percent-format tutorial, in order."""
    return [c.source for c in jupytext.read(path).cells if c.cell_type == "code"]


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for an attribute chain of plain names, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def show_source_target(source: str) -> str | None:
    """The dotted target of a shown-code cell (``"refimpl.sbn.bernoulli_log_prob"``), or None for other cells."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a cell with IPython magics is not a shown-code cell
        return None
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "show_source"]
    if not calls:
        return None
    body = tree.body
    if not (len(body) == 1 and isinstance(body[0], ast.Expr) and body[0].value is calls[0] and len(calls) == 1
            and len(calls[0].args) == 1 and not calls[0].keywords):
        raise AssertionError(f"a cell calling show_source must hold only show_source(refimpl.<name>); got:\n{source}")
    target = _dotted(calls[0].args[0])
    if not (target and target.startswith("refimpl.")):
        raise AssertionError(f"show_source must be given refimpl.<dotted name>; got:\n{source}")
    return target


def resolve(target: str):
    """The object a dotted name ``refimpl.x.y`` names: the longest importable module prefix, then attributes."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(target)


def qualified_name(obj) -> str:
    obj = obj.fget if isinstance(obj, property) else obj
    return f"{obj.__module__}.{obj.__qualname__}"


def labelled_functions() -> set[str]:
    """Qualified names of the functions and methods under refimpl/ whose docstring has an 'Equation:' line."""
    found = set()
    for path in sorted((ROOT / "refimpl").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)

        def walk(body, prefix):
            for node in body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    name = f"{prefix}.{node.name}"
                    doc = ast.get_docstring(node) or ""
                    # a class's source is its whole body: its labelled methods are counted instead
                    if not isinstance(node, ast.ClassDef) and any(
                            line.strip().startswith("Equation:") for line in doc.splitlines()):
                        found.add(name)
                    walk(node.body, name)

        walk(ast.parse(path.read_text(encoding="utf-8")).body, module)
    return found


def shown_targets() -> list[tuple[str, str]]:
    """(tutorial file, dotted target) of every shown-code cell."""
    return [(path.name, target) for path in TUTORIALS for source in code_cells(path)
            if (target := show_source_target(source))]


def library_names() -> set[str]:
    """Every public module-level name defined (not imported) by a module of refimpl."""
    names = set()
    for info in pkgutil.walk_packages(refimpl.__path__, "refimpl."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if not name.startswith("_") and getattr(value, "__module__", None) == info.name:
                names.add(name)
    return names


def defined_names(source: str) -> set[str]:
    """Names a cell binds at its top level to a function or class: def, class, or a lambda assigned."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


# ----------------------------------------------------------------------------- the tests
def test_every_shown_target_resolves_to_a_package_function():
    """Check that each show_source(refimpl.<name>) names a function, method or property of the package."""
    shown = shown_targets()
    assert shown, "no tutorial shows the library's code"
    for tutorial, target in shown:
        obj = resolve(target)
        obj = obj.fget if isinstance(obj, property) else obj
        assert callable(obj) and obj.__module__.startswith("refimpl"), (tutorial, target)
        assert not any(part.startswith("_") for part in target.split(".")), f"{tutorial}: {target} is private"


def test_most_labelled_functions_are_shown():
    """Check that at least 80 % of the labelled functions have their source shown by a tutorial."""
    labelled = labelled_functions()
    shown = {qualified_name(resolve(target)) for _, target in shown_targets()}
    missing = sorted(labelled - shown)
    fraction = len(labelled & shown) / len(labelled)
    assert fraction >= SHOWN_FRACTION, (f"{len(labelled & shown)} of {len(labelled)} labelled functions shown "
                                        f"({fraction:.0%}); not shown: {missing}")


def test_show_source_cells_follow_the_convention():
    """Check that the parser accepts the convention and refuses a cell that does more than show one function."""
    assert show_source_target("show_source(refimpl.CoupledPair.sample_generator)") == \
        "refimpl.CoupledPair.sample_generator"
    assert show_source_target("x = 1") is None
    for bad in ("show_source(refimpl.one_hot)\nx = 1", "s = show_source(refimpl.one_hot)",
                "show_source(one_hot)", "show_source(refimpl.one_hot, docstring=True)"):
        with pytest.raises(AssertionError, match="show_source"):
            show_source_target(bad)


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_no_tutorial_redefines_a_library_name(path):
    """Check that no cell defines a function or class under a name that a refimpl module defines."""
    clashes = sorted({name for source in code_cells(path) for name in defined_names(source)} & library_names())
    assert not clashes, f"{path.name} redefines library names: {clashes}"


def test_the_redefinition_check_sees_a_shadowing_def():
    """Check that a def of a library name is found (the check can fail)."""
    assert "central_differences" in defined_names("def central_differences(f, pair):\n    pass\n") & library_names()
    assert defined_names("sigmoid = lambda a: a\nstates = [1]") == {"sigmoid"}


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_code_cells_are_short(path):
    """Check that every code cell has at most 15 non-blank lines, or says why it is longer."""
    long = []
    for number, source in enumerate(code_cells(path), 1):
        lines = [line for line in source.splitlines() if line.strip()]
        if len(lines) > MAX_LINES and not (lines[0].startswith(LONG_CELL) and lines[0][len(LONG_CELL):].strip()):
            long.append((number, len(lines), lines[0][:60]))
    assert not long, f"{path.name}: code cells (number, non-blank lines, first line) longer than {MAX_LINES}: {long}"
