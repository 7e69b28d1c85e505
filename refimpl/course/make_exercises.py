"""Write the student versions of the exercise notebooks from their solutions: one command.

The solutions are the source, ``tutorial/exercises/solutions/exNN_*.py`` (jupytext percent
files). For each, this writes ``tutorial/exercises/exNN_*.py`` (the percent source, to read
and diff) and ``tutorial/exercises/exNN_*.ipynb`` (to open in Jupyter), with every solution
replaced by ``raise NotImplementedError("<label>: implement ...")`` (see
:func:`refimpl.course.notebook.strip_solutions`). The output depends on the solutions only,
so the committed student versions can be checked by writing them again. Writing them also writes
the student tutorials, with the sheets beside them, into ``build/student/`` (see
:mod:`refimpl.course.student_tutorials`)::

    python -m refimpl.course.make_exercises           # write the student versions
    python -m refimpl.course.make_exercises --check   # exit 1, naming the files, if they are stale
    python -m refimpl.course.make_exercises --nbgrader DIR   # the sheets as an nbgrader course source in DIR

(see :mod:`refimpl.course.release`; ``--secret-file`` adds hidden tests on the teacher's seed).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from .exercises import NOTEBOOKS
from .notebook import percent_to_ipynb, strip_solutions
from .student_tutorials import build as build_student_tutorials
from .student_tutorials import relative

__all__ = ["EXERCISES_DIR", "SOLUTIONS_DIR", "build", "main", "stale", "student_version"]

ROOT = Path(__file__).resolve().parents[2]
EXERCISES_DIR = ROOT / "tutorial" / "exercises"
SOLUTIONS_DIR = EXERCISES_DIR / "solutions"


def student_version(text: str, stem: str) -> str:
    """The student version of the solution source ``text`` of notebook ``stem``.

    Raises
    ------
    ValueError
        If a solution block is malformed, or an exercise of the notebook does not get exactly
        one ``NotImplementedError`` (its function has no solution block, or several).
    """
    hints = {ex.function: ex.hint for ex in NOTEBOOKS[stem]}
    out = strip_solutions(text, hints)
    for ex in NOTEBOOKS[stem]:
        count = out.count(f"raise NotImplementedError(\"{ex.hint}\")")
        if count != 1:
            raise ValueError(f"{stem}: exercise {ex.id} ({ex.function}) must have exactly one solution block "
                             f"between '### BEGIN SOLUTION' and '### END SOLUTION'; found {count}.")
    return out


def build(solutions_dir=SOLUTIONS_DIR, out_dir=EXERCISES_DIR) -> list:
    """Write ``<stem>.py`` and ``<stem>.ipynb`` into ``out_dir`` for every notebook; return the paths written."""
    solutions_dir, out_dir = Path(solutions_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem in NOTEBOOKS:
        text = student_version((solutions_dir / f"{stem}.py").read_text(encoding="utf-8"), stem)
        for path, content in ((out_dir / f"{stem}.py", text), (out_dir / f"{stem}.ipynb", percent_to_ipynb(text))):
            path.write_text(content, encoding="utf-8", newline="\n")
            written.append(path)
    return written


def stale(solutions_dir=SOLUTIONS_DIR, out_dir=EXERCISES_DIR) -> list:
    """The student versions in ``out_dir`` that differ from what :func:`build` writes (missing ones included)."""
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="refimpl-exercises-") as tmp:
        return [out_dir / fresh.name for fresh in build(solutions_dir, tmp)
                if not (out_dir / fresh.name).is_file() or (out_dir / fresh.name).read_bytes() != fresh.read_bytes()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m refimpl.course.make_exercises", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a student version is stale")
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS_DIR, help="folder of the solution sources")
    parser.add_argument("--out", type=Path, default=EXERCISES_DIR, help="folder of the student versions")
    parser.add_argument("--nbgrader", type=Path, metavar="DIR",
                        help="write the sheets as an nbgrader course source into DIR instead (nothing else)")
    parser.add_argument("--secret-file", type=Path, metavar="FILE",
                        help="with --nbgrader: hidden tests that run every check on the seed in FILE too")
    args = parser.parse_args(argv)
    if args.secret_file is not None and args.nbgrader is None:
        parser.error("--secret-file applies to --nbgrader")
    if args.nbgrader is not None:
        from .release import write_course

        secret = None
        if args.secret_file is not None:
            try:
                secret = args.secret_file.read_text(encoding="utf-8").strip()
            except OSError as err:
                parser.error(f"--secret-file cannot be read: {err.strerror} ({args.secret_file})")
            if not secret:
                parser.error(f"--secret-file must hold a seed; {args.secret_file} is empty")
        for path in write_course(args.nbgrader, args.solutions, secret):
            print(f"wrote {path}")
        return 0
    if args.check:
        old = stale(args.solutions, args.out)
        for path in old:
            print(f"stale: {path.name}", file=sys.stderr)
        print(f"{len(old)} stale student version(s)" if old else "the student versions are up to date")
        return 1 if old else 0
    for path in build(args.solutions, args.out):
        print(f"wrote {path.name}")
    try:
        for path, note in build_student_tutorials(sheets_dir=args.out):
            print(f"wrote {relative(path)} ({note})")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
