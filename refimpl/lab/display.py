"""Show the library's own source in a tutorial, under the equation it computes.

A tutorial cell ``show_source(refimpl.sbn.SigmoidBeliefNet.log_prob)`` displays the
function as it is in the package (never a copy), headed by its file and lines, so
the rhythm of a section is text -> equation -> code -> check. The docstring is left
out: the equation is on the page already.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

__all__ = ["Source", "show_source"]

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class Source:
    """A block of Python source that notebooks render highlighted (as Markdown) and terminals print."""

    def __init__(self, code: str, header: str):
        self.code = code
        self.header = header

    def __repr__(self) -> str:
        return f"# {self.header}\n{self.code}"

    def _repr_markdown_(self) -> str:
        return f"```python\n# {self.header}\n{self.code}```\n"


def _without_docstring(source: str) -> str:
    """``source`` (one def or class, dedented) with the docstring of its outer definition removed."""
    node = ast.parse(source).body[0]
    body = getattr(node, "body", [])
    if not (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        return source
    lines = source.splitlines(keepends=True)
    first, last = body[0].lineno - 1, body[0].end_lineno  # 0-based start, exclusive end
    return "".join(lines[:first] + lines[last:])


def show_source(obj, docstring: bool = False) -> Source:
    """The source of a refimpl function, method or class, for display in a notebook.

    Parameters
    ----------
    obj : function, method, property or class
        Something defined in the ``refimpl`` package.
    docstring : bool, optional
        Keep the docstring (default: leave it out).

    Returns
    -------
    Source
        Renders as a highlighted code block headed ``refimpl/<file>.py, lines a-b``.
    """
    target = inspect.unwrap(obj.fget if isinstance(obj, property) else getattr(obj, "py_func", obj))  # a Numba
    # kernel: its Python source; a checked entry point: its own definition, the boundary's decorator included
    module = getattr(inspect.getmodule(target), "__name__", "")
    if not module.startswith("refimpl"):
        raise TypeError(f"obj must be defined in the refimpl package; got {obj!r} from module {module!r}.")
    lines, start = inspect.getsourcelines(target)
    code = textwrap.dedent("".join(lines))
    if not docstring:
        code = _without_docstring(code)
    path = Path(inspect.getsourcefile(target)).resolve()
    try:
        where = path.relative_to(_PACKAGE_ROOT).as_posix()
    except ValueError:  # an installed (non-editable) copy: name the file inside the package
        where = "refimpl/" + path.as_posix().split("/refimpl/", 1)[-1]
    return Source(code, f"{where}, lines {start}-{start + len(lines) - 1}")
