"""The exercises as an nbgrader course: solution cells with nbgrader's markers, test cells calling the same checks.

``python -m refimpl.course.make_exercises --nbgrader DIR`` writes, for a teacher who grades with
nbgrader (Jupyter's own grader, on JupyterHub or offline)::

    DIR/nbgrader_config.py
    DIR/source/exNN_<name>/exNN_<name>.ipynb      one assignment per exercise sheet

Each sheet's solution cells (the ``def`` of an exercise, whose body is between
``### BEGIN SOLUTION`` and ``### END SOLUTION``) are nbgrader solution cells; after each, one
autograded, locked test cell per check of the exercise, worth the check's points, calls
:func:`check`, which runs that check in the notebook's kernel exactly as the grader's checks
run (:mod:`refimpl.course.worker`), and fails with the check's message. With ``--secret-file``
each test cell also runs the check on the teacher's seed inside nbgrader's hidden-test
markers, which ``nbgrader generate_assignment`` removes from the students' version. Then::

    cd DIR
    nbgrader generate_assignment ex02_forward_pass_as_inference   # release/: the students' version
    nbgrader autograde ex02_forward_pass_as_inference              # submitted/<student>/...: graded

nbgrader runs a student's notebook in one kernel, checks included, so its grades rest on
nbgrader's own isolation; ``python -m refimpl.course.grade`` keeps the student's code apart
from the verdict.
"""

from __future__ import annotations

import json
from pathlib import Path

from .exercises import EXERCISES, NOTEBOOKS
from .notebook import BEGIN, called_names, read_percent
from .registry import CheckFailed, StudentError, run_check
from .worker import DEFAULT_SECRET, check_rng, in_process_call

__all__ = ["check", "course_config", "nbgrader_notebook", "write_course"]

_SCHEMA = 3


def check(exercise_id: str, index: int, func, secret: str = DEFAULT_SECRET) -> None:
    """Run check ``index`` of an exercise on ``func`` in this kernel; ``AssertionError`` with its message if it fails.

    Examples
    --------
    >>> import refimpl
    >>> try:
    ...     check("2.1", 0, refimpl.mean_pass)
    ... except AssertionError as err:
    ...     print(str(err)[:50])
    M6: write mean_pass yourself; it uses refimpl's ow
    """
    exercise = EXERCISES[exercise_id]
    reached = called_names(func, getattr(func, "__globals__", {}))
    if str(getattr(func, "__module__", "")).startswith("refimpl"):
        reached.add(getattr(func, "__name__", ""))
    hits = sorted(set(exercise.forbidden) & reached)
    if hits:
        raise AssertionError(f"{exercise.label}: write {exercise.function} yourself; it uses refimpl's own "
                             f"implementation of this exercise ({', '.join(hits)})")

    item = exercise.checks[index]
    try:
        run_check(item, check_rng(secret, exercise_id, index), in_process_call(func, exercise.function))
    except CheckFailed as err:
        raise AssertionError(f"{exercise.label}: {err}") from None
    except StudentError as err:
        raise AssertionError(str(err)) from None
    print(f"passed: {item.sentence} ({item.points} point{'s' if item.points != 1 else ''})")


def _cell(kind: str, source: str, nbgrader=None) -> dict:
    lines = source.strip("\n").splitlines()
    cell = {"cell_type": kind, "metadata": {"nbgrader": nbgrader} if nbgrader else {},
            "source": [line + "\n" for line in lines[:-1]] + lines[-1:]}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _test_source(exercise, index: int, secret) -> str:
    item = exercise.checks[index]
    lines = [f"# {item.sentence} ({item.points} point{'s' if item.points != 1 else ''})",
             "from refimpl.course.release import check", "",
             f"check({exercise.id!r}, {index}, {exercise.function})"]
    if secret is not None:
        lines += ["### BEGIN HIDDEN TESTS", f"check({exercise.id!r}, {index}, {exercise.function}, secret={secret!r})",
                  "### END HIDDEN TESTS"]
    return "\n".join(lines)


def nbgrader_notebook(solution_text: str, stem: str, secret=None) -> str:
    """The nbgrader source notebook (JSON) of a solution sheet: solution cells marked, test cells added."""
    exercises = {ex.function: ex for ex in NOTEBOOKS[stem]}
    cells = []
    for cell in read_percent(solution_text).cells:
        source = cell.source.strip("\n")
        if cell.cell_type == "code" and not source.strip():
            continue
        solved = [name for name in exercises if f"def {name}(" in source] if BEGIN in source else []
        if cell.cell_type != "code" or not solved:
            cells.append(_cell(cell.cell_type, source))
            continue
        exercise = exercises[solved[0]]
        cells.append(_cell("code", source, {"grade": False, "grade_id": exercise.function, "locked": False,
                                            "schema_version": _SCHEMA, "solution": True, "task": False}))
        for index, item in enumerate(exercise.checks):
            cells.append(_cell("code", _test_source(exercise, index, secret), {
                "grade": True, "grade_id": f"check_{exercise.id.replace('.', '_')}_{index + 1}", "locked": True,
                "points": item.points, "schema_version": _SCHEMA, "solution": False, "task": False}))
    for number, entry in enumerate(cells, start=1):
        entry["id"] = f"cell-{number:02d}"
    notebook = {"cells": cells, "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def course_config() -> str:
    """The ``nbgrader_config.py`` of the course folder."""
    return (
        '"""nbgrader configuration of the refimpl exercises (written by refimpl.course.make_exercises)."""\n\n'
        "c = get_config()  # noqa: F821 (nbgrader defines it)\n"
        'c.CourseDirectory.course_id = "refimpl"\n'
        "c.ExecutePreprocessor.timeout = 300  # seconds per cell: a check averages many stochastic calls\n"
    )


def write_course(out_dir, solutions_dir, secret=None) -> list:
    """Write the nbgrader course source of every sheet into ``out_dir``; return the files written."""
    out_dir = Path(out_dir)
    written = []
    (out_dir / "source").mkdir(parents=True, exist_ok=True)
    config = out_dir / "nbgrader_config.py"
    config.write_text(course_config(), encoding="utf-8")
    written.append(config)
    for stem in NOTEBOOKS:
        folder = out_dir / "source" / stem
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{stem}.ipynb"
        path.write_text(nbgrader_notebook((Path(solutions_dir) / f"{stem}.py").read_text(encoding="utf-8"), stem,
                                          secret), encoding="utf-8")
        written.append(path)
    return written
