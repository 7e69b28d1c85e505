"""Where the tutorials save their figures (the experiment writes its own under its ``--out`` folder).

Figures go to ``figures/<notebook>_<what>.png`` at the project root, or to the
folder named by the environment variable ``REFIMPL_FIGURES_DIR`` (the tests set
it to a temporary folder so that running them never rewrites committed files).
"""

from __future__ import annotations

import os
from pathlib import Path

from ._io import atomic_writer

__all__ = ["figures_dir", "save_figure"]

_PROJECT_ROOT = Path(__file__).resolve().parents[2]


def figures_dir() -> Path:
    """The folder figures are written to (created if missing)."""
    folder = Path(os.environ.get("REFIMPL_FIGURES_DIR", _PROJECT_ROOT / "figures"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_figure(fig, name: str) -> Path:
    """Save a matplotlib figure as ``<figures_dir>/<name>.png`` (atomically) and return the path.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    name : str
        File stem, by convention ``<notebook>_<what>``, e.g. ``"01_sbn_recursion_cost"``.
    """
    if not name or "/" in name or "\\" in name:
        raise ValueError(f"name must be a plain file stem such as '01_sbn_samples'; got {name!r}.")
    path = figures_dir() / f"{name}.png"
    with atomic_writer(path) as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
    return path
