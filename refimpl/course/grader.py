"""The grader: every exercise in its own process with a time limit; a notebook, or a folder of submissions.

Each exercise of a notebook is graded in a fresh child process
(:func:`refimpl.course.worker.run_in_child`): it reads the notebook, runs only its
definitions, and runs the exercise's checks. If the child does not answer within
``time_limit`` seconds it is killed and the exercise scores zero ("timeout"); if it dies
without answering (the interpreter crashed, or the student's code ended the process) the
exercise scores zero ("crashed"). Either way the other exercises are graded as usual.

Children are forked from a server process that has imported the package once
(``forkserver``, on Linux and macOS), so each costs milliseconds; where there is no fork
server (Windows) each child starts a fresh interpreter. As with any use of
:mod:`multiprocessing` in these modes, a script that calls the grader must do so under
``if __name__ == "__main__":``; the command ``python -m refimpl.course.grade`` does.

A folder of submissions holds one sub-folder per student with any of the notebooks
``exNN_*.ipynb`` (or ``.py``), or the notebooks directly, named ``<student>_exNN_*.ipynb``.
:func:`grade_folder` writes one CSV row and one JSON entry per student and exercise.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import re
import tempfile
from pathlib import Path

from .exercises import EXERCISES, NOTEBOOKS
from .worker import result_record, run_in_child

__all__ = [
    "CSV_FIELDS",
    "TIME_LIMIT",
    "find_submissions",
    "format_report",
    "grade_exercise",
    "grade_folder",
    "grade_notebook",
    "notebook_of",
]

#: seconds an exercise's checks may take (the slowest takes about a second on a laptop)
TIME_LIMIT = 60.0
#: seconds a child may take to start (a fresh interpreter imports numpy, numba and refimpl)
STARTUP_LIMIT = 120.0
CSV_FIELDS = ("student", "file", "exercise", "function", "label", "points", "max_points", "outcome", "message")
_NOTEBOOK_TOKEN = re.compile(r"(?<![A-Za-z0-9])ex0?([1-9])(?![0-9])")
_CONTEXTS: dict = {}
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def _start_fork_server(ctx) -> None:
    """Start the fork server with the grader imported and one thread per numerical library.

    The exercises' arrays are tiny, so threads would only compete for the cores; and a server
    without threads forks cleanly. The variables are set for the server's start only.
    """
    import multiprocessing.forkserver as forkserver  # POSIX only, hence imported here

    ctx.set_forkserver_preload(["refimpl.course.worker"])
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    try:
        for name in _THREAD_VARIABLES:
            os.environ.setdefault(name, "1")
        forkserver.ensure_running()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _context(start_method=None):
    """The multiprocessing context: a fork server with the grader preloaded where there is one, else spawn."""
    method = start_method or ("forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn")
    if method not in _CONTEXTS:
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            _start_fork_server(ctx)
        _CONTEXTS[method] = ctx
    return _CONTEXTS[method]


def _receive(conn, timeout: float):
    """The next message, or ``"timeout"``, or ``"ended"`` if the child closed the pipe (it died)."""
    if not conn.poll(timeout):
        return "timeout"
    try:
        return conn.recv()
    except (EOFError, OSError):
        return "ended"


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""
    return " | ".join(text.splitlines()[-lines:])


def grade_exercise(path, exercise_id: str, time_limit: float = TIME_LIMIT, start_method=None) -> dict:
    """Grade one exercise of the notebook at ``path`` in a child process; return its result record.

    Parameters
    ----------
    path : str or Path
        A ``.ipynb`` notebook or a ``.py`` percent source.
    exercise_id : str
        E.g. ``"2.1"``.
    time_limit : float
        Seconds the child may take once started; then it is killed and the exercise scores zero.
    start_method : {"forkserver", "spawn"}, optional
        Default: ``"forkserver"`` where available, else ``"spawn"``.
    """
    exercise = EXERCISES[exercise_id]
    ctx = _context(start_method)
    with tempfile.TemporaryDirectory(prefix="refimpl-grade-") as tmp:
        log = Path(tmp) / "output.txt"
        receiver, sender = ctx.Pipe(duplex=False)
        child = ctx.Process(target=run_in_child, args=(str(Path(path).resolve()), exercise_id, str(log), sender),
                            daemon=True)
        child.start()
        sender.close()
        try:
            message = _receive(receiver, STARTUP_LIMIT)
            if not (isinstance(message, tuple) and message[0] == "started"):
                child.join(5)
                raise RuntimeError(
                    f"the grading process did not start (exit code {child.exitcode}); its error, if any, is printed "
                    "above. A script that calls the grader must do so under if __name__ == '__main__': (the "
                    "child processes import the main module).")
            message = _receive(receiver, time_limit)
            if isinstance(message, tuple) and message[0] == "result":
                return message[1]
            if message == "timeout":
                return result_record(exercise, "timeout", message=(
                    f"{exercise.label}: {exercise.function} did not finish within {time_limit:g} s "
                    "(an endless loop, or far too slow); the grader stopped it"))
            child.join(5)
            output = _tail(log)
            return result_record(exercise, "crashed", message=(
                f"{exercise.label}: the process grading {exercise.function} ended without a result "
                f"(exit code {child.exitcode})" + (f"; its last output: {output}" if output else "")))
        finally:
            if child.is_alive():
                child.kill()
            child.join()
            receiver.close()


def notebook_of(path) -> str | None:
    """The exercise notebook a file is a submission of, from the ``exNN`` in its name, or None.

    Examples
    --------
    >>> notebook_of("alice_ex02_forward_pass_as_inference.ipynb")
    'ex02_forward_pass_as_inference'
    >>> notebook_of("notes.ipynb") is None
    True
    """
    match = _NOTEBOOK_TOKEN.search(Path(path).name)
    if not match:
        return None
    return next((stem for stem in NOTEBOOKS if stem.startswith(f"ex{int(match.group(1)):02d}_")), None)


def grade_notebook(path, exercises=None, time_limit: float = TIME_LIMIT, start_method=None) -> list:
    """Grade the exercises of one notebook (default: all of the notebook its name names), one process each.

    Raises
    ------
    ValueError
        If the file's name names no exercise notebook and ``exercises`` is not given.
    """
    if exercises is None:
        stem = notebook_of(path)
        if stem is None:
            raise ValueError(f"{Path(path).name}: cannot tell which exercises it holds; its name should contain "
                             f"the notebook's number, e.g. ex01 (one of {list(NOTEBOOKS)}).")
        exercises = [ex.id for ex in NOTEBOOKS[stem]]
    return [grade_exercise(path, ex_id, time_limit, start_method) for ex_id in exercises]


def find_submissions(folder) -> dict:
    """``{student: {notebook stem: path}}`` for a folder of submissions (see the module docstring).

    A student's ``.ipynb`` is preferred to a ``.py`` of the same notebook; hidden folders,
    ``.ipynb_checkpoints`` and files naming no notebook are ignored.
    """
    folder = Path(folder)
    found: dict = {}

    def add(student, path):
        stem = notebook_of(path)
        if stem is None or path.suffix not in (".ipynb", ".py"):
            return
        previous = found.setdefault(student, {}).get(stem)
        if previous is None or (previous.suffix == ".py" and path.suffix == ".ipynb"):
            found[student][stem] = path

    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir():
            for path in sorted(entry.rglob("*")):
                if path.is_file() and not any(part.startswith(".") for part in path.relative_to(entry).parts):
                    add(entry.name, path)
        elif entry.is_file():
            match = _NOTEBOOK_TOKEN.search(entry.name)
            if match:
                add(entry.name[: match.start()].strip("_-. ") or folder.name, entry)
    return found


def grade_folder(folder, out_dir=".", time_limit: float = TIME_LIMIT, start_method=None, progress=None) -> dict:
    """Grade every submission of a folder; write ``grades.csv`` and ``grades.json`` into ``out_dir``.

    Every student gets a row for every exercise of the course; a notebook they did not hand
    in scores zero ("missing").

    Returns
    -------
    dict
        The JSON written: ``{"exercises": [...], "students": {student: {"total", "max_total",
        "exercises": {id: result}}}}``, plus ``"csv"`` and ``"json"``, the paths written.
    """
    folder, out_dir = Path(folder), Path(out_dir)
    submissions = find_submissions(folder)
    students = {}
    for student, notebooks in submissions.items():
        results = {}
        for stem, exercises in NOTEBOOKS.items():
            path = notebooks.get(stem)
            if path is not None and progress:
                progress(f"{student}: {path.name}")
            for ex in exercises:
                if path is None:
                    result = result_record(ex, "missing", message=f"{ex.label}: no submission of {stem}")
                else:
                    result = grade_exercise(path, ex.id, time_limit, start_method)
                result["file"] = str(path.relative_to(folder)) if path is not None else ""
                results[ex.id] = result
        students[student] = {"total": sum(r["points"] for r in results.values()),
                             "max_total": sum(r["max_points"] for r in results.values()), "exercises": results}
    report = {
        "exercises": [{"exercise": ex.id, "function": ex.function, "label": ex.label, "title": ex.title,
                       "max_points": ex.points} for ex in EXERCISES.values()],
        "students": students,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out_dir / "grades.csv", out_dir / "grades.json"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for student, entry in students.items():
            for result in entry["exercises"].values():
                writer.writerow({"student": student, **{k: result[k] for k in CSV_FIELDS if k != "student"}})
    json_path.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return {**report, "csv": csv_path, "json": json_path}


def format_report(name: str, results: list) -> str:
    """A student's report: points per exercise and, for each failed check, what is off (never the answer)."""
    lines = [name]
    for r in results:
        score = f"{r['points']:2d}/{r['max_points']:<2d}"
        lines.append(f"  {r['exercise']:4s} {r['function']:22s} {r['label']:18s} {score} {r['outcome']}")
        if r["outcome"] == "passed":
            continue
        failed = [c for c in r["checks"] if not c["passed"]]
        if not failed or r["outcome"] == "not implemented":
            lines.append(f"       {r['message'] if not failed else failed[0]['message']}")
            continue
        for check in failed:
            lines.append(f"       - {check['sentence']}")
            lines.append(f"         {check['message']}")
    total, top = sum(r["points"] for r in results), sum(r["max_points"] for r in results)
    lines.append(f"  total {total}/{top}")
    return "\n".join(lines)
