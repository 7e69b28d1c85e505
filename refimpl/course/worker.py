"""Grading one exercise: in this process (:func:`score_function`) or in a child process (:func:`run_in_child`).

:func:`score_function` runs an exercise's checks on a function and reports, per check,
whether it passed and, if not, what is off (never the expected value). A function that
calls ``refimpl``'s own implementation of the exercise scores zero.

:func:`run_in_child` is what :mod:`refimpl.course.grader` starts in a fresh process for
each exercise: it sends a start signal, reads the notebook's code cells, runs only its
definitions (:func:`refimpl.course.notebook.extract_definitions`) in a fresh namespace,
scores the exercise's function, and sends the result back. Its standard output and
error go to a log file, so nothing a student prints reaches the grader's report.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import numpy as np  # noqa: F401  (imported once in the fork server, not once per exercise)

import refimpl  # noqa: F401

from .exercises import EXERCISES
from .notebook import SUBMISSION, called_names, code_cells, extract_definitions
from .registry import CheckFailed

__all__ = ["OUTCOMES", "describe_error", "result_record", "run_in_child", "score_function", "score_notebook"]

#: every outcome an exercise can have
OUTCOMES = ("passed", "partial", "failed", "not implemented", "forbidden", "missing", "timeout", "crashed")


def result_record(exercise, outcome: str, checks=(), message: str = "") -> dict:
    """The result of grading one exercise, as sent between processes and written to JSON."""
    points = sum(c["points"] for c in checks if c["passed"])
    if not message:
        failed = [c for c in checks if not c["passed"]]
        message = f"{failed[0]['sentence']}: {failed[0]['message']}" if failed else ""
    return {
        "exercise": exercise.id, "function": exercise.function, "label": exercise.label, "title": exercise.title,
        "points": points, "max_points": exercise.points, "outcome": outcome, "message": message, "checks": list(checks),
    }


def describe_error(err: BaseException, marker: str = "cell ") -> str:
    """``Type: message``, with the notebook cell and line of the student's code it came from, if any."""
    where = ""
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        if frame.filename.startswith("<") and marker in frame.filename:
            where = f" (in {frame.filename.strip('<>')}, line {frame.lineno})"
            break
    text = str(err)
    return f"{type(err).__name__}: {text[:300]}{'...' if len(text) > 300 else ''}{where}"


def score_function(exercise, func, namespace=None) -> dict:
    """Run every check of ``exercise`` on ``func`` in this process; return the result record.

    Parameters
    ----------
    exercise : refimpl.course.registry.Exercise
    func : callable
        The student's function.
    namespace : dict, optional
        The submission's namespace; if given, ``func`` may not reach any name of
        ``exercise.forbidden`` (refimpl's own implementation of the exercise).
    """
    if namespace is not None:
        hits = sorted(set(exercise.forbidden) & called_names(func, namespace))
        if hits:
            return result_record(exercise, "forbidden", message=(
                f"{exercise.label}: write {exercise.function} yourself; it uses {', '.join(hits)}, "
                "refimpl's own implementation of this exercise"))
    checks, not_implemented = [], 0
    for check in exercise.checks:
        entry = {"sentence": check.sentence, "points": check.points, "passed": False, "message": ""}
        try:
            check.run(func)
            entry["passed"] = True
        except CheckFailed as err:
            entry["message"] = f"{exercise.label}: {err}"
        except NotImplementedError as err:
            not_implemented += 1
            entry["message"] = describe_error(err)
        except (Exception, SystemExit) as err:  # the student's code failed: this check fails, grading goes on
            entry["message"] = describe_error(err)
        checks.append(entry)
    passed = sum(c["passed"] for c in checks)
    if passed == len(checks):
        outcome = "passed"
    elif not_implemented == len(checks):
        outcome = "not implemented"
    else:
        outcome = "partial" if passed else "failed"
    return result_record(exercise, outcome, checks)


def score_notebook(path, exercise_id: str) -> dict:
    """Extract the definitions of the notebook at ``path`` into a fresh namespace and score one exercise."""
    exercise = EXERCISES[exercise_id]
    path = Path(path)
    code, problems = extract_definitions(code_cells(path), name=path.name)
    namespace = {"__name__": SUBMISSION}
    for statement in code:
        try:
            exec(statement, namespace)
        except Exception as err:  # a failing import or definition: reported if the function is then missing
            problems.append(describe_error(err))
    func = namespace.get(exercise.function)
    if not callable(func):
        hint = f"; problems: {'; '.join(problems)}" if problems else ""
        return result_record(exercise, "missing", message=(
            f"{exercise.label}: no function named {exercise.function} in {path.name}{hint}"))
    return score_function(exercise, func, namespace)


def run_in_child(path: str, exercise_id: str, log_path: str, conn) -> None:
    """Entry point of a grading child process: signal the start, score one exercise, send the result.

    Standard output and error (file descriptors 1 and 2) are redirected to ``log_path``.
    """
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    sys.stdout.flush(), sys.stderr.flush()
    os.dup2(log, 1), os.dup2(log, 2)
    os.close(log)
    conn.send(("started", None))
    os.chdir(Path(path).parent)
    conn.send(("result", score_notebook(path, exercise_id)))
    sys.stdout.flush(), sys.stderr.flush()
    conn.close()
