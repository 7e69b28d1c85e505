"""How the test run is spread over pytest-xdist's workers (``-n 2 --dist loadfile`` in pyproject.toml)."""

from __future__ import annotations

import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two workers on two cores: each (and each kernel, grader or nbgrader process it starts) computes on one
    # thread. Numba's and OpenBLAS's threads, two per worker, fought over the cores and made executing
    # tutorial 4 ten times slower. Set before numpy or numba is imported; a value already set is kept.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(name, "1")

#: Files whose tests run on one worker, one after another: test_site.py builds the site from the
#: notebooks test_notebooks.py executed (build/site-test/notebooks), instead of executing them again.
#: They take longest, so they start first.
TOGETHER = {"tests/test_notebooks.py": "the executed tutorials and the site",
            "tests/test_site.py": "the executed tutorials and the site"}


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile``, with the files of ``TOGETHER`` as one unit of work, handed out first."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    if not all(hasattr(LoadFileScheduling, name) for name in ("_split_scope", "_assign_work_unit")):
        return None  # another xdist: plain loadfile (correct; the site then executes the tutorials itself)

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            return TOGETHER.get(path, path)

        def _assign_work_unit(self, node) -> None:
            first = next(iter(TOGETHER.values()))
            if first in self.workqueue:
                self.workqueue.move_to_end(first, last=False)
            super()._assign_work_unit(node)

    return Scheduling(config, log)
