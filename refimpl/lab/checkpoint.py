r"""Training checkpoints: parameters, optimiser state and random state, written atomically.

A checkpoint is two files in one directory:

- ``checkpoint-epoch<EEEE>-<hash>.npz``: every array (parameters ``params/W1``...,
  optimiser arrays ``opt/...``, the random generator's state ``rng/state``),
  written with :func:`numpy.savez` and read with ``allow_pickle=False``;
- ``checkpoint.json``: the metadata (format version, sizes, method,
  hyper-parameters, epoch, optimiser scalars, the generator's
  ``bit_generator.state``, the data used, the training log so far), a manifest
  of every array's dtype and shape, and the SHA-256 of the ``.npz`` file.

Writing order makes an interruption at any moment harmless. The ``.npz`` gets
a new name (epoch and hash), is written to a temporary file, flushed to disk
and renamed with :func:`os.replace`; only then is ``checkpoint.json`` replaced
the same way, and only after that is the previous ``.npz`` deleted. Until the
JSON is replaced, it still names the previous, untouched ``.npz``; after, it
names the new complete one. So the directory always holds one complete,
loadable checkpoint once the first save has finished.

Reading checks everything and names the file and the problem in a
:class:`CheckpointError` (a ``ValueError``): unreadable or invalid JSON, a
missing field, an unknown format version, a hash mismatch (truncated or
corrupted ``.npz``), missing or extra arrays, wrong dtypes or shapes, and
(given ``expect``) metadata that differs from what the caller asks for.
No pickle is used anywhere.

Examples
--------
>>> import tempfile
>>> rng = np.random.default_rng(0)
>>> params = {"W1": np.ones((2, 3), np.float32)}
>>> with tempfile.TemporaryDirectory() as tmp:
...     _ = save_checkpoint(tmp, params, {"t": 1}, rng, {"epoch": 1})
...     ckpt = load_checkpoint(tmp)
>>> ckpt.meta["epoch"], ckpt.opt_state, ckpt.params["W1"].dtype
(1, {'t': 1}, dtype('float32'))
"""

from __future__ import annotations

import hashlib
import io
import json
import numbers
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "CHECKPOINT_JSON",
    "FORMAT_VERSION",
    "Checkpoint",
    "CheckpointError",
    "has_checkpoint",
    "load_checkpoint",
    "save_checkpoint",
]

#: Version of the on-disk layout; bumped whenever it changes incompatibly.
FORMAT_VERSION = 1
#: Name of the metadata file inside a checkpoint directory.
CHECKPOINT_JSON = "checkpoint.json"
_NPZ_PREFIX = "checkpoint-epoch"
_TMP_PREFIX = ".checkpoint-tmp-"
_REQUIRED_FIELDS = ("format_version", "npz", "npz_sha256", "arrays", "opt_state", "rng_state", "meta")


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, corrupted or does not match what was asked for."""


@dataclass
class Checkpoint:
    """A checkpoint as read back by :func:`load_checkpoint`.

    Attributes
    ----------
    params : dict of str to ndarray
        The model parameters, with their saved dtypes.
    opt_state : dict
        The optimiser's ``state_dict()``: nested dicts of arrays and scalars.
    rng_state : dict
        ``numpy.random.Generator.bit_generator.state`` at the time of saving.
    meta : dict
        Whatever the caller stored (epoch, sizes, hyper-parameters, log...).
    path : pathlib.Path
        The ``checkpoint.json`` file read.
    """

    params: dict
    opt_state: dict
    rng_state: dict
    meta: dict
    path: Path

    def restore_rng(self) -> np.random.Generator:
        """A new ``numpy.random.Generator`` in exactly the saved state."""
        name = self.rng_state.get("bit_generator")
        bit_gen_cls = getattr(np.random, str(name), None)
        if bit_gen_cls is None or not isinstance(bit_gen_cls, type) or not issubclass(
            bit_gen_cls, np.random.BitGenerator
        ):
            raise CheckpointError(f"{self.path}: unknown bit generator {name!r} in rng_state")
        bit_gen = bit_gen_cls()
        try:
            bit_gen.state = self.rng_state
        except (TypeError, ValueError, KeyError) as exc:
            raise CheckpointError(f"{self.path}: rng_state is not a valid {name} state: {exc}") from None
        return np.random.Generator(bit_gen)


# --------------------------------------------------------------------------- helpers


_ARRAY_TAG = "__array__"


def _encode_opt_state(state, path: str, arrays: dict):
    """The optimiser state as JSON, each array replaced by ``{"__array__": <npz name>}``.

    Arrays go into ``arrays`` under ``opt/<path>`` (keys may themselves hold ``/``,
    as in ``"m/W1"``); numpy scalars are stored as 0-d arrays and come back as numpy scalars.
    """
    if isinstance(state, dict):
        out = {}
        for key, value in state.items():
            if not isinstance(key, str) or not key or key == _ARRAY_TAG:
                raise TypeError(f"opt_state keys must be non-empty strings other than {_ARRAY_TAG!r}; "
                                f"got {key!r}")
            out[key] = _encode_opt_state(value, f"{path}/{key}" if path else key, arrays)
        return out
    if isinstance(state, (np.ndarray, np.generic)):
        name = "opt/" + path
        if name in arrays:
            raise TypeError(f"opt_state has two entries that both map to the array name {name!r}")
        arrays[name] = np.asarray(state)
        return {_ARRAY_TAG: name, "scalar": isinstance(state, np.generic)}
    if state is None or isinstance(state, (bool, str, numbers.Integral, numbers.Real)):
        return state.item() if isinstance(state, np.generic) else state
    raise TypeError(f"opt_state[{path!r}] must be an array, a number, a string or a dict; "
                    f"got {type(state).__name__}")


def _decode_opt_state(encoded, arrays: dict, where: str):
    if isinstance(encoded, dict):
        if _ARRAY_TAG in encoded:
            name = encoded[_ARRAY_TAG]
            if name not in arrays:
                raise CheckpointError(f"{where}: missing arrays [{name!r}] (named in opt_state)")
            arr = arrays[name]
            return arr[()] if encoded.get("scalar") else arr
        return {key: _decode_opt_state(value, arrays, where) for key, value in encoded.items()}
    if isinstance(encoded, list):
        raise CheckpointError(f"{where}: malformed opt_state entry {encoded!r}")
    return encoded


def _rng_state_array(state: dict) -> np.ndarray:
    """The generator's state as uint8 bytes of its canonical JSON (so the npz is self-contained)."""
    return np.frombuffer(json.dumps(state, sort_keys=True).encode("ascii"), dtype=np.uint8).copy()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a flushed temporary file in the same directory and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_TMP_PREFIX, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _json_path(path) -> Path:
    path = Path(path)
    return path if path.suffix == ".json" else path / CHECKPOINT_JSON


# --------------------------------------------------------------------------- public API


def has_checkpoint(directory) -> bool:
    """True if ``directory`` holds a ``checkpoint.json`` (:func:`load_checkpoint` checks it is complete)."""
    return _json_path(directory).is_file()


def save_checkpoint(directory, params: dict, opt_state: dict, rng: np.random.Generator, meta: dict) -> Path:
    """Write a checkpoint atomically into ``directory`` (created if missing).

    Parameters
    ----------
    directory : str or os.PathLike
        Where ``checkpoint.json`` and the ``.npz`` go.
    params : dict of str to ndarray
        Model parameters (saved with their dtypes and shapes).
    opt_state : dict
        The optimiser's ``state_dict()``: nested dicts whose leaves are arrays,
        numpy scalars or plain ``int``/``float``/``bool``/``str``/``None``.
    rng : numpy.random.Generator
        Its ``bit_generator.state`` is saved in the JSON and in the ``.npz``.
    meta : dict
        JSON-serialisable metadata (the caller's: epoch, sizes, method,
        hyper-parameters, ...). ``meta["epoch"]`` (int) names the ``.npz``.

    Returns
    -------
    pathlib.Path
        The ``checkpoint.json`` written.

    Notes
    -----
    The ``.npz`` is written first under a fresh name, then the JSON that names
    it and records its SHA-256 replaces the old JSON (``os.replace``, atomic on
    POSIX and Windows), then the previous ``.npz`` is removed. An interruption
    anywhere leaves the previous checkpoint complete and loadable.
    """
    directory = Path(directory)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    if not isinstance(params, dict) or not params:
        raise TypeError("params must be a non-empty dict of str to ndarray")
    arrays: dict[str, np.ndarray] = {}
    for key, value in params.items():
        if not isinstance(key, str) or "/" in key or not key:
            raise TypeError(f"params keys must be non-empty strings without '/'; got {key!r}")
        arrays["params/" + key] = np.asarray(value)
    if not isinstance(opt_state, dict):
        raise TypeError(f"opt_state must be a dict (an optimiser's state_dict()); "
                        f"got {type(opt_state).__name__}")
    opt_json = _encode_opt_state(opt_state, "", arrays)
    rng_state = rng.bit_generator.state
    arrays["rng/state"] = _rng_state_array(rng_state)
    for name, arr in arrays.items():
        if arr.dtype == object:
            raise TypeError(f"{name} must be a numeric array; got dtype object")

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    npz_bytes = buf.getvalue()
    sha = hashlib.sha256(npz_bytes).hexdigest()
    epoch = meta.get("epoch", 0) if isinstance(meta, dict) else 0
    npz_name = f"{_NPZ_PREFIX}{int(epoch):04d}-{sha[:16]}.npz"
    record = {
        "format_version": FORMAT_VERSION,
        "npz": npz_name,
        "npz_sha256": sha,
        "arrays": {name: {"dtype": arr.dtype.str, "shape": list(arr.shape)} for name, arr in arrays.items()},
        "opt_state": opt_json,
        "rng_state": rng_state,
        "meta": meta,
    }
    try:
        json_text = json.dumps(record, indent=1, allow_nan=True)
    except TypeError as exc:
        raise TypeError(f"meta must be JSON-serialisable: {exc}") from None

    directory.mkdir(parents=True, exist_ok=True)
    _write_atomic(directory / npz_name, npz_bytes)
    _write_atomic(directory / CHECKPOINT_JSON, json_text.encode("utf-8"))
    _fsync_dir(directory)
    for old in directory.glob(f"{_NPZ_PREFIX}*.npz"):  # only now is the previous .npz unreferenced
        if old.name != npz_name:
            old.unlink(missing_ok=True)
    return directory / CHECKPOINT_JSON


def _check_same_keys(found, expected, where: str, what: str, extra_note: str = "") -> None:
    """Raise CheckpointError naming the missing and unexpected keys of ``found`` against ``expected``."""
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing:
        raise CheckpointError(f"{where}: missing {what} {missing}")
    if extra:
        raise CheckpointError(f"{where}: unexpected {what} {extra}{extra_note}")


def _check_manifest(found: dict, manifest: dict, where: str) -> None:
    _check_same_keys(found, manifest, where, "arrays", " not listed in the JSON manifest")
    for name, spec in manifest.items():
        arr = found[name]
        if arr.dtype.str != spec.get("dtype") or list(arr.shape) != list(spec.get("shape", [])):
            said = f"dtype {spec.get('dtype')} shape {tuple(spec.get('shape', []))}"
            raise CheckpointError(f"{where}: array {name} has dtype {arr.dtype.str} shape {arr.shape}; "
                                  f"the manifest says {said}")


def _check_params_like(params: dict, like: dict, where: str) -> None:
    _check_same_keys(params, like, where, "parameters")
    for key, ref in like.items():
        arr = params[key]
        ref = np.asarray(ref)
        if arr.shape != ref.shape:
            raise CheckpointError(f"{where}: parameter {key} has shape {arr.shape}; expected {ref.shape}")
        if arr.dtype != ref.dtype:
            raise CheckpointError(f"{where}: parameter {key} has dtype {arr.dtype}; expected {ref.dtype}")
        if not np.all(np.isfinite(arr)):
            raise CheckpointError(f"{where}: parameter {key} contains NaN or infinity")


def load_checkpoint(path, expect: dict | None = None, params_like: dict | None = None) -> Checkpoint:
    """Read and verify a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint directory, or its ``checkpoint.json``.
    expect : dict, optional
        ``meta`` fields that must hold exactly these values (e.g. sizes,
        method, tied, hyper-parameters); a difference is an error naming the field.
    params_like : dict of str to ndarray, optional
        Template parameters: the loaded ones must have the same names, shapes
        and dtypes (and be finite).

    Returns
    -------
    Checkpoint

    Raises
    ------
    FileNotFoundError
        If there is no ``checkpoint.json``, or the ``.npz`` it names is missing.
    CheckpointError
        Naming the file and the problem: invalid JSON, missing field, unknown
        format version, SHA-256 mismatch, unreadable ``.npz``, missing or extra
        arrays, wrong dtype or shape, inconsistent random state, a ``meta``
        field differing from ``expect``.
    """
    json_path = _json_path(path)
    if not json_path.is_file():
        raise FileNotFoundError(f"no checkpoint found: {json_path} does not exist")
    try:
        record = json.loads(json_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{json_path}: not valid JSON ({exc}); the file is corrupted") from None
    if not isinstance(record, dict):
        raise CheckpointError(f"{json_path}: expected a JSON object; got {type(record).__name__}")
    for field in _REQUIRED_FIELDS:
        if field not in record:
            raise CheckpointError(f"{json_path}: missing field {field!r}")
    if record["format_version"] != FORMAT_VERSION:
        raise CheckpointError(f"{json_path}: format_version is {record['format_version']!r}; "
                              f"this version of refimpl reads {FORMAT_VERSION}")
    npz_name = record["npz"]
    if not isinstance(npz_name, str) or Path(npz_name).name != npz_name:
        raise CheckpointError(f"{json_path}: field 'npz' must be a file name; got {npz_name!r}")
    npz_path = json_path.parent / npz_name
    if not npz_path.is_file():
        raise FileNotFoundError(f"{json_path} names {npz_path}, which does not exist")
    raw = npz_path.read_bytes()
    found_sha = hashlib.sha256(raw).hexdigest()
    if found_sha != record["npz_sha256"]:
        raise CheckpointError(f"{npz_path}: SHA-256 mismatch: {json_path.name} records "
                              f"{record['npz_sha256']}, the file has {found_sha} "
                              f"({len(raw)} bytes); it is truncated or corrupted")
    where = str(npz_path)
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise CheckpointError(f"{where}: cannot be read as .npz ({exc})") from None
    manifest = record["arrays"]
    if not isinstance(manifest, dict):
        raise CheckpointError(f"{json_path}: field 'arrays' must be an object")
    _check_manifest(arrays, manifest, where)
    if "rng/state" not in arrays:
        raise CheckpointError(f"{where}: missing arrays ['rng/state']")
    rng_state = record["rng_state"]
    if not isinstance(rng_state, dict) or not np.array_equal(arrays["rng/state"],
                                                             _rng_state_array(rng_state)):
        raise CheckpointError(f"{json_path}: rng_state disagrees with the generator state stored in "
                              f"{npz_name}")
    params = {name[len("params/"):]: arr for name, arr in arrays.items() if name.startswith("params/")}
    if not params:
        raise CheckpointError(f"{where}: missing arrays: no parameters (params/...) stored")
    if not isinstance(record["opt_state"], dict):
        raise CheckpointError(f"{json_path}: field 'opt_state' must be an object")
    opt_state = _decode_opt_state(record["opt_state"], arrays, str(json_path))
    meta = record["meta"]
    if not isinstance(meta, dict):
        raise CheckpointError(f"{json_path}: field 'meta' must be an object")
    differences = []
    for key, wanted in (expect or {}).items():
        if key not in meta:
            raise CheckpointError(f"{json_path}: missing field meta.{key}")
        have = meta[key]
        if _normalise_json(have) != _normalise_json(wanted):
            differences.append(f"checkpoint has {key}={have!r}, but {key}={wanted!r} was asked for")
    if differences:
        raise CheckpointError(f"{json_path}: " + "; ".join(differences)
                              + "; resume with the same settings or use another output directory")
    if params_like is not None:
        _check_params_like(params, params_like, where)
    return Checkpoint(params=params, opt_state=opt_state, rng_state=rng_state, meta=meta, path=json_path)


def _normalise_json(value):
    """The value as it reads back from JSON (tuples become lists), for comparisons."""
    return json.loads(json.dumps(value))
