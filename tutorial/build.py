"""Build and execute the tutorial notebooks: the project's main job.

Each tutorial is a jupytext percent file ``tutorial/NN_name.py`` (reviewed as
code). This script converts each one to ``tutorial/NN_name.ipynb`` and executes
it top to bottom, so the notebook a student opens carries its outputs, and the
figures the notebooks save land in ``figures/``. Then it writes the student tutorials, with
the exercise sheets beside them, into ``build/student/`` (each shown source that an exercise
asks for replaced by a line naming the exercise; :mod:`refimpl.course.student_tutorials`)
and builds the site. It prints each notebook's name when
it starts and its time when it ends, and warns (on stderr) about any output that
shows an absolute path of the machine, such as a displayed ``PosixPath('/home/...')``.

Usage::

    python tutorial/build.py            # all notebooks
    python tutorial/build.py 01 02      # only those whose name starts with 01 or 02
    python tutorial/build.py --student  # only the student tutorials (from the sources, executing nothing)
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from traitlets.config import Config

HERE = Path(__file__).resolve().parent

# An absolute path of the machine that ran the notebook: the project, the home folder, the
# temporary folder, the interpreter, or any path under the usual top-level folders.
_TOP_FOLDERS = ("home", "root", "tmp", "var", "work", "Users", "opt", "usr", "private", "mnt")
_ABSOLUTE = re.compile(r"(?<![\w.:/])(?:/(?:" + "|".join(_TOP_FOLDERS) + r")/|[A-Za-z]:\\)")


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
    with tempfile.TemporaryDirectory(prefix="refimpl-kernel-") as sockets:
        config = Config()
        if os.name == "posix":
            # Local sockets in a private folder instead of TCP on localhost: nothing listens on a
            # port, and the kernel has no reason to warn that TCP traffic is unencrypted.
            config.KernelManager.transport = "ipc"
            config.KernelManager.ip = os.path.join(sockets, "kernel")
        NotebookClient(nb, timeout=timeout, kernel_name="python3", config=config,
                       resources={"metadata": {"path": str(HERE)}}).execute()
    return nb


def _output_texts(nb: nbformat.NotebookNode):
    """(cell number, text) of every textual output of the code cells (images are skipped)."""
    for number, cell in enumerate(nb.cells, 1):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "stream":
                yield number, out.get("text", "")
            elif out.get("output_type") == "error":
                yield number, "\n".join([out.get("evalue", "")] + out.get("traceback", []))
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/") or mime.endswith("json"):
                    yield number, value if isinstance(value, str) else str(value)


def absolute_paths(nb: nbformat.NotebookNode, extra=()) -> list[tuple[int, str]]:
    """(cell number, line) of each output line that shows an absolute path of the build machine.

    Flags the project folder, the home and temporary folders, the interpreter's prefix, any
    folder in ``extra``, and any path under a usual top-level folder (``/home/``, ``/tmp/``, ...).
    """
    folders = {str(HERE.parent), str(Path.home()), tempfile.gettempdir(), sys.prefix, *map(str, extra)}
    folders = {f.rstrip(os.sep) + os.sep for f in folders if len(f) > 1}
    found = []
    for number, text in _output_texts(nb):
        for line in text.splitlines():
            if _ABSOLUTE.search(line) or any(f in line or line.endswith(f[:-1]) for f in folders):
                found.append((number, line.strip()))
    return found


def build_student() -> int:
    """Write the student tutorials into ``build/student/``; 1 (with the reason) if one would show an answer."""
    from refimpl.course.student_tutorials import build, relative

    try:
        for path, note in build():
            print(f"wrote {relative(path)} ({note})", flush=True)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        return 1
    return 0


def main(argv) -> int:
    if argv == ["--student"]:
        return build_student()
    files = sources(argv)
    if not files:
        print(f"no tutorial matches {argv}", file=sys.stderr)
        return 2
    total = time.perf_counter()
    for i, source in enumerate(files, 1):
        start = time.perf_counter()
        print(f"[{i}/{len(files)}] {source.stem} ...", flush=True)
        nb = execute(source)
        target = source.with_suffix(".ipynb")
        nbformat.write(nb, target)
        print(f"[{i}/{len(files)}] {source.stem}: {time.perf_counter() - start:.1f} s, "
              f"wrote {target.relative_to(HERE.parent)}", flush=True)
        for number, line in absolute_paths(nb):
            print(f"  warning: {target.name}, cell {number} (counting from 1) shows an absolute path: {line}",
                  file=sys.stderr, flush=True)
    noun = "notebook" if len(files) == 1 else "notebooks"
    print(f"built {len(files)} {noun} in {time.perf_counter() - total:.1f} s", flush=True)
    return build_student() or build_site()


def build_site() -> int:
    """Build the course site (``build/site/``) with ``tutorial/build_site.py`` once every notebook exists."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("refimpl_build_site", HERE / "build_site.py")
    site = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(site)
    missing = site.missing_notebooks()
    if missing:
        print(f"site not built: {', '.join(p.name for p in missing)} not built yet", flush=True)
        return 0
    return site.main([])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
