"""Each tutorial executes top to bottom; its own check cells assert the claims it states."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parent.parent / "tutorial"
NOTEBOOK_CACHE = TUTORIAL.parent / "build" / "site-test" / "notebooks"  # read by tests/test_site.py
pytest.importorskip("jupytext", reason="building the tutorials needs the dev extra: pip install -e '.[dev]'")
pytest.importorskip("nbclient", reason="executing the tutorials needs the dev extra: pip install -e '.[dev]'")
nbformat = pytest.importorskip("nbformat", reason="executing the tutorials needs the dev extra")

_spec = importlib.util.spec_from_file_location("tutorial_build", TUTORIAL / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


@pytest.mark.parametrize("source", build.sources(), ids=lambda p: p.stem)
def test_tutorial_executes(source, tmp_path, monkeypatch, capfd):
    """The notebook runs without error (its check cells assert, so a wrong claim fails here).

    Its outputs show no absolute path of the machine that ran it, and the kernel writes
    nothing to the build's terminal (no warning such as unencrypted TCP).
    """
    monkeypatch.setenv("REFIMPL_FIGURES_DIR", str(tmp_path))
    capfd.readouterr()
    nb = build.execute(source, timeout=600)
    terminal = capfd.readouterr()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    assert list(tmp_path.glob("*.png")), "each tutorial saves at least one figure"
    shown = build.absolute_paths(nb, extra=[tmp_path])
    assert not shown, f"outputs show absolute paths (cell number, line): {shown}"
    assert not terminal.out and not terminal.err, f"the kernel wrote to the terminal: {terminal}"
    # keep the executed notebook for the site's browser check (tests/test_site.py), so that it
    # need not execute the tutorials a second time in the same run
    NOTEBOOK_CACHE.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, NOTEBOOK_CACHE / source.with_suffix(".ipynb").name)


def test_absolute_paths_are_found():
    """The scan of outputs flags a displayed absolute path and passes a relative one."""
    def notebook(text):
        out = nbformat.v4.new_output("execute_result", data={"text/plain": text}, execution_count=1)
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[out])])

    shown = f"PosixPath('{TUTORIAL.parent / 'figures' / 'x.png'}')"
    assert build.absolute_paths(notebook(shown)) == [(1, shown)]
    assert build.absolute_paths(notebook("PosixPath('/tmp/pytest-1/x.png')")) != []
    assert build.absolute_paths(notebook("PosixPath('../figures/x.png')")) == []
