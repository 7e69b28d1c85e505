"""Running a student's function for the grader: in a child process (:func:`child_main`) or in this one.

The grader (:mod:`refimpl.course.grader`) starts :func:`child_main` in a fresh process for each
exercise. The child

1. makes itself a process group of its own (so the grader can kill it with every process it
   starts), sends its standard output and error to a log, and works in a folder that holds
   only a read-only copy of its submission;
2. reads the submission's definitions (:func:`refimpl.course.notebook.extract_definitions`),
   imports the libraries they name, guards the library's own implementation of the exercise
   and raises its walls (:mod:`refimpl.course.sandbox`), then runs the definitions;
3. answers the grader's requests: each is one call, with arguments the grader made; the answer
   is the call's output as plain data (:mod:`refimpl.course.probes`), or the student's error.

The child never sees what the grader expects and never reports a verdict: the grader
compares the outputs in its own process. :func:`score_function` runs the same checks with
the calls made in this process (the tests of the course, and nbgrader's test cells, use it).
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
import os
import pickle
import sys
import traceback
from pathlib import Path

import numpy as np

import refimpl  # noqa: F401  (imported once in the fork server, not once per exercise)

from .exercises import EXERCISES  # the registry (imported in the fork server too)
from .notebook import SUBMISSION, called_names, extract_definitions
from .probes import decode, encode, run_probe, state
from .registry import CheckFailed, StudentError, run_check

__all__ = ["DEFAULT_SECRET", "OUTCOMES", "GradingStopped", "check_rng", "child_main", "compare_state",
           "describe_error", "grade_checks", "in_process_call", "plain", "result_record", "score_function",
           "score_notebook", "validate_record"]

#: every outcome an exercise can have
OUTCOMES = ("passed", "partial", "failed", "not implemented", "forbidden", "missing", "timeout", "crashed")
#: the seed of the public checks (a student grading their own notebook); a teacher grades with a secret of their own
DEFAULT_SECRET = "public"


def check_rng(secret: str, exercise_id: str, index: int) -> np.random.Generator:
    """The generator of check ``index`` of an exercise: from the secret, the exercise and the check, nothing else.

    Examples
    --------
    >>> a, b = check_rng("s", "2.1", 0).random(), check_rng("s", "2.1", 0).random()
    >>> a == b, a == check_rng("t", "2.1", 0).random()
    (True, False)
    """
    entropy = int.from_bytes(hashlib.sha256(str(secret).encode("utf-8")).digest()[:16], "little")
    tutorial, number = (int(part) for part in exercise_id.split("."))
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(tutorial, number, index)))


def result_record(exercise, outcome: str, checks=(), message: str = "") -> dict:
    """The result of grading one exercise, as written to JSON; ``message`` joins every failed check's message."""
    checks = list(checks)
    points = sum(c["points"] for c in checks if c["passed"])
    if not message:
        message = " | ".join(f"{c['sentence']}: {c['message']}" for c in checks if not c["passed"])
    return {
        "exercise": exercise.id, "function": exercise.function, "label": exercise.label, "title": exercise.title,
        "points": points, "max_points": exercise.points, "outcome": outcome, "message": message, "checks": checks,
    }


def validate_record(record: dict, exercise) -> dict:
    """``record`` if it is a consistent result of ``exercise`` (its id, its points at most the maximum), else raise."""
    problems = []
    if record.get("exercise") != exercise.id or record.get("function") != exercise.function:
        problems.append("it is not a record of this exercise")
    if record.get("max_points") != exercise.points:
        problems.append("its maximum is not the exercise's")
    points = record.get("points")
    if not isinstance(points, int) or isinstance(points, bool) or not 0 <= points <= exercise.points:
        problems.append(f"its points {points!r} are not between 0 and {exercise.points}")
    checks = record.get("checks", [])
    if checks and (len(checks) != len(exercise.checks)
                   or points != sum(c["points"] for c, ex in zip(checks, exercise.checks, strict=True)
                                    if c["passed"] and c["points"] == ex.points)):
        problems.append("its points are not those of its passed checks")
    if record.get("outcome") not in OUTCOMES:
        problems.append(f"its outcome {record.get('outcome')!r} is unknown")
    if problems:
        raise RuntimeError(f"grading {exercise.id} made an inconsistent record: {'; '.join(problems)}")
    return record


def describe_error(err: BaseException, marker: str = "code cell ") -> str:
    """``Type: message``, with the notebook cell and line of the student's code it came from, if any."""
    where = ""
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        if frame.filename.startswith("<") and marker in frame.filename:
            where = f" (in {frame.filename.strip('<>')}, line {frame.lineno})"
            break
    text = str(err)
    return f"{type(err).__name__}: {text[:300]}{'...' if len(text) > 300 else ''}{where}"


def _same(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))
    return a is None and b is None


def compare_state(before, after, names, function: str) -> None:
    """Raise :class:`CheckFailed` naming the first argument whose state differs after the call."""
    if not isinstance(after, list) or len(after) != len(before):
        raise CheckFailed("the state of the arguments after the call could not be read")
    for i, (b, a) in enumerate(zip(before, after, strict=True)):
        if not _same(b, a):
            name = names[i] if i < len(names) else f"argument {i + 1}"
            raise CheckFailed(f"{function} changed its argument {name} in place; it should leave its inputs unchanged")


def plain(value):
    """``value`` as the grader receives it from a child: encoded, through JSON, decoded."""
    return decode(json.loads(json.dumps(encode(value))))


class GradingStopped(Exception):
    """Grading of an exercise stops here: a time-out, a crash, a forbidden call or a message the grader cannot read."""

    def __init__(self, outcome: str, message: str):
        super().__init__(message)
        self.outcome = outcome


def grade_checks(exercise, call, secret: str) -> tuple:
    """Run every check of ``exercise`` with ``call(request)`` making the calls; return (checks, outcome).

    ``call`` raises :class:`StudentError` for an error of the student's code (that check fails)
    and :class:`GradingStopped` to stop: the remaining checks fail with its message, and a
    forbidden call costs every point.
    """
    checks, not_implemented, stopped = [], 0, None
    for index, check in enumerate(exercise.checks):
        entry = {"sentence": check.sentence, "points": check.points, "passed": False, "message": ""}
        checks.append(entry)
        if stopped is not None:
            entry["message"] = str(stopped)
            continue
        try:
            run_check(check, check_rng(secret, exercise.id, index), call)
            entry["passed"] = True
        except CheckFailed as err:
            entry["message"] = f"{exercise.label}: {err}"
        except StudentError as err:
            not_implemented += err.kind == "NotImplementedError"
            entry["message"] = str(err)
        except GradingStopped as err:
            stopped = err
            entry["message"] = str(err)
    if stopped is not None:
        if stopped.outcome == "forbidden":
            for entry in checks:
                entry["passed"] = False
        return checks, stopped.outcome
    passed = sum(c["passed"] for c in checks)
    if passed == len(checks):
        return checks, "passed"
    if not_implemented == len(checks):
        return checks, "not implemented"
    return checks, "partial" if passed else "failed"


def in_process_call(func, function: str):
    """The ``call`` a check makes, run in this process: ``func`` on a copy of the inputs, its outputs as plain data.

    An argument changed in place is an error naming it (:func:`compare_state`); an exception of
    ``func`` is a :class:`StudentError`.
    """

    def call(request):
        before = plain(state(request.args))
        args = copy.deepcopy(request.args)
        try:
            output, after = run_probe(func, request._replace(args=args))
        except (Exception, SystemExit) as err:
            raise StudentError(describe_error(err), type(err).__name__) from None
        compare_state(before, plain(after), [], function)
        return plain(output)

    return call


def score_function(exercise, func, namespace=None, secret: str = DEFAULT_SECRET) -> dict:
    """Run every check of ``exercise`` on ``func``, the calls made in this process; return the result record.

    Parameters
    ----------
    exercise : refimpl.course.registry.Exercise
    func : callable
        The student's function.
    namespace : dict, optional
        The submission's namespace; if given, ``func`` may not reach any name of
        ``exercise.forbidden`` (refimpl's own implementation of the exercise).
    secret : str
        The seed of the checks' inputs.
    """
    if namespace is not None:
        hits = sorted(set(exercise.forbidden) & called_names(func, namespace))
        if hits:
            return result_record(exercise, "forbidden", message=(
                f"{exercise.label}: write {exercise.function} yourself; it uses {', '.join(hits)}, "
                "refimpl's own implementation of this exercise"))

    checks, outcome = grade_checks(exercise, in_process_call(func, exercise.function), secret)
    return validate_record(result_record(exercise, outcome, checks), exercise)


# ------------------------------------------------------------------ the child process
def _send(conn, message: dict) -> None:
    conn.send_bytes(json.dumps(message, allow_nan=True).encode("utf-8"))


def _limit_resources() -> None:
    """Limits the kernel holds, which no code in the process can lift: no core files, at most an hour of CPU."""
    try:
        import resource
    except ImportError:  # not POSIX
        return
    for limit, value in (("RLIMIT_CORE", 0), ("RLIMIT_CPU", 3600)):
        if hasattr(resource, limit):
            try:
                resource.setrlimit(getattr(resource, limit), (value, value))
            except (ValueError, OSError):
                pass


def _private_probes() -> tuple:
    """``run_probe`` and ``encode`` of a fresh copy of :mod:`refimpl.course.probes` that no registry holds.

    A submission may rebind names in the modules it can reach; this copy is in none of them, so what
    the child reports of its outputs and arguments stays the probes' own work.
    """
    import importlib.util

    spec = importlib.util.find_spec("refimpl.course.probes")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run_probe, module.encode


def child_main(path: str, display_name: str, cells: list, function: str, forbidden: tuple, log_path: str,
               conn) -> None:
    """Entry point of a grading child process (see the module docstring); never returns a verdict.

    ``cells`` are the code cells the grader read from the submission (a read-only copy of which,
    ``path``, is the only file in the child's working folder).
    """
    if hasattr(os, "setsid"):
        os.setsid()  # a process group of its own: the grader kills the whole group
    sys.argv[1:] = []  # the grader's command line (a --secret) is not the submission's business
    _limit_resources()
    if os.name == "posix":
        keep = conn.fileno()  # every other inherited descriptor (the fork server's, the resource tracker's) closed
        os.closerange(3, keep)
        os.closerange(keep + 1, 1 << 16)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    sys.stdout.flush(), sys.stderr.flush()
    os.dup2(log, 1), os.dup2(log, 2)
    os.close(log)
    os.chdir(Path(path).parent)
    definitions = extract_definitions(cells, name=display_name)
    for module in definitions.imports:  # the libraries a submission names, imported before the walls rise
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - not a module (a name imported from one), or reported when it runs
            pass
    from . import sandbox
    from .student_tutorials import exclusive_answers

    answering = [f for ex in EXERCISES.values() if ex.function == function for f in exclusive_answers(ex.id)]
    sandbox.guard_forbidden(forbidden, answering)  # and the private helpers they do their work in
    run, encoded = _private_probes()  # what reports the outputs: out of reach of a submission that patches modules
    sandbox.install()
    _send(conn, {"kind": "started"})
    namespace = {"__name__": SUBMISSION}
    problems = list(definitions.problems)
    for code, where in definitions.code:
        try:
            exec(code, namespace)
        except BaseException as err:  # noqa: BLE001 - a failing import or definition: reported, grading goes on
            problems.append(f"{describe_error(err)} ({where})" if "code cell" not in describe_error(err)
                            else describe_error(err))
    func = namespace.get(function)
    tripped = [f"one of {', '.join(forbidden)}"]
    _send(conn, {"kind": "defined", "found": callable(func), "problems": problems[:20],
                 "tripped": tripped if any(sandbox.FORBIDDEN_MARK in p for p in problems) else []})
    while True:
        try:
            kind, request = pickle.loads(conn.recv_bytes())  # from the grader, which made every argument
        except (EOFError, OSError):
            break
        if kind != "call":
            break
        try:
            output, after = run(func, request)
            message = {"kind": "output", "value": encoded(output), "args": encoded(after)}
        except BaseException as err:  # noqa: BLE001 - the student's error is this call's answer
            message = {"kind": "error", "type": type(err).__name__, "message": describe_error(err)}
            if sandbox.FORBIDDEN_MARK in message["message"]:
                message["tripped"] = tripped
        sys.stdout.flush(), sys.stderr.flush()
        _send(conn, message)
    sys.stdout.flush(), sys.stderr.flush()
    os._exit(0)  # nothing the submission registered runs at exit


def score_notebook(path, exercise_id: str, secret: str = DEFAULT_SECRET) -> dict:
    """Score one exercise of the notebook at ``path`` in this process (no child, no walls): for tests and tools.

    The definitions are those the grader runs (:func:`refimpl.course.notebook.extract_definitions`),
    the forbidden names those it reads from the source; only trusted notebooks belong here.
    """
    from .notebook import code_cells, reached_names

    exercise, path = EXERCISES[exercise_id], Path(path)
    definitions = extract_definitions(code_cells(path), name=path.name)
    if exercise.function not in definitions.nodes:
        return result_record(exercise, "missing", message=f"{exercise.label}: no function named "
                                                          f"{exercise.function} in {path.name}")
    hits = sorted(set(exercise.forbidden) & reached_names(definitions, exercise.function))
    if hits:
        return result_record(exercise, "forbidden", message=f"{exercise.label}: it uses {', '.join(hits)}")
    namespace = {"__name__": SUBMISSION}
    for code, _ in definitions.code:
        exec(code, namespace)
    return score_function(exercise, namespace[exercise.function], secret=secret)
