"""The grader's checks are honest: they reject typical wrong answers and accept any correct one.

Scored in this process with :func:`refimpl.course.worker.score_function` (the same checks the
graded child processes run), so every variant costs milliseconds. The answers themselves are
in ``tests/test_course_answers.py``.
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from refimpl.course.exercises import EXERCISES, NOTEBOOKS
from refimpl.course.make_exercises import SOLUTIONS_DIR
from refimpl.course.notebook import SUBMISSION, called_names, code_cells, extract_definitions
from refimpl.course.worker import score_function, score_notebook

_spec = importlib.util.spec_from_file_location("course_answers", Path(__file__).parent / "test_course_answers.py")
answers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(answers)

WRONG_CASES = [(ex_id, what, source) for ex_id, variants in answers.WRONG.items() for what, source in variants]
# many numbers in a row would be an array printed in a message: the grader never shows the expected values
ARRAY_IN_TEXT = re.compile(r"-?\d+\.\d+(?:[\s,]+-?\d+\.\d+){2,}")


def _function(ex_id: str, source: str):
    """Execute ``source`` after the common imports, as a submission would; return (function, namespace)."""
    namespace = {"__name__": SUBMISSION}
    exec(compile(answers.HEADER + source, f"<answer {ex_id}, code cell 1>", "exec"), namespace)
    return namespace[EXERCISES[ex_id].function], namespace


def _score(ex_id: str, func, namespace=None) -> dict:
    with warnings.catch_warnings():  # wrong answers may overflow (log of 0): that is their failure, not ours
        warnings.simplefilter("ignore", RuntimeWarning)
        return score_function(EXERCISES[ex_id], func, namespace)


@pytest.mark.parametrize(("ex_id", "what", "source"), WRONG_CASES, ids=[f"{c[0]}-{c[1][:40]}" for c in WRONG_CASES])
def test_course_wrong_answer_is_rejected(ex_id, what, source):
    """A typical wrong answer loses points, and each failed check names the equation and what is off."""
    result = _score(ex_id, *_function(ex_id, source))
    assert result["points"] < result["max_points"], f"{ex_id} accepted {what!r}"
    failed = [c for c in result["checks"] if not c["passed"]]
    label = EXERCISES[ex_id].label
    assert failed and all(c["message"].startswith(f"{label}: ") or "Error" in c["message"] for c in failed)
    assert not any(ARRAY_IN_TEXT.search(c["message"]) for c in failed), [c["message"] for c in failed]


@pytest.mark.parametrize("ex_id", list(answers.RIGHT))
def test_course_other_correct_answer_scores_full_marks(ex_id):
    """A correct function written unlike the solution (loops, another order of random draws) gets every point."""
    result = _score(ex_id, *_function(ex_id, answers.RIGHT[ex_id]))
    assert result["outcome"] == "passed", result["message"]


@pytest.mark.parametrize("ex_id", list(answers.ADAPTERS))
def test_course_refimpl_wrapped_scores_full_marks(ex_id):
    """refimpl's own tested function, wrapped to the exercise's signature, passes the independent checks."""
    namespace = {"__name__": "adapters"}
    exec(answers.HEADER, namespace)
    result = _score(ex_id, eval(answers.ADAPTERS[ex_id], namespace))
    assert result["outcome"] == "passed", result["message"]


@pytest.mark.parametrize("stem", list(NOTEBOOKS))
def test_course_solution_notebook_scores_full_marks_in_process(stem):
    """Every exercise of a solution notebook passes every check (the same extraction as a graded child)."""
    for ex in NOTEBOOKS[stem]:
        result = score_notebook(SOLUTIONS_DIR / f"{stem}.py", ex.id)
        assert result["points"] == result["max_points"] == ex.points, (ex.id, result["message"])


def test_course_calling_refimpl_for_the_exercise_scores_zero():
    """A function that calls refimpl's implementation of its exercise, even under another name or through a
    helper, is refused; one that uses refimpl for other things is graded."""
    cases = {
        "import refimpl\ndef mean_pass(net, x0):\n    return refimpl.forward_marginals(net, x0)": True,
        "from refimpl import mean_pass as mp\ndef mean_pass(net, x0):\n    return mp(net, x0)": True,
        "import refimpl\ndef helper(net, x0):\n    return refimpl.mean_pass(net, x0)\n"
        "def mean_pass(net, x0):\n    return helper(net, x0)": True,
        "import numpy as np\nfrom refimpl.numerics import sigmoid\ndef mean_pass(net, x0):\n"
        "    out, mu = [], np.asarray(x0, dtype=float)\n    for w, b in zip(net.weights, net.biases):\n"
        "        mu = sigmoid(mu @ w.T + b)\n        out.append(mu)\n    return out": False,
    }
    for source, refused in cases.items():
        namespace = {"__name__": SUBMISSION}
        exec(source, namespace)
        result = score_function(EXERCISES["2.1"], namespace["mean_pass"], namespace)
        assert (result["outcome"] == "forbidden") == refused, source
        assert result["points"] == (0 if refused else 3)
    source = "def mean_pass(net, x0):\n    refimpl.mean_pass(net, x0)\n    return refimpl.forward_marginals(net, x0)"
    assert {"mean_pass", "forward_marginals"} <= called_names(*_function("2.1", source))


def test_course_extraction_runs_definitions_and_constants_only(tmp_path):
    """The grader keeps imports, defs, classes, lambdas and constants computed with numpy or math; a top-level
    loop, call or check is left out, and each statement left out is listed with its place and the reason."""
    source = ("# %%\nimport math\nimport numpy as np\nSEED = 3\nPI_OVER_8 = np.pi / 8\nROOT = math.sqrt(2.0)\n"
              "sig = lambda a: 1.0 / (1.0 + np.exp(-a))\nrng = object()\nwhile True:\n    pass\n\n"
              "# %%\nprint('never')\nassert False\n%matplotlib inline\nmine = f(SEED)\ngap = mine - 1\n"
              "def f(x):\n    return math.sqrt(x) + SEED + sig(0.0) + PI_OVER_8 * 0\n\n"
              "# %% [markdown]\n# def g(): text, not code\n")
    path = tmp_path / "ex01_example.py"
    path.write_text(source)
    definitions = extract_definitions(code_cells(path))
    namespace = {"__name__": SUBMISSION}
    for statement, _ in definitions.code:
        exec(statement, namespace)
    assert not definitions.problems and namespace["f"](4.0) == 5.5 and "g" not in namespace
    assert namespace["PI_OVER_8"] == np.pi / 8 and namespace["ROOT"] == np.sqrt(2.0)
    assert "rng" not in namespace and "mine" not in namespace and "gap" not in namespace
    skipped = {s.text: s for s in definitions.skipped}
    assert "it calls object" in skipped["rng = object()"].reason
    assert "loop" in skipped["while True:"].reason and "check" in skipped["assert False"].reason
    assert "it uses mine" in skipped["gap = mine - 1"].reason
    assert definitions.why_undefined("gap").startswith("`gap = mine - 1` (code cell 2, line 5) was not run")
    problems = extract_definitions(["def broken(:\n    pass"]).problems
    assert problems and problems[0].startswith("code cell 1 does not parse")


@pytest.mark.parametrize(("source", "reason"), [
    ("import os\ndef f():\n    return 1", "it imports os"),
    ("def f():\n    return eval('1')", "it uses eval"),
    ("def f():\n    return open('x').read()", "it uses open"),
    ("import refimpl\ndef f():\n    return getattr(refimpl, 'mean' + '_pass')", "getattr with a computed"),
    ("def f():\n    return f.__globals__", "attribute __globals__"),
    ("import refimpl\ndef f():\n    return refimpl.course.registry", "attribute course"),
    ("from refimpl.learning import _wake\ndef f():\n    return 1", "private name"),
    ("import numpy as np\nnp.allclose = lambda *a, **k: True\ndef f():\n    return 1", "assigns to an attribute"),
])
def test_course_extraction_names_what_it_does_not_run(source, reason):
    """A statement that reaches beyond the submission's own code is not run, and the reason says what it uses."""
    definitions = extract_definitions([source])
    assert definitions.skipped and reason in definitions.skipped[0].reason, definitions.skipped


def test_course_monte_carlo_checks_use_fixed_seeds():
    """Grading the same stochastic answer twice gives the same verdict and the same messages."""
    func, namespace = _function("5.1", answers.WRONG["5.1"][0][1])
    first, second = _score("5.1", func, namespace), _score("5.1", func, namespace)
    assert first == second and first["points"] < first["max_points"]
    assert np.isfinite(first["points"])
