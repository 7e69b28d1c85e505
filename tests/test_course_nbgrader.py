"""The nbgrader release: nbgrader itself builds the students' version and autogrades, offline.

``python -m refimpl.course.make_exercises --nbgrader DIR`` writes the course source; this test
runs ``nbgrader generate_assignment`` and ``nbgrader autograde`` on sheet 2 in a temporary
folder, with the solutions handed in by one student and the released version, untouched, by
another: the solutions get every point, the released version none. nbgrader is the optional
``course`` extra (``pip install -e ".[course]"``); without it the test is skipped and says so.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from refimpl.course import make_exercises
from refimpl.course.exercises import NOTEBOOKS

pytest.importorskip("nbgrader", reason="nbgrader is not installed: pip install -e '.[course]' to run this test")

SHEET = "ex02_forward_pass_as_inference"
SECRET = "kept by the teacher 1234"


def _nbgrader(course: Path, *args: str) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout + done.stderr


def test_course_nbgrader_release_scores_solutions_full_and_the_student_version_zero(tmp_path):
    """nbgrader generate_assignment strips the solutions and the hidden tests (the teacher's seed); nbgrader
    autograde gives the solutions every point of the sheet and the released version none."""
    course = tmp_path / "course"
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET + "\n")
    assert make_exercises.main(["--nbgrader", str(course), "--secret-file", str(secret_file)]) == 0
    source = course / "source" / SHEET / f"{SHEET}.ipynb"
    cells = json.loads(source.read_text())["cells"]
    graded = [c["metadata"]["nbgrader"] for c in cells if c["metadata"].get("nbgrader", {}).get("grade")]
    solutions = [c for c in cells if c["metadata"].get("nbgrader", {}).get("solution")]
    assert len(solutions) == len(NOTEBOOKS[SHEET])
    total = sum(ex.points for ex in NOTEBOOKS[SHEET])
    assert sum(g["points"] for g in graded) == total and len(graded) == sum(len(ex.checks) for ex in NOTEBOOKS[SHEET])
    _nbgrader(course, "generate_assignment", SHEET, "--force")
    released = (course / "release" / SHEET / f"{SHEET}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in released and SECRET not in released and "NotImplementedError" in released
    for student, notebook in (("alice", source), ("bob", course / "release" / SHEET / f"{SHEET}.ipynb")):
        folder = course / "submitted" / student / SHEET
        folder.mkdir(parents=True)
        shutil.copy(notebook, folder / f"{SHEET}.ipynb")
    _nbgrader(course, "autograde", SHEET, "--create", "--force")
    _nbgrader(course, "export", "--to", str(course / "grades.csv"))
    with (course / "grades.csv").open(newline="") as handle:
        scores = {row["student_id"]: (float(row["score"]), float(row["max_score"])) for row in csv.DictReader(handle)}
    assert scores == {"alice": (total, total), "bob": (0.0, total)}
