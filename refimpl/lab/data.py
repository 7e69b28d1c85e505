r"""MNIST: reading IDX files, download with checksums, the embedded subset, binarisation.

The experiment of the method (section 5) trains on MNIST binarised at 0.5. This
module provides the data, nothing else:

- :func:`read_idx` reads one IDX file (raw or gzipped) with strict checks;
- :func:`load_mnist` loads the four standard files from a directory, each
  verified against its published SHA-256;
- :func:`download_mnist` fetches them into a user cache, verified and written
  atomically;
- :func:`load_embedded` loads the offline default shipped in
  ``refimpl/lab/embedded/``: a fixed random subset of MNIST (10,000 training and
  2,000 test images) with grey levels quantised to 4 bits (16 levels);
- :func:`binarize` turns grey levels into the 0/1 images the networks see,
  by threshold (``grey > 0.5``) or by Bernoulli draws;
- :func:`get_dataset` resolves a ``--data`` argument;
- :func:`find_mnist` looks for the four files where the tests and benchmarks may find them.

Grey levels are float32 in ``[0, 1]`` everywhere: ``pixel / 255`` for the full
files, ``level / 15`` for the embedded subset. MNIST is by Y. LeCun, C. Cortes
and C. J. C. Burges, licensed CC BY-SA 3.0; cite LeCun, Bottou, Bengio and
Haffner (1998), "Gradient-based learning applied to document recognition".
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validation import (
    as_float_array,
    check_choice,
    check_finite,
    check_labels,
    check_positive_int,
    check_rng,
)
from ._io import atomic_writer

__all__ = [
    "MNIST_DIR_VARIABLE",
    "MNIST_FILES",
    "Dataset",
    "binarize",
    "default_cache_dir",
    "download_mnist",
    "find_mnist",
    "get_dataset",
    "load_embedded",
    "load_mnist",
    "read_idx",
]

#: The four standard MNIST files: name -> (sha256 of the .gz file, sha256 of the uncompressed file).
MNIST_FILES = {
    "train-images-idx3-ubyte": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    "train-labels-idx1-ubyte": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "t10k-images-idx3-ubyte": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "t10k-labels-idx1-ubyte": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}

DEFAULT_BASE_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"

EMBEDDED_FILE = Path(__file__).parent / "embedded" / "mnist_subset_4bit.npz"
EMBEDDED_SHA256 = "2cfba8cd919628cb70773e24aca0e461863894a66bc58890ac80722319c75e5c"
EMBEDDED_LEVELS = 16
N_CLASSES = 10
#: Environment variable naming a folder that holds the four MNIST files (see :func:`find_mnist`).
MNIST_DIR_VARIABLE = "REFIMPL_MNIST_DIR"

# IDX type codes (third magic byte) -> big-endian dtype of the payload.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass(frozen=True, repr=False)
class Dataset:
    """MNIST images and labels, split into training and test sets, checked on construction.

    Attributes
    ----------
    train_images : ndarray of shape (n_train, pixels)
        Grey levels in ``[0, 1]`` (0 is background), one image per row (MNIST:
        784 pixels in row-major 28x28 order, float32).
    train_labels : ndarray of shape (n_train,), int64
        Digits 0..9 (given as integers or as floats holding whole numbers).
    test_images : ndarray of shape (n_test, pixels)
        As many pixels per image as ``train_images``.
    test_labels : ndarray of shape (n_test,), int64
    source : str
        Where the data came from, for reports.

    Raises
    ------
    ValueError, TypeError
        Naming the field: images that are not a non-empty 2-D array of grey
        levels in ``[0, 1]``, test images of another width, labels that are not
        whole numbers in ``0..9`` or not one per image.

    Examples
    --------
    >>> Dataset(np.zeros((3, 4)), [0, 1, 2], np.zeros((2, 4)), [0.0, 1.0]).test_labels
    array([0, 1])
    >>> Dataset(np.zeros((3, 4)), [0, 1], np.zeros((2, 4)), [0, 1])
    Traceback (most recent call last):
    ...
    ValueError: train_labels must have shape (3,) to match train_images; got shape (2,).
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str = ""

    def __post_init__(self):
        width = None
        for split in ("train", "test"):
            name = f"{split}_images"
            images = as_float_array(getattr(self, name), name, dtype=None)
            if images.ndim != 2 or images.shape[0] == 0:
                raise ValueError(f"{name} must have shape (images, pixels) with at least one image; "
                                 f"got shape {images.shape}.")
            if width is not None and images.shape[1] != width:
                raise ValueError(f"{name} must have {width} pixels per image like train_images; "
                                 f"got shape {images.shape}.")
            width = images.shape[1]
            check_finite(images, name)
            if images.min() < 0 or images.max() > 1:
                raise ValueError(f"{name} must hold grey levels in [0, 1]; got values in "
                                 f"[{float(images.min()):g}, {float(images.max()):g}] "
                                 "(divide uint8 pixels by 255).")
            labels = check_labels(getattr(self, f"{split}_labels"), N_CLASSES, f"{split}_labels",
                                  batch=images.shape[0], against=name)
            object.__setattr__(self, name, images)
            object.__setattr__(self, f"{split}_labels", labels)
        if not isinstance(self.source, str):
            raise TypeError(f"source must be a string; got {type(self.source).__name__}.")

    def __repr__(self) -> str:
        return (f"Dataset({self.source!r}: train {self.train_images.shape}, "
                f"test {self.test_images.shape})")

    def with_train_images(self, train_images: int) -> Dataset:
        """The same dataset with only its first ``train_images`` training images.

        Raises
        ------
        ValueError
            If ``train_images`` exceeds the training images there are.

        Examples
        --------
        >>> small = load_embedded().with_train_images(500)
        >>> small.train_images.shape, small.test_images.shape
        ((500, 784), (2000, 784))
        """
        n = check_positive_int(train_images, "train_images")
        have = self.train_images.shape[0]
        if n > have:
            raise ValueError(f"train_images must be at most {have:,}, the training images of "
                             f"{self.source or 'the dataset'}; got {n:,}.")
        return Dataset(self.train_images[:n], self.train_labels[:n], self.test_images, self.test_labels,
                       source=f"{self.source} (first {n} training images)")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _parse_idx(data: bytes, name: str, ndim: int | None = None) -> np.ndarray:
    """Parse the bytes of an IDX file (gzip already undone); ``name`` goes into messages."""
    if len(data) < 4:
        raise ValueError(f"{name}: truncated: {len(data)} bytes, too short for the 4-byte IDX magic number")
    zero0, zero1, code, nd = data[:4]
    if zero0 != 0 or zero1 != 0:
        raise ValueError(f"{name}: bad magic number {data[:4].hex()}: an IDX file starts with two zero bytes")
    if code not in _IDX_DTYPES:
        raise ValueError(f"{name}: bad dtype code 0x{code:02x} in the magic number; "
                         f"expected one of {', '.join(f'0x{c:02x}' for c in _IDX_DTYPES)}")
    if nd == 0 or (ndim is not None and nd != ndim):
        expected = f"{ndim}" if ndim is not None else "at least 1"
        raise ValueError(f"{name}: wrong number of dimensions: header declares {nd}, expected {expected}")
    header = 4 + 4 * nd
    if len(data) < header:
        raise ValueError(f"{name}: truncated: {nd} dimensions need a {header}-byte header, "
                         f"found {len(data)} bytes")
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=nd, offset=4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        problem = "truncated" if found < expected else "extra bytes"
        raise ValueError(f"{name}: {problem}: header says {'x'.join(map(str, shape))} = {expected} "
                         f"bytes of payload, found {found}")
    return np.frombuffer(data, dtype=dtype, offset=header).astype(dtype.newbyteorder("=")).reshape(shape)


def _decompress_if_gzip(data: bytes, name: str) -> bytes:
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{name}: corrupt gzip stream: {exc}") from None


def read_idx(path, ndim: int | None = None) -> np.ndarray:
    """Read one IDX file, raw or gzipped, with strict checks of its header and length.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Gzip is recognised by its magic bytes ``1f 8b``, not by the name.
    ndim : int, optional
        If given, the number of dimensions the header must declare.

    Returns
    -------
    ndarray
        The payload in the declared shape, in the declared type (native byte order).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming the file and the problem: bad magic number, unknown dtype code,
        wrong number of dimensions, truncated payload, extra bytes, corrupt gzip.

    Notes
    -----
    The IDX format: magic bytes ``00 00 <type> <ndim>``, then ``ndim`` big-endian
    uint32 sizes, then the values in row-major order, big-endian. The payload
    length must equal the product of the sizes times the item size exactly.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = Path(tmp) / "tiny-idx1-ubyte"
    ...     _ = p.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))  # type uint8, 1 dim, size 3
    ...     read_idx(p)
    array([7, 8, 9], dtype=uint8)
    """
    path = Path(path)
    data = _decompress_if_gzip(path.read_bytes(), str(path))
    return _parse_idx(data, str(path), ndim)


def _load_mnist_file(directory: Path, stem: str, verify: bool) -> np.ndarray:
    gz, raw = directory / f"{stem}.gz", directory / stem
    path = gz if gz.is_file() else raw
    if not path.is_file():
        raise FileNotFoundError(f"MNIST file missing: neither {gz} nor {raw} exists")
    data = path.read_bytes()
    if verify:
        expected = MNIST_FILES[stem][0 if path == gz else 1]
        found = _sha256(data)
        if found != expected:
            raise ValueError(f"{path}: SHA-256 mismatch: expected {expected}, found {found}")
    return _parse_idx(_decompress_if_gzip(data, str(path)), str(path), ndim=3 if "images" in stem else 1)


def _check_split(images: np.ndarray, labels: np.ndarray, what: str) -> None:
    if images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(f"{what} images must be uint8 of shape (n, 28, 28); "
                         f"got {images.dtype} {images.shape}")
    if labels.shape != images.shape[:1]:
        raise ValueError(f"{what}: {images.shape[0]} images but {labels.shape[0]} labels")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{what} labels must be digits 0..9; got a maximum of {labels.max()}")


def load_mnist(directory, verify: bool = True) -> Dataset:
    """Load the four standard MNIST files from a directory.

    Parameters
    ----------
    directory : str or os.PathLike
        Holds ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each either
        gzipped (name + ``.gz``, preferred if both exist) or uncompressed.
    verify : bool, default True
        Check each file's SHA-256 against :data:`MNIST_FILES` (the ``.gz``
        figure for a ``.gz`` file, the uncompressed one otherwise).

    Returns
    -------
    Dataset
        60,000 training and 10,000 test images of shape (n, 784) as float32
        grey levels ``pixel / 255`` in ``[0, 1]``; labels int64.

    Raises
    ------
    FileNotFoundError
        If the directory or a file is missing.
    ValueError
        On a checksum mismatch (naming the file, the expected and the found
        SHA-256) or a malformed file.

    See Also
    --------
    download_mnist : fetch the files.
    load_embedded : the offline subset.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"MNIST directory {directory} does not exist")
    arrays = {stem: _load_mnist_file(directory, stem, verify) for stem in MNIST_FILES}
    splits = []
    for prefix, what in (("train", "training"), ("t10k", "test")):
        images, labels = arrays[f"{prefix}-images-idx3-ubyte"], arrays[f"{prefix}-labels-idx1-ubyte"]
        _check_split(images, labels, what)
        grey = np.divide(images.reshape(len(images), -1), np.float32(255), dtype=np.float32)
        splits += [grey, labels.astype(np.int64)]
    return Dataset(*splits, source=f"MNIST from {directory}")


def default_cache_dir() -> Path:
    """The directory :func:`download_mnist` uses by default.

    ``$REFIMPL_CACHE_DIR/mnist`` if that variable is set, else
    ``$XDG_CACHE_HOME/refimpl/mnist``, else ``~/.cache/refimpl/mnist``.
    """
    root = os.environ.get("REFIMPL_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "mnist"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "refimpl" / "mnist"


def _download_one(url: str, target: Path, expected: str, timeout: float) -> None:
    """Fetch ``url`` into ``target`` with :func:`atomic_writer`: kept only if complete and verified."""
    digest, size = hashlib.sha256(), 0
    with atomic_writer(target) as out:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                declared = response.headers.get("Content-Length")
                while chunk := response.read(1 << 16):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
        except (urllib.error.URLError, OSError, ValueError) as exc:  # offline, HTTP error, reset, short read
            if isinstance(exc, urllib.error.HTTPError):
                exc.close()
            raise OSError(f"downloading {url} failed: {exc}; check the network connection, or use a folder "
                          "holding the four MNIST files") from exc
        if declared is not None and int(declared) != size:
            raise OSError(f"downloading {url} failed: interrupted after {size} of {declared} bytes")
        found = digest.hexdigest()
        if found != expected:
            raise ValueError(f"{url}: SHA-256 mismatch: expected {expected}, found {found}; file not kept")


def download_mnist(cache_dir=None, base_url: str = DEFAULT_BASE_URL, checksums=None,
                   timeout: float = 60.0) -> Path:
    """Download the four gzipped MNIST files into a cache directory, verified.

    Parameters
    ----------
    cache_dir : str or os.PathLike, optional
        Target directory, created if needed; default :func:`default_cache_dir`.
    base_url : str, default ``"https://ossci-datasets.s3.amazonaws.com/mnist/"``
        A mirror serving ``<name>.gz`` for each standard name.
    checksums : dict, optional
        ``{"<name>.gz": sha256}``; default the published figures in :data:`MNIST_FILES`.
        The files fetched are exactly the keys.
    timeout : float, default 60
        Seconds for each connection attempt.

    Returns
    -------
    pathlib.Path
        The directory, ready for :func:`load_mnist`.

    Raises
    ------
    OSError
        If a transfer fails (HTTP error, connection lost, short body).
    ValueError
        If a downloaded file's SHA-256 differs from the expected one.

    Notes
    -----
    Each file is written to a temporary file in the same directory and renamed
    with ``os.replace`` only once complete and verified, so an interrupted or
    corrupted download leaves nothing behind (:func:`refimpl.lab._io.atomic_writer`). Files already
    present with the
    right checksum are not fetched again. Only ``urllib`` is used.

    Examples
    --------
    ``load_mnist(download_mnist())`` fetches the files once (about 11 MB) and
    loads them; ``get_dataset("download")`` does the same.
    """
    if checksums is None:
        checksums = {f"{stem}.gz": sha[0] for stem, sha in MNIST_FILES.items()}
    directory = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    for name, expected in checksums.items():
        target = directory / name
        if target.is_file() and _sha256(target.read_bytes()) == expected:
            continue
        _download_one(base_url.rstrip("/") + "/" + name, target, expected, timeout)
    return directory


def _unpack_nibbles(packed: np.ndarray) -> np.ndarray:
    """(n, 392) bytes -> (n, 784) levels 0..15; the high nibble holds the even pixel."""
    out = np.empty((packed.shape[0], 2 * packed.shape[1]), dtype=np.uint8)
    out[:, 0::2] = packed >> 4
    out[:, 1::2] = packed & 0x0F
    return out


def load_embedded() -> Dataset:
    """Load the MNIST subset shipped with the package (works offline).

    Returns
    -------
    Dataset
        10,000 training and 2,000 test images of shape (n, 784), float32 grey
        levels ``level / 15`` with 16 levels, ``level = round(pixel * 15 / 255)``.

    Raises
    ------
    ValueError
        If the file's SHA-256 differs from the recorded one (a corrupted file).

    Notes
    -----
    The images are a random subset, drawn once with a fixed seed and stored
    with their indices in the full files; ``scripts/make_embedded.py`` makes
    the file and ``refimpl/lab/embedded/README.md`` documents it. Threshold
    binarisation at 0.5 gives the same images as on the full files, since
    ``level >= 8`` exactly when ``pixel >= 128``.

    Examples
    --------
    >>> data = load_embedded()
    >>> data.train_images.shape, data.test_images.shape
    ((10000, 784), (2000, 784))
    """
    raw = EMBEDDED_FILE.read_bytes()
    found = _sha256(raw)
    if found != EMBEDDED_SHA256:
        raise ValueError(f"{EMBEDDED_FILE}: SHA-256 mismatch: expected {EMBEDDED_SHA256}, found {found}; "
                         "the file is corrupted, reinstall refimpl or rerun scripts/make_embedded.py")
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    scale = np.float32(1.0 / (EMBEDDED_LEVELS - 1))
    splits = []
    for split in ("train", "test"):
        levels = _unpack_nibbles(arrays[f"{split}_packed"])
        splits += [levels.astype(np.float32) * scale, arrays[f"{split}_labels"].astype(np.int64)]
    return Dataset(*splits, source="embedded MNIST subset (4-bit grey levels)")


def binarize(images, method: str = "threshold", rng=None, threshold: float = 0.5) -> np.ndarray:
    """Turn grey levels in ``[0, 1]`` into binary images.

    Parameters
    ----------
    images : ndarray of shape (n, 784) or (784,)
        Grey levels in ``[0, 1]``, as in :class:`Dataset`.
    method : {"threshold", "stochastic"}
        ``"threshold"``: pixel is 1 where ``grey > threshold`` (strictly).
        ``"stochastic"``: pixel is 1 with probability ``grey``, independently.
    rng : numpy.random.Generator
        Required for ``"stochastic"``, ignored for ``"threshold"``.
    threshold : float, default 0.5
        The cut for ``"threshold"``. At 0.5 on MNIST, ``pixel / 255 > 0.5``
        means ``pixel >= 128``.

    Returns
    -------
    ndarray of the input's shape, float32
        0/1 values.

    Raises
    ------
    TypeError
        If ``method="stochastic"`` and ``rng`` is not a ``numpy.random.Generator``.
    ValueError
        If ``images`` has values outside ``[0, 1]`` or ``method`` is unknown.

    Examples
    --------
    >>> binarize(np.array([0.0, 0.5, 0.51, 1.0]))
    array([0., 0., 1., 1.], dtype=float32)
    """
    check_choice(method, "method", ("threshold", "stochastic"))
    grey = check_finite(as_float_array(images, "images", dtype=np.float32), "images")
    if grey.size and (grey.min() < 0 or grey.max() > 1):
        raise ValueError(f"images must hold grey levels in [0, 1]; got values in "
                         f"[{float(grey.min()):g}, {float(grey.max()):g}] (divide uint8 pixels by 255)")
    if method == "threshold":
        return (grey > threshold).astype(np.float32)
    rng = check_rng(rng)
    return (rng.random(grey.shape, dtype=np.float32) < grey).astype(np.float32)


def get_dataset(data) -> Dataset:
    """Resolve a ``--data`` argument (or a dataset already in memory) to a :class:`Dataset`.

    Parameters
    ----------
    data : str, os.PathLike, Dataset or object
        ``"embedded"`` (the shipped subset), ``"download"`` (fetch into the
        cache, then load), a directory holding the four MNIST files, a
        :class:`Dataset` (returned as it is), or any object with
        ``train_images``, ``train_labels``, ``test_images`` and ``test_labels``
        (checked by :class:`Dataset`).

    Returns
    -------
    Dataset

    Raises
    ------
    FileNotFoundError
        If ``data`` is a string but neither keyword nor an existing directory.
    TypeError
        If ``data`` is none of the above.
    OSError
        If ``"download"`` fails (no network, for example).

    Examples
    --------
    >>> get_dataset("embedded").train_labels.shape
    (10000,)
    """
    if isinstance(data, Dataset):
        return data
    if not isinstance(data, (str, os.PathLike)):
        fields = ("train_images", "train_labels", "test_images", "test_labels")
        missing = [name for name in fields if not hasattr(data, name)]
        if missing:
            raise TypeError(f"data must be 'embedded', 'download', a directory or an object with "
                            f"{', '.join(fields)}; got {type(data).__name__} without {', '.join(missing)}.")
        return Dataset(*(getattr(data, name) for name in fields),
                       source=str(getattr(data, "source", "") or "in-memory dataset"))
    if data == "embedded":
        return load_embedded()
    if data == "download":
        return load_mnist(download_mnist())
    if not Path(data).is_dir():
        raise FileNotFoundError(f"data must be 'embedded', 'download' or an existing directory "
                                f"holding the MNIST files; {str(data)!r} is none of these")
    return load_mnist(data)


def find_mnist(*folders) -> Path | None:
    """The first folder holding the four MNIST files, or None: where tests and benchmarks look for them.

    Looks in ``$REFIMPL_MNIST_DIR`` (:data:`MNIST_DIR_VARIABLE`), then in
    ``folders`` in order, then in the download cache (:func:`default_cache_dir`,
    filled by ``--data download`` or :func:`download_mnist`). A folder counts if
    each file is there, gzipped or not; :func:`load_mnist` verifies them.

    Examples
    --------
    >>> find_mnist("/nonexistent") in (None, default_cache_dir()) or "REFIMPL_MNIST_DIR" in os.environ
    True
    """
    for folder in (os.environ.get(MNIST_DIR_VARIABLE), *folders, default_cache_dir()):
        if folder and all((Path(folder) / f"{stem}.gz").is_file() or (Path(folder) / stem).is_file()
                          for stem in MNIST_FILES):
            return Path(folder)
    return None
