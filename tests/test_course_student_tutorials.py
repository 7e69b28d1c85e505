"""The student tutorials leave out the code the exercises ask for, and nothing else.

The tests build the student tutorials from a copy of the tutorials to which cells
``show_source(refimpl.<name>)`` are added, one for every library function an exercise asks
for and a few for functions no exercise asks for (the tutorials themselves may hold such
cells or not). The leak check is then shown failing on broken copies: with the hiding
turned off, with an answer pasted into a cell, with only its ``def`` line and first line
pasted, with an answer shown through another spelling, and with an answer in an output.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import json
import pkgutil
import shutil
from pathlib import Path

import pytest

import refimpl
from refimpl.course import student_tutorials as st
from refimpl.course.exercises import EXERCISES, NOTEBOOKS, TUTORIALS
from refimpl.course.notebook import percent_to_ipynb
from refimpl.lab.display import show_source

ROOT = Path(__file__).resolve().parent.parent
TABLE = st.answers()
SHEET_OF = {tutorial: sheet for sheet, tutorial in TUTORIALS.items()}
# shown by the fixture but asked for by no exercise: they stay in the student version
NOT_ASKED = {"01_sigmoid_belief_net": ["refimpl.SigmoidBeliefNet.sample"],
             "04_learning": ["refimpl.gradcheck.central_differences"]}
# a whole class, one of whose methods answers exercises 2.1 and 3.2: hidden, naming both
WHOLE_CLASS = {"03_generator_by_transposition": ("refimpl.CoupledPair", {"2.1", "3.2"})}


def _public_answers(stem: str) -> list:
    """(exercise id, dotted name) of the answers named in the forbidden tuples of the tutorial's exercises."""
    out = []
    for ex in NOTEBOOKS[SHEET_OF[stem]]:
        for name, func in TABLE[ex.id]:
            if not func.__name__.startswith("_") and "." + func.__name__ in "." + name:
                out.append((ex.id, name))
    return out


def _cell(code: str) -> str:
    return f"\n# %%\n{code}\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of the tutorials and sheets, with show_source cells added; its student build in ``out/``."""
    root = tmp_path_factory.mktemp("project")
    (root / "tutorial").mkdir()
    shutil.copytree(ROOT / "tutorial" / "exercises", root / "tutorial" / "exercises")
    for source in sorted((ROOT / "tutorial").glob("[0-9][0-9]_*.py")):
        text = source.read_text(encoding="utf-8")
        text += _cell("import refimpl\nfrom refimpl.lab.display import show_source")
        for _, name in _public_answers(source.stem):
            text += _cell(f"show_source({name})")
        for name in NOT_ASKED.get(source.stem, []) + [WHOLE_CLASS.get(source.stem, ("",))[0]]:
            text += _cell(f"show_source({name})") if name else ""
        (root / "tutorial" / source.name).write_text(text, encoding="utf-8")
    written = st.build(root / "out", root / "tutorial")
    return root, written


def _student(root: Path, stem: str, suffix: str = ".py") -> str:
    return (root / "out" / (stem + suffix)).read_text(encoding="utf-8")


def _stems():
    return [p.stem for p in sorted((ROOT / "tutorial").glob("[0-9][0-9]_*.py"))]


def test_course_student_answers_come_from_the_registry():
    """Every exercise has library code to hide, and each name the registry forbids exists in the package."""
    assert all(TABLE[ex_id] for ex_id in EXERCISES)
    names = set()
    for info in pkgutil.walk_packages(refimpl.__path__, "refimpl."):
        for name, obj in vars(importlib.import_module(info.name)).items():
            names.add(name)
            if inspect.isclass(obj):
                names.update(vars(obj))
    missing = {ex.id: sorted(set(ex.forbidden) - names) for ex in EXERCISES.values() if set(ex.forbidden) - names}
    assert not missing, f"forbidden names that are nowhere in refimpl: {missing}"
    assert "refimpl.gradcheck.central_differences" not in {n for v in TABLE.values() for n, _ in v}


@pytest.mark.parametrize("stem", _stems())
def test_course_student_tutorial_replaces_each_exercised_source_by_one_line(project, stem):
    """Each answer's shown cell becomes one line naming its exercise; cells no exercise asks for stay."""
    root, _ = project
    text = _student(root, stem)
    for ex_id, name in _public_answers(stem):
        assert f"show_source({name})" not in text
        assert f"the source of `{name}` is left out here" in text
        line = next(line for line in text.splitlines() if f"`{name}` is left out" in line)
        assert f" {ex_id}, {EXERCISES[ex_id].title} (`{EXERCISES[ex_id].function}`" in line
    for name in NOT_ASKED.get(stem, []):
        assert f"\n# %%\nshow_source({name})\n" in text
    if stem in WHOLE_CLASS:
        name, ids = WHOLE_CLASS[stem]
        line = next(line for line in text.splitlines() if f"`{name}` is left out" in line)
        assert {i for i in EXERCISES if f" {i}, " in line} == ids


@pytest.mark.parametrize("stem", _stems())
def test_course_student_tutorial_changes_nothing_else(project, stem):
    """Apart from the replaced cells the student source equals the tutorial, line for line."""
    root, _ = project
    before = (root / "tutorial" / f"{stem}.py").read_text(encoding="utf-8").splitlines()
    after = _student(root, stem).splitlines()
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        old, new = before[i1:i2], after[j1:j2]
        assert op == "replace" and len(old) == len(new), (op, old, new)
        for k in range(0, len(old), 2):
            assert old[k: k + 2] == ["# %%", old[k + 1]] and old[k + 1].startswith("show_source(refimpl.")
            assert new[k] == "# %% [markdown]" and new[k + 1].startswith("# *You write this in exercise")


@pytest.mark.parametrize("stem", _stems())
def test_course_student_tutorial_shows_no_answer(project, stem):
    """Neither the student source nor its notebook shows an answer's code, and the notebook matches its source."""
    root, _ = project
    assert st.leaks(_student(root, stem).splitlines()) == []
    nb = json.loads(_student(root, stem, ".ipynb"))
    assert st.leaks(st.notebook_lines(nb)) == []
    assert nb == json.loads(percent_to_ipynb(_student(root, stem)))


def test_course_student_build_leaves_the_tutorials_and_writes_under_build(project):
    """The build reads the tutorials without touching them; by default it writes into the git-ignored build/."""
    root, written = project
    for source in sorted((ROOT / "tutorial").glob("[0-9][0-9]_*.py")):
        assert (root / "tutorial" / source.name).read_text(encoding="utf-8").startswith(source.read_text("utf-8"))
    assert st.STUDENT_DIR.relative_to(ROOT).parts[0] == "build"
    assert "build/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    names = sorted(p.relative_to(root / "out").as_posix() for p, _ in written)
    sheets = sorted(f"exercises/{p.name}" for p in (ROOT / "tutorial" / "exercises").glob("ex*.ipynb"))
    assert names == sorted([f"{s}.py" for s in _stems()] + [f"{s}.ipynb" for s in _stems()] + sheets)


def _executed(source: Path) -> dict:
    """The notebook of ``source`` as if executed: each code cell prints a line, each show_source shows its code."""
    nb = json.loads(percent_to_ipynb(source.read_text(encoding="utf-8")))
    for number, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        shown = st.shown_object("".join(cell["source"]))
        data = ({"text/markdown": show_source(shown[1])._repr_markdown_()} if shown
                else {"text/plain": f"'out {number}'"})
        cell["outputs"] = [{"output_type": "execute_result", "execution_count": number, "metadata": {}, "data": data}]
    return nb


def _copy(project, tmp_path) -> Path:
    root = tmp_path / "copy"
    shutil.copytree(project[0] / "tutorial", root / "tutorial")
    return root / "tutorial"


def test_course_student_notebook_keeps_the_outputs_of_a_current_executed_tutorial(project, tmp_path):
    """A current executed tutorial lends its outputs to every kept cell; a stale one lends none."""
    tutorial = _copy(project, tmp_path)
    source = tutorial / "01_sigmoid_belief_net.py"
    reference = _executed(source)
    (tutorial / "01_sigmoid_belief_net.ipynb").write_text(json.dumps(reference), encoding="utf-8")
    notes = dict((p.name, n) for p, n in st.build(tmp_path / "out", tutorial))
    assert notes["01_sigmoid_belief_net.ipynb"] == "with the reference notebook's outputs"
    student = json.loads((tmp_path / "out" / "01_sigmoid_belief_net.ipynb").read_text(encoding="utf-8"))
    assert len(student["cells"]) == len(reference["cells"])
    replaced = 0
    for old, new in zip(reference["cells"], student["cells"], strict=True):
        if new == old:
            continue
        replaced += 1
        assert new["cell_type"] == "markdown" and "You write this in exercise" in new["source"]
        assert new["id"] == old["id"] and "outputs" not in new
        assert old["cell_type"] == "code" and "".join(old["source"]).startswith("show_source(refimpl.")
    # the answers the fixture adds, and the tutorial's own shown-code cells of answers
    assert replaced >= len(_public_answers("01_sigmoid_belief_net"))
    assert st.leaks(st.notebook_lines(student)) == []
    assert st.leaks(st.notebook_lines(reference)) != []  # the reference shows the answers

    source.write_text(source.read_text(encoding="utf-8") + _cell("x = 1"), encoding="utf-8")
    notes = dict((p.name, n) for p, n in st.build(tmp_path / "out", tutorial))
    assert notes["01_sigmoid_belief_net.ipynb"].startswith("not executed")


# ------------------------------------------------------------------------- broken copies
def test_course_student_leak_check_fails_with_the_hiding_turned_off(project, tmp_path, monkeypatch):
    """Without the replacement every added answer cell would show its code: the build refuses, naming them."""
    tutorial = _copy(project, tmp_path)
    monkeypatch.setattr(st, "exercises_shown", lambda obj, table=None: [])
    with pytest.raises(ValueError, match=r"01_sigmoid_belief_net.py would show an answer: .*log_prob \(exercise 1"):
        st.build(tmp_path / "out", tutorial)
    for stem in _stems():
        found = st.leaks(st.student_text((tutorial / f"{stem}.py").read_text(encoding="utf-8")).splitlines())
        for ex_id, name in _public_answers(stem):
            module, _, qualname = name.partition(".")[2].partition(".")
            assert any(f".{qualname} (exercise {ex_id})" in f for f in found), (name, found)


@pytest.mark.parametrize("how", ["code cell", "markdown cell"])
def test_course_student_leak_check_fails_on_a_pasted_answer(project, tmp_path, how):
    """An answer's source pasted into a cell (not shown through show_source) is found."""
    tutorial = _copy(project, tmp_path)
    code = show_source(refimpl.SigmoidBeliefNet.log_prob).code
    cell = _cell(code) if how == "code cell" else "\n# %% [markdown]\n" + "".join(f"#     {line}\n"
                                                                              for line in code.splitlines())
    path = tutorial / "01_sigmoid_belief_net.py"
    path.write_text(path.read_text(encoding="utf-8") + cell, encoding="utf-8")
    with pytest.raises(ValueError, match=r"SigmoidBeliefNet\.log_prob \(exercise 1\.1\): \d+ of its lines"):
        st.build(tmp_path / "out", tutorial)


def test_course_student_leak_check_fails_on_a_def_line_followed_by_its_body(project, tmp_path):
    """A one-line answer's def line and body, pasted, are found although its one line alone would not be."""
    tutorial = _copy(project, tmp_path)
    code = show_source(refimpl.transposed_generator).code.splitlines()
    body = [line for line in st._meaningful(code) if line not in st._common_lines()]
    definition = next(line for line in code if line.startswith("def "))
    path = tutorial / "03_generator_by_transposition.py"
    path.write_text(path.read_text(encoding="utf-8") + _cell(f"{definition}\n    {body[-1]}"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"transposed_generator \(exercise 3\.1\)"):
        st.build(tmp_path / "out", tutorial)


@pytest.mark.parametrize("code", ["show_source(net.log_prob)",
                                  "show_source(refimpl.SigmoidBeliefNet.log_prob); x = 1",
                                  "src = show_source(refimpl.forward.mean_pass)",
                                  "show_source(refimpl.no_such_function)"])
def test_course_student_build_refuses_a_show_source_it_cannot_read(project, tmp_path, code):
    """A show_source cell in another form than show_source(refimpl.<name>) is refused, not passed through."""
    tutorial = _copy(project, tmp_path)
    path = tutorial / "02_forward_pass_as_inference.py"
    path.write_text(path.read_text(encoding="utf-8") + _cell(code), encoding="utf-8")
    with pytest.raises(ValueError, match=r"02_forward_pass_as_inference.py, cell \d+ (must have show_source|shows)"):
        st.build(tmp_path / "out", tutorial)


def test_course_student_leak_check_fails_on_an_answer_in_an_output(project, tmp_path):
    """An executed tutorial whose kept cell printed an answer's source: the student notebook is refused."""
    tutorial = _copy(project, tmp_path)
    reference = _executed(tutorial / "05_experiment.py")
    first = next(c for c in reference["cells"] if c["cell_type"] == "code")
    first["outputs"] = [{"output_type": "stream", "name": "stdout",
                         "text": inspect.getsource(refimpl.importance_log_likelihood)}]
    (tutorial / "05_experiment.ipynb").write_text(json.dumps(reference), encoding="utf-8")
    with pytest.raises(ValueError, match=r"05_experiment.ipynb would show an answer: .*importance_log_likelihood"):
        st.build(tmp_path / "out", tutorial)
