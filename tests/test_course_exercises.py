"""The exercise notebooks are written once: the student versions are generated from the solutions.

The committed student versions equal a fresh build, no line of a solution reaches them, each
exercise raises a NotImplementedError that names its equation, the notebooks import refimpl
and redefine none of it beyond their exercises, and the solutions run top to bottom (their
shown checks assert).
"""

from __future__ import annotations

import ast
import json
import re
import runpy
from pathlib import Path

import pytest

import refimpl
from refimpl.course import make_exercises
from refimpl.course.exercises import EXERCISES, NOTEBOOKS
from refimpl.course.make_exercises import EXERCISES_DIR, SOLUTIONS_DIR
from refimpl.course.notebook import BEGIN, END, read_percent, strip_solutions


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """The student versions written now, from the solutions, into a temporary folder."""
    out = tmp_path_factory.mktemp("student_versions")
    make_exercises.build(SOLUTIONS_DIR, out)
    return out


def _solution_lines(stem: str) -> set:
    """The non-blank lines between the solution markers of a solution notebook, stripped."""
    lines, inside = set(), False
    for line in (SOLUTIONS_DIR / f"{stem}.py").read_text().splitlines():
        if line.strip() in (BEGIN, END):
            inside = line.strip() == BEGIN
        elif inside and line.strip():
            lines.add(line.strip())
    return lines


def test_course_committed_student_versions_equal_a_fresh_build(fresh):
    """Regenerating the student versions changes no byte of the committed ones (and makes no other file)."""
    built = sorted(p.name for p in fresh.iterdir())
    assert built == sorted(f"{stem}{suffix}" for stem in NOTEBOOKS for suffix in (".py", ".ipynb"))
    committed = sorted(p.name for p in EXERCISES_DIR.glob("ex*") if p.is_file())
    assert committed == built
    differ = [name for name in built if (fresh / name).read_bytes() != (EXERCISES_DIR / name).read_bytes()]
    assert not differ, f"stale student versions (run python -m refimpl.course.make_exercises): {differ}"
    assert make_exercises.main(["--check"]) == 0


@pytest.mark.parametrize("stem", list(NOTEBOOKS))
def test_course_no_solution_text_reaches_the_student_version(fresh, stem):
    """No line of a solution block, and no marker, appears in the student .py or in any cell of the .ipynb."""
    solution = _solution_lines(stem)
    assert solution, "the solution notebook has solution blocks"
    py = (fresh / f"{stem}.py").read_text()
    cells = json.loads((fresh / f"{stem}.ipynb").read_text())["cells"]
    ipynb = "\n".join("".join(cell["source"]) for cell in cells)
    for text in (py, ipynb):
        student = {line.strip() for line in text.splitlines()}
        assert not solution & student, sorted(solution & student)
        assert "SOLUTION" not in text


@pytest.mark.parametrize("stem", list(NOTEBOOKS))
def test_course_student_version_raises_the_hint_naming_the_equation(fresh, stem):
    """Each exercise's function body is one raise NotImplementedError whose message starts with its label."""
    tree = ast.parse((fresh / f"{stem}.py").read_text())
    bodies = {node.name: node.body for node in tree.body if isinstance(node, ast.FunctionDef)}
    for ex in NOTEBOOKS[stem]:
        body = [node for node in bodies[ex.function] if not isinstance(node, ast.Expr)]  # skip the docstring
        assert len(body) == 1 and isinstance(body[0], ast.Raise)
        assert body[0].exc.func.id == "NotImplementedError"
        hint = body[0].exc.args[0].value
        assert hint == ex.hint and hint.startswith(f"{ex.label}: implement ")


@pytest.mark.parametrize("stem", list(NOTEBOOKS))
def test_course_student_notebook_is_valid_and_matches_its_source(fresh, stem):
    """The .ipynb is a valid nbformat 4 notebook with the cells jupytext reads from the .py."""
    nbformat = pytest.importorskip("nbformat")
    jupytext = pytest.importorskip("jupytext")
    nb = nbformat.read(fresh / f"{stem}.ipynb", as_version=4)
    nbformat.validate(nb)
    reference = jupytext.read(fresh / f"{stem}.py")
    assert [(c.cell_type, c.source) for c in nb.cells] == [(c.cell_type, c.source) for c in reference.cells]
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("stem", list(NOTEBOOKS))
def test_course_notebook_imports_refimpl_and_defines_only_its_exercises(stem):
    """A solution notebook imports refimpl, defines every exercise function once, and redefines no public
    name of refimpl other than its exercises."""
    source = (SOLUTIONS_DIR / f"{stem}.py").read_text()
    tree = ast.parse(source)
    defined = [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    functions = [ex.function for ex in NOTEBOOKS[stem]]
    assert all(defined.count(name) == 1 for name in functions)
    public = set(refimpl.__all__) | {name for module in vars(refimpl).values() if hasattr(module, "__all__")
                                     for name in module.__all__}
    assert not (set(defined) - set(functions)) & public
    assert any(isinstance(node, ast.Import) and node.names[0].name == "refimpl" for node in tree.body)
    assert [ex.id for ex in NOTEBOOKS[stem]] == [ex.id for ex in EXERCISES.values() if ex.notebook == stem]


@pytest.mark.parametrize("stem", list(NOTEBOOKS))
def test_course_solution_notebook_runs_top_to_bottom(stem, monkeypatch, capsys):
    """The solution notebook runs as a script; its shown checks (asserts against refimpl) hold."""
    monkeypatch.chdir(SOLUTIONS_DIR)
    runpy.run_path(str(SOLUTIONS_DIR / f"{stem}.py"), run_name="__main__")
    assert "max |mine" in capsys.readouterr().out or stem == "ex05_experiment"


@pytest.mark.parametrize("stem", list(NOTEBOOKS))
def test_course_student_notebook_runs_until_the_first_exercise(fresh, stem, monkeypatch):
    """The student version's set-up cells run; the first shown check stops at the first exercise's hint."""
    monkeypatch.chdir(fresh)
    first = NOTEBOOKS[stem][0]
    with pytest.raises(NotImplementedError, match=f"^{re.escape(first.hint)}$"):
        runpy.run_path(str(fresh / f"{stem}.py"), run_name="__main__")


def test_course_strip_solutions_handles_every_marker():
    """Solution blocks become the hint's raise, '# solution' drops the rest of its cell, a cell tagged
    'solution' is dropped whole; markdown is left alone."""
    text = ("# %% [markdown]\n# ### BEGIN SOLUTION in prose\n\n"
            "# %%\ndef f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n\n"
            "# %%\nshown = 1\n# solution\nanswer = 42\n\n"
            "# %% [markdown] tags=[\"solution\"]\n# The worked answer.\n\n# %%\nlast = 2\n")
    out = strip_solutions(text, {"f": "M0: implement f"})
    assert 'raise NotImplementedError("M0: implement f")' in out and "return x + y" not in out
    assert "shown = 1" in out and "answer = 42" not in out and "worked answer" not in out
    assert "last = 2" in out and "# ### BEGIN SOLUTION in prose" in out
    assert [c.cell_type for c in read_percent(out).cells] == ["markdown", "code", "code", "code"]


@pytest.mark.parametrize(("text", "match"), [
    ("# %%\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n", "without"),
    ("# %%\ndef f():\n    return 1\n    ### END SOLUTION\n", "without"),
    ("# %%\ndef g():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n", "no exercise"),
])
def test_course_strip_solutions_rejects_bad_markers(text, match):
    """Unmatched markers, or a solution in a function that is no exercise, stop the build with a message."""
    with pytest.raises(ValueError, match=match):
        strip_solutions(text, {"f": "M0: implement f"})


def test_course_build_refuses_an_exercise_without_solution_block(tmp_path):
    """If an exercise's function lost its solution markers, make_exercises says which exercise."""
    for stem in NOTEBOOKS:
        text = (SOLUTIONS_DIR / f"{stem}.py").read_text()
        if stem.startswith("ex02"):
            start, end = text.index(BEGIN), text.index(END) + len(END)
            text = text[:start] + text[start + len(BEGIN):end - len(END)] + text[end:]
        (tmp_path / f"{stem}.py").write_text(text)
    with pytest.raises(ValueError, match=r"exercise 2\.1 \(mean_pass\)"):
        make_exercises.build(tmp_path, tmp_path / "out")
    assert Path(make_exercises.EXERCISES_DIR).is_dir()
