"""Grade exercise notebooks, offline: ``python -m refimpl.course.grade``.

A student grades a notebook and reads, per exercise, the points and, for each failed
check, what is off (the equation's label and the size of the discrepancy, never the
answer)::

    python -m refimpl.course.grade tutorial/exercises/ex02_forward_pass_as_inference.ipynb

A teacher grades a folder of submissions (one sub-folder per student, or files named
``<student>_exNN_*.ipynb``) into ``grades.csv`` and ``grades.json``::

    python -m refimpl.course.grade submissions/ --out grades/

Every exercise runs in its own process with a time limit (``--time-limit``, seconds): an
endless loop or a crash costs that exercise's points and nothing else.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .exercises import EXERCISES
from .grader import TIME_LIMIT, format_report, grade_folder, grade_notebook

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
    parser.add_argument("--out", type=Path, default=Path("."),
                        help="folder for grades.csv and grades.json when grading a folder (default: here)")
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
    if args.path.is_dir():
        if args.exercise:
            parser.error("--exercise applies to one notebook; a folder is graded on every exercise")
        report = grade_folder(args.path, args.out, args.time_limit,
                              progress=lambda text: print(text, file=sys.stderr, flush=True))
        print(_summary(report))
        print(f"wrote {report['csv']} and {report['json']}")
        return 0
    if not args.path.is_file():
        parser.error(f"{args.path} is neither a notebook nor a folder")
    try:
        results = grade_notebook(args.path, args.exercise, args.time_limit)
    except ValueError as err:
        parser.error(str(err))
    print(format_report(args.path.name, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
