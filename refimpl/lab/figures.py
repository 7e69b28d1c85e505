"""Where the tutorials save their figures (the experiment writes its own under its ``--out`` folder).

Figures go to ``figures/<notebook>_<what>.png`` at the project root, or to the
folder named by the environment variable ``REFIMPL_FIGURES_DIR`` (the tests set
it to a temporary folder so that running them never rewrites committed files).

A figure whose pixels match the file already there (all but at most 0.5 % of them, the few pixels a
line or a dot moves by when another machine's BLAS rounds the last bit of the data differently) is not
rewritten, so the main job leaves the committed figures alone unless what they show changed. A figure
that plots rounding noise itself passes a larger ``tolerance`` where it is saved.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ._io import atomic_writer

__all__ = ["figures_dir", "same_pixels", "save_figure"]

SAME_PIXELS_FRACTION = 0.005  # at most this fraction of the pixels may differ for "the same figure"

_PROJECT_ROOT = Path(__file__).resolve().parents[2]


def figures_dir() -> Path:
    """The folder figures are written to (created if missing)."""
    folder = Path(os.environ.get("REFIMPL_FIGURES_DIR", _PROJECT_ROOT / "figures"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_figure(fig, name: str, tolerance: float = SAME_PIXELS_FRACTION) -> Path:
    """Save a matplotlib figure as ``<figures_dir>/<name>.png`` (atomically) and return the path.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    name : str
        File stem, by convention ``<notebook>_<what>``, e.g. ``"01_sbn_recursion_cost"``.
    tolerance : float
        The fraction of pixels that may differ from the file already there for it to be kept.
    """
    if not name or "/" in name or "\\" in name:
        raise ValueError(f"name must be a plain file stem such as '01_sbn_samples'; got {name!r}.")
    path = figures_dir() / f"{name}.png"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    if path.is_file() and same_pixels(path.read_bytes(), buffer.getvalue(), tolerance):
        return path  # the figure already there shows the same thing: leave the file alone
    with atomic_writer(path) as f:
        f.write(buffer.getvalue())
    return path


def same_pixels(png_a: bytes, png_b: bytes, fraction: float = SAME_PIXELS_FRACTION) -> bool:
    """Whether two PNG images have the same size and differ in at most ``fraction`` of their pixels.

    A file that is not a readable PNG is never "the same" (it gets rewritten).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = plt.figure(figsize=(1, 1)); buf = io.BytesIO(); fig.savefig(buf, format="png"); plt.close(fig)
    >>> same_pixels(buf.getvalue(), buf.getvalue()), same_pixels(b"not a png", buf.getvalue())
    (True, False)
    """
    import matplotlib.image

    try:
        a, b = (matplotlib.image.imread(io.BytesIO(png), format="png") for png in (png_a, png_b))
    except (OSError, ValueError, SyntaxError):
        return False
    if a.shape != b.shape:
        return False
    differs = np.any(a != b, axis=-1) if a.ndim == 3 else a != b
    return bool(np.mean(differs) <= fraction)
