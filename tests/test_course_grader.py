"""The grader, end to end: notebooks graded in child processes, a folder graded into CSV and JSON.

One folder of submissions is graded once (module fixture) and read by several tests:
``alice`` hands in the solutions, ``bob`` the freshly generated student versions untouched,
``carol`` a typical wrong answer for every exercise, ``dave`` one notebook only, as a
file at the top of the folder, and ``erin``, on the class list, nothing. An endless loop and
a process that crashes are graded with a short time limit: each costs its own exercise and
nothing else.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from refimpl.course import grade, make_exercises
from refimpl.course.exercises import EXERCISES, NOTEBOOKS
from refimpl.course.grader import CSV_FIELDS, find_submissions, format_report, grade_exercise, grade_notebook
from refimpl.course.make_exercises import SOLUTIONS_DIR

_spec = importlib.util.spec_from_file_location("course_answers", Path(__file__).parent / "test_course_answers.py")
answers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(answers)

TOTAL = sum(ex.points for ex in EXERCISES.values())


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A folder of four students' submissions, graded once; returns the report and the output folder."""
    root = tmp_path_factory.mktemp("course")
    submissions = root / "submissions"
    for student in ("alice", "bob", "carol"):
        (submissions / student).mkdir(parents=True)
    for stem in NOTEBOOKS:
        shutil.copy(SOLUTIONS_DIR / f"{stem}.py", submissions / "alice" / f"{stem}.py")
        wrong = [answers.WRONG[ex.id][0][1] for ex in NOTEBOOKS[stem]]
        (submissions / "carol" / f"{stem}.py").write_text(answers.notebook(wrong))
    make_exercises.build(SOLUTIONS_DIR, root / "fresh")
    for path in (root / "fresh").glob("*.ipynb"):
        shutil.copy(path, submissions / "bob" / path.name)
    shutil.copy(SOLUTIONS_DIR / "ex01_sigmoid_belief_net.py", submissions / "dave_ex01_sigmoid_belief_net.py")
    out = root / "grades"
    roster = root / "class.txt"
    roster.write_text("student\nalice\nbob\ncarol\ndave\nerin  # handed in nothing\n")
    assert grade.main([str(submissions), "--out", str(out), "--time-limit", "60", "--students", str(roster)]) == 0
    return json.loads((out / "grades.json").read_text()), out


def test_course_solutions_score_full_marks(graded):
    """Every exercise of every solution notebook gets all its points in its own graded process."""
    report, _ = graded
    alice = report["students"]["alice"]
    assert alice["total"] == alice["max_total"] == TOTAL
    assert all(r["outcome"] == "passed" for r in alice["exercises"].values())


def test_course_fresh_student_versions_score_zero_with_not_implemented(graded):
    """The generated student notebooks, untouched, score zero: every exercise fails with its NotImplementedError."""
    report, _ = graded
    bob = report["students"]["bob"]
    assert bob["total"] == 0
    for ex_id, r in bob["exercises"].items():
        assert r["outcome"] == "not implemented", (ex_id, r["message"])
        assert all(c["message"].startswith(f"NotImplementedError: {EXERCISES[ex_id].label}: implement")
                   for c in r["checks"])


def test_course_wrong_answers_in_notebooks_lose_points(graded):
    """A notebook holding a typical wrong answer for each exercise loses points on every exercise."""
    report, _ = graded
    carol = report["students"]["carol"]
    for ex_id, r in carol["exercises"].items():
        assert r["points"] < r["max_points"], (ex_id, answers.WRONG[ex_id][0][0])
        assert r["message"]


def test_course_folder_gives_one_csv_row_per_student_and_exercise_and_a_total(graded):
    """grades.csv holds a row per student and exercise, with every failed check's message, and a total per student;
    grades.json the same points; a notebook not handed in is 'missing', zero points; a student on the class list
    who handed in nothing appears with zero, 'no submission'."""
    report, out = graded
    with (out / "grades.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CSV_FIELDS
    assert list(report["students"]) == ["alice", "bob", "carol", "dave", "erin"]
    assert len(rows) == 5 * (len(EXERCISES) + 1)
    for row in rows:
        entry = report["students"][row["student"]]
        if row["exercise"] == "total":
            assert int(row["points"]) == entry["total"] == sum(r["points"] for r in entry["exercises"].values())
            continue
        result = entry["exercises"][row["exercise"]]
        assert int(row["points"]) == result["points"] and row["outcome"] == result["outcome"]
        failed = [c for c in result["checks"] if not c["passed"]]
        assert all(c["message"] in row["message"] for c in failed)
    dave = report["students"]["dave"]["exercises"]
    assert all(dave[ex.id]["outcome"] == "passed" for ex in NOTEBOOKS["ex01_sigmoid_belief_net"])
    missing = [r for ex_id, r in dave.items() if not ex_id.startswith("1.")]
    assert missing and all(r["outcome"] == "missing" and r["points"] == 0 for r in missing)
    erin = [row for row in rows if row["student"] == "erin"]
    assert all(int(row["points"]) == 0 and "no submission" in row["message"] for row in erin)
    carol = {row["exercise"]: row for row in rows if row["student"] == "carol"}
    assert any(" | " in row["message"] for row in carol.values())  # more than one failed check, each kept


def test_course_feedback_file_per_student_lists_every_check(graded):
    """Each student gets feedback/<student>.md: the total, and every check's sentence with passed or failed."""
    report, out = graded
    for student, entry in report["students"].items():
        text = (out / "feedback" / f"{student}.md").read_text()
        assert f"Total: {entry['total']} / {entry['max_total']}" in text
        for result in entry["exercises"].values():
            for check in result["checks"]:
                assert check["sentence"].replace("*", "\\*") in text
        assert text.count("**passed**") == sum(c["passed"] for r in entry["exercises"].values() for c in r["checks"])


def test_course_grade_folder_requires_out_outside_the_submissions(tmp_path, capsys):
    """Grading a folder needs --out, and --out may not lie inside the submissions (the students' files)."""
    (tmp_path / "subs").mkdir()
    for argv in ([str(tmp_path / "subs")], [str(tmp_path / "subs"), "--out", str(tmp_path / "subs" / "grades")]):
        with pytest.raises(SystemExit) as exit_info:
            grade.main(argv)
        assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--out is required" in err and "--out must lie outside the submissions folder" in err


def test_course_endless_loop_and_crash_cost_only_their_exercise(tmp_path):
    """With a 3 s limit: an endless loop at the top level is never run, one inside an exercise costs that
    exercise ('timeout'), a function that ends the grading process costs its exercise ('crashed'),
    and the notebook's correct exercise still gets every point."""
    functions = [
        "while True:\n    pass",  # a top-level cell the grader must not run
        answers.RIGHT["1.1"],
        "def layer_step(p_prev, weight, bias):\n    while True:\n        pass",
        "def unit_marginals(p, d):\n    print('about to leave', flush=True)\n"
        "    return np.lib.stride_tricks.as_strided(np.zeros(1), shape=(2,), strides=(2**44,))[1]",
    ]
    path = tmp_path / "ex01_sigmoid_belief_net.py"
    path.write_text(answers.notebook(functions))
    results = {r["exercise"]: r for r in grade_notebook(path, time_limit=3.0)}
    assert results["1.1"]["outcome"] == "passed" and results["1.1"]["points"] == 3
    assert results["1.2"]["outcome"] == "timeout" and results["1.2"]["points"] == 0
    assert "did not finish its checks in time" in results["1.2"]["message"]
    assert results["1.3"]["outcome"] == "crashed" and results["1.3"]["points"] == 0
    assert "exit code -11" in results["1.3"]["message"] and "about to leave" in results["1.3"]["message"]


def test_course_student_report_shows_points_and_hints_not_answers(tmp_path, capsys):
    """A student's report gives points per exercise and, per failed check, the equation and what is off."""
    path = tmp_path / "ex02_forward_pass_as_inference.py"
    path.write_text(answers.notebook([answers.WRONG["2.1"][0][1], answers.RIGHT["2.2"], answers.WRONG["2.3"][0][1]]))
    assert grade.main([str(path), "--time-limit", "60"]) == 0
    out = capsys.readouterr().out
    assert "2.2  logit_moments          A1" in out and " 2/2  passed" in out
    assert "- Check that" in out and "M6: layer 1" in out and "M8:" in out and "total" in out
    assert "[" not in out.replace("[0, 1]", "")  # no arrays: the expected values are never shown


def test_course_grade_one_exercise_with_spawn(tmp_path):
    """Where there is no fork server (Windows), each exercise starts a fresh interpreter: same result."""
    result = grade_exercise(SOLUTIONS_DIR / "ex02_forward_pass_as_inference.py", "2.2", start_method="spawn")
    assert result["outcome"] == "passed" and result["points"] == 2


def test_course_find_submissions_layouts(tmp_path):
    """Sub-folders per student and flat '<student>_exNN_*' files are found; .ipynb wins over .py; checkpoints
    and files naming no notebook are ignored."""
    (tmp_path / "eve" / ".ipynb_checkpoints").mkdir(parents=True)
    for name in ("eve/ex03_mine.py", "eve/ex03_mine.ipynb", "eve/.ipynb_checkpoints/ex01-checkpoint.ipynb",
                 "eve/notes.ipynb", "frank-ex5.py", "alex1_ex02_forward.ipynb", "gina_homework2.ipynb"):
        (tmp_path / name).write_text("")
    ignored = []
    found = find_submissions(tmp_path, ignored)
    assert found == {"eve": {"ex03_generator_by_transposition": tmp_path / "eve" / "ex03_mine.ipynb"},
                     "frank": {"ex05_experiment": tmp_path / "frank-ex5.py"},
                     "alex1": {"ex02_forward_pass_as_inference": tmp_path / "alex1_ex02_forward.ipynb"}}
    assert sorted(ignored) == [tmp_path / "eve" / "notes.ipynb", tmp_path / "gina_homework2.ipynb"]  # reported


def test_course_grade_command_lists_and_refuses_bad_input(tmp_path, capsys):
    """--list prints every exercise; a file whose name names no notebook, or a bad time limit, exits 2."""
    assert grade.main(["--list"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == len(EXERCISES)
    (tmp_path / "homework.py").write_text("")
    for argv in ([str(tmp_path / "homework.py")], [str(tmp_path), "--time-limit", "0"]):
        with pytest.raises(SystemExit) as exit_info:
            grade.main(argv)
        assert exit_info.value.code == 2
    assert "ex01" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:  # a folder is graded on every exercise
        grade.main([str(tmp_path), "--exercise", "2.1"])
    assert exit_info.value.code == 2
    assert "--exercise applies to one notebook" in capsys.readouterr().err


def test_course_report_of_a_missing_function(tmp_path):
    """A notebook without the exercise's function scores zero and says which function is missing."""
    path = tmp_path / "ex03_generator_by_transposition.py"
    path.write_text(answers.notebook([]))
    result = grade_exercise(path, "3.3")
    assert result["outcome"] == "missing" and "no function named rbm_joint" in result["message"]
    assert "3.3  rbm_joint" in format_report(path.name, [result])


@pytest.mark.parametrize("ex_id", list(answers.FORMS))
def test_course_correct_answers_of_other_forms_get_full_marks(ex_id, tmp_path):
    """Module-level helpers, lambdas, computed constants (PI_OVER_8 = np.pi / 8), a small class, recursion:
    graded in a child process, every one gets all the exercise's points."""
    what, cells = answers.FORMS[ex_id]
    path = tmp_path / f"{EXERCISES[ex_id].notebook}.py"
    path.write_text(answers.notebook(cells))
    result = grade_exercise(path, ex_id)
    assert result["outcome"] == "passed" and result["points"] == EXERCISES[ex_id].points, (what, result["message"])


def test_course_message_names_the_statement_not_run_and_why(tmp_path):
    """A function that uses a name set by a top-level statement the grader does not run fails with a message
    naming that statement, its cell and line, and why it was not run."""
    cells = ["SCALE = refimpl.numerics.sigmoid(0.0) * 2", answers.RIGHT["2.2"].replace(
        "return np.einsum", "return SCALE * np.einsum", 1)]
    path = tmp_path / "ex02_forward_pass_as_inference.py"
    path.write_text(answers.notebook(cells))
    result = grade_exercise(path, "2.2")
    assert result["points"] == 0
    message = result["checks"][0]["message"]
    assert "NameError: name 'SCALE' is not defined" in message
    assert "`SCALE = refimpl.numerics.sigmoid(0.0) * 2` (code cell 2, line 1) was not run: it calls " \
           "refimpl.numerics.sigmoid" in message


def test_course_child_runs_in_its_own_group_and_folder_with_a_read_only_copy(tmp_path):
    """The child is the leader of a process group of its own and works in a folder that holds only a read-only
    copy of its submission; stopping it kills the group."""
    from refimpl.course import grader
    from refimpl.course.notebook import code_cells

    source = SOLUTIONS_DIR / "ex01_sigmoid_belief_net.py"
    work = tmp_path / "tmp"
    work.mkdir()
    child = grader._Child(grader._context(), source.name, source.read_bytes(), code_cells(source), EXERCISES["1.1"],
                          work)
    try:
        assert child.receive(120, "starting")["kind"] == "started"
        assert os.getpgid(child.process.pid) == child.process.pid != os.getpgid(0)
        assert [p.name for p in (work / "work").iterdir()] == [source.name]
        assert not os.access(work / "work" / source.name, os.W_OK) or os.geteuid() == 0
        assert stat.S_IMODE((work / "work" / source.name).stat().st_mode) & 0o222 == 0
        assert stat.S_IMODE((work / "work").stat().st_mode) & 0o222 == 0
    finally:
        child.stop()
    assert not child.process.is_alive()
    with pytest.raises(ProcessLookupError):
        os.killpg(child.process.pid, 0)


def test_course_records_are_validated():
    """A record whose exercise, maximum or points do not fit its exercise is refused, not written."""
    from refimpl.course.worker import result_record, validate_record

    exercise = EXERCISES["2.1"]
    good = result_record(exercise, "passed", [{"sentence": c.sentence, "points": c.points, "passed": True,
                                                "message": ""} for c in exercise.checks])
    assert validate_record(dict(good), exercise)["points"] == 3
    for change in ({"points": 100}, {"max_points": 100}, {"exercise": "2.2"}, {"outcome": "excellent"},
                   {"points": 2}, {"points": True}):
        with pytest.raises(RuntimeError, match="inconsistent record"):
            validate_record({**good, **change}, exercise)


def test_course_grade_command_reads_the_secret_and_refuses_a_bad_one(tmp_path, capsys):
    """--secret-file holds the teacher's seed: the public checks' recorded answers do not carry over; a missing or
    empty file, or --secret-file with --secret, exits 2 naming the option."""
    path = tmp_path / "ex02_forward_pass_as_inference.py"
    shutil.copy(SOLUTIONS_DIR / path.name, path)
    secret = tmp_path / "secret.txt"
    secret.write_text("a seed of the teacher's\n")
    assert grade.main([str(path), "--exercise", "2.2", "--secret-file", str(secret)]) == 0
    assert " 2/2  passed" in capsys.readouterr().out
    (tmp_path / "empty.txt").write_text("\n")
    for argv, text in (([str(path), "--secret-file", str(tmp_path / "nope.txt")], "--secret-file cannot be read"),
                       ([str(path), "--secret-file", str(tmp_path / "empty.txt")], "--secret-file must hold a seed"),
                       ([str(path), "--secret", "a", "--secret-file", str(secret)], "not allowed with")):
        with pytest.raises(SystemExit) as exit_info:
            grade.main(argv)
        assert exit_info.value.code == 2 and text in capsys.readouterr().err
