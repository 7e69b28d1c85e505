"""The shipped pretrained pairs: checked against their SHA-256, small, and as good as their manifest says."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from refimpl.coupled import CoupledPair
from refimpl.lab.data import binarize, load_embedded
from refimpl.lab.pretrained import PRETRAINED_DIR, available_pretrained, load_pretrained


def _fake_folder(tmp_path):
    """A folder holding one small pair in the shipped format (float16 .npz and a manifest)."""
    import hashlib

    pair = CoupledPair((6, 4, 3), tied=False, rng=np.random.default_rng(0), init_scale=0.5)
    np.savez(tmp_path / "P.npz", **{k: v.astype(np.float16) for k, v in pair.params.items()})
    digest = hashlib.sha256((tmp_path / "P.npz").read_bytes()).hexdigest()
    manifest = {"pairs": {"P": {"file": "P.npz", "sha256": digest, "sizes": [6, 4, 3], "tied": False}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return pair


def test_a_stored_pair_loads_as_float32_holding_the_float16_values(tmp_path):
    """load_pretrained returns a float32 pair whose parameters are exactly the stored float16 values."""
    pair = _fake_folder(tmp_path)
    loaded = load_pretrained("P", folder=tmp_path)
    assert loaded.dtype == np.float32 and loaded.tied is False and loaded.sizes == (6, 4, 3)
    for key, value in pair.params.items():
        assert np.array_equal(loaded.params[key], value.astype(np.float16).astype(np.float32)), key


def test_a_damaged_or_unknown_pair_gives_a_clear_error(tmp_path):
    """A file whose bytes changed is refused, naming it; an unknown name lists the known ones."""
    _fake_folder(tmp_path)
    data = bytearray((tmp_path / "P.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "P.npz").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"P\.npz is damaged: its SHA-256 is"):
        load_pretrained("P", folder=tmp_path)
    with pytest.raises(ValueError, match=r"name must be one of \['P'\]; got 'Q'"):
        load_pretrained("Q", folder=tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a readable manifest"):
        load_pretrained("P", folder=tmp_path)


def test_the_shipped_pairs_are_l1_l2_l2u_and_fit_in_10_mb():
    """The package ships the tied L1 and L2 and the untied L2u, 784-500-500-10, at most 10 MB in all."""
    pairs = available_pretrained()
    assert sorted(pairs) == ["L1", "L2", "L2u"]
    assert [pairs[n]["tied"] for n in ("L1", "L2", "L2u")] == [True, True, False]
    assert sum((PRETRAINED_DIR / p["file"]).stat().st_size for p in pairs.values()) <= 10 * 2**20
    for entry in pairs.values():  # float16 storage moved the results by less than 0.1 point and 0.1 nat
        assert entry["float16_check"]["test_error_points"] < 0.1 and entry["float16_check"]["log_px_nats"] < 0.1


@pytest.mark.parametrize("name", ["L1", "L2", "L2u"])
def test_a_shipped_pair_recognises_the_embedded_test_images_as_its_manifest_says(name):
    """On the 2,000 embedded test images (a subset of the MNIST test set, thresholded alike) the pair's
    error lies within 4 binomial standard errors of the error its manifest records for all 10,000."""
    pair, entry = load_pretrained(name), available_pretrained()[name]
    data = load_embedded()
    x, y = binarize(data.test_images, "threshold"), data.test_labels
    error = np.mean(np.argmax(pair.recognise_mean(x), axis=1) != y)
    expected = entry["float16_check"]["float16"]["test_error"]
    se = np.sqrt(expected * (1 - expected) / y.size)
    assert abs(error - expected) < 4 * se + 1e-3, (error, expected)


def test_the_shipped_folder_copies_and_loads_elsewhere(tmp_path):
    """The files are self-contained: a copy of the folder loads the same pair."""
    shutil.copytree(PRETRAINED_DIR, tmp_path / "p")
    a, b = load_pretrained("L2"), load_pretrained("L2", folder=tmp_path / "p")
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
