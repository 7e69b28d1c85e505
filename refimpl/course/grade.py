"""Grade exercise notebooks, offline: ``python -m refimpl.course.grade``.

A student grades a notebook and reads, per exercise, the points and, for each failed
check, what is off (the equation's label and the size of the discrepancy, never the
answer)::

    python -m refimpl.course.grade tutorial/exercises/ex02_forward_pass_as_inference.ipynb

A teacher grades a folder of submissions (one sub-folder per student, or files named
``<student>_exNN_*.ipynb``) into ``grades.csv`` (one row per student and exercise, and a total
per student), ``grades.json`` and ``feedback/<student>.md``, in a folder outside the
submissions; ``--students`` names the class list (one name per line), so that a student who
handed in nothing appears with zero points, "no submission"; ``--secret-file`` (or
``--secret``) holds the teacher's seed, so the inputs of the checks differ from those the
students could see::

    python -m refimpl.course.grade submissions/ --out grades/ --students class.txt --secret-file ~/secret.txt

Every exercise runs in its own process with a time limit (``--time-limit``, seconds): an
endless loop or a crash costs that exercise's points and nothing else.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .exercises import EXERCISES
from .grader import TIME_LIMIT, format_report, grade_folder, grade_notebook, read_class_list
from .worker import DEFAULT_SECRET

__all__ = ["main"]


def _summary(report: dict) -> str:
    ids = [ex["exercise"] for ex in report["exercises"]]
    lines = ["student".ljust(16) + " ".join(i.rjust(4) for i in ids) + "  total"]
    for student, entry in report["students"].items():
        points = [entry["exercises"][i]["points"] for i in ids]
        lines.append(student[:16].ljust(16) + " ".join(str(p).rjust(4) for p in points)
                     + f"  {entry['total']}/{entry['max_total']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m refimpl.course.grade",
                                     description="Grade exercise notebooks: one notebook, or a folder of submissions.")
    parser.add_argument("path", type=Path, nargs="?", help="a notebook (.ipynb or .py), or a folder of submissions")
    parser.add_argument("--out", type=Path,
                        help="folder for grades.csv, grades.json and feedback/ (required when grading a folder; "
                             "outside the submissions)")
    parser.add_argument("--students", type=Path, metavar="FILE",
                        help="class list, one student per line: who handed in nothing gets 0, 'no submission'")
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument("--secret", help="the teacher's seed for the checks' inputs (default: the public one)")
    secret.add_argument("--secret-file", type=Path, metavar="FILE", help="a file holding the teacher's seed")
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT,
                        help=f"seconds each exercise may take (default {TIME_LIMIT:g})")
    parser.add_argument("--exercise", action="append", choices=list(EXERCISES), metavar="ID",
                        help="grade only this exercise of the notebook (repeatable), e.g. --exercise 2.1")
    parser.add_argument("--list", action="store_true", help="list the exercises and exit")
    args = parser.parse_args(argv)
    if args.list:
        for ex in EXERCISES.values():
            print(f"{ex.id:4s} {ex.notebook:34s} {ex.function:22s} {ex.label:18s} {ex.points} points: {ex.title}")
        return 0
    if args.path is None:
        parser.error("give a notebook or a folder of submissions (or --list)")
    if args.time_limit <= 0:
        parser.error(f"--time-limit must be a positive number of seconds; got {args.time_limit:g}")
    secret_value = args.secret if args.secret is not None else DEFAULT_SECRET
    if args.secret_file is not None:
        try:
            secret_value = args.secret_file.read_text(encoding="utf-8").strip()
        except OSError as err:
            parser.error(f"--secret-file cannot be read: {err.strerror} ({args.secret_file})")
        if not secret_value:
            parser.error(f"--secret-file must hold a seed; {args.secret_file} is empty")
    if args.path.is_dir():
        if args.exercise:
            parser.error("--exercise applies to one notebook; a folder is graded on every exercise")
        if args.out is None:
            parser.error("--out is required when grading a folder: a folder for the grades, outside the "
                         "submissions and outside the project (the grades are students' data)")
        students = None
        if args.students is not None:
            try:
                students = read_class_list(args.students)
            except (OSError, UnicodeDecodeError) as err:
                parser.error(f"--students cannot be read: {err} ({args.students})")
        try:
            report = grade_folder(args.path, args.out, args.time_limit, students=students, secret=secret_value,
                                  progress=lambda text: print(text, file=sys.stderr, flush=True))
        except ValueError as err:
            parser.error(str(err).replace("out_dir", "--out"))
        print(_summary(report))
        off_list = [s for s, e in report["students"].items() if e["on_class_list"] is False]
        if off_list:
            print(f"not on the class list (graded all the same): {', '.join(off_list)}")
        print(f"wrote {report['csv']}, {report['json']} and {len(report['feedback'])} feedback files in "
              f"{report['feedback'][0].parent if report['feedback'] else args.out}")
        return 0
    if not args.path.is_file():
        parser.error(f"{args.path} is neither a notebook nor a folder")
    try:
        results = grade_notebook(args.path, args.exercise, args.time_limit, secret=secret_value)
    except ValueError as err:
        parser.error(str(err))
    print(format_report(args.path.name, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
