"""The committed figures fit a projector: each is 500 to 1400 px wide at its saved resolution."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import pytest

FIGURES = sorted((Path(__file__).resolve().parent.parent / "figures").glob("*.png"))


@pytest.mark.parametrize("path", FIGURES, ids=[p.name for p in FIGURES])
def test_committed_figure_width_suits_a_projector(path):
    """Wider than 1400 px shrinks its text below readable at 1024 px; narrower than 500 px is a thumbnail."""
    height, width = matplotlib.image.imread(path).shape[:2]
    assert 500 <= width <= 1400, f"{path.name} is {width} x {height} px; keep it between 500 and 1400 px wide"


def test_there_are_committed_figures():
    assert FIGURES, "figures/*.png is empty: build the tutorials (python tutorial/build.py)"
