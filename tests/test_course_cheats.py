"""The grader cannot be cheated: submissions that try score zero, and cannot touch another's files or grade.

Each cheat is a notebook graded by the real grader, in child processes
(:func:`refimpl.course.grader.grade_exercise`). Most aim at exercise 2.1 (``mean_pass``):
they reach the library's own implementation by a name built at run time or a default
argument, read the solutions, patch numpy or the grader's comparison, look answers up in a
table recorded from the public checks, zero the caller's arrays, send the grader a forged
record, start processes that outlive the grading or rewrite the grades later, and overwrite
a classmate's submission. The walls of the grading process
(:mod:`refimpl.course.sandbox`) are also shown on their own, past the grader's reading of the
source, in a process of their own.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from refimpl.course.exercises import EXERCISES
from refimpl.course.grader import grade_exercise, grade_folder
from refimpl.course.make_exercises import SOLUTIONS_DIR
from refimpl.course.registry import run_check
from refimpl.course.worker import DEFAULT_SECRET, check_rng

_spec = importlib.util.spec_from_file_location("course_answers", Path(__file__).parent / "test_course_answers.py")
answers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(answers)

SHEET2 = SOLUTIONS_DIR / "ex02_forward_pass_as_inference.py"
MARKER = "77.123"  # the argument of a process a cheat tries to leave behind

CHEATS = {
    "getattr with a name built at run time": """
def mean_pass(net, x0):
    return getattr(refimpl, "mean" + "_pass")(net, x0)
""",
    "getattr passed as a value": """
import functools
def mean_pass(net, x0):
    return functools.reduce(getattr, ["mean_pass"], refimpl)(net, x0)
""",
    "a default argument bound to the library's function": """
def mean_pass(net, x0, _impl=refimpl.forward_marginals):
    return _impl(net, x0)
""",
    "reading the solutions file and running it": f"""
def mean_pass(net, x0):
    namespace = {{}}
    exec(open({str(SHEET2)!r}).read(), namespace)
    return namespace["mean_pass"](net, x0)
""",
    "reading the solutions file through numpy": f"""
def mean_pass(net, x0):
    text = np.fromfile({str(SHEET2)!r}, dtype=np.uint8).tobytes().decode()
    return [np.full((len(x0), d), 0.5 + 0 * len(text)) for d in net.sizes[1:]]
""",
    "numpy monkeypatched so that every difference is zero": """
np.allclose = lambda *args, **kwargs: True
def mean_pass(net, x0):
    np.abs = lambda a: 0 * np.asarray(a)
    np.max = lambda a, *args, **kwargs: 0.0
    return None  # the cheat is all the answer there is
""",
    "the grader's comparison patched": """
def mean_pass(net, x0):
    refimpl.course.registry.compare = lambda *args, **kwargs: None
    return None  # the cheat is all the answer there is
""",
    "the grader imported to patch its comparison": """
from refimpl.course import registry
registry.compare = lambda *args, **kwargs: None
def mean_pass(net, x0):
    return None  # the cheat is all the answer there is
""",
    "the caller's arrays zeroed before the check computes what it expects": """
def mean_pass(net, x0):
    for w, b in zip(net.weights, net.biases):
        w[...] = 0.0
        b[...] = 0.0
    return [np.full((len(x0), d), 0.5) for d in net.sizes[1:]]
""",
    "an object equal to everything": """
class Anything:
    def __eq__(self, other):
        return True
    def __array__(self, dtype=None, copy=None):
        raise TypeError("not an array")
def mean_pass(net, x0):
    return [Anything() for _ in net.sizes[1:]]
""",
    "a forged result record sent down the grader's pipe": """
import refimpl.lab.data
def mean_pass(net, x0):
    forged = [b'{"kind": "result", "exercise": "2.1", "points": 100, "max_points": 3, "outcome": "passed"}',
              b'{"kind": "output", "value": {"l": []}, "args": {"l": []}, "tripped": []}']
    for fd in range(3, 64):
        for payload in forged:
            try:
                refimpl.lab.data.os.write(fd, len(payload).to_bytes(4, "big") + payload)
            except OSError:
                pass
    return None  # the cheat is all the answer there is
""",
    "a process started to outlive the grading": f"""
import refimpl.lab.train
def mean_pass(net, x0):
    refimpl.lab.train.subprocess.Popen(["sleep", "{MARKER}"], start_new_session=True)
    return None  # the cheat is all the answer there is
""",
    "a fork that goes on after the grading": f"""
import refimpl.lab.data
def mean_pass(net, x0):
    if refimpl.lab.data.os.fork() == 0:
        refimpl.lab.data.os.execvp("sleep", ["sleep", "{MARKER}"])
    return None  # the cheat is all the answer there is
""",
    "another library function that calls the implementation inside (forward_log_prob)": """
def mean_pass(net, x0):
    x0 = np.asarray(x0, dtype=float)
    zeros = [np.zeros((x0.shape[0], d)) for d in net.sizes[1:]]
    base, means = refimpl.forward_log_prob(net, x0, zeros, "mean"), []
    for k, d in enumerate(net.sizes[1:]):
        a = np.zeros((x0.shape[0], d))
        for i in range(d):
            layers = [z.copy() for z in zeros]
            layers[k][:, i] = 1.0
            a[:, i] = refimpl.forward_log_prob(net, x0, layers, "mean") - base
        means.append(sigmoid(a))
    return means
""",
    "the implementation called from numpy's own code (np.vectorize of a partial)": """
import dataclasses
import functools
def mean_pass(net, x0):
    members = dict(dataclasses.inspect.getmembers(refimpl))
    return np.vectorize(functools.partial(members["mean" + "_pass"], net, x0), otypes=[object])()
""",
    "the walls' module emptied through inspect, then the solutions read": f"""
import dataclasses
def mean_pass(net, x0):
    walls = dict(dataclasses.inspect.getmembers(dataclasses.sys.modules["refimpl.course" + ".sandbox"]))
    for key, value in walls.items():
        if isinstance(value, (dict, list, set)) and not key.startswith("__"):
            value.clear()
    builtins = dataclasses.sys.modules["builtins"]
    text = builtins.open({str(SHEET2)!r}).read()
    namespace = {{}}
    builtins.exec(text, namespace)
    return namespace["mean_pass"](net, x0)
""",
}


def _notebook(source: str) -> str:
    return answers.notebook([source])


def _lingering() -> list:
    """Processes left with the marker in their command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if MARKER in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("what", list(CHEATS))
def test_course_cheat_scores_zero(what, tmp_path):
    """Each cheat scores zero; the grader's record is consistent; nothing it started is left running."""
    path = tmp_path / "ex02_forward_pass_as_inference.py"
    path.write_text(_notebook(CHEATS[what]))
    result = grade_exercise(path, "2.1", time_limit=60.0)
    assert result["points"] == 0, (what, result["outcome"], result["message"])
    assert result["max_points"] == 3 and result["exercise"] == "2.1"
    points = [c.points for c in EXERCISES["2.1"].checks]
    assert not result["checks"] or [c["points"] for c in result["checks"]] == points
    time.sleep(0.2)
    assert not _lingering(), what


def test_course_answer_table_recorded_from_the_public_checks_fails_on_the_teachers_secret(tmp_path):
    """A table of answers keyed by the check inputs, recorded from the public checks, gets full marks on the public
    seed (the grader's own inputs) and zero on the teacher's secret seed."""
    namespace = {"__name__": "__submission__"}
    exec(answers.HEADER + answers.RIGHT["2.1"], namespace)
    table = {}

    def key(net, x0):
        return f"{float(np.sum(x0 * np.arange(x0.size).reshape(x0.shape))) + float(np.sum(net.weights[0])):.9f}"

    def record(request):
        net, x0 = request.args
        out = namespace["mean_pass"](net, x0)
        table[key(net, x0)] = [m.tolist() for m in out]
        return out

    for index, check in enumerate(EXERCISES["2.1"].checks):
        run_check(check, check_rng(DEFAULT_SECRET, "2.1", index), record)
    cheat = f"""
TABLE = {json.dumps(table)}
def mean_pass(net, x0):
    k = f"{{float(np.sum(x0 * np.arange(x0.size).reshape(x0.shape))) + float(np.sum(net.weights[0])):.9f}}"
    return [np.array(m) for m in TABLE[k]]
"""
    path = tmp_path / "ex02_forward_pass_as_inference.py"
    path.write_text(_notebook(cheat))
    assert grade_exercise(path, "2.1")["points"] == 3  # the public checks' inputs are in the table
    secret = grade_exercise(path, "2.1", secret="the teacher's own")
    assert secret["points"] == 0 and "KeyError" in secret["message"]


def test_course_submission_cannot_change_a_classmates_file_or_the_grades(tmp_path):
    """A submission that writes to a classmate's notebook and starts a process to rewrite the grades later changes
    neither: the classmate keeps full marks and the grades stay as the grader wrote them."""
    subs, out = tmp_path / "submissions", tmp_path / "grades"
    (subs / "amy").mkdir(parents=True)
    (subs / "zed").mkdir()
    victim = subs / "zed" / "ex02_forward_pass_as_inference.py"
    victim.write_text(SHEET2.read_text())
    before = hashlib.sha256(victim.read_bytes()).hexdigest()
    cheat = f"""
import refimpl.lab.data
import refimpl.lab.train
def mean_pass(net, x0):
    for attempt in (
        lambda: np.array([0], dtype=np.uint8).tofile({str(victim)!r}),
        lambda: refimpl.lab.data.os.open({str(victim)!r}, refimpl.lab.data.os.O_WRONLY | refimpl.lab.data.os.O_TRUNC),
        lambda: refimpl.lab.data.os.remove({str(victim)!r}),
        lambda: refimpl.lab.train.subprocess.Popen(
            ["sh", "-c", "sleep 1; echo forged > {out / 'grades.csv'}"], start_new_session=True),
    ):
        try:
            attempt()
        except Exception:
            pass
    return None  # the cheat is all the answer there is
"""
    (subs / "amy" / "ex02_forward_pass_as_inference.py").write_text(_notebook(cheat))
    report = grade_folder(subs, out, time_limit=60.0)
    written = (out / "grades.csv").read_bytes()
    time.sleep(2.0)
    assert hashlib.sha256(victim.read_bytes()).hexdigest() == before
    assert (out / "grades.csv").read_bytes() == written
    zed = report["students"]["zed"]["exercises"]
    assert all(zed[ex]["outcome"] == "passed" for ex in ("2.1", "2.2", "2.3"))
    assert report["students"]["amy"]["exercises"]["2.1"]["points"] == 0


_WALLS = r"""
import dataclasses
import sys
import threading
import numpy as np
import refimpl
import refimpl.lab.data
from refimpl.course import sandbox
from refimpl.course.oracles import random_pair
pair = random_pair((4, 3, 2), 0)
sandbox.guard_forbidden(["mean_pass", "recognise_mean"])
sandbox.install()
student = compile('''
def attempts(path):
    out = {}
    alias = refimpl.forward.mean_pass  # bound before: the function object itself is switched off
    walls = vars(dataclasses.sys.modules["refimpl.course" + ".sandbox"])
    def walls_off():
        for key, value in list(walls.items()):  # every dict, list and set the walls' module holds, emptied
            if isinstance(value, (dict, list, set)) and not key.startswith("__"):
                value.clear()
        for key, value in list(walls.items()):  # and every function of it made to let everything pass
            if callable(value) and key.startswith("_") and not key.startswith("__"):
                walls[key] = lambda *args, **kwargs: None
        return open(path).read()
    def in_a_thread():
        box = []
        worker = threading.Thread(target=lambda: box.append(alias(pair.recogniser, np.zeros((1, 4)))))
        worker.start(), worker.join()
        return box[0]
    for name, attempt in [
        ("built name", lambda: getattr(refimpl, "mean" + "_pass")),
        ("alias", lambda: alias(pair.recogniser, np.zeros((1, 4)))),
        ("from numpy", lambda: np.vectorize(lambda: alias(pair.recogniser, np.zeros((1, 4))), otypes=[object])()),
        ("in a thread", in_a_thread),
        ("walls off", walls_off),
        ("method", lambda: pair.recognise_mean(np.zeros((1, 4)))),
        ("open", lambda: open(path).read()),
        ("numpy read", lambda: np.fromfile(path, dtype=np.uint8)),
        ("fork", lambda: refimpl.lab.data.os.fork()),
        ("listdir", lambda: refimpl.lab.data.os.listdir(".")),
    ]:
        try:
            value = attempt()
            if name == "built name":
                value(pair.recogniser, np.zeros((1, 4)))
            out[name] = "allowed"
        except BaseException as err:
            out[name] = type(err).__name__
    return out
''', "<cheat.py, code cell 1>", "exec")
namespace = {"refimpl": refimpl, "np": np, "pair": pair, "dataclasses": dataclasses, "threading": threading}
exec(student, namespace)
result = namespace["attempts"](sys.argv[1])
library = pair.sample_generator(np.array([0, 1]), np.random.default_rng(0))  # the library still works
print(result, len(library))
"""


def test_course_walls_stand_without_the_static_reading(tmp_path):
    """Past the grader's reading of the source, in a process of its own: the library's implementation of the
    exercise raises PermissionError however the submission calls it (by a built name, an alias bound before,
    from numpy's code, in a thread, as a method), while the rest of the library works; opening a file (directly,
    through numpy, or after emptying every container of the walls' module), forking and listing a folder are
    refused."""
    script = tmp_path / "walls.py"
    script.write_text(_WALLS)
    done = subprocess.run([sys.executable, str(script), str(SHEET2)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    result = eval(done.stdout.strip().rsplit(" ", 1)[0])
    assert result == {"built name": "PermissionError", "alias": "PermissionError", "from numpy": "PermissionError",
                      "in a thread": "IndexError", "walls off": "PermissionError",
                      "method": "PermissionError", "open": "PermissionError",
                      "numpy read": "PermissionError", "fork": "PermissionError", "listdir": "PermissionError"}
