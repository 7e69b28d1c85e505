"""One equation label, three places: the notebook, the function, the test.

The canonical list of labels is the first column of the README's table under
"What is where": each row may begin with labels or ranges of labels, e.g.
``M1–M3 ...``, ``M5–M8, A1, A2 ...``, ``L0, L1, L1u, L2 ...`` (a range ``M5–M8``
stands for M5, M6, M7, M8). ``check(root)`` reports a problem when

* a listed label is not tagged ``\\tag{label}`` in any tutorial ``tutorial/NN_*.py``,
  not named on any ``Equation:`` line of a docstring under ``refimpl/``, or not
  checked by any counting test ``test_<label>_...`` under ``tests/``;
* a tutorial tags, an ``Equation:`` line names, or a test's name claims a label
  that is not listed;
* an ``Equation:`` line is empty or is not a comma-separated list of labels.

Which tests count. A test ``test_<label>_...`` (a module-level function or a
method of a ``Test*`` class in ``tests/test_*.py``) counts as a check of its
equation when both hold:

1. its name is not a validation name: none of its ``_``-separated words is
   ``rejects``, ``refuses``, ``raises``, ``invalid`` or ``bad`` (``error`` is
   not on the list: several equations are checked by measuring an approximation
   error);
2. its body checks a value outside any ``with pytest.raises(...)`` /
   ``pytest.warns(...)`` block: an ``assert`` statement whose test is not a
   constant, a call of a function whose name starts with ``assert``
   (``np.testing.assert_allclose``, ``assert_array_equal``, ...), or a call of a
   helper function defined in the same test file or in ``tests/conftest.py``
   that itself checks a value by the same rule. Bodies of functions defined
   inside the test are not looked into.

So ``def test_m7_x(): pass`` does not count, and neither does a test whose only
check is that an error is raised: those test input validation, not an equation.

Run this file as a script to print the whole map::

    python tests/test_labels.py
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent

TABLE_HEADING = "## What is where"
LABEL = r"[MALS]\d+u?"
_LABEL_OR_RANGE = rf"{LABEL}(?:\s*[–-]\s*{LABEL})?"
LEADING_LABELS = re.compile(rf"^\s*({_LABEL_OR_RANGE}(?:\s*,\s*{_LABEL_OR_RANGE})*)(?=\s|$)")
TAG = re.compile(r"\\tag\{([^}]*)\}")
EQUATION_LINE = re.compile(r"^[ \t]*Equation:([^\n]*)$", re.MULTILINE)
TEST_NAME = re.compile(r"^test_([mals]\d+u?)_", re.IGNORECASE)
VALIDATION_WORDS = frozenset({"rejects", "refuses", "raises", "invalid", "bad"})
ERROR_CONTEXTS = frozenset({"raises", "warns"})

# kinds of problem
NO_LIST = "the README has no 'What is where' table listing labels"
BAD_RANGE = "the README lists a malformed range"
NOT_TAGGED = "listed but tagged in no tutorial"
NOT_COMPUTED = "listed but named on no 'Equation:' line"
NOT_CHECKED = "listed but checked by no counting test"
UNLISTED_TAG = "tagged in a tutorial but not listed"
UNLISTED_EQUATION = "named on an 'Equation:' line but not listed"
EMPTY_EQUATION = "empty 'Equation:' line"
UNLISTED_TEST = "a test is named after a label that is not listed"


class Problem(NamedTuple):
    kind: str
    label: str
    where: str = ""


@cache
def _parse(source: str) -> ast.Module:
    """The syntax tree of a source text (cached: the checker's tests run it on many near-identical copies)."""
    return ast.parse(source)


def _label_key(label: str):
    digits = re.sub(r"\D", "", label)
    return ("MAL".find(label[0]) if label[:1] in "MAL" else 9, int(digits) if digits else -1, label)


# ----------------------------------------------------------------------------- the canonical list
def listed_labels(root: Path = ROOT) -> tuple[list[str], list[Problem]]:
    """The labels the README's 'What is where' table lists, in order, and any problem reading them."""
    lines = (Path(root) / "README.md").read_text(encoding="utf-8").splitlines()
    try:
        start = lines.index(TABLE_HEADING)
    except ValueError:
        return [], [Problem(NO_LIST, "", "README.md")]
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        if line.startswith("|") and not re.fullmatch(r"\|[\s|:-]*", line):
            rows.append(line.strip("|").split("|")[0])
    labels, problems = [], []
    for cell in rows[1:]:  # rows[0] is the header
        match = LEADING_LABELS.match(cell)
        if not match:
            continue
        for item in re.split(r"\s*,\s*", match.group(1)):
            ends = re.split(r"\s*[–-]\s*", item)
            if len(ends) == 1:
                labels.append(ends[0])
                continue
            first, last = (re.fullmatch(r"([A-Z])(\d+)", end) for end in ends)
            if not (first and last and first[1] == last[1] and int(first[2]) < int(last[2])):
                problems.append(Problem(BAD_RANGE, item, "README.md"))
                continue
            labels.extend(f"{first[1]}{i}" for i in range(int(first[2]), int(last[2]) + 1))
    if not labels and not problems:
        problems.append(Problem(NO_LIST, "", "README.md"))
    return labels, problems


# ----------------------------------------------------------------------------- the three places
def notebook_labels(root: Path = ROOT) -> dict[str, list[str]]:
    """label -> tutorial files that tag it with \\tag{label} (whatever the tag holds)."""
    found = defaultdict(list)
    for path in sorted((Path(root) / "tutorial").glob("[0-9][0-9]_*.py")):
        for label in sorted(set(TAG.findall(path.read_text(encoding="utf-8")))):
            found[label.strip()].append(path.name)
    return found


def _documented(tree: ast.Module, module: str):
    """(qualified name, docstring) of the module and of every class and function in it."""
    yield module, ast.get_docstring(tree) or ""

    def walk(body, prefix):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}.{node.name}"
                yield name, ast.get_docstring(node) or ""
                yield from walk(node.body, name)

    yield from walk(tree.body, module)


def equation_lines(root: Path = ROOT) -> list[tuple[str, list[str]]]:
    """(qualified name, tokens) for every 'Equation:' line of a docstring under refimpl/.

    The tokens are the line's comma-separated items, stripped; an empty line gives [].
    """
    root = Path(root)
    found = []
    for path in sorted((root / "refimpl").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        for name, doc in _documented(_parse(path.read_text(encoding="utf-8")), module):
            for rest in EQUATION_LINE.findall(doc):
                tokens = [t.strip() for t in rest.split(",")] if rest.strip() else []
                found.append((name, tokens))
    return found


def docstring_labels(root: Path = ROOT, lines=None) -> dict[str, list[str]]:
    """label -> qualified names of the functions and classes whose docstring says Equation: label."""
    found = defaultdict(list)
    for name, tokens in equation_lines(root) if lines is None else lines:
        for token in tokens:
            found[token].append(name)
    return found


def _is_error_context(item: ast.withitem) -> bool:
    call = item.context_expr
    if not isinstance(call, ast.Call):
        return False
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in ERROR_CONTEXTS


def _checks(body: list[ast.stmt], helpers: set[str]) -> bool:
    """True when these statements check a value (by the module's rule), outside error contexts."""
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, (ast.With, ast.AsyncWith)) and any(map(_is_error_context, node.items)):
            continue
        if isinstance(node, ast.Assert) and not isinstance(node.test, ast.Constant):
            return True
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr.startswith("assert"):
                return True
            if isinstance(func, ast.Name) and (func.id.startswith("assert") or func.id in helpers):
                return True
        stack.extend(ast.iter_child_nodes(node))
    return False


def _checking_helpers(functions: dict[str, ast.FunctionDef]) -> set[str]:
    """Names of the non-test functions that check a value, directly or through one another."""
    helpers: set[str] = set()
    candidates = {n: f for n, f in functions.items() if not n.startswith("test")}
    changed = True
    while changed:
        changed = False
        for name, func in candidates.items():
            if name not in helpers and _checks(func.body, helpers):
                helpers.add(name)
                changed = True
    return helpers


def _test_functions(tree: ast.Module):
    """(name, node) of the module-level test functions and the test methods of Test* classes."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for child in node.body:
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and child.name.startswith("test"):
                    yield f"{node.name}::{child.name}", child


def _canonical(key: str) -> str:
    return key[0].upper() + key[1:].lower()


def labelled_tests(root: Path = ROOT) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(counting, not counting): label -> 'tests/file.py::test_name' of the tests named test_<label>_..."""
    tests_dir = Path(root) / "tests"
    shared: dict[str, ast.FunctionDef] = {}
    conftest = tests_dir / "conftest.py"
    if conftest.exists():
        shared = {n.name: n for n in _parse(conftest.read_text(encoding="utf-8")).body
                  if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    counting, not_counting = defaultdict(list), defaultdict(list)
    for path in sorted(tests_dir.glob("test_*.py")):
        tree = _parse(path.read_text(encoding="utf-8"))
        own = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        helpers = _checking_helpers({**shared, **own})
        for name, node in _test_functions(tree):
            match = TEST_NAME.match(node.name)
            if not match:
                continue
            label = _canonical(match.group(1))
            validation = VALIDATION_WORDS.intersection(node.name.lower().split("_"))
            target = counting if not validation and _checks(node.body, helpers) else not_counting
            target[label].append(f"tests/{path.name}::{name}")
    return counting, not_counting


# ----------------------------------------------------------------------------- the checker
def check(root: Path = ROOT) -> list[Problem]:
    """Every problem of traceability in the project at root (README, tutorial/, refimpl/, tests/)."""
    root = Path(root)
    listed, problems = listed_labels(root)
    known = set(listed)
    notebooks = notebook_labels(root)
    equations = equation_lines(root)
    functions = docstring_labels(root, equations)
    counting, not_counting = labelled_tests(root)
    for label in listed:
        if label not in notebooks:
            problems.append(Problem(NOT_TAGGED, label))
        if label not in functions:
            problems.append(Problem(NOT_COMPUTED, label))
        if label not in counting:
            problems.append(Problem(NOT_CHECKED, label, ", ".join(not_counting.get(label, []))))
    for label, files in notebooks.items():
        if label not in known:
            problems.append(Problem(UNLISTED_TAG, label, ", ".join(files)))
    for name, tokens in equations:
        if not tokens:
            problems.append(Problem(EMPTY_EQUATION, "", name))
        for token in tokens:
            if token not in known:
                problems.append(Problem(UNLISTED_EQUATION, token, name))
    for label in sorted(set(counting) | set(not_counting)):
        if label not in known:
            problems.append(Problem(UNLISTED_TEST, label,
                                    ", ".join(counting.get(label, []) + not_counting.get(label, []))))
    return problems


def label_map(root: Path = ROOT):
    """(label, tutorials, functions, counting tests, tests that do not count), listed labels first."""
    listed, _ = listed_labels(root)
    notebooks, functions = notebook_labels(root), docstring_labels(root)
    counting, not_counting = labelled_tests(root)
    others = set(notebooks) | set(functions) | set(counting) | set(not_counting)
    labels = listed + sorted(others - set(listed), key=_label_key)
    return [(label, notebooks.get(label, []), functions.get(label, []), counting.get(label, []),
             not_counting.get(label, [])) for label in labels]


def _report(problems: list[Problem]) -> str:
    return "\n".join(f"  {p.label or '-'}: {p.kind}" + (f" ({p.where})" if p.where else "") for p in problems)


def _of_kind(*kinds):
    return [p for p in check() if p.kind in kinds]


# ----------------------------------------------------------------------------- the tests
def test_the_readme_lists_the_labels():
    """The README's table yields a non-empty list of labels, each once, every range well formed."""
    listed, problems = listed_labels()
    assert not problems, _report(problems)
    assert listed and len(listed) == len(set(listed)), listed


def test_every_listed_label_is_tagged_computed_and_checked():
    """Each listed label is tagged in a tutorial, named by an 'Equation:' line and checked by a counting test."""
    problems = _of_kind(NOT_TAGGED, NOT_COMPUTED, NOT_CHECKED)
    assert not problems, "\n" + _report(problems)


def test_every_tutorial_tag_is_listed():
    """No tutorial tags an equation with a label the README does not list."""
    problems = _of_kind(UNLISTED_TAG)
    assert not problems, "\n" + _report(problems)


def test_every_equation_line_names_listed_labels():
    """Every 'Equation:' line is a non-empty comma-separated list of listed labels."""
    problems = _of_kind(EMPTY_EQUATION, UNLISTED_EQUATION)
    assert not problems, "\n" + _report(problems)


def test_every_labelled_test_names_a_listed_label():
    """No test is named after a label the README does not list."""
    problems = _of_kind(UNLISTED_TEST)
    assert not problems, "\n" + _report(problems)


def main() -> int:
    print("| label | tutorial | computed by | checked by | not counted |\n|---|---|---|---|---|")
    for label, nbs, fns, tsts, others in label_map():
        print(f"| {label} | {', '.join(nbs)} | {'<br>'.join(f'`{f}`' for f in fns)} | "
              f"{'<br>'.join(f'`{t}`' for t in tsts)} | {'<br>'.join(f'`{t}`' for t in others)} |")
    problems = check()
    if problems:
        print("\nproblems:\n" + _report(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
