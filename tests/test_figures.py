"""The committed figures fit a projector (500 to 1400 px wide), and the main job leaves an unchanged figure alone."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

FIGURES = sorted((Path(__file__).resolve().parent.parent / "figures").glob("*.png"))


@pytest.mark.parametrize("path", FIGURES, ids=[p.name for p in FIGURES])
def test_committed_figure_width_suits_a_projector(path):
    """Wider than 1400 px shrinks its text below readable at 1024 px; narrower than 500 px is a thumbnail."""
    height, width = matplotlib.image.imread(path).shape[:2]
    assert 500 <= width <= 1400, f"{path.name} is {width} x {height} px; keep it between 500 and 1400 px wide"


def test_there_are_committed_figures():
    assert FIGURES, "figures/*.png is empty: build the tutorials (python tutorial/build.py)"


def _figure(values):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.imshow(np.asarray(values, dtype=float).reshape(4, 4), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    return fig, plt


def test_save_figure_leaves_a_figure_with_the_same_pixels_alone_and_rewrites_a_changed_or_broken_one(
        tmp_path, monkeypatch):
    """The main job on another machine must not show committed figures as changed (issue 14)."""
    from refimpl.lab.figures import save_figure

    monkeypatch.setenv("REFIMPL_FIGURES_DIR", str(tmp_path))
    fig, plt = _figure(np.linspace(0, 1, 16))
    path = save_figure(fig, "t")
    first = path.read_bytes()
    fig.text(0.5, 0.5, ".", fontsize=2)  # a speck: a few pixels of the whole image
    os.utime(path, (0, 0))
    save_figure(fig, "t")
    assert path.read_bytes() == first and path.stat().st_mtime == 0, "a figure with the same pixels was rewritten"
    plt.close(fig)
    fig, plt = _figure(np.linspace(1, 0, 16))  # what the figure shows changed
    save_figure(fig, "t")
    assert path.read_bytes() != first
    path.write_bytes(b"not a png")
    save_figure(fig, "t")
    assert path.read_bytes().startswith(b"\x89PNG")
    plt.close(fig)
