"""One equation label, three places: the notebook, the function, the test.

Each label of the method (M1..M11, A1, A2, L0, L1, L1u, L2) that a tutorial states
with ``\\tag{label}`` must be computed by at least one function whose docstring
says ``Equation: label`` and checked by at least one test named
``test_<label>_...``; and every ``Equation:`` line must name a label that some
tutorial defines. Run this file as a script to print the whole map::

    python tests/test_labels.py
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABEL = r"(?:M\d+|A\d|L1u|L\d)"
TAG = re.compile(r"\\tag\{(" + LABEL + r")\}")
EQUATION_LINE = re.compile(r"^\s*Equation:\s*(.+)$", re.MULTILINE)
TEST_NAME = re.compile(r"^test_(m\d+|a\d|l1u|l\d)_", re.IGNORECASE)


def notebook_labels() -> dict[str, list[str]]:
    """label -> tutorial files that define it with \\tag{label}."""
    found = defaultdict(list)
    for path in sorted((ROOT / "tutorial").glob("[0-9][0-9]_*.py")):
        for label in sorted(set(TAG.findall(path.read_text()))):
            found[label].append(path.name)
    return found


def docstring_labels() -> dict[str, list[str]]:
    """label -> 'module.qualname' of every function or class whose docstring says Equation: label."""
    found = defaultdict(list)
    for path in sorted((ROOT / "refimpl").glob("*.py")):
        tree = ast.parse(path.read_text())
        stack = [(node, "") for node in tree.body]
        while stack:
            node, prefix = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                qualname = f"{prefix}{node.name}"
                doc = ast.get_docstring(node) or ""
                for line in EQUATION_LINE.findall(doc):
                    for label in re.split(r"[,\s]+", line.strip()):
                        if label:
                            found[label].append(f"refimpl.{path.stem}.{qualname}")
                if isinstance(node, ast.ClassDef):
                    stack.extend((child, f"{qualname}.") for child in node.body)
    return found


def labelled_tests() -> dict[str, list[str]]:
    """label -> 'tests/file.py::test_name' of every test named test_<label>_..."""
    found = defaultdict(list)
    canonical = {"l1u": "L1u"}
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                match = TEST_NAME.match(node.name)
                if match:
                    key = match.group(1).lower()
                    label = canonical.get(key, key.upper())
                    found[label].append(f"tests/{path.name}::{node.name}")
    return found


def label_map():
    notebooks, functions, tests = notebook_labels(), docstring_labels(), labelled_tests()
    labels = sorted(set(notebooks) | set(functions) | set(tests),
                    key=lambda s: (s[0], int(re.sub(r"\D", "", s)), s))
    return [(label, notebooks.get(label, []), functions.get(label, []), tests.get(label, []))
            for label in labels]


def test_every_tutorial_label_has_a_function_and_a_test():
    """Each label a tutorial tags is computed by a documented function and checked by a named test."""
    missing = [(label, "function" if not fns else "test")
               for label, nbs, fns, tsts in label_map() if nbs and (not fns or not tsts)]
    assert not missing, f"labels tagged in a tutorial but missing a function or a test: {missing}"


def test_every_equation_line_names_a_tutorial_label():
    """No docstring cites an equation label that no tutorial defines."""
    orphans = [(label, fns) for label, nbs, fns, _ in label_map() if fns and not nbs]
    assert not orphans, f"'Equation:' labels that no tutorial tags with \\tag{{}}: {orphans}"


def test_every_labelled_test_names_a_tutorial_label():
    """No test claims a label that no tutorial defines."""
    orphans = [(label, tsts) for label, nbs, _, tsts in label_map() if tsts and not nbs]
    assert not orphans, f"tests named after labels that no tutorial tags: {orphans}"


def test_equation_labels_are_well_formed():
    """Every token on an 'Equation:' line is a label of the method (M1.., A1, A2, L0, L1, L1u, L2)."""
    bad = [label for label in docstring_labels() if not re.fullmatch(LABEL, label)]
    assert not bad, f"malformed labels on 'Equation:' lines: {bad}"


if __name__ == "__main__":
    print("| label | tutorial | computed by | checked by |\n|---|---|---|---|")
    for label, nbs, fns, tsts in label_map():
        print(f"| {label} | {', '.join(nbs)} | {'<br>'.join(f'`{f}`' for f in fns)} | "
              f"{'<br>'.join(f'`{t}`' for t in tsts)} |")
