"""The grader: the verdict in this process, the student's code in a child process per exercise.

For each exercise of a notebook the grader (this process)

1. reads the submission without running it (:func:`refimpl.course.notebook.extract_definitions`):
   the exercise's function must be there and may not reach refimpl's own implementation;
2. copies the submission, read-only, into a fresh temporary folder and starts a child process
   there (:func:`refimpl.course.worker.child_main`), a process group of its own, which runs the
   definitions behind the walls of :mod:`refimpl.course.sandbox`;
3. runs the exercise's checks here: each check draws its inputs from the grader's seed (the
   public one, or the teacher's ``secret``), computes what it expects on its own copies, and
   only then sends the child the arguments of a call; the child answers with the output as
   plain data (:mod:`refimpl.course.probes`; nothing from the child is unpickled), and the
   check compares it here. An argument the call changed in place fails the check;
4. kills the child's whole process group when the exercise is done, when the child does not
   answer within ``time_limit`` seconds ("timeout", the checks not done score zero), or when
   it dies ("crashed").

Children are forked from a server process that has imported the package once (``forkserver``,
on Linux and macOS), so each costs milliseconds; where there is no fork server (Windows) each
child starts a fresh interpreter. As with any use of :mod:`multiprocessing` in these modes, a
script that calls the grader must do so under ``if __name__ == "__main__":``; the command
``python -m refimpl.course.grade`` does.

A folder of submissions holds one sub-folder per student with any of the notebooks
``exNN_*.ipynb`` (or ``.py``), or the notebooks directly, named ``<student>_exNN_*.ipynb``.
:func:`grade_folder` grades every student (and, with a class list, marks those who handed in
nothing), then writes ``grades.csv``, ``grades.json`` and one feedback file per student,
each atomically, after every child has ended, into a folder outside the submissions.
"""

from __future__ import annotations

import csv
import html
import io
import json
import multiprocessing
import os
import pickle
import re
import shutil
import signal
import stat
import tempfile
import time
from pathlib import Path

from .exercises import EXERCISES, NOTEBOOKS
from .notebook import code_cells_of, extract_definitions, reached_names
from .probes import MAX_MESSAGE, decode, encode, state
from .registry import StudentError
from .worker import (
    DEFAULT_SECRET,
    GradingStopped,
    child_main,
    compare_state,
    grade_checks,
    result_record,
    validate_record,
)

__all__ = [
    "CSV_FIELDS",
    "TIME_LIMIT",
    "feedback_markdown",
    "kill_descendants",
    "find_submissions",
    "format_report",
    "grade_exercise",
    "grade_folder",
    "grade_notebook",
    "notebook_of",
    "read_class_list",
    "write_atomic",
]

#: seconds an exercise's checks may take (the slowest take a few seconds on a laptop)
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

    ctx.set_forkserver_preload(["refimpl.course.worker", "refimpl.course.sandbox", "refimpl.course._warm"])
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
        _become_subreaper()
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            _start_fork_server(ctx)
        _CONTEXTS[method] = ctx
        _INFRASTRUCTURE.update(_children_map().get(os.getpid(), []))  # the fork server, the resource tracker
    return _CONTEXTS[method]


_INFRASTRUCTURE = set()  # the fork server and multiprocessing's helpers: children of the grader, not of a submission


def _become_subreaper() -> None:
    """Linux: every process a submission starts and abandons becomes the grader's child, so it can be killed."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _children_map() -> dict:
    """Parent pid -> child pids, from /proc (empty where there is none)."""
    tree = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def kill_descendants(rounds: int = 20) -> int:
    """Kill every process below the grader except its own helpers; reap them; return how many were killed."""
    killed = 0
    for _ in range(rounds):
        tree, found, todo = _children_map(), [], [os.getpid()]
        while todo:
            for child in tree.get(todo.pop(), []):
                if child not in _INFRASTRUCTURE:
                    found.append(child)
                todo.append(child)
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)
        for pid in found:
            try:
                os.waitpid(pid, os.WNOHANG)
            except (ChildProcessError, OSError):
                pass  # not the grader's own child: its parent reaps it
    return killed


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""
    return " | ".join(text.splitlines()[-lines:])[-400:]


class _Child:
    """One grading child: started in its own folder, spoken to in plain data, killed with its process group."""

    def __init__(self, ctx, name: str, source: bytes, cells: list, exercise, tmp: Path):
        self.exercise, self.log = exercise, tmp / "output.txt"
        work = tmp / "work"
        work.mkdir()
        self.copy = work / name
        self.copy.write_bytes(source)  # what the grader read, not what the file may hold by now
        os.chmod(self.copy, stat.S_IRUSR | stat.S_IRGRP)
        os.chmod(work, stat.S_IRUSR | stat.S_IXUSR)
        self.receiver, sender = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=child_main, daemon=True, args=(
            str(self.copy), name, cells, exercise.function, tuple(exercise.forbidden), str(self.log), sender))
        self.process.start()
        sender.close()

    def receive(self, timeout: float, what: str) -> dict:
        """The next message, validated as a dict with a known ``kind``; :class:`GradingStopped` otherwise."""
        label, function = self.exercise.label, self.exercise.function
        if not self.receiver.poll(max(timeout, 0.0)):
            raise GradingStopped("timeout", f"{label}: {function} did not finish {what} in time (an endless loop, "
                                            "or far too slow); the grader stopped it")
        try:
            data = self.receiver.recv_bytes(MAX_MESSAGE)
            message = json.loads(data.decode("utf-8"))
        except (EOFError, OSError):
            self.process.join(5)
            output = _tail(self.log)
            raise GradingStopped("crashed", (
                f"{label}: the process running {function} ended without answering (exit code "
                f"{self.process.exitcode})" + (f"; its last output: {output}" if output else ""))) from None
        except (UnicodeDecodeError, ValueError):
            raise GradingStopped("crashed", f"{label}: the process running {function} sent something that is "
                                            "not an answer; the grader stopped it") from None
        if not isinstance(message, dict) or message.get("kind") not in ("started", "defined", "output", "error"):
            raise GradingStopped("crashed", f"{label}: the process running {function} sent something that is "
                                            "not an answer; the grader stopped it")
        tripped = message.get("tripped") or []
        if tripped:
            raise GradingStopped("forbidden", f"{label}: write {function} yourself; it calls "
                                              f"{', '.join(sorted({str(t)[:40] for t in tripped}))}, refimpl's own "
                                              "implementation of this exercise")
        return message

    def send(self, request) -> None:
        try:
            self.receiver.send_bytes(pickle.dumps(request))
        except (BrokenPipeError, OSError):
            pass  # the child is gone: the next receive says so

    def stop(self) -> None:
        """Kill the child's whole process group (every process it started), then the child."""
        if self.process.pid is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError, AttributeError, OSError):
                pass
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.receiver.close()


def _remove(tmp: Path) -> None:
    for folder in (tmp / "work",):
        if folder.exists():
            os.chmod(folder, stat.S_IRWXU)
    shutil.rmtree(tmp, ignore_errors=True)


def _argument_names(definitions, function: str) -> list:
    node = definitions.nodes[function][-1]
    return [a.arg for a in getattr(getattr(node, "args", None), "args", [])]


def grade_exercise(path, exercise_id: str, time_limit: float = TIME_LIMIT, start_method=None,
                   secret: str = DEFAULT_SECRET, source: bytes | None = None) -> dict:
    """Grade one exercise of the notebook at ``path``: the checks here, the calls in a child; return the record.

    Parameters
    ----------
    path : str or Path
        A ``.ipynb`` notebook or a ``.py`` percent source.
    exercise_id : str
        E.g. ``"2.1"``.
    time_limit : float
        Seconds the child may take for the exercise once started; then its process group is
        killed and the checks not done score zero.
    start_method : {"forkserver", "spawn"}, optional
        Default: ``"forkserver"`` where available, else ``"spawn"``.
    secret : str
        The seed of the checks' inputs (default: the public one students grade themselves with).
    source : bytes, optional
        The notebook's content, read before any submission ran (:func:`grade_folder`); default:
        read ``path`` now.
    """
    exercise, path = EXERCISES[exercise_id], Path(path)
    label, function = exercise.label, exercise.function
    try:
        source = path.read_bytes() if source is None else source
        cells = code_cells_of(source, path.name)
        definitions = extract_definitions(cells, name=path.name)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        return validate_record(result_record(exercise, "missing", message=f"{label}: {path.name} cannot be read "
                                                                          f"as a notebook ({err})"), exercise)
    if function not in definitions.nodes:
        why = definitions.why_undefined(function)
        hint = f"; {why}" if why else (f"; problems: {'; '.join(definitions.problems)}" if definitions.problems else "")
        return validate_record(result_record(exercise, "missing", message=(
            f"{label}: no function named {function} in {path.name}{hint}")), exercise)
    hits = sorted(set(exercise.forbidden) & reached_names(definitions, function))
    if hits:
        return validate_record(result_record(exercise, "forbidden", message=(
            f"{label}: write {function} yourself; it uses {', '.join(hits)}, refimpl's own implementation of "
            "this exercise")), exercise)
    names = _argument_names(definitions, function)
    tmp = Path(tempfile.mkdtemp(prefix="refimpl-grade-"))
    child = None
    try:
        child = _Child(_context(start_method), path.name, source, cells, exercise, tmp)
        try:
            child.receive(STARTUP_LIMIT, "starting")
        except GradingStopped as err:
            if err.outcome == "timeout":
                raise RuntimeError("the grading process did not start; a script that calls the grader must do so "
                                   "under if __name__ == '__main__': (the child processes import the main module)"
                                   ) from None
            raise RuntimeError(f"the grading process did not start: {err}") from None
        deadline = time.monotonic() + time_limit
        try:
            defined = child.receive(deadline - time.monotonic(), "its definitions")
        except GradingStopped as err:
            return validate_record(result_record(exercise, err.outcome, message=str(err)), exercise)
        if not defined.get("found"):
            problems = [str(p)[:300] for p in defined.get("problems", [])][:5]
            hint = f"; problems: {'; '.join(problems)}" if problems else ""
            return validate_record(result_record(exercise, "missing", message=(
                f"{label}: no function named {function} after running the definitions of {path.name}{hint}")),
                exercise)

        def call(request):
            before = decode(json.loads(json.dumps(encode(state(request.args)))))
            child.send(("call", request))
            message = child.receive(deadline - time.monotonic(), "its checks")
            if message["kind"] == "error":
                text = str(message.get("message", ""))[:600]
                undefined = re.search(r"NameError: name '(\w+)' is not defined", text)
                why = definitions.why_undefined(undefined.group(1)) if undefined else ""
                failed = [str(p)[:300] for p in defined.get("problems", []) if "Error" in str(p)]
                if undefined and not why and failed:  # an import or a definition that failed: say which
                    why = f"running the definitions gave: {'; '.join(failed[:3])}"
                raise StudentError(text + (f"; {why}" if why else ""), str(message.get("type", ""))[:40])
            try:
                output, after = decode(message.get("value")), decode(message.get("args"))
            except (ValueError, TypeError, KeyError):
                raise GradingStopped("crashed", f"{label}: the process running {function} sent something that is "
                                                "not an answer; the grader stopped it") from None
            compare_state(before, after, names, function)
            return output

        checks, outcome = grade_checks(exercise, call, secret)
        return validate_record(result_record(exercise, outcome, checks), exercise)
    finally:
        if child is not None:
            child.stop()
        kill_descendants()
        _remove(tmp)


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


def grade_notebook(path, exercises=None, time_limit: float = TIME_LIMIT, start_method=None,
                   secret: str = DEFAULT_SECRET) -> list:
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
    return [grade_exercise(path, ex_id, time_limit, start_method, secret) for ex_id in exercises]


def find_submissions(folder, ignored: list | None = None) -> dict:
    """``{student: {notebook stem: path}}`` for a folder of submissions (see the module docstring).

    A student's ``.ipynb`` is preferred to a ``.py`` of the same notebook; hidden folders,
    ``.ipynb_checkpoints`` and files naming no notebook are ignored (a notebook or ``.py`` file
    among them is appended to ``ignored``, so that the teacher hears of a misnamed submission).
    """
    folder = Path(folder)
    found: dict = {}
    ignored = [] if ignored is None else ignored

    def add(student, path):
        stem = notebook_of(path)
        if path.suffix not in (".ipynb", ".py"):
            return
        if stem is None:
            ignored.append(path)
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
            elif entry.suffix in (".ipynb", ".py"):
                ignored.append(entry)
    return found


def read_class_list(path) -> list:
    """The students of a class list: one name per line (the first comma-separated field); ``#`` starts a comment.

    A first line ``student`` (a CSV header) is skipped.
    """
    names = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        name = line.split("#", 1)[0].split(",", 1)[0].strip()
        if not name or (number == 1 and name.lower() in ("student", "name")):
            continue
        if name not in names:
            names.append(name)
    return names


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and :func:`os.replace`."""
    path = Path(path)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _safe_name(student: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", student).strip(".") or "student"


def _md(text: str) -> str:
    return html.escape(str(text), quote=False).replace("*", "\\*").replace("`", "'").replace("\n", " ")


def feedback_markdown(student: str, entry: dict) -> str:
    """A student's feedback: the total, and for each exercise its points and every check's sentence and outcome."""
    lines = [f"# Feedback for {_md(student)}", "", f"**Total: {entry['total']} / {entry['max_total']} points**", ""]
    for result in entry["exercises"].values():
        lines.append(f"## {result['exercise']} {_md(result['function'])} ({_md(result['label'])}): "
                     f"{result['points']} / {result['max_points']}, {result['outcome']}")
        lines.append("")
        if result["checks"]:
            for check in result["checks"]:
                mark = "passed" if check["passed"] else "failed"
                text = f"- **{mark}** ({check['points']} point{'s' if check['points'] != 1 else ''}): " \
                       f"{_md(check['sentence'])}"
                if not check["passed"] and check["message"]:
                    text += f"  \n  {_md(check['message'])}"
                lines.append(text)
        else:
            lines.append(f"- {_md(result['message'])}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def grade_folder(folder, out_dir, time_limit: float = TIME_LIMIT, start_method=None, progress=None,
                 students=None, secret: str = DEFAULT_SECRET) -> dict:
    """Grade every submission of a folder; write ``grades.csv``, ``grades.json`` and ``feedback/`` into ``out_dir``.

    Every student gets a row for every exercise of the course and a row ``total``; a notebook
    they did not hand in scores zero ("missing", "no submission"). ``students`` (a class list)
    adds those who handed in nothing. The files are written after every child has ended, each
    atomically; ``out_dir`` may not lie inside ``folder``.

    Returns
    -------
    dict
        The JSON written: ``{"exercises": [...], "students": {student: {"total", "max_total",
        "exercises": {id: result}}}}``, plus ``"csv"``, ``"json"`` and ``"feedback"``, the paths written.

    Raises
    ------
    ValueError
        If ``out_dir`` lies inside ``folder``.
    """
    folder, out_dir = Path(folder), Path(out_dir)
    if _inside(out_dir, folder):
        raise ValueError(f"out_dir must lie outside the submissions folder {folder}; got {out_dir}")
    ignored = []
    submissions = find_submissions(folder, ignored)
    for path in ignored:
        if progress:
            progress(f"ignored {path.relative_to(folder)}: its name names no exercise sheet (ex01 ... ex05)")
    # every notebook read before any submission runs: a submission that rewrites a classmate's file
    # (which the walls refuse) would change nothing
    sources = {path: path.read_bytes() for notebooks in submissions.values() for path in notebooks.values()}
    roster = list(students or [])
    order = roster + sorted(s for s in submissions if s not in roster)
    report_students = {}
    for student in order:
        notebooks = submissions.get(student, {})
        results = {}
        for stem, exercises in NOTEBOOKS.items():
            path = notebooks.get(stem)
            if path is not None and progress:
                progress(f"{student}: {path.name}")
            for ex in exercises:
                if path is None:
                    result = result_record(ex, "missing", message=f"{ex.label}: no submission of {stem}")
                else:
                    result = grade_exercise(path, ex.id, time_limit, start_method, secret, sources[path])
                result["file"] = str(path.relative_to(folder)) if path is not None else ""
                results[ex.id] = result
        report_students[student] = {
            "total": sum(r["points"] for r in results.values()),
            "max_total": sum(r["max_points"] for r in results.values()), "exercises": results,
            "on_class_list": student in roster if roster else None, "handed_in": bool(notebooks)}
    report = {
        "exercises": [{"exercise": ex.id, "function": ex.function, "label": ex.label, "title": ex.title,
                       "max_points": ex.points} for ex in EXERCISES.values()],
        "students": report_students,
    }
    kill_descendants()  # nothing a submission started is left to touch the grades
    out_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for student, entry in report_students.items():
        for result in entry["exercises"].values():
            writer.writerow({"student": student, **{k: result[k] for k in CSV_FIELDS if k != "student"}})
        writer.writerow({"student": student, "file": "", "exercise": "total", "function": "", "label": "",
                         "points": entry["total"], "max_points": entry["max_total"],
                         "outcome": "" if entry["handed_in"] else "missing",
                         "message": "" if entry["handed_in"] else "no submission"})
    feedback_dir = out_dir / "feedback"
    feedback_dir.mkdir(exist_ok=True)
    feedback = [write_atomic(feedback_dir / f"{_safe_name(student)}.md", feedback_markdown(student, entry))
                for student, entry in report_students.items()]
    csv_path = write_atomic(out_dir / "grades.csv", buffer.getvalue())
    json_path = write_atomic(out_dir / "grades.json", json.dumps(report, indent=1) + "\n")
    return {**report, "csv": csv_path, "json": json_path, "feedback": feedback}


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
