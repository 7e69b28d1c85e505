r"""Training checkpoints: parameters, optimiser state and random state, without pickle, written atomically.

A checkpoint is two files in one directory:

- ``checkpoint-epoch<EEEE>-<hash>.npz``: every array (parameters ``params/W1``...,
  optimiser arrays ``opt/...``, the random generator's state ``rng/state``),
  written with :func:`numpy.savez` and read with ``allow_pickle=False``;
- ``checkpoint.json``: the metadata (format version, the caller's ``meta``:
  settings, epoch, log...), the optimiser's scalars, the generator's
  ``bit_generator.state``, a manifest of every array's dtype and shape, and
  the SHA-256 of the ``.npz`` file.

The guarantees, and what keeps them:

- *Ctrl-C safe*: the ``.npz`` gets a new name and is written through
  :func:`refimpl.lab._io.atomic_writer`; only then is ``checkpoint.json``
  replaced the same way, and only after that is the previous ``.npz`` deleted.
  Until the JSON is replaced it names the previous, untouched ``.npz``; after,
  the new complete one.
- *Bit-identical resume*: arrays keep their dtypes and bytes; the generator's
  state is restored exactly (:meth:`Checkpoint.restore_rng`).
- *A clear error on damage*: reading raises :class:`CheckpointError` (a
  ``ValueError``) naming the file and the problem: invalid JSON, a missing
  field, an unknown format version, a SHA-256 mismatch (truncated or corrupted
  ``.npz``), arrays differing from the manifest, a generator state differing
  between the two files, and (when asked) parameters or metadata differing
  from what the caller expects.

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
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._io import atomic_writer

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
_FIELDS = ("format_version", "npz", "npz_sha256", "arrays", "opt_state", "rng_state", "meta")
_ARRAY_TAG = "__array__"


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
        if not (isinstance(bit_gen_cls, type) and issubclass(bit_gen_cls, np.random.BitGenerator)):
            raise CheckpointError(f"{self.path}: unknown bit generator {name!r} in rng_state")
        bit_gen = bit_gen_cls()
        try:
            bit_gen.state = self.rng_state
        except (TypeError, ValueError, KeyError) as exc:
            raise CheckpointError(f"{self.path}: rng_state is not a valid {name} state: {exc}") from None
        return np.random.Generator(bit_gen)


def _encode_opt_state(state, path: str, arrays: dict):
    """The optimiser state as JSON, each array replaced by ``{"__array__": "opt/<path>", "scalar": bool}``.

    The arrays go into ``arrays``; numpy scalars are stored as 0-d arrays and come back as numpy scalars.
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
        if "opt/" + path in arrays:
            raise TypeError(f"opt_state has two entries that both map to the array name 'opt/{path}'")
        arrays["opt/" + path] = np.asarray(state)
        return {_ARRAY_TAG: "opt/" + path, "scalar": isinstance(state, np.generic)}
    if state is None or isinstance(state, (bool, str, numbers.Real)):
        return state
    raise TypeError(f"opt_state[{path!r}] must be an array, a number, a string or a dict; "
                    f"got {type(state).__name__}")


def _decode_opt_state(encoded, arrays: dict, where: str):
    if not isinstance(encoded, dict):
        if isinstance(encoded, list):
            raise CheckpointError(f"{where}: malformed opt_state entry {encoded!r}")
        return encoded
    if _ARRAY_TAG not in encoded:
        return {key: _decode_opt_state(value, arrays, where) for key, value in encoded.items()}
    if encoded[_ARRAY_TAG] not in arrays:
        raise CheckpointError(f"{where}: missing arrays [{encoded[_ARRAY_TAG]!r}] (named in opt_state)")
    arr = arrays[encoded[_ARRAY_TAG]]
    return arr[()] if encoded.get("scalar") else arr


def _rng_state_array(state: dict) -> np.ndarray:
    """The generator's state as uint8 bytes of its canonical JSON (so the npz is self-contained)."""
    return np.frombuffer(json.dumps(state, sort_keys=True).encode("ascii"), dtype=np.uint8).copy()


def _json_path(path) -> Path:
    path = Path(path)
    return path if path.suffix == ".json" else path / CHECKPOINT_JSON


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
        JSON-serialisable metadata (epoch, sizes, method, hyper-parameters,
        ...). ``meta["epoch"]`` (int) names the ``.npz``.

    Returns
    -------
    pathlib.Path
        The ``checkpoint.json`` written.

    Raises
    ------
    TypeError
        Before anything is written, for an argument that cannot be stored
        without pickle (object arrays, unserialisable metadata, ...).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    if not isinstance(params, dict) or not params:
        raise TypeError("params must be a non-empty dict of str to ndarray")
    if not isinstance(opt_state, dict):
        raise TypeError(f"opt_state must be a dict (an optimiser's state_dict()); "
                        f"got {type(opt_state).__name__}")
    arrays = {}
    for key, value in params.items():
        if not isinstance(key, str) or "/" in key or not key:
            raise TypeError(f"params keys must be non-empty strings without '/'; got {key!r}")
        arrays["params/" + key] = np.asarray(value)
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
    npz_name = f"{_NPZ_PREFIX}{int(meta.get('epoch', 0) if isinstance(meta, dict) else 0):04d}-{sha[:16]}.npz"
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

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_writer(directory / npz_name) as f:
        f.write(npz_bytes)
    with atomic_writer(directory / CHECKPOINT_JSON) as f:
        f.write(json_text.encode("utf-8"))
    for old in directory.glob(f"{_NPZ_PREFIX}*.npz"):  # only now is the previous .npz unreferenced
        if old.name != npz_name:
            old.unlink(missing_ok=True)
    return directory / CHECKPOINT_JSON


def _differences(found: dict, expected: dict, what: str) -> str:
    """'missing <what> [...]' or 'unexpected <what> [...]' for the keys that differ, else ''."""
    missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    return f"missing {what} {missing}" if missing else f"unexpected {what} {extra}" if extra else ""


def _read_record(json_path: Path) -> dict:
    """The checkpoint.json record, with its fields and format version checked."""
    if not json_path.is_file():
        raise FileNotFoundError(f"no checkpoint found: {json_path} does not exist")
    try:
        record = json.loads(json_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{json_path}: not valid JSON ({exc}); the file is corrupted") from None
    if not isinstance(record, dict):
        raise CheckpointError(f"{json_path}: expected a JSON object; got {type(record).__name__}")
    missing = [field for field in _FIELDS if field not in record]
    if missing:
        raise CheckpointError(f"{json_path}: missing field {missing[0]!r}")
    if record["format_version"] != FORMAT_VERSION:
        raise CheckpointError(f"{json_path}: format_version is {record['format_version']!r}; "
                              f"this version of refimpl reads {FORMAT_VERSION}")
    kinds = {"npz": str, "arrays": dict, "opt_state": dict, "rng_state": dict, "meta": dict}
    for field, kind in kinds.items():
        bad_name = field == "npz" and Path(str(record[field])).name != record[field]
        if not isinstance(record[field], kind) or bad_name:
            raise CheckpointError(f"{json_path}: field {field!r} must be a {kind.__name__} "
                                  f"{'(a file name)' if field == 'npz' else ''}; got {record[field]!r:.60}")
    return record


def _read_arrays(json_path: Path, record: dict) -> dict:
    """The arrays of the .npz the record names, checked against its SHA-256 and manifest."""
    npz_path = json_path.parent / record["npz"]
    if not npz_path.is_file():
        raise FileNotFoundError(f"{json_path} names {npz_path}, which does not exist")
    raw = npz_path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    if sha != record["npz_sha256"]:
        raise CheckpointError(f"{npz_path}: SHA-256 mismatch: {json_path.name} records "
                              f"{record['npz_sha256']}, "
                              f"the file has {sha} ({len(raw)} bytes); it is truncated or corrupted")
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise CheckpointError(f"{npz_path}: cannot be read as .npz ({exc})") from None
    manifest = record["arrays"]
    problem = _differences(arrays, manifest, "arrays")
    if not problem and "rng/state" not in arrays:
        problem = "missing arrays ['rng/state']"
    for name, spec in manifest.items():
        if problem:
            raise CheckpointError(f"{npz_path}: {problem}")
        arr = arrays[name]
        if arr.dtype.str != spec.get("dtype") or list(arr.shape) != spec.get("shape"):
            problem = (f"array {name} has dtype {arr.dtype.str} shape {arr.shape}; the manifest says "
                       f"dtype {spec.get('dtype')} shape {tuple(spec.get('shape', []))}")
    if problem:
        raise CheckpointError(f"{npz_path}: {problem}")
    if not np.array_equal(arrays["rng/state"], _rng_state_array(record["rng_state"])):
        raise CheckpointError(f"{json_path}: rng_state disagrees with the generator state stored in "
                              f"{npz_path.name}")
    return arrays


def _check_params_like(params: dict, like: dict, where: Path) -> None:
    problem = _differences(params, like, "parameters")
    for key, ref in like.items():
        if problem:
            break
        arr, ref = params[key], np.asarray(ref)
        if arr.shape != ref.shape:
            problem = f"parameter {key} has shape {arr.shape}; expected {ref.shape}"
        elif arr.dtype != ref.dtype:
            problem = f"parameter {key} has dtype {arr.dtype}; expected {ref.dtype}"
        elif not np.all(np.isfinite(arr)):
            problem = f"parameter {key} contains NaN or infinity"
    if problem:
        raise CheckpointError(f"{where}: {problem}")


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
        Naming the file and the problem (see the module's description).
    """
    json_path = _json_path(path)
    record = _read_record(json_path)
    arrays = _read_arrays(json_path, record)
    where = json_path.parent / record["npz"]
    params = {name[len("params/"):]: arr for name, arr in arrays.items() if name.startswith("params/")}
    if not params:
        raise CheckpointError(f"{where}: missing arrays: no parameters (params/...) stored")
    opt_state = _decode_opt_state(record["opt_state"], arrays, str(json_path))
    meta = record["meta"]
    differences = []
    for key, wanted in (expect or {}).items():
        if key not in meta:
            raise CheckpointError(f"{json_path}: missing field meta.{key}")
        if json.loads(json.dumps(meta[key])) != json.loads(json.dumps(wanted)):  # as JSON: tuples are lists
            differences.append(f"checkpoint has {key}={meta[key]!r}, but {key}={wanted!r} was asked for")
    if differences:
        raise CheckpointError(f"{json_path}: " + "; ".join(differences)
                              + "; resume with the same settings or use another output directory")
    if params_like is not None:
        _check_params_like(params, params_like, where)
    return Checkpoint(params=params, opt_state=opt_state, rng_state=record["rng_state"], meta=meta,
                      path=json_path)
