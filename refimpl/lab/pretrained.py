"""Pairs trained by the committed experiment, shipped with the package to explore without training.

``load_pretrained("L2")`` returns the tied pair of the row L2 of ``results/seeds/`` (784-500-500-10,
20 epochs on full MNIST binarised at 0.5, seed 1), stored in float16 to keep the package
small and returned in float32. ``pretrained/manifest.json`` records, for every pair, its
file's SHA-256, the command that trained it, and what float16 storage changes (test error
and log p(x) of the stored pair against the float32 one). ``scripts/make_pretrained.py``
makes the files from the experiment's checkpoints.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np

from .._validation import check_choice
from ..coupled import CoupledPair

__all__ = ["PRETRAINED_DIR", "available_pretrained", "load_pretrained"]

#: The folder of the shipped pairs and their manifest.
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
MANIFEST = "manifest.json"


def _manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} is missing: reinstall refimpl or rerun scripts/make_pretrained.py") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not a readable manifest ({exc}); reinstall refimpl") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("pairs"), dict):
        raise ValueError(f"{path} must hold a 'pairs' mapping; reinstall refimpl")
    return manifest


def available_pretrained(folder=PRETRAINED_DIR) -> dict:
    """The shipped pairs: name -> their manifest entry (sizes, tied, sha256, command, float16 check).

    Examples
    --------
    >>> sorted(available_pretrained())
    ['L1', 'L2', 'L2u']
    """
    return dict(_manifest(Path(folder))["pairs"])


def load_pretrained(name: str, folder=PRETRAINED_DIR) -> CoupledPair:
    """A pair trained by the committed experiment, checked against its SHA-256, in float32.

    Parameters
    ----------
    name : {"L1", "L2", "L2u"}
        The row of the experiment's table (threshold protocol, seed 1): wake-sleep with
        tied weights, the tied hybrid L1 + 100 L0, and the untied hybrid.
    folder : path, optional
        Where the files are (default: the package's own).

    Returns
    -------
    CoupledPair
        Sizes (784, 500, 500, 10), float32 (the stored float16 values, exactly).

    Raises
    ------
    ValueError
        For an unknown name, or a file whose SHA-256 differs from the manifest's (damaged).
    FileNotFoundError
        If a file is missing.

    Examples
    --------
    >>> pair = load_pretrained("L2")
    >>> pair.sizes, pair.tied, pair.dtype.name
    ((784, 500, 500, 10), True, 'float32')
    """
    folder = Path(folder)
    pairs = _manifest(folder)["pairs"]
    entry = pairs[check_choice(name, "name", sorted(pairs))]
    path = folder / entry["file"]
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise ValueError(f"{path} is damaged: its SHA-256 is {digest}, the manifest says {entry['sha256']}; "
                         "reinstall refimpl or rerun scripts/make_pretrained.py")
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        params = {key: arrays[key].astype(np.float32) for key in arrays.files}
    return CoupledPair.from_params(params, entry["sizes"], entry["tied"])
