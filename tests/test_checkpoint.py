"""Checkpoints: exact round trip, detection of every kind of damage, atomic writes."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from refimpl.lab import checkpoint as ckpt_mod
from refimpl.lab.checkpoint import CheckpointError, has_checkpoint, load_checkpoint, save_checkpoint
from refimpl.optim import SGD, Adam

SIZES = (12, 5, 3)


def _params(seed):
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.standard_normal((5, 12)).astype(np.float32),
        "W2": rng.standard_normal((3, 5)).astype(np.float32),
        "b1": rng.standard_normal(5).astype(np.float32),
        "prior": np.zeros(3, np.float32),
    }


def _stepped_optimizer(kind, params, steps=3):
    opt = Adam(1e-2) if kind == "adam" else SGD(1e-2, momentum=0.9)
    rng = np.random.default_rng(5)
    for _ in range(steps):
        opt.step(params, {k: rng.standard_normal(v.shape).astype(np.float32) for k, v in params.items()})
    return opt


def _save(directory, seed=0, epoch=1, params=None, opt_state=None, rng=None, meta=None):
    params = _params(seed) if params is None else params
    rng = np.random.default_rng(seed) if rng is None else rng
    rng.random(7)  # move the generator away from its seeded state
    opt_state = {"t": epoch, "lr": 0.1} if opt_state is None else opt_state
    meta = {"epoch": epoch, "sizes": list(SIZES), "method": "L1"} if meta is None else meta
    save_checkpoint(directory, params, opt_state, rng, meta)
    return params, rng


def _rewrite(directory, edit_arrays=None, edit_record=None, raw=None):
    """Rewrite a checkpoint's npz (and re-record its hash) so that damage gets past the hash check."""
    record = json.loads((Path(directory) / "checkpoint.json").read_text())
    npz_path = Path(directory) / record["npz"]
    if raw is None:
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        if edit_arrays is not None:
            edit_arrays(arrays)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        raw = buf.getvalue()
    npz_path.write_bytes(raw)
    record["npz_sha256"] = hashlib.sha256(raw).hexdigest()
    if edit_record is not None:
        edit_record(record)
    (Path(directory) / "checkpoint.json").write_text(json.dumps(record))
    return npz_path


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_checkpoint_round_trip_is_exact(tmp_path, kind):
    """Parameters, optimiser state, random state and metadata come back exactly (same values and dtypes)."""
    params = _params(1)
    opt = _stepped_optimizer(kind, params)
    rng = np.random.default_rng(123)
    rng.random(11)
    meta = {"epoch": 4, "sizes": [12, 5, 3], "method": "L2", "lam": 0.5, "log": [{"epoch": 1, "x": 1.5}]}
    save_checkpoint(tmp_path, params, opt.state_dict(), rng, meta)
    loaded = load_checkpoint(tmp_path)

    assert sorted(loaded.params) == sorted(params)
    for key, value in params.items():
        assert loaded.params[key].dtype == value.dtype
        assert np.array_equal(loaded.params[key], value)
    state = opt.state_dict()
    assert sorted(loaded.opt_state) == sorted(state)
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            assert loaded.opt_state[key].dtype == value.dtype
            assert np.array_equal(loaded.opt_state[key], value)
        else:
            assert loaded.opt_state[key] == value and type(loaded.opt_state[key]) is type(value)
    assert loaded.meta == meta
    assert loaded.rng_state == rng.bit_generator.state
    # the restored generator continues the same stream
    assert np.array_equal(loaded.restore_rng().random(20), rng.random(20))
    # a restored optimiser takes the same next step
    opt2 = Adam(1.0) if kind == "adam" else SGD(1.0)
    opt2.load_state_dict(loaded.opt_state)
    p1 = {k: v.copy() for k, v in params.items()}
    p2 = {k: v.copy() for k, v in loaded.params.items()}
    g = {k: np.full(v.shape, 0.3, np.float32) for k, v in params.items()}
    opt.step(p1, g)
    opt2.step(p2, g)
    for key, value in p1.items():
        assert np.array_equal(value, p2[key])


def test_checkpoint_nested_opt_state_and_numpy_scalars_round_trip(tmp_path):
    """Nested dicts, empty dicts, numpy scalars and plain numbers keep their structure and types."""
    state = {"t": np.int64(3), "lr": 0.5, "name": "x", "none": None, "flag": True,
             "inner": {"a": np.arange(3.0), "empty": {}, "beta": np.float32(0.25)}}
    _save(tmp_path, opt_state=state)
    loaded = load_checkpoint(tmp_path).opt_state
    assert loaded["t"] == 3 and isinstance(loaded["t"], np.int64)
    assert loaded["inner"]["beta"] == np.float32(0.25) and isinstance(loaded["inner"]["beta"], np.float32)
    assert np.array_equal(loaded["inner"]["a"], np.arange(3.0))
    assert loaded["inner"]["empty"] == {}
    assert (loaded["lr"], loaded["name"], loaded["none"], loaded["flag"]) == (0.5, "x", None, True)


def test_checkpoint_second_save_replaces_first_and_cleans_up(tmp_path):
    """After two saves exactly one npz is left, the JSON names it, and no temporary files remain."""
    _save(tmp_path, seed=0, epoch=1)
    params2, _ = _save(tmp_path, seed=1, epoch=2)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and files[1] == "checkpoint.json" and files[0].startswith("checkpoint-epoch0002-")
    loaded = load_checkpoint(tmp_path / "checkpoint.json")  # the JSON path works as well as the directory
    assert loaded.meta["epoch"] == 2
    assert np.array_equal(loaded.params["W1"], params2["W1"])


def test_checkpoint_files_load_without_pickle(tmp_path):
    """Every stored array loads with allow_pickle=False and the JSON is plain JSON."""
    _save(tmp_path)
    record = json.loads((tmp_path / "checkpoint.json").read_text())
    with np.load(tmp_path / record["npz"], allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)
        assert set(npz.files) == set(record["arrays"])


# ----------------------------------------------------------------- damaged files
def _truncate_npz(d):
    p = d / json.loads((d / "checkpoint.json").read_text())["npz"]
    p.write_bytes(p.read_bytes()[:-100])
    return p, "SHA-256 mismatch"


def _flip_byte_npz(d):
    p = d / json.loads((d / "checkpoint.json").read_text())["npz"]
    raw = bytearray(p.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    p.write_bytes(bytes(raw))
    return p, "SHA-256 mismatch"


def _truncate_json(d):
    p = d / "checkpoint.json"
    p.write_text(p.read_text()[:50])
    return p, "not valid JSON"


def _json_not_object(d):
    p = d / "checkpoint.json"
    p.write_text("[1, 2]")
    return p, "expected a JSON object"


def _missing_field(d):
    p = d / "checkpoint.json"
    record = json.loads(p.read_text())
    del record["npz_sha256"]
    p.write_text(json.dumps(record))
    return p, "missing field 'npz_sha256'"


def _future_version(d):
    p = d / "checkpoint.json"
    record = json.loads(p.read_text())
    record["format_version"] = 99
    p.write_text(json.dumps(record))
    return p, "format_version is 99"


def _missing_array(d):
    p = _rewrite(d, edit_arrays=lambda a: a.pop("params/W2"))
    return p, r"missing arrays \['params/W2'\]"


def _extra_array(d):
    p = _rewrite(d, edit_arrays=lambda a: a.update({"params/W9": np.zeros(2, np.float32)}))
    return p, "unexpected arrays"


def _wrong_dtype_in_file(d):
    p = _rewrite(d, edit_arrays=lambda a: a.update({"params/W1": a["params/W1"].astype(np.float64)}))
    return p, "array params/W1 has dtype <f8"


def _wrong_shape_in_file(d):
    p = _rewrite(d, edit_arrays=lambda a: a.update({"params/b1": np.zeros(6, np.float32)}))
    return p, r"array params/b1 has dtype <f4 shape \(6,\)"


def _pickled_object_array(d):
    def edit(a):
        a["params/b1"] = np.array([{"evil": 1}, None], dtype=object)

    def fix_manifest(r):
        r["arrays"]["params/b1"] = {"dtype": "|O", "shape": [2]}

    p = _rewrite(d, edit_arrays=edit, edit_record=fix_manifest)
    return p, "cannot be read as .npz"


def _not_a_zip(d):
    p = _rewrite(d, raw=b"this is not a zip file at all")
    return p, "cannot be read as .npz"


def _rng_state_tampered(d):
    p = d / "checkpoint.json"
    record = json.loads(p.read_text())
    record["rng_state"]["state"]["state"] += 1
    p.write_text(json.dumps(record))
    return p, "rng_state disagrees"


DAMAGE = [_truncate_npz, _flip_byte_npz, _truncate_json, _json_not_object, _missing_field, _future_version,
          _missing_array, _extra_array, _wrong_dtype_in_file, _wrong_shape_in_file, _pickled_object_array,
          _not_a_zip, _rng_state_tampered]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.strip("_"))
def test_checkpoint_damage_is_reported_with_file_and_problem(tmp_path, damage):
    """Each kind of damage raises CheckpointError whose message names the damaged file and the problem."""
    _save(tmp_path)
    path, problem = damage(tmp_path)
    with pytest.raises(CheckpointError, match=problem) as info:
        load_checkpoint(tmp_path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("change, problem", [
    (lambda p: p.pop("b1"), r"unexpected parameters \['b1'\]"),
    (lambda p: p.update(V1=np.zeros((5, 12), np.float32)), r"missing parameters \['V1'\]"),
    (lambda p: p.update(W1=np.zeros((5, 12), np.float64)),
     "parameter W1 has dtype float32; expected float64"),
    (lambda p: p.update(W2=np.zeros((3, 6), np.float32)),
     r"parameter W2 has shape \(3, 5\); expected \(3, 6\)"),
])
def test_checkpoint_params_must_match_the_template(tmp_path, change, problem):
    """Parameters differing from the expected names, dtypes or shapes are rejected, naming the file."""
    _save(tmp_path)
    like = _params(0)  # the template the stored parameters are compared with
    change(like)
    with pytest.raises(CheckpointError, match=problem) as info:
        load_checkpoint(tmp_path, params_like=like)
    assert ".npz" in str(info.value)


def test_checkpoint_nonfinite_params_are_rejected(tmp_path):
    """A parameter holding NaN is reported (it could not have come from a sane training run)."""
    params = _params(0)
    params["W1"][0, 0] = np.nan
    _save(tmp_path, params=params)
    with pytest.raises(CheckpointError, match="parameter W1 contains NaN"):
        load_checkpoint(tmp_path, params_like=_params(0))


@pytest.mark.parametrize("field, wanted", [("sizes", [12, 6, 3]), ("method", "L0"), ("tied", True)])
def test_checkpoint_metadata_must_match_what_is_asked(tmp_path, field, wanted):
    """A checkpoint written with other settings is rejected, naming the field and the JSON file."""
    _save(tmp_path)
    with pytest.raises(CheckpointError, match=field) as info:
        load_checkpoint(tmp_path, expect={field: wanted})
    assert str(tmp_path / "checkpoint.json") in str(info.value)


def test_checkpoint_expect_compares_tuples_as_lists(tmp_path):
    """(12, 5, 3) asked for matches [12, 5, 3] stored: JSON has no tuples."""
    _save(tmp_path)
    assert load_checkpoint(tmp_path, expect={"sizes": SIZES}).meta["sizes"] == list(SIZES)


def test_checkpoint_missing_files_raise_file_not_found(tmp_path):
    """No checkpoint.json, or a JSON naming an absent npz, raises FileNotFoundError naming the path."""
    assert not has_checkpoint(tmp_path)
    with pytest.raises(FileNotFoundError, match="checkpoint.json does not exist"):
        load_checkpoint(tmp_path)
    _save(tmp_path)
    assert has_checkpoint(tmp_path)
    npz = next(tmp_path.glob("*.npz"))
    npz.unlink()
    with pytest.raises(FileNotFoundError, match=npz.name):
        load_checkpoint(tmp_path)


def test_checkpoint_save_rejects_bad_inputs(tmp_path):
    """Non-Generator rng, object arrays and unserialisable metadata are refused before anything is written."""
    with pytest.raises(TypeError, match="rng"):
        save_checkpoint(tmp_path, _params(0), {}, np.random.RandomState(0), {"epoch": 1})
    with pytest.raises(TypeError, match="opt_state"):
        save_checkpoint(tmp_path, _params(0), {"x": [1, 2]}, np.random.default_rng(0), {"epoch": 1})
    with pytest.raises(TypeError, match="object"):
        save_checkpoint(tmp_path, {"W": np.array([None])}, {}, np.random.default_rng(0), {"epoch": 1})
    with pytest.raises(TypeError, match="meta must be JSON-serialisable"):
        save_checkpoint(tmp_path, _params(0), {}, np.random.default_rng(0), {"epoch": 1, "f": object()})
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------- atomic writes
class _Crash(KeyboardInterrupt):
    """Stands for Ctrl-C (a BaseException, as KeyboardInterrupt is)."""


def _crash_on_call(monkeypatch, module_attr, target, n):
    """Make the n-th call of ``module_attr.target`` raise _Crash; earlier calls go through."""
    original = getattr(module_attr, target)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise _Crash(f"simulated interrupt in {target}")
        return original(*args, **kwargs)

    monkeypatch.setattr(module_attr, target, wrapper)


@pytest.mark.parametrize("target, n", [
    ("savez", 1),     # while the npz is being built
    ("fsync", 1),     # while the npz's temporary file is flushed
    ("replace", 1),   # renaming the npz into place
    ("fsync", 2),     # while the folder is synced after that rename
    ("fsync", 3),     # while the JSON's temporary file is flushed
    ("replace", 2),   # renaming the JSON into place
])
def test_checkpoint_interrupted_save_leaves_previous_checkpoint_intact(tmp_path, monkeypatch, target, n):
    """An interrupt at any step of writing epoch 2 leaves the epoch-1 checkpoint complete and loadable."""
    params1, rng1 = _save(tmp_path, seed=0, epoch=1)
    module = np if target == "savez" else os
    _crash_on_call(monkeypatch, module, target, n)
    with pytest.raises(_Crash):
        _save(tmp_path, seed=1, epoch=2)
    monkeypatch.undo()
    loaded = load_checkpoint(tmp_path)
    assert loaded.meta["epoch"] == 1
    for key in params1:
        assert np.array_equal(loaded.params[key], params1[key])
    assert loaded.rng_state == rng1.bit_generator.state
    assert not list(tmp_path.glob(".*.tmp")), "temporary files are removed"
    # and the next save succeeds and cleans up whatever the crash left behind
    _save(tmp_path, seed=2, epoch=2)
    assert load_checkpoint(tmp_path).meta["epoch"] == 2
    assert len(list(tmp_path.glob("*.npz"))) == 1


@pytest.mark.parametrize("module, target, n", [(os, "fsync", 4), (Path, "unlink", 1)], ids=["sync", "unlink"])
def test_checkpoint_interrupt_after_json_replace_keeps_new_checkpoint(tmp_path, monkeypatch, module, target,
                                                                      n):
    """An interrupt once the JSON is switched (syncing the folder, deleting the old npz) keeps the new one."""
    _save(tmp_path, seed=0, epoch=1)
    _crash_on_call(monkeypatch, module, target, n)
    with pytest.raises(_Crash):
        _save(tmp_path, seed=1, epoch=2)
    monkeypatch.undo()
    loaded = load_checkpoint(tmp_path)
    assert loaded.meta["epoch"] == 2
    assert np.array_equal(loaded.params["W1"], _params(1)["W1"])


def test_checkpoint_module_uses_no_pickle():
    """The module never enables pickle when reading (its source has no allow_pickle=True or pickle import)."""
    source = Path(ckpt_mod.__file__).read_text()
    assert "allow_pickle=True" not in source
    assert "import pickle" not in source
