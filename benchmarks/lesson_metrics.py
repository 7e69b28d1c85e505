"""How much a student must read: line counts of the lesson modules, classified with ``ast`` and ``tokenize``.

The lesson modules are ``refimpl/*.py`` (not ``refimpl/lab/``, ``refimpl/course/``, nor
``refimpl/kernels.py``, the fast paths kept apart). Every physical line of a module is put in
one class:

- **docstring line**: a line spanned by a docstring (the first statement of a module, class
  or function, when it is a string literal);
- **code line**: any other line holding a token other than a comment, a newline, an indent or
  a dedent (so blank lines and comment-only lines are neither);
- of the code lines, **argument checking** lines are those inside

  * a ``raise`` statement (all the lines of its message),
  * an ``if`` statement whose body holds only ``raise`` statements (the test and the raise),
  * a call to a function whose name (``f`` of ``f(...)`` or ``obj.f(...)``) starts with
    ``check_``, ``_check_`` or ``as_`` (all the lines of the call, its arguments included);

  and every code line of ``refimpl/_validation.py``, whose only job is checking.

The **functions entered** by one tied wake-sleep step are those whose code object starts
executing (``sys.setprofile`` "call" events, Python functions only, files under ``refimpl/``,
comprehensions and generator expressions not counted apart)
while ``CoupledPair((6, 4, 3, 2), rng=rng)`` is built and one ``l1_step_grads(pair, x, y,
rng)`` runs on a batch of 8 random binary images; for each its code lines and checking lines
(same rules, the function's own lines, nested definitions included) are reported.

A **labelled function** has an ``Equation:`` line in its docstring (module-level functions and
methods of the lesson modules). It is **shown** when a code cell of ``tutorial/0*.py`` calls
``show_source(refimpl.<dotted name>)`` or ``show_source(<dotted name>)`` ending in its name
(``log_prob`` matches ``SigmoidBeliefNet.log_prob``; the qualified name is tried first).

Usage: ``python benchmarks/lesson_metrics.py [--root DIR]`` (default: this checkout). It
imports ``refimpl`` from the root given, so run it with that root on ``PYTHONPATH`` or
installed; it says which copy it imported.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import sys
import tokenize
from pathlib import Path

EXCLUDED = {"kernels.py"}
TWINS = ["sample_states", "log_prob_states", "forward_pass", "_moments", "_effective_logit", "_l0", "_wake",
         "_sleep", "_l1"]
CHECK_PREFIXES = ("check_", "_check_", "as_")


def _docstring_nodes(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            value = getattr(first, "value", None)
            if isinstance(first, ast.Expr) and isinstance(value, ast.Constant) and isinstance(value.value, str):
                yield first


def _call_name(call):
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def classify(path: Path):
    """(code lines, checking lines, docstring lines, tree, total lines) of one module; lines as sets of numbers."""
    text = path.read_text()
    tree = ast.parse(text)
    doc = set()
    for node in _docstring_nodes(tree):
        doc.update(range(node.lineno, node.end_lineno + 1))
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
            tokenize.ENDMARKER}
    code = set()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type not in skip:
            code.update(range(tok.start[0], tok.end[0] + 1))
    code -= doc
    check = set()
    for node in ast.walk(tree):
        span = None
        if isinstance(node, ast.Raise):
            span = node
        elif isinstance(node, ast.If) and node.body and all(isinstance(s, ast.Raise) for s in node.body) \
                and not node.orelse:
            span = node
        elif isinstance(node, ast.Call) and _call_name(node).startswith(CHECK_PREFIXES):
            span = node
        if span is not None:
            check.update(range(span.lineno, span.end_lineno + 1))
    check = code if path.name == "_validation.py" else check & code
    return code, check, doc, tree, len(text.splitlines())


def lesson_modules(root: Path):
    return sorted(p for p in (root / "refimpl").glob("*.py") if p.name not in EXCLUDED)


def labelled_functions(root: Path):
    """{qualified name: module} of every function or method with an ``Equation:`` docstring line."""
    out = {}
    for path in lesson_modules(root):
        tree = ast.parse(path.read_text())

        def visit(node, prefix, path=path):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ClassDef):
                    visit(child, prefix + child.name + ".", path)
                elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    doc = ast.get_docstring(child) or ""
                    if re.search(r"^\s*Equation:", doc, re.M):
                        out[prefix + child.name] = path.stem

        visit(tree, "")
    return out


def shown_names(root: Path):
    """Dotted names passed to ``show_source(...)`` in the tutorials' code."""
    names = set()
    for nb in sorted((root / "tutorial").glob("0*.py")):
        for node in ast.walk(ast.parse(nb.read_text())):
            if isinstance(node, ast.Call) and _call_name(node) == "show_source" and node.args:
                names.add(ast.unparse(node.args[0]))
    return names


def is_shown(qualname: str, module: str, shown) -> bool:
    for s in shown:
        parts = s.split(".")
        if parts[0] == "refimpl":
            parts = parts[1:]
        if parts and parts[0] == module:
            parts = parts[1:]
        dotted = ".".join(parts)
        if dotted == qualname or (dotted and qualname.endswith("." + dotted)) or dotted == qualname.split(".")[-1]:
            return True
    return False


def entered_functions(root: Path):
    """Functions entered by building ``CoupledPair((6, 4, 3, 2))`` and one ``l1_step_grads``: [(file, name, line)]."""
    import numpy as np

    from refimpl.coupled import CoupledPair
    from refimpl.learning import l1_step_grads

    pkg = str((root / "refimpl").resolve())
    seen = []

    def prof(frame, event, arg):
        if event == "call":
            co = frame.f_code
            key = (co.co_filename, co.co_name, co.co_firstlineno)
            if co.co_filename.startswith(pkg) and not co.co_name.startswith("<") and key not in seen:
                seen.append(key)

    rng = np.random.default_rng(0)
    x = (rng.random((8, 6)) < 0.5).astype(np.float32)
    y = rng.integers(0, 2, 8)
    sys.setprofile(prof)
    try:
        pair = CoupledPair((6, 4, 3, 2), rng=rng)
        l1_step_grads(pair, x, y, rng)
    finally:
        sys.setprofile(None)
    return seen


def function_lines(path: Path, firstlineno: int, cache: dict):
    """(code lines, checking lines) of the function defined at ``firstlineno`` of ``path``."""
    if path not in cache:
        cache[path] = classify(path)
    code, check, _, tree, _ = cache[path]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            first = node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno
            if firstlineno in (node.lineno, first):
                span = set(range(first, node.end_lineno + 1))
                return len(span & code), len(span & check)
    return 0, 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args(argv)
    root = args.root.resolve()
    sys.path.insert(0, str(root))
    import refimpl

    print(f"refimpl imported from {Path(refimpl.__file__).parent}")
    if Path(refimpl.__file__).resolve().parent != root / "refimpl":
        print(f"warning: not the root given ({root}); put it first on PYTHONPATH")

    print("\nmodule            lines   code  check  docstring")
    totals = [0, 0, 0, 0]
    for path in lesson_modules(root):
        code, check, doc, _, n = classify(path)
        row = [n, len(code), len(check), len(doc)]
        totals = [t + r for t, r in zip(totals, row, strict=True)]
        print(f"{path.name:16s} {row[0]:6d} {row[1]:6d} {row[2]:6d} {row[3]:10d}")
    print(f"{'total':16s} {totals[0]:6d} {totals[1]:6d} {totals[2]:6d} {totals[3]:10d}")

    cache, rows = {}, []
    for filename, name, line in entered_functions(root):
        c, k = function_lines(Path(filename), line, cache)
        rows.append((Path(filename).name, name, c, k))
    print("\nfunctions entered by CoupledPair((6, 4, 3, 2)) + one l1_step_grads, in order:")
    for fname, name, c, k in rows:
        print(f"  {fname}:{name}  code {c}, checking {k}")
    step_code, step_check = sum(r[2] for r in rows), sum(r[3] for r in rows)
    n_files = len({r[0] for r in rows})

    labelled = labelled_functions(root)
    shown = shown_names(root)
    n_shown = sum(is_shown(q, m, shown) for q, m in labelled.items())
    not_shown = sorted(f"{m}.{q}" for q, m in labelled.items() if not is_shown(q, m, shown))

    twins = []
    for path in lesson_modules(root):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in TWINS:
                twins.append(f"{path.stem}.{node.name}")

    def pct(a, b):
        return f"{100 * a / b:.0f} %" if b else "-"

    print("\n| measure | value |\n|---|---:|")
    print(f"| code lines (no docstrings, comments, blanks) | {totals[1]:,} |")
    print(f"| of which argument checking | {totals[2]:,} ({pct(totals[2], totals[1])}) |")
    print(f"| docstring lines | {totals[3]:,} |")
    print(f"| functions entered by `CoupledPair(...)` + one `l1_step_grads` | {len(rows)} in {n_files} files |")
    print(f"| their code lines | {step_code} |")
    print(f"| of which argument checking | {step_check} ({pct(step_check, step_code)}) |")
    print(f"| labelled functions whose source a tutorial shows | {n_shown} of {len(labelled)} "
          f"({pct(n_shown, len(labelled))}) |")
    print(f"| twin-pair inner halves still defined | {len(twins)} {twins if twins else ''} |")
    print("\nlabelled functions not shown:", ", ".join(not_shown) if not_shown else "none")


if __name__ == "__main__":
    main()
