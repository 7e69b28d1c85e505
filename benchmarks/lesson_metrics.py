"""How the lesson modules read: code, argument checking, docstrings, the tied L1 step, shown sources.

Measures ``refimpl/*.py`` of a checkout (the lesson modules: ``lab/``, ``course/``
and ``kernels.py``, the fast paths, are left out) and prints one table.

How each line is counted (a physical line of a file counts at most once per measure):

- **code line**: a line holding at least one token that is not a comment, a
  newline or indentation (``tokenize``), and that is not inside a docstring.
  Blank lines, comment-only lines and docstring lines are not code.
- **docstring line**: a line spanned by a docstring, i.e. a string literal that
  is the first statement of the module, a class or a function (``ast``).
- **argument-checking line**: a code line inside
  (a) a ``raise`` statement (with its message, however many lines it spans);
  (b) an ``if`` statement whose body holds only ``raise`` statements: its
  test and its body (an ``elif``/``else`` branch counts only if it is such a
  block itself);
  (c) a statement that calls a function or method whose name starts with
  ``check_``, ``_check_``, ``as_`` or ``_as_``, or a function of
  ``_validation.py`` (within that module, or imported from it, or as
  ``check.<name>`` where ``check`` is that module): the whole statement, e.g.
  ``x = check_binary(x, "x")`` or ``w = array(w, "w", shape=(3, 4))``;
  (d) a ``@boundary(...)`` decorator, the line(s) naming an entry point's checks.
  The same rules hold in every module, ``_validation.py`` included.
- **functions entered by the tied L1 step**: ``sys.setprofile`` records every
  Python function of the checkout's ``refimpl`` package (lab, course and
  kernels included, marked) entered while building ``CoupledPair((6, 4, 3, 2))``
  (seed 0) and taking one ``l1_step_grads`` on a batch of 8 random binary
  images with labels; each is listed once, in the order first entered, with
  its code and checking lines (counted as above over the function's whole
  ``def``, nested definitions included). Functions compiled by Numba run no
  Python frame and are not seen.
- **labelled function**: a function, method or class of a lesson module whose
  docstring holds an ``Equation:`` line. It is **shown** when a tutorial
  ``tutorial/0*.py`` has a cell calling ``show_source(<expr>)`` whose
  expression resolves (after ``import refimpl``) to that object.
- **fewest checking lines**: one line per ``raise`` statement and one per
  ``@boundary`` entry point, the least the same errors and the same boundary
  could take however they were written (a ``raise`` needs its condition, so in
  practice two lines or more).
- **module lines**: every line of the file (``wc -l``).

Usage::

    python benchmarks/lesson_metrics.py                      # this checkout
    python benchmarks/lesson_metrics.py --root /path/to/other/checkout
    python benchmarks/lesson_metrics.py --json out.json      # also write the figures
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import io
import json
import re
import sys
import tokenize
from pathlib import Path

_SKIP_TOKENS = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                tokenize.ENCODING, tokenize.ENDMARKER}
_CHECK_PREFIXES = ("check_", "_check_", "as_", "_as_")


def _docstring_lines(tree) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def _token_lines(source: str) -> set[int]:
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in _SKIP_TOKENS:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return lines


def _call_name(node) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _validation_names(tree, path: Path, checks: set[str]) -> set[str]:
    """The names under which this module calls the functions of ``_validation.py`` (``checks``)."""
    if path.name == "_validation.py":
        return set(checks)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("_validation"):
            names.update(alias.asname or alias.name for alias in node.names if alias.name in checks)
    return names


def _is_check_call(sub, own: set[str], checks: set[str]) -> bool:
    """A call of a ``check_``/``as_`` function, or of a function of ``_validation.py``."""
    if not isinstance(sub, ast.Call):
        return False
    name, func = _call_name(sub), sub.func
    via_module = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "check"
    return (name.startswith(_CHECK_PREFIXES) or (isinstance(func, ast.Name) and name in own)
            or (via_module and name in checks))


def _checking_lines(tree, own: set[str] = frozenset(), checks: set[str] = frozenset()) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise):
            lines.update(range(node.lineno, node.end_lineno + 1))
        elif isinstance(node, ast.If) and node.body and all(isinstance(s, ast.Raise) for s in node.body):
            lines.update(range(node.lineno, node.body[-1].end_lineno + 1))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                if isinstance(dec, ast.Call) and _call_name(dec) == "boundary":
                    lines.update(range(dec.lineno, dec.end_lineno + 1))
        if isinstance(node, (ast.Raise, ast.If)):
            continue
        elif isinstance(node, ast.stmt) and not isinstance(
                node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.While,
                       ast.With, ast.Try)):
            if any(_is_check_call(sub, own, checks) for sub in ast.walk(node)):
                lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


class ModuleLines:
    """The per-line classification of one source file."""

    def __init__(self, path: Path):
        self.path = path
        self.source = path.read_text()
        self.tree = ast.parse(self.source)
        validation = path.parent / "_validation.py"
        checks = {n.name for n in ast.parse(validation.read_text()).body if isinstance(n, ast.FunctionDef)} \
            if validation.exists() else set()
        own = _validation_names(self.tree, path, checks)
        self.total = len(self.source.splitlines())
        self.doc = _docstring_lines(self.tree)
        self.code = _token_lines(self.source) - self.doc
        self.checking = _checking_lines(self.tree, own, checks) & self.code
        self.raises = sum(isinstance(n, ast.Raise) for n in ast.walk(self.tree))
        self.entry_points = sum(any(isinstance(d, ast.Call) and _call_name(d) == "boundary" for d in n.decorator_list)
                                for n in ast.walk(self.tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Code and checking lines within lines ``first..last``."""
        rng = set(range(first, last + 1))
        return len(self.code & rng), len(self.checking & rng)


def lesson_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "refimpl").glob("*.py") if p.name != "kernels.py")


def _function_nodes(tree):
    """(qualname, node) for every function and class, nested ones included."""
    out = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                out.append((name, child))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return out


def trace_l1_step(root: Path, modules: dict) -> list[dict]:
    """Functions of ``refimpl`` entered by ``CoupledPair((6, 4, 3, 2))`` and one ``l1_step_grads``."""
    import numpy as np

    refimpl = importlib.import_module("refimpl")
    learning = importlib.import_module("refimpl.learning")
    package = Path(refimpl.__file__).resolve().parent
    if package != (root / "refimpl").resolve():
        raise SystemExit(f"imported refimpl from {package}, not from {root}")
    data_rng = np.random.default_rng(1)
    x = (data_rng.random((8, 6)) < 0.5).astype(np.float32)
    y = data_rng.integers(0, 2, size=8)
    entered = []
    seen = set()

    def profile(frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        path = Path(code.co_filename)
        if package not in path.parents:
            return
        key = (code.co_filename, code.co_firstlineno, code.co_name)
        if key not in seen:
            seen.add(key)
            entered.append(key)

    sys.setprofile(profile)
    try:
        pair = refimpl.CoupledPair((6, 4, 3, 2), rng=np.random.default_rng(0))
        learning.l1_step_grads(pair, x, y, np.random.default_rng(2))
    finally:
        sys.setprofile(None)

    rows = []
    for filename, firstlineno, name in entered:
        path = Path(filename).resolve()
        if path not in modules:
            modules[path] = ModuleLines(path)
        mod = modules[path]
        node = None
        for qualname, candidate in _function_nodes(mod.tree):
            starts = [candidate.lineno] + [d.lineno for d in getattr(candidate, "decorator_list", [])]
            if candidate.name == name and firstlineno in starts:
                node = (qualname, candidate)
                break
        if node is None:  # a lambda, comprehension or module body: no def to count
            continue
        qualname, fn = node
        first = min([fn.lineno] + [d.lineno for d in getattr(fn, "decorator_list", [])])  # decorators included
        code, checking = mod.span(first, fn.end_lineno)
        rel = path.relative_to(package.parent)
        rows.append({"function": f"{rel}:{qualname}", "file": str(rel), "code": code, "checking": checking,
                     "lesson": path.parent == package and path.name != "kernels.py"})
    return rows


def labelled_and_shown(root: Path) -> tuple[list[str], list[str]]:
    """Qualified names of the labelled lesson functions, and of those a tutorial shows."""
    labelled = {}
    for path in lesson_files(root):
        modname = f"refimpl.{path.stem}"
        module = importlib.import_module(modname)
        for qualname, node in _function_nodes(ast.parse(path.read_text())):
            doc = ast.get_docstring(node) or ""
            if re.search(r"^\s*Equation:", doc, flags=re.M):
                obj = module
                try:
                    for part in qualname.split("."):
                        obj = inspect.getattr_static(obj, part)
                except AttributeError:
                    continue
                obj = getattr(obj, "fget", getattr(obj, "__func__", obj))
                labelled[id(inspect.unwrap(obj))] = f"{modname}.{qualname}"
    refimpl = importlib.import_module("refimpl")
    namespace = {"refimpl": refimpl}
    shown = set()
    for notebook in sorted((root / "tutorial").glob("0*.py")):
        for match in re.finditer(r"show_source\(\s*([A-Za-z_][\w.]*)", notebook.read_text()):
            expr = match.group(1)
            if not expr.startswith("refimpl"):
                continue
            try:
                obj = eval(expr, namespace)  # a dotted name only (the regex admits nothing else)
            except AttributeError:
                continue
            obj = getattr(obj, "fget", getattr(obj, "__func__", obj))
            key = id(inspect.unwrap(obj))
            if key in labelled:
                shown.add(labelled[key])
    return sorted(labelled.values()), sorted(shown)


def measure(root: Path) -> dict:
    root = root.resolve()
    sys.path.insert(0, str(root))
    modules = {p.resolve(): ModuleLines(p) for p in lesson_files(root)}
    lesson = list(modules.values())
    code = sum(len(m.code) for m in lesson)
    checking = sum(len(m.checking) for m in lesson)
    doc = sum(len(m.doc) for m in lesson)
    trace = trace_l1_step(root, modules)
    labelled, shown = labelled_and_shown(root)
    return {
        "root": str(root),
        "code_lines": code,
        "checking_lines": checking,
        "docstring_lines": doc,
        "raise_statements": sum(m.raises for m in lesson),
        "checked_entry_points": sum(m.entry_points for m in lesson),
        "l1_step": trace,
        "l1_step_code_lines": sum(r["code"] for r in trace),
        "l1_step_checking_lines": sum(r["checking"] for r in trace),
        "labelled": labelled,
        "shown": shown,
        "modules": {m.path.name: {"lines": m.total, "code": len(m.code), "checking": len(m.checking),
                                  "docstring": len(m.doc), "raise": m.raises} for m in lesson},
    }


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


def report(m: dict) -> str:
    out = [f"lesson modules of {m['root']}/refimpl (lab/, course/, kernels.py left out)", ""]
    out.append(f"{'measure':<62}{'value':>14}")
    rows = [
        ("code lines (no docstrings, comments, blanks)", f"{m['code_lines']:,}"),
        ("  of which argument checking",
         f"{m['checking_lines']:,} ({_pct(m['checking_lines'], m['code_lines'])})"),
        ("docstring lines", f"{m['docstring_lines']:,}"),
        ("raise statements", f"{m['raise_statements']:,}"),
        ("entry points checked by @boundary", f"{m['checked_entry_points']:,}"),
        ("  fewest checking lines they allow (1 per raise, 1 per entry)",
         f"{m['raise_statements'] + m['checked_entry_points']:,}"),
        (f"code lines of the {len(m['l1_step'])} functions entered by the tied L1 step",
         f"{m['l1_step_code_lines']:,}"),
        ("  of which argument checking",
         f"{m['l1_step_checking_lines']:,} ({_pct(m['l1_step_checking_lines'], m['l1_step_code_lines'])})"),
        ("labelled functions whose source a tutorial shows",
         f"{len(m['shown'])}/{len(m['labelled'])} ({_pct(len(m['shown']), len(m['labelled']))})"),
    ]
    out += [f"{a:<62}{b:>14}" for a, b in rows]
    out += ["", f"{'module':<20}{'lines':>7}{'code':>7}{'checking':>10}{'docstring':>11}{'raise':>7}"]
    for name, r in m["modules"].items():
        out.append(f"{name:<20}{r['lines']:>7}{r['code']:>7}{r['checking']:>10}{r['docstring']:>11}{r['raise']:>7}")
    files = sorted({r["file"] for r in m["l1_step"]})
    out += ["", f"functions entered by CoupledPair((6, 4, 3, 2)) + one l1_step_grads, in call order "
                f"({len(m['l1_step'])} in {len(files)} files; * = outside the lesson modules):",
            f"{'function':<66}{'code':>6}{'checking':>10}"]
    for r in m["l1_step"]:
        mark = "" if r["lesson"] else " *"
        out.append(f"{r['function'] + mark:<66}{r['code']:>6}{r['checking']:>10}")
    out += ["", "labelled functions shown by a tutorial: " + (", ".join(m["shown"]) or "none")]
    not_shown = sorted(set(m["labelled"]) - set(m["shown"]))
    out.append("labelled functions not shown: " + (", ".join(not_shown) or "none"))
    return "\n".join(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="checkout to measure (default: this one)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if not (args.root / "refimpl" / "__init__.py").is_file():
        parser.error(f"--root must be a checkout holding refimpl/__init__.py; got {args.root}")
    figures = measure(args.root)
    print(report(figures))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
