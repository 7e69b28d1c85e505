"""The label checker of tests/test_labels.py fails where it should.

Each test copies the checker's inputs (README.md, tutorial/NN_*.py, refimpl/**/*.py,
tests/*.py) into a temporary folder, breaks the copy in one way, runs
``check(copy)`` and asserts that it reports exactly the problems the break
causes on top of those it reports for the intact project.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("label_checker", ROOT / "tests" / "test_labels.py")
labels = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(labels)

LISTED, _ = labels.listed_labels(ROOT)
UNLISTED = "M99"


def _inputs(root: Path):
    yield root / "README.md"
    yield from (root / "tutorial").glob("[0-9][0-9]_*.py")
    yield from (root / "refimpl").rglob("*.py")
    yield from (root / "tests").glob("*.py")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A copy of the checker's inputs, and what the checker reports for it."""
    copy = tmp_path_factory.mktemp("pristine")
    for path in _inputs(ROOT):
        target = copy / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return copy, labels.check(copy)


@pytest.fixture
def copy(pristine, tmp_path):
    root = tmp_path / "project"
    shutil.copytree(pristine[0], root)
    return root


def _new_problems(root, pristine):
    """The problems check(root) reports beyond those of the intact copy, as sorted (kind, label, where)."""
    before = list(pristine[1])
    after = labels.check(root)
    for p in before:
        assert p in after, f"breaking the copy made the checker lose a problem: {p}"
        after.remove(p)
    return sorted(after)


def _key(label):
    return label.lower()


def _edit(path: Path, edit):
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")


def _remove_tests(root: Path, label: str) -> list[str]:
    """Delete every test named test_<label>_... (with its decorators); return 'file::name' of each."""
    removed = []
    for path in sorted((root / "tests").glob("test_*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines(keepends=True)
        spans = []
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith(f"test_{_key(label)}_"):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                spans.append((first - 1, node.end_lineno))
                removed.append(f"{path.name}::{node.name}")
        for start, end in sorted(spans, reverse=True):
            del lines[start:end]
        path.write_text("".join(lines), encoding="utf-8")
    return removed


def _append_test(root: Path, source: str, file="test_sbn.py"):
    _edit(root / "tests" / file, lambda s: s + "\n\n" + source)


def _equation_line(root: Path, qualname: str) -> tuple[Path, int]:
    """(file, 0-based line index) of the 'Equation:' line in the docstring of refimpl's qualname."""
    parts = qualname.split(".")
    for n in range(len(parts), 0, -1):
        path = root.joinpath(*parts[:n]).with_suffix(".py")
        if path.exists():
            break
    node = ast.parse(path.read_text(encoding="utf-8"))
    for name in parts[n:]:
        node = next(c for c in node.body if getattr(c, "name", None) == name)
    doc = node.body[0]
    lines = path.read_text(encoding="utf-8").splitlines()
    hits = [i for i in range(doc.lineno - 1, doc.end_lineno) if re.match(r"\s*Equation:", lines[i])]
    assert len(hits) == 1, (qualname, hits)
    return path, hits[0]


def _rewrite_equation_line(root: Path, qualname: str, rest: str):
    path, i = _equation_line(root, qualname)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[i] = re.sub(r"Equation:.*", lambda m: "Equation:" + rest, lines[i], count=1)
    path.write_text("".join(lines), encoding="utf-8")


def _line_whose_label_is_also_elsewhere() -> tuple[str, str]:
    """(function, label) of an 'Equation:' line naming one label that another function also names."""
    functions = labels.docstring_labels(ROOT)
    for name, tokens in labels.equation_lines(ROOT):
        if len(tokens) == 1 and len(set(functions[tokens[0]])) > 1:
            return name, tokens[0]
    raise AssertionError("no 'Equation:' line names a single label that another function names too")


# ----------------------------------------------------------------------------- the copy itself
def test_the_intact_copy_reports_what_the_project_reports(pristine):
    assert labels.check(pristine[0]) == labels.check(ROOT) == pristine[1]
    assert LISTED


# ----------------------------------------------------------------------------- A1: the list is canonical
@pytest.mark.parametrize("label", LISTED)
def test_a_label_removed_everywhere_is_missing_in_all_three_places(copy, pristine, label):
    """Drop the label's tags, its 'Equation:' tokens and its tests' names: the README still lists it."""
    for path in (copy / "tutorial").glob("[0-9][0-9]_*.py"):
        _edit(path, lambda s: s.replace(f"\\tag{{{label}}}", ""))

    def drop(match):
        tokens = [t.strip() for t in match.group(2).split(",")]
        kept = [t for t in tokens if t != label]
        return "" if not kept else f"{match.group(1)} {', '.join(kept)}\n"

    for path in (copy / "refimpl").rglob("*.py"):
        _edit(path, lambda s: re.sub(r"^([ \t]*Equation:)([^\n]*)\n", drop, s, flags=re.MULTILINE))
    for path in (copy / "tests").glob("test_*.py"):
        _edit(path, lambda s: re.sub(rf"\bdef test_{_key(label)}_", "def test_gone_", s))
    assert labels.listed_labels(copy)[0] == LISTED
    assert [(p.kind, p.label) for p in _new_problems(copy, pristine)] == sorted(
        [(labels.NOT_TAGGED, label), (labels.NOT_COMPUTED, label), (labels.NOT_CHECKED, label)])


def test_a_tag_not_listed_fails(copy, pristine):
    _edit(copy / "tutorial" / min(p.name for p in (ROOT / "tutorial").glob("[0-9][0-9]_*.py")),
          lambda s: s + f"\n# %% [markdown]\n# $$ x = 1 \\tag{{{UNLISTED}}} $$\n")
    assert [(p.kind, p.label) for p in _new_problems(copy, pristine)] == [(labels.UNLISTED_TAG, UNLISTED)]


def test_a_test_named_after_a_label_not_listed_fails(copy, pristine):
    _append_test(copy, f"def test_{_key(UNLISTED)}_x():\n    assert 1 + 1 == 2\n")
    assert [(p.kind, p.label) for p in _new_problems(copy, pristine)] == [(labels.UNLISTED_TEST, UNLISTED)]


def test_the_readme_table_is_parsed_with_ranges(tmp_path):
    (tmp_path / "README.md").write_text(
        "# x\n\n## What is where\n\n| equation | module |\n|---|---|\n"
        "| M1–M3 three | a |\n| M4 one | b |\n| M5-M6, A1, A2 hyphen | c |\n"
        "| Monte Carlo ground truth | d |\n| L0, L1, L1u, L2 rules | e |\n| MNIST data | f |\n"
        "\n## Next\n\n| M7 not in the table | g |\n", encoding="utf-8")
    assert labels.listed_labels(tmp_path) == (
        ["M1", "M2", "M3", "M4", "M5", "M6", "A1", "A2", "L0", "L1", "L1u", "L2"], [])


@pytest.mark.parametrize("readme, kind", [
    ("# x\n\nno table\n", labels.NO_LIST),
    ("## What is where\n\n| equation |\n|---|\n| nothing here |\n", labels.NO_LIST),
    ("## What is where\n\n| equation |\n|---|\n| M5–M2 backwards |\n", labels.BAD_RANGE),
    ("## What is where\n\n| equation |\n|---|\n| M1–A3 mixed |\n", labels.BAD_RANGE),
], ids=["no-section", "no-labels", "backwards-range", "mixed-range"])
def test_a_readme_without_a_clean_list_fails(tmp_path, readme, kind):
    (tmp_path / "README.md").write_text(readme, encoding="utf-8")
    assert [p.kind for p in labels.listed_labels(tmp_path)[1]] == [kind]


# ----------------------------------------------------------------------------- A2: only asserting tests count
@pytest.mark.parametrize("label", LISTED)
def test_a_label_whose_only_test_passes_is_unchecked(copy, pristine, label):
    assert _remove_tests(copy, label)
    _append_test(copy, f"def test_{_key(label)}_x():\n    pass\n")
    assert _new_problems(copy, pristine) == [
        labels.Problem(labels.NOT_CHECKED, label, f"tests/test_sbn.py::test_{_key(label)}_x")]


@pytest.mark.parametrize("body", [
    "    assert True\n",
    "    x = 1 + 1\n    np.allclose(x, 2)\n",
    "    with pytest.raises(ValueError):\n        int('x')\n",
    "    with pytest.raises(ValueError):\n        assert int('x') == 0\n",
    "    def inner():\n        assert False\n",
    "    _helper_that_only_computes()\n",
], ids=["assert-constant", "no-assert", "only-raises", "assert-inside-raises", "assert-in-unused-inner",
        "helper-without-assert"])
def test_a_test_without_a_value_check_does_not_count(copy, pristine, body):
    assert _remove_tests(copy, "M7")
    _append_test(copy, "def _helper_that_only_computes():\n    return 1 + 1\n\n\n"
                       f"def test_m7_x():\n{body}")
    assert [(p.kind, p.label) for p in _new_problems(copy, pristine)] == [(labels.NOT_CHECKED, "M7")]


@pytest.mark.parametrize("body", [
    "    assert 1 + 1 == 2\n",
    "    np.testing.assert_allclose(1 + 1, 2)\n",
    "    assert_allclose(1 + 1, 2)\n",
    "    _check_two()\n",
    "    _calls_check_two()\n",
    "    with pytest.raises(ValueError):\n        int('x')\n    assert 1 + 1 == 2\n",
], ids=["assert", "np-testing", "bare-assert-call", "asserting-helper", "helper-of-helper", "raises-then-assert"])
def test_a_test_that_checks_a_value_counts(copy, pristine, body):
    assert _remove_tests(copy, "M7")
    _append_test(copy, "def _check_two():\n    assert 1 + 1 == 2\n\n\n"
                       "def _calls_check_two():\n    _check_two()\n\n\n"
                       f"def test_m7_x():\n{body}")
    assert _new_problems(copy, pristine) == []


def test_an_asserting_helper_in_conftest_counts(copy, pristine):
    assert _remove_tests(copy, "M7")
    (copy / "tests" / "conftest.py").write_text("def check_two():\n    assert 1 + 1 == 2\n", encoding="utf-8")
    _append_test(copy, "def test_m7_x():\n    check_two()\n")
    assert _new_problems(copy, pristine) == []


def test_tests_renamed_to_rejects_do_not_count(copy, pristine):
    """Rename every test of M4 to test_m4_rejects_...: validation tests do not check M4."""
    counting, _ = labels.labelled_tests(ROOT)
    assert counting["M4"]
    for path in (copy / "tests").glob("test_*.py"):
        _edit(path, lambda s: re.sub(r"\bdef test_m4_(?!rejects_)", "def test_m4_rejects_", s))
    assert [(p.kind, p.label) for p in _new_problems(copy, pristine)] == [(labels.NOT_CHECKED, "M4")]


@pytest.mark.parametrize("word", ["rejects", "refuses", "raises", "invalid", "bad"])
def test_a_validation_name_does_not_count_even_with_an_assert(copy, pristine, word):
    assert _remove_tests(copy, "M7")
    _append_test(copy, f"def test_m7_{word}_x():\n    assert 1 + 1 == 2\n")
    assert [(p.kind, p.label) for p in _new_problems(copy, pristine)] == [(labels.NOT_CHECKED, "M7")]


# ----------------------------------------------------------------------------- A3: 'Equation:' lines
@pytest.mark.parametrize("rest", ["", "   "], ids=["empty", "blank"])
def test_an_empty_equation_line_fails(copy, pristine, rest):
    name, _ = _line_whose_label_is_also_elsewhere()
    _rewrite_equation_line(copy, name, rest)
    assert _new_problems(copy, pristine) == [labels.Problem(labels.EMPTY_EQUATION, "", name)]


def test_an_equation_line_naming_a_label_not_listed_fails(copy, pristine):
    name, label = _line_whose_label_is_also_elsewhere()
    _rewrite_equation_line(copy, name, f" {label}, {UNLISTED}")
    assert _new_problems(copy, pristine) == [labels.Problem(labels.UNLISTED_EQUATION, UNLISTED, name)]


def test_a_malformed_equation_line_fails(copy, pristine):
    name, label = _line_whose_label_is_also_elsewhere()
    _rewrite_equation_line(copy, name, f" {label} (the recursion)")
    assert _new_problems(copy, pristine) == [
        labels.Problem(labels.UNLISTED_EQUATION, f"{label} (the recursion)", name)]
