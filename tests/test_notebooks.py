"""Each tutorial executes top to bottom; its own check cells assert the claims it states."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parent.parent / "tutorial"
pytest.importorskip("jupytext", reason="building the tutorials needs the dev extra: pip install -e '.[dev]'")
pytest.importorskip("nbclient", reason="executing the tutorials needs the dev extra: pip install -e '.[dev]'")

_spec = importlib.util.spec_from_file_location("tutorial_build", TUTORIAL / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


@pytest.mark.parametrize("source", build.sources(), ids=lambda p: p.stem)
def test_tutorial_executes(source, tmp_path, monkeypatch):
    """The notebook runs without error (its check cells assert, so a wrong claim fails here)."""
    monkeypatch.setenv("REFIMPL_FIGURES_DIR", str(tmp_path))
    nb = build.execute(source, timeout=600)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    assert list(tmp_path.glob("*.png")), "each tutorial saves at least one figure"
