"""Build and execute the tutorial notebooks: the project's main job.

Each tutorial is a jupytext percent file ``tutorial/NN_name.py`` (reviewed as
code). This script converts each one to ``tutorial/NN_name.ipynb`` and executes
it top to bottom, so the notebook a student opens carries its outputs, and the
figures the notebooks save land in ``figures/``.

Usage::

    python tutorial/build.py            # all notebooks
    python tutorial/build.py 01 02      # only those whose name starts with 01 or 02
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def sources(prefixes=()):
    """The tutorial sources, in order, optionally filtered by name prefix."""
    files = sorted(p for p in HERE.glob("[0-9][0-9]_*.py"))
    if prefixes:
        files = [p for p in files if any(p.name.startswith(s) for s in prefixes)]
    return files


def execute(source: Path, timeout: int = 1200) -> nbformat.NotebookNode:
    """Convert a percent source to a notebook and execute it in its own folder."""
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(HERE)}}).execute()
    return nb


def main(argv) -> int:
    files = sources(argv)
    if not files:
        print(f"no tutorial matches {argv}", file=sys.stderr)
        return 2
    for source in files:
        start = time.perf_counter()
        print(f"executing {source.name} ...", flush=True)
        nb = execute(source)
        target = source.with_suffix(".ipynb")
        nbformat.write(nb, target)
        print(f"  wrote {target.relative_to(HERE.parent)} in {time.perf_counter() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
