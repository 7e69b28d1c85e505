r"""Notebooks as the course reads and writes them: percent sources, solutions, definitions.

- :func:`read_percent` and :func:`percent_to_ipynb` read a jupytext percent source (with
  jupytext) and write the equivalent ``.ipynb`` JSON, deterministically;
- :func:`strip_solutions` makes the student version of a solution source: code between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes ``raise NotImplementedError(hint)``,
  a top-level ``# solution`` line drops the rest of its cell, and a cell tagged
  ``solution`` is dropped whole;
- :func:`code_cells`, :func:`extract_definitions` and :func:`reached_names` are the grader's
  side: the code cells of a ``.ipynb`` or ``.py`` submission; the statements of them it runs
  (imports of the libraries a solution needs, ``def``, ``class``, and constants such as
  ``SEED = 0``, ``PI_OVER_8 = np.pi / 8`` or ``sig = lambda a: ...``), each statement it does
  not run with the reason; and the names a function reaches, read from its source.

Nothing here runs a submission's code: the definitions are compiled here and run in the
grading process (:mod:`refimpl.course.worker`).
"""

from __future__ import annotations

import ast
import builtins
import dis
import json
import types
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "ALLOWED_IMPORTS",
    "BEGIN",
    "END",
    "SUBMISSION",
    "Definitions",
    "Skipped",
    "called_names",
    "code_cells",
    "code_cells_of",
    "extract_definitions",
    "percent_to_ipynb",
    "read_percent",
    "reached_names",
    "strip_solutions",
]

BEGIN, END, SOLUTION_LINE = "### BEGIN SOLUTION", "### END SOLUTION", "# solution"
SUBMISSION = "__submission__"  # the module name of the functions a submission defines
#: top-level packages a submission may import (the grader skips any other import, saying so)
ALLOWED_IMPORTS = frozenset({
    "numpy", "scipy", "math", "cmath", "itertools", "functools", "collections", "typing", "dataclasses",
    "numbers", "fractions", "statistics", "operator", "refimpl", "matplotlib", "__future__",
})
#: builtins that reach beyond the submission's own code (files, other code, other objects' insides)
_BANNED_BUILTINS = frozenset({
    "eval", "exec", "compile", "open", "__import__", "globals", "locals", "vars", "breakpoint", "input",
    "setattr", "delattr", "exit", "quit", "help", "memoryview", "__builtins__", "__loader__", "__spec__",
})
#: attributes that reach into frames, code and closures
_BANNED_ATTRIBUTES = frozenset({
    "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "gi_frame", "gi_code", "cr_frame", "cr_code",
    "ag_frame", "tb_frame", "tb_next", "co_code", "co_consts", "cell_contents", "attrgetter", "methodcaller",
    "course",
})
_ALLOWED_DUNDERS = frozenset({"__init__", "__name__", "__doc__", "__call__"})
#: calls a constant may be computed with at the top level, besides any function of numpy and math
_PURE_BUILTINS = frozenset({
    "abs", "bool", "complex", "dict", "divmod", "enumerate", "float", "frozenset", "int", "len", "list", "max",
    "min", "pow", "range", "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple", "zip",
})
_NUMERIC_MODULES = ("numpy", "math", "cmath")


# ------------------------------------------------------------------- percent sources
def _jupytext():
    try:
        import jupytext
    except ImportError:  # pragma: no cover - jupytext is a dependency of the course extra
        raise ImportError("reading a .py percent source needs jupytext: pip install 'refimpl[course]'") from None
    return jupytext


def read_percent(text: str):
    """The notebook (an ``nbformat`` node) of a jupytext percent source."""
    return _jupytext().reads(text, fmt="py:percent")


def _write_percent(notebook) -> str:
    text = _jupytext().writes(notebook, fmt="py:percent")
    # jupytext adds its own version to the header; the sources keep the header they were written with
    lines = [line for line in text.splitlines() if not line.startswith(("#       format_version:",
                                                                         "#       jupytext_version:"))]
    return "\n".join(lines).rstrip("\n") + "\n"


def _enclosing_function(lines: list, index: int) -> str | None:
    """Name of the innermost ``def`` above ``lines[index]`` whose body contains it."""
    indent = len(lines[index]) - len(lines[index].lstrip())
    for line in reversed(lines[:index]):
        stripped = line.lstrip()
        if stripped.startswith("def ") and len(line) - len(stripped) < indent:
            return stripped[4:].split("(")[0].strip()
    return None


def _strip_cell(lines: list, hints: dict, where: str) -> list:
    out, i = [], 0
    while i < len(lines):
        line, stripped = lines[i], lines[i].strip()
        if stripped == BEGIN:
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == END), None)
            if end is None:
                raise ValueError(f"{where}: '{BEGIN}' without '{END}'.")
            name = _enclosing_function(lines, i)
            if name not in hints:
                raise ValueError(f"{where}: a solution block in function {name!r}, which is no exercise of this "
                                 f"notebook ({sorted(hints)}).")
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}raise NotImplementedError({json.dumps(hints[name])})")
            i = end + 1
            continue
        if stripped == END:
            raise ValueError(f"{where}: '{END}' without '{BEGIN}'.")
        if line.rstrip() == SOLUTION_LINE:
            break  # the rest of the cell is the solution
        out.append(line)
        i += 1
    return out


def strip_solutions(text: str, hints: dict) -> str:
    """The student version of a solution source.

    Parameters
    ----------
    text : str
        The solution notebook as a percent source.
    hints : dict of str -> str
        Function name -> the ``NotImplementedError`` message of its exercise.

    Returns
    -------
    str
        The same source with every solution removed (see the module docstring).

    Raises
    ------
    ValueError
        For unmatched markers, or a solution block in a function that is not an exercise.

    Examples
    --------
    >>> src = "# %%\\ndef f(x):\\n    ### BEGIN SOLUTION\\n    return x\\n    ### END SOLUTION\\n"
    >>> print(strip_solutions(src, {"f": "M0: implement f"}), end="")
    # %%
    def f(x):
        raise NotImplementedError("M0: implement f")
    """
    notebook = read_percent(text)
    cells = []
    for number, cell in enumerate(notebook.cells, start=1):
        if "solution" in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "code":
            cell.source = "\n".join(_strip_cell(cell.source.splitlines(), hints, f"cell {number}")).rstrip("\n")
        cells.append(cell)
    notebook.cells = cells
    return _write_percent(notebook)


def percent_to_ipynb(text: str) -> str:
    """The ``.ipynb`` JSON (nbformat 4.5, no outputs) of a percent source, the same for the same text.

    Cell ids are ``cell-01``, ``cell-02``, ...; a cell keeps its tags and no other metadata.
    """
    nb_cells = []
    for cell in read_percent(text).cells:
        source = cell.source.strip("\n")
        if cell.cell_type == "code" and not source.strip():
            continue
        lines = source.splitlines()
        entry = {"cell_type": cell.cell_type, "id": f"cell-{len(nb_cells) + 1:02d}",
                 "metadata": {"tags": list(cell.metadata["tags"])} if cell.metadata.get("tags") else {},
                 "source": [line + "\n" for line in lines[:-1]] + lines[-1:]}
        if cell.cell_type == "code":
            entry.update(execution_count=None, outputs=[])
        nb_cells.append(entry)
    notebook = {
        "cells": nb_cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# ----------------------------------------------------------------------- the grader's side
def code_cells(path) -> list:
    """The source of every code cell of a ``.ipynb`` notebook or a ``.py`` percent source.

    A ``.py`` file without ``# %%`` lines is one cell.
    """
    path = Path(path)
    return code_cells_of(path.read_bytes(), path.name)


def code_cells_of(source: bytes, name: str) -> list:
    """:func:`code_cells` of a notebook's content, ``name`` its file name (``.ipynb`` or ``.py``)."""
    text = source.decode("utf-8")
    if name.endswith(".ipynb"):
        cells = json.loads(text).get("cells", [])
        return ["".join(c.get("source", "")) if isinstance(c.get("source"), list) else c.get("source", "")
                for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]
    if "# %%" not in text:
        return [text]
    return [cell.source for cell in read_percent(text).cells if cell.cell_type == "code"]


class Skipped(NamedTuple):
    """A top-level statement the grader does not run: where, its first line, why, and the names it would bind."""

    where: str
    text: str
    reason: str
    binds: tuple

    def describe(self) -> str:
        return f"`{self.text}` ({self.where}) was not run: {self.reason}"


class Definitions(NamedTuple):
    """What the grader runs of a submission.

    Attributes
    ----------
    code : list of (code object, str)
        The statements run, compiled, each with where it stands (``"code cell 3, line 6"``).
    problems : list of str
        Cells that do not parse.
    skipped : list of Skipped
        Top-level statements not run, with the reason.
    nodes : dict of str -> list of ast.AST
        The kept top-level statements binding each name (for :func:`reached_names`).
    imports : list of str
        The modules the kept imports name.
    """

    code: list
    problems: list
    skipped: list
    nodes: dict
    imports: list

    def why_undefined(self, name: str) -> str:
        """Why ``name`` is not defined, if a skipped statement would have bound it, else ``""``."""
        for skip in reversed(self.skipped):
            if name in skip.binds:
                return skip.describe()
        return ""


def _first_line(source_lines, node) -> str:
    text = source_lines[node.lineno - 1].strip() if node.lineno - 1 < len(source_lines) else ""
    return text if len(text) <= 70 else text[:67] + "..."


def _bound_names(node) -> tuple:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return (node.name,)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return tuple((a.asname or a.name).split(".")[0] for a in node.names)
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    names = []
    for target in targets:
        if target is not None:
            names.extend(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return tuple(names)


def _import_problem(node) -> str:
    modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
    if isinstance(node, ast.ImportFrom) and node.level:
        return "a relative import"
    for module in modules:
        root = module.split(".")[0]
        if root not in ALLOWED_IMPORTS:
            allowed = ", ".join(sorted(ALLOWED_IMPORTS - {"__future__"}))
            return f"it imports {module}; the grader imports only {allowed} (a function gets its inputs as arguments)"
        if module.startswith("refimpl.course") or (module == "refimpl" and isinstance(node, ast.ImportFrom)
                                                    and any(a.name == "course" for a in node.names)):
            return "it imports the grader itself (refimpl.course)"
        if any(part.startswith("_") for part in module.split(".")[1:]):
            return f"it imports the private module {module}"
    if isinstance(node, ast.ImportFrom):
        if (node.module or "").split(".")[0] == "refimpl" and any(a.name.startswith("_") for a in node.names):
            return "it imports a private name of refimpl (one starting with _)"
        if any(a.name == "*" for a in node.names):
            return "a star import (name what you import)"
    return ""


def _construct_problem(node) -> str:
    """The first construct in ``node`` that the grader does not run, described, or ``""``."""
    literal_getattr = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id == "getattr":
            name = sub.args[1] if len(sub.args) > 1 else None
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and not name.value.startswith("_"):
                literal_getattr.add(id(sub.func))
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in _BANNED_BUILTINS:
            return f"it uses {sub.id} (line {sub.lineno})"
        if isinstance(sub, ast.Name) and sub.id == "getattr" and id(sub) not in literal_getattr:
            return f"it uses getattr with a computed or private name (line {sub.lineno})"
        if isinstance(sub, ast.Attribute) and sub.attr.startswith("_") and not sub.attr.startswith("__") and not (
                isinstance(sub.value, ast.Name) and sub.value.id in ("self", "cls")):
            return f"it reads the private attribute {sub.attr} (line {sub.lineno})"
        if isinstance(sub, ast.Attribute):
            attr = sub.attr
            if attr in _BANNED_ATTRIBUTES or (attr.startswith("__") and attr not in _ALLOWED_DUNDERS):
                return f"it reads the attribute {attr} (line {sub.lineno})"
        if isinstance(sub, (ast.Import, ast.ImportFrom)) and sub is not node:
            problem = _import_problem(sub)
            if problem:
                return f"{problem} (line {sub.lineno})"
        if isinstance(sub, (ast.Global, ast.Nonlocal)) and any(n.startswith("__") for n in sub.names):
            return f"it rebinds {', '.join(sub.names)} (line {sub.lineno})"
    return ""


def _numeric_aliases(tree_nodes) -> set:
    aliases = set()
    for node in tree_nodes:
        if isinstance(node, ast.Import):
            aliases.update((a.asname or a.name).split(".")[0] for a in node.names
                           if a.name.split(".")[0] in _NUMERIC_MODULES)
    return aliases | set(_NUMERIC_MODULES)


def _constant_problem(value, numeric: set, lambdas: set, defined: set) -> str:
    """Why an assigned value is not a constant the grader computes, or ``""``."""
    inner = {id(n) for lam in ast.walk(value) if isinstance(lam, ast.Lambda) for n in ast.walk(lam.body)}
    local = {n.id for n in ast.walk(value) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for sub in ast.walk(value):
        if id(sub) in inner:
            continue  # a lambda's body runs when it is called, inside a function the grader calls
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
            if sub.id not in defined and sub.id not in local and not hasattr(builtins, sub.id):
                return f"it uses {sub.id}, which no statement the grader runs defines before it"
        if isinstance(sub, ast.Lambda):
            continue
        if isinstance(sub, ast.Call):
            func = sub.func
            root = func
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(func, ast.Name) and (func.id in _PURE_BUILTINS or func.id in lambdas):
                continue
            if isinstance(func, ast.Attribute) and isinstance(root, ast.Name) and root.id in numeric:
                continue
            try:
                called = ast.unparse(func)
            except Exception:  # pragma: no cover - unparse handles every expression node
                called = "a function"
            return (f"it calls {called}; the grader runs only definitions: imports, def, class and constants "
                    "(computed with numpy or math)")
        if isinstance(sub, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return "it is not a constant"
    return ""


def extract_definitions(cells: list, name: str = "notebook") -> Definitions:
    """The statements of a submission the grader runs, compiled, and those it does not run, with the reason.

    Run: imports of :data:`ALLOWED_IMPORTS`, ``def``, ``class``, and assignments of constants:
    literals, arithmetic, lambdas, and calls of numpy, math and a few pure builtins
    (``SEED = 0``, ``PI_OVER_8 = np.pi / 8``, ``sig = lambda a: 1 / (1 + np.exp(-a))``).
    Not run, and listed with the reason: other top-level code (calls, loops, checks), and any
    statement that reaches beyond the submission's own code (``eval``, ``open``, ``getattr``
    with a computed name, private or double-underscore attributes, imports of other modules).
    IPython lines (``%magic``, ``!shell``) are ignored.

    Examples
    --------
    >>> d = extract_definitions(["import math\\nSEED = 1\\nK = math.pi / 8\\nprint(SEED)\\ndef f():\\n    return 2"])
    >>> namespace = {"__name__": SUBMISSION}
    >>> for code, _ in d.code:
    ...     exec(code, namespace)
    >>> namespace["f"](), namespace["SEED"], len(d.code), d.skipped[0].text
    (2, 1, 4, 'print(SEED)')
    """
    code, problems, skipped, nodes, imports, kept_nodes = [], [], [], {}, [], []
    lambdas: set = set()
    parsed = []
    for number, source in enumerate(cells, start=1):
        source = "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line
                           for line in source.splitlines())
        filename = f"<{name}, code cell {number}>"
        try:
            tree = ast.parse(source, filename=filename)
        except SyntaxError as err:
            problems.append(f"code cell {number} does not parse: {err.msg} (line {err.lineno})")
            continue
        parsed.append((number, source.splitlines(), filename, tree))
    numeric = _numeric_aliases([n for *_, tree in parsed for n in tree.body])
    for number, lines, filename, tree in parsed:
        for node in tree.body:
            where = f"code cell {number}, line {node.lineno}"
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                continue  # a docstring or a bare constant
            reason = ""
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                reason = _import_problem(node)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                reason = _construct_problem(node)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                plain = all(isinstance(n, (ast.Name, ast.Tuple, ast.List, ast.Store, ast.Starred))
                            for t in targets for n in ast.walk(t))
                reason = ("it assigns to an attribute or an item; the grader runs only definitions" if not plain
                          else _construct_problem(node) or _constant_problem(node.value, numeric, lambdas, set(nodes)))
                if not reason and isinstance(node.value, ast.Lambda):
                    lambdas.update(_bound_names(node))
            else:
                kind = type(node).__name__.lower()
                what = {"expr": "a top-level call or expression", "for": "a top-level loop",
                        "while": "a top-level loop", "if": "a top-level if", "assert": "a check"}.get(kind, kind)
                reason = f"{what}; the grader runs only definitions: imports, def, class and constants"
            if reason:
                skipped.append(Skipped(where, _first_line(lines, node), reason, _bound_names(node)))
                continue
            code.append((compile(ast.Module(body=[node], type_ignores=[]), filename, "exec"), where))
            kept_nodes.append(node)
            for bound in _bound_names(node):
                nodes.setdefault(bound, []).append(node)
            for sub in ast.walk(node):  # the imports inside functions too: the grader imports them beforehand
                if isinstance(sub, ast.Import):
                    imports.extend(a.name for a in sub.names)
                elif isinstance(sub, ast.ImportFrom) and sub.module and not sub.level:
                    imports.append(sub.module)
                    imports.extend(f"{sub.module}.{a.name}" for a in sub.names if a.name != "*")
    return Definitions(code, problems, skipped, nodes, imports)


def reached_names(definitions: Definitions, function: str) -> set:
    """Names the submission's ``function`` reaches, read from the source: attributes, imported names, unknown names.

    Follows the submission's own top-level definitions (helpers, lambdas, constants) by name;
    a name bound by an import contributes the name imported (``from refimpl import mean_pass
    as mp`` is seen as ``mean_pass``), a name bound nowhere contributes itself.

    Examples
    --------
    >>> d = extract_definitions(["import refimpl as r\\nh = lambda n, x: r.mean_pass(n, x)\\ndef f(n, x):\\n"
    ...                          "    return h(n, x)"])
    >>> "mean_pass" in reached_names(d, "f")
    True
    """
    names, seen, stack = set(), set(), list(definitions.nodes.get(function, []))
    builtin_names = set(dir(builtins))
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ast.ImportFrom):
            names.update(a.name for a in node.names)
            continue
        if isinstance(node, ast.Import):
            names.update(part for a in node.names for part in a.name.split("."))
            continue
        local = {n.arg for n in ast.walk(node) if isinstance(n, ast.arg)}
        local |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute):
                names.add(sub.attr)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                if sub.id in definitions.nodes:
                    stack.extend(definitions.nodes[sub.id])
                elif sub.id not in local and sub.id not in builtin_names:
                    names.add(sub.id)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                stack.append(sub)
    return names


# ------------------------------------------------------------- the in-process check
_ATTRIBUTE_OPS = {"LOAD_ATTR", "LOAD_METHOD", "IMPORT_NAME", "IMPORT_FROM", "LOAD_SUPER_ATTR"}
_GLOBAL_OPS = {"LOAD_GLOBAL", "LOAD_NAME"}


def called_names(func, namespace: dict) -> set:
    """Names a function reaches, from its byte code: attributes it reads and the library objects it uses.

    The in-process counterpart of :func:`reached_names` (for a function defined in a running
    kernel, as nbgrader's test cells see it). Follows the helpers defined in ``namespace``
    with module :data:`SUBMISSION`, nested functions, and default arguments; a global bound to
    a ``refimpl`` object contributes that object's own name.

    Examples
    --------
    >>> import refimpl
    >>> namespace = {"__name__": SUBMISSION, "refimpl": refimpl}
    >>> exec("def f(net, x):\\n    return refimpl.mean_pass(net, x)", namespace)
    >>> "mean_pass" in called_names(namespace["f"], namespace)
    True
    """
    names, seen, stack = set(), set(), [func]
    while stack:
        obj = stack.pop()
        for default in (getattr(obj, "__defaults__", None) or ()) + tuple((getattr(obj, "__kwdefaults__", None)
                                                                            or {}).values()):
            if str(getattr(default, "__module__", "")).startswith("refimpl"):
                names.add(str(getattr(default, "__name__", "")))
        code = getattr(obj, "__code__", None)
        codes = [code] if code is not None else []
        while codes:
            c = codes.pop()
            if c in seen:
                continue
            seen.add(c)
            codes.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
            for instr in dis.get_instructions(c):
                if not isinstance(instr.argval, str):
                    continue
                if instr.opname in _ATTRIBUTE_OPS:
                    names.update(instr.argval.split("."))
                elif instr.opname in _GLOBAL_OPS:
                    value = namespace.get(instr.argval)
                    if getattr(value, "__module__", None) == SUBMISSION and hasattr(value, "__code__"):
                        stack.append(value)
                    elif str(getattr(value, "__module__", "")).startswith("refimpl"):
                        names.update({instr.argval, str(getattr(value, "__name__", instr.argval))})
                    elif value is None:
                        names.add(instr.argval)
    return names
