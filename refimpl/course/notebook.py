r"""Notebooks as the course reads and writes them: percent sources, solutions, definitions.

- :func:`split_percent` and :func:`percent_to_ipynb` read a jupytext percent source
  (``# %%`` starts a code cell, ``# %% [markdown]`` a markdown cell, ``# ---`` lines
  enclose the header) and write the equivalent ``.ipynb`` JSON, deterministically;
- :func:`strip_solutions` makes the student version of a solution source: code between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes ``raise NotImplementedError(hint)``,
  a top-level ``# solution`` line drops the rest of its cell, and a cell tagged
  ``tags=["solution"]`` is dropped whole;
- :func:`code_cells`, :func:`extract_definitions` and :func:`called_names` are the grader's
  side: the code cells of a ``.ipynb`` or ``.py`` submission, the statements of them it runs
  (imports, ``def``, ``class`` and assignments of literal constants, nothing that calls
  anything), and the names a function calls.
"""

from __future__ import annotations

import ast
import dis
import json
import re
import types
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "BEGIN",
    "END",
    "SUBMISSION",
    "Cell",
    "called_names",
    "code_cells",
    "extract_definitions",
    "percent_to_ipynb",
    "split_percent",
    "strip_solutions",
]

BEGIN, END, SOLUTION_LINE = "### BEGIN SOLUTION", "### END SOLUTION", "# solution"
SUBMISSION = "__submission__"  # the module name of the functions a submission defines
_TAGS = re.compile(r"tags\s*=\s*\[([^\]]*)\]")


class Cell(NamedTuple):
    """One cell of a percent source: its ``# %%`` header line (None before the first) and its lines."""

    header: str | None
    lines: list

    @property
    def kind(self) -> str:
        """``"markdown"`` or ``"code"``."""
        return "markdown" if self.header and "[markdown]" in self.header else "code"

    @property
    def tags(self) -> list:
        """The cell's tags, from ``tags=["a", "b"]`` in its header."""
        match = _TAGS.search(self.header or "")
        return re.findall(r"[\"']([^\"']+)[\"']", match.group(1)) if match else []


def split_percent(text: str) -> tuple[list, list]:
    """Split a percent source into its header lines (the ``# ---`` block) and its cells.

    Examples
    --------
    >>> header, cells = split_percent("# %%\\nx = 1\\n\\n# %% [markdown]\\n# Hi\\n")
    >>> [(c.kind, c.lines) for c in cells]
    [('code', ['x = 1', '']), ('markdown', ['# Hi'])]
    """
    lines = text.splitlines()
    header = []
    if lines and lines[0].strip() == "# ---":
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "# ---")
        header, lines = lines[: end + 1], lines[end + 1:]
    cells, current = [], Cell(None, [])
    for line in lines:
        if line.startswith("# %%"):
            if current.header is not None or current.lines:
                cells.append(current)
            current = Cell(line, [])
        else:
            current.lines.append(line)
    if current.header is not None or current.lines:
        cells.append(current)
    return header, cells


def _enclosing_function(lines: list, index: int) -> str | None:
    """Name of the innermost ``def`` above ``lines[index]`` whose body contains it."""
    indent = len(lines[index]) - len(lines[index].lstrip())
    for line in reversed(lines[:index]):
        match = re.match(r"(\s*)def\s+(\w+)\s*\(", line)
        if match and len(match.group(1)) < indent:
            return match.group(2)
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
    header, cells = split_percent(text)
    out = list(header)
    for number, cell in enumerate(cells, start=1):
        if "solution" in cell.tags:
            continue
        lines = cell.lines if cell.kind == "markdown" else _strip_cell(cell.lines, hints, f"cell {number}")
        if cell.header is not None:
            out.append(cell.header)
        out.extend(lines)
    return "\n".join(out).rstrip("\n") + "\n"


def _trim(lines: list) -> list:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _source(lines: list) -> list:
    return [line + "\n" for line in lines[:-1]] + lines[-1:]


def percent_to_ipynb(text: str) -> str:
    """The ``.ipynb`` JSON (nbformat 4.5, no outputs) of a percent source, the same for the same text.

    Markdown lines lose their leading ``#`` and one space; cell ids are ``cell-01``, ``cell-02``, ...
    """
    _, cells = split_percent(text)
    nb_cells = []
    for cell in cells:
        if cell.kind == "markdown":
            lines = _trim([re.sub(r"^# ?", "", line) for line in cell.lines])
            entry = {"cell_type": "markdown", "id": "", "metadata": {}, "source": _source(lines)}
        else:
            lines = _trim(cell.lines)
            if not lines:
                continue
            entry = {"cell_type": "code", "execution_count": None, "id": "", "metadata": {}, "outputs": [],
                     "source": _source(lines)}
        if cell.tags:
            entry["metadata"] = {"tags": cell.tags}
        entry["id"] = f"cell-{len(nb_cells) + 1:02d}"
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
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        cells = json.loads(text).get("cells", [])
        return ["".join(c.get("source", "")) if isinstance(c.get("source"), list) else c.get("source", "")
                for c in cells if c.get("cell_type") == "code"]
    return ["\n".join(cell.lines) for cell in split_percent(text)[1] if cell.kind == "code"]


def _is_literal(node) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _kept(node) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Assign):
        return _is_literal(node.value)
    return isinstance(node, ast.AnnAssign) and node.value is not None and _is_literal(node.value)


def extract_definitions(cells: list, name: str = "notebook") -> tuple[list, list]:
    """The statements of a submission the grader runs, compiled, and the problems met on the way.

    Kept: ``import`` and ``from ... import``, ``def``, ``class``, and assignments of literal
    constants (``SEED = 0``). Everything else (calls, loops, checks, anything that could run
    a student's function) is left out. IPython lines (``%magic``, ``!shell``) are ignored.

    Returns
    -------
    code : list of code objects
        One per kept statement, in order; its file name is ``"<name>, code cell N>"``.
    problems : list of str
        Cells that do not parse.

    Examples
    --------
    >>> code, problems = extract_definitions(["import math\\nSEED = 1\\nprint(SEED)\\ndef f():\\n    return 2"])
    >>> namespace = {"__name__": SUBMISSION}
    >>> for c in code:
    ...     exec(c, namespace)
    >>> namespace["f"](), namespace["SEED"], len(code)
    (2, 1, 3)
    """
    code, problems = [], []
    for number, source in enumerate(cells, start=1):
        source = "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line
                           for line in source.splitlines())
        filename = f"<{name}, code cell {number}>"
        try:
            tree = ast.parse(source, filename=filename)
        except SyntaxError as err:
            problems.append(f"cell {number} does not parse: {err.msg} (line {err.lineno})")
            continue
        for node in tree.body:
            if _kept(node):
                code.append(compile(ast.Module(body=[node], type_ignores=[]), filename, "exec"))
    return code, problems


_ATTRIBUTE_OPS = {"LOAD_ATTR", "LOAD_METHOD", "IMPORT_NAME", "IMPORT_FROM", "LOAD_SUPER_ATTR"}
_GLOBAL_OPS = {"LOAD_GLOBAL", "LOAD_NAME"}


def called_names(func, namespace: dict) -> set:
    """Names a submitted function reaches: attributes it reads and the library objects it uses.

    Follows the submission's own helper functions (those defined in ``namespace`` with module
    :data:`SUBMISSION`) and nested functions. A global bound to a ``refimpl`` object contributes
    that object's own name, so ``from refimpl import mean_pass as mp`` is seen as ``mean_pass``.

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
        code = getattr(stack.pop(), "__code__", None)
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
                    obj = namespace.get(instr.argval)
                    if getattr(obj, "__module__", None) == SUBMISSION and hasattr(obj, "__code__"):
                        stack.append(obj)
                    elif str(getattr(obj, "__module__", "")).startswith("refimpl"):
                        names.update({instr.argval, str(getattr(obj, "__name__", instr.argval))})
                    elif obj is None:
                        names.add(instr.argval)
    return names
