"""Tests for refimpl.lab.data: IDX reading, MNIST loading and download, the embedded subset, binarisation.

Every check is independent of the code under test: IDX files are written by a tiny writer
defined here, expected MNIST figures are the published ones (label counts, pixel sum), quantisation
is recomputed here by a second formula, and downloads are served by a local HTTP server
(127.0.0.1 only; no test reaches beyond this machine).

The tests that need the full MNIST files find them with ``refimpl.lab.data.find_mnist``: in
``$REFIMPL_MNIST_DIR``, in the development folder ``../shared/data/mnist`` next to the project,
or in the ``--data download`` cache; without them they are skipped, saying how to get them.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import shutil
import struct
import threading
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from refimpl.lab import data as data_module
from refimpl.lab.data import (
    MNIST_DIR_VARIABLE,
    MNIST_FILES,
    Dataset,
    binarize,
    default_cache_dir,
    download_mnist,
    find_mnist,
    get_dataset,
    load_embedded,
    load_mnist,
    read_idx,
)

#: A development folder (tests only; users get the files with --data download).
DEV_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
MNIST_DIR = find_mnist(DEV_MNIST)
# The skip reason names what a user has: the variable and the download cache, not the development folder.
NO_MNIST = (f"the four full MNIST files are not in ${MNIST_DIR_VARIABLE} or the download cache "
            f"{default_cache_dir()}; get them with: "
            'python -c "from refimpl.lab.data import download_mnist; download_mnist()" '
            f"(or set {MNIST_DIR_VARIABLE} to a folder holding the four files)")
needs_mnist = pytest.mark.skipif(MNIST_DIR is None, reason=NO_MNIST)

# The published statistics of the MNIST training set.
TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TRAIN_PIXEL_SUM = 1_567_298_545

IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
             np.float32: 0x0D, np.float64: 0x0E}


def write_idx(path: Path, arr: np.ndarray, compress: bool = False) -> Path:
    """Minimal IDX writer, independent of refimpl: magic, big-endian sizes, big-endian payload."""
    header = bytes([0, 0, IDX_CODES[arr.dtype.type], arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    blob = header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(blob) if compress else blob)
    return path


# ---------------------------------------------------------------- IDX format


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize(
    "dtype, shape",
    [(np.uint8, (5, 3, 4)), (np.uint8, (7,)), (np.int16, (2, 3)), (np.int32, (4, 2)),
     (np.float32, (2, 2)), (np.float64, (3, 1, 2))],
)
def test_read_idx_round_trips_arrays_written_by_an_independent_writer(tmp_path, compress, dtype, shape):
    """An array written as IDX (raw or gzipped) reads back with the same shape, dtype and values."""
    rng = np.random.default_rng(0)
    arr = (rng.integers(-100, 100, size=shape) if dtype != np.uint8 else rng.integers(0, 256, size=shape))
    arr = arr.astype(dtype)
    back = read_idx(write_idx(tmp_path / "a-idx", arr, compress))
    assert back.shape == shape
    assert back.dtype == np.dtype(dtype)
    assert_array_equal(back, arr)


def test_read_idx_detects_gzip_by_magic_bytes_not_by_name(tmp_path):
    """A gzipped file without .gz and a raw file named .gz are both read correctly."""
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert_array_equal(read_idx(write_idx(tmp_path / "zipped-without-suffix", arr, compress=True)), arr)
    assert_array_equal(read_idx(write_idx(tmp_path / "raw-with-suffix.gz", arr, compress=False)), arr)


def _good_idx_bytes() -> bytes:
    # 2 x 3 x 4 uint8 array: 16-byte header + 24 bytes of payload.
    return bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 3, 4) + bytes(range(24))


CORRUPTIONS = {
    "bad magic": (lambda b: b"\x01" + b[1:], "bad magic number"),
    "bad dtype code": (lambda b: b[:2] + b"\x07" + b[3:], "bad dtype code 0x07"),
    "truncated payload": (lambda b: b[:-5], "truncated: header says 2x3x4 = 24 bytes of payload, found 19"),
    "extra bytes": (lambda b: b + b"\x00\x00",
                    "extra bytes: header says 2x3x4 = 24 bytes of payload, found 26"),
    "wrong ndim": (lambda b: b[:3] + b"\x02" + b[4:], "header says 2x3 = 6 bytes of payload, found 28"),
    "zero ndim": (lambda b: b[:3] + b"\x00" + b[4:], "wrong number of dimensions: header declares 0"),
    "truncated header": (lambda b: b[:10], "truncated: 3 dimensions need a 16-byte header"),
    "too short": (lambda b: b[:2], "too short"),
}


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_read_idx_rejects_each_corruption_naming_the_file_and_problem(tmp_path, corruption, compress):
    """Each malformed IDX file raises ValueError whose message names the file and the problem."""
    mutate, problem = CORRUPTIONS[corruption]
    blob = mutate(_good_idx_bytes())
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(gzip.compress(blob) if compress else blob)
    with pytest.raises(ValueError) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert problem in str(info.value)


def test_read_idx_rejects_unexpected_number_of_dimensions(tmp_path):
    """read_idx(path, ndim=3) rejects a well-formed one-dimensional file."""
    path = write_idx(tmp_path / "labels-idx1", np.arange(5, dtype=np.uint8))
    with pytest.raises(ValueError, match="declares 1, expected 3"):
        read_idx(path, ndim=3)


def test_read_idx_rejects_a_corrupt_gzip_stream(tmp_path):
    """A file with gzip magic bytes but a cut-off stream raises ValueError naming the file."""
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(_good_idx_bytes())[:20])
    with pytest.raises(ValueError, match=r"cut\.gz: corrupt gzip"):
        read_idx(path)


def test_read_idx_reports_the_documented_truncation_message(tmp_path):
    """A cut-off MNIST-sized header reports the declared and found payload sizes in full."""
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", 60000, 28, 28) + bytes(1000))
    with pytest.raises(ValueError) as info:
        read_idx(path)
    assert str(info.value) == (f"{path}: truncated: header says 60000x28x28 = 47040000 bytes of payload, "
                               "found 1000")


# ---------------------------------------------------------------- full MNIST files


@pytest.fixture(scope="module")
def full_mnist():
    if MNIST_DIR is None:
        pytest.skip(NO_MNIST)
    return load_mnist(MNIST_DIR)


def test_skip_reason_is_one_line_that_says_how_to_get_the_files():
    """Without the files, the skip says where a user's copy would be and the one command that fetches them.

    It does not name the development folder next to the project, which a user does not have.
    """
    assert "\n" not in NO_MNIST and "download_mnist()" in NO_MNIST and MNIST_DIR_VARIABLE in NO_MNIST
    assert str(default_cache_dir()) in NO_MNIST
    assert str(DEV_MNIST) not in NO_MNIST and "shared" not in NO_MNIST


def _fake_mnist_folder(folder: Path, gzipped: bool = True) -> Path:
    folder.mkdir(parents=True)
    for stem in MNIST_FILES:
        (folder / (f"{stem}.gz" if gzipped else stem)).write_bytes(b"")
    return folder


def test_find_mnist_looks_in_the_variable_then_the_folders_then_the_cache(tmp_path, monkeypatch):
    """$REFIMPL_MNIST_DIR wins, then the folders given in order, then the download cache; else None."""
    monkeypatch.setenv("REFIMPL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(MNIST_DIR_VARIABLE, raising=False)
    assert find_mnist(tmp_path / "nothing") is None
    cache = _fake_mnist_folder(tmp_path / "cache" / "mnist")
    assert find_mnist(tmp_path / "nothing") == cache
    dev = _fake_mnist_folder(tmp_path / "dev", gzipped=False)
    assert find_mnist(tmp_path / "nothing", dev) == dev
    (dev / "t10k-labels-idx1-ubyte").unlink()  # an incomplete folder does not count
    assert find_mnist(dev) == cache
    env = _fake_mnist_folder(tmp_path / "env")
    monkeypatch.setenv(MNIST_DIR_VARIABLE, str(env))
    assert find_mnist(dev) == env


@needs_mnist
def test_load_mnist_gives_documented_shapes_label_counts_and_pixel_sum(full_mnist):
    """The verified full files have 60,000/10,000 images of 784 pixels and the published statistics."""
    d = full_mnist
    assert d.train_images.shape == (60000, 784) and d.train_images.dtype == np.float32
    assert d.test_images.shape == (10000, 784) and d.test_labels.shape == (10000,)
    assert d.train_labels.shape == (60000,)
    assert np.bincount(d.train_labels, minlength=10).tolist() == TRAIN_LABEL_COUNTS
    assert 0.0 <= d.train_images.min() and d.train_images.max() == 1.0
    # float32(pixel / 255) * 255 is within 255 * 2**-23 of the integer pixel, so rint recovers it exactly;
    # the pixels' sum is the published figure.
    pixels = np.rint(d.train_images * np.float32(255)).astype(np.uint8)
    assert int(pixels.sum(dtype=np.int64)) == TRAIN_PIXEL_SUM


@needs_mnist
def test_load_mnist_accepts_uncompressed_files_verified_by_their_own_checksums(tmp_path, full_mnist):
    """Uncompressed copies of the four files load (checked against the uncompressed SHA-256) identically."""
    for stem in MNIST_FILES:
        (tmp_path / stem).write_bytes(gzip.decompress((MNIST_DIR / f"{stem}.gz").read_bytes()))
    d = load_mnist(tmp_path)
    assert_array_equal(d.train_labels, full_mnist.train_labels)
    assert_array_equal(d.test_images, full_mnist.test_images)


@needs_mnist
def test_load_mnist_detects_a_flipped_byte_by_checksum(tmp_path):
    """One flipped byte in a copied .gz file raises ValueError naming the file and both checksums."""
    for stem in MNIST_FILES:
        shutil.copy(MNIST_DIR / f"{stem}.gz", tmp_path / f"{stem}.gz")
    target = tmp_path / "t10k-labels-idx1-ubyte.gz"
    blob = bytearray(target.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    target.write_bytes(bytes(blob))
    found = hashlib.sha256(bytes(blob)).hexdigest()
    expected = MNIST_FILES["t10k-labels-idx1-ubyte"][0]
    with pytest.raises(ValueError) as info:
        load_mnist(tmp_path)
    message = str(info.value)
    assert str(target) in message and expected in message and found in message


def test_load_mnist_missing_directory_or_file_raises_file_not_found(tmp_path):
    """A missing directory, or a directory lacking a file, raises FileNotFoundError naming it."""
    with pytest.raises(FileNotFoundError, match="no-such-dir"):
        load_mnist(tmp_path / "no-such-dir")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)


# ---------------------------------------------------------------- download


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves server.files; server.mode in {"ok", "corrupt", "404", "cut", "cut-no-length"}."""

    def do_GET(self):
        server = self.server
        name = self.path.rsplit("/", 1)[-1]
        server.requests.append(name)
        if server.mode == "404" or name not in server.files:
            self.send_error(404)
            return
        body = server.files[name]
        if server.mode == "corrupt":
            body = body[:-1] + bytes([body[-1] ^ 1])
        self.send_response(200)
        if server.mode != "cut-no-length":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if server.mode.startswith("cut"):
            self.wfile.write(body[: len(body) // 2])  # then the connection closes mid-body
            self.close_connection = True
        else:
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    """A local HTTP server on 127.0.0.1 (ephemeral port) in a thread, shut down after the test."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    rng = np.random.default_rng(1)
    httpd.files = {f"fake-{i}.gz": rng.integers(0, 256, size=3000 + i, dtype=np.uint8).tobytes()
                   for i in range(2)}
    httpd.mode, httpd.requests = "ok", []
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/mnist/"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _checksums(files):
    return {name: hashlib.sha256(body).hexdigest() for name, body in files.items()}


def test_download_mnist_fetches_verified_files_and_skips_present_ones(server, tmp_path):
    """Files are downloaded byte-exact, and a second call fetches nothing already verified."""
    cache = tmp_path / "cache"
    out = download_mnist(cache, base_url=server.url, checksums=_checksums(server.files))
    assert out == cache
    for name, body in server.files.items():
        assert (cache / name).read_bytes() == body
    assert sorted(p.name for p in cache.iterdir()) == sorted(server.files)  # no temporary files left
    n_requests = len(server.requests)
    download_mnist(cache, base_url=server.url, checksums=_checksums(server.files))
    assert len(server.requests) == n_requests


def test_download_mnist_replaces_a_present_file_with_the_wrong_checksum(server, tmp_path):
    """A cached file whose checksum is wrong is downloaded again and replaced."""
    (tmp_path / "fake-0.gz").write_bytes(b"stale")
    download_mnist(tmp_path, base_url=server.url, checksums=_checksums(server.files))
    assert (tmp_path / "fake-0.gz").read_bytes() == server.files["fake-0.gz"]


def test_download_mnist_offline_raises_one_oserror_naming_the_url(tmp_path, monkeypatch):
    """No network: an OSError naming the URL and what to do instead; nothing left in the cache."""
    def offline(*args, **kwargs):
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(OSError, match=r"downloading https://\S+/train-images-idx3-ubyte.gz failed: .*net"):
        download_mnist(tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "mode, error, match",
    [
        ("corrupt", ValueError, "SHA-256 mismatch: expected"),
        ("404", OSError, "404"),
        ("cut", OSError, "interrupted after 1500 of 3000 bytes"),
        ("cut-no-length", ValueError, "SHA-256 mismatch"),
    ],
)
def test_download_mnist_failure_raises_and_leaves_no_file_behind(server, tmp_path, mode, error, match):
    """Corrupted payload, HTTP 404 and an interrupted transfer raise and leave no file or temporary file."""
    server.mode = mode
    with pytest.raises(error, match=match):
        download_mnist(tmp_path, base_url=server.url, checksums=_checksums(server.files))
    assert list(tmp_path.iterdir()) == []


def test_default_cache_dir_honours_refimpl_and_xdg_variables(monkeypatch, tmp_path):
    """REFIMPL_CACHE_DIR overrides XDG_CACHE_HOME, which overrides ~/.cache."""
    monkeypatch.setenv("REFIMPL_CACHE_DIR", str(tmp_path / "r"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "r" / "mnist"
    monkeypatch.delenv("REFIMPL_CACHE_DIR")
    assert default_cache_dir() == tmp_path / "x" / "refimpl" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert default_cache_dir() == tmp_path / "h" / ".cache" / "refimpl" / "mnist"


# ---------------------------------------------------------------- embedded subset


@pytest.fixture(scope="module")
def embedded():
    return load_embedded()


def test_embedded_subset_has_documented_shapes_labels_and_16_grey_levels(embedded):
    """The embedded set has 10,000/2,000 images of 784 pixels, all ten digits, 16 grey levels in [0, 1]."""
    d = embedded
    assert d.train_images.shape == (10000, 784) and d.test_images.shape == (2000, 784)
    assert d.train_labels.shape == (10000,) and d.test_labels.shape == (2000,)
    for labels in (d.train_labels, d.test_labels):
        assert labels.min() == 0 and labels.max() == 9
        assert np.all(np.bincount(labels, minlength=10) > 0)
    for images in (d.train_images, d.test_images):
        assert images.dtype == np.float32 and images.min() == 0.0 and images.max() == 1.0
        levels = images.astype(np.float64) * 15
        np.testing.assert_allclose(levels, np.rint(levels), rtol=0, atol=1e-5)
        assert np.unique(np.rint(levels)).size == 16


def test_embedded_subset_file_matches_recorded_checksum():
    """The shipped file's SHA-256, computed here, equals the figure recorded in refimpl.lab.data."""
    sha = hashlib.sha256(data_module.EMBEDDED_FILE.read_bytes()).hexdigest()
    assert sha == data_module.EMBEDDED_SHA256


def test_embedded_subset_corrupted_file_raises_value_error(tmp_path, monkeypatch):
    """A copy of the embedded file with one flipped byte is rejected with a checksum message."""
    blob = bytearray(data_module.EMBEDDED_FILE.read_bytes())
    blob[1000] ^= 0x01
    bad = tmp_path / "mnist_subset_4bit.npz"
    bad.write_bytes(bytes(blob))
    monkeypatch.setattr(data_module, "EMBEDDED_FILE", bad)
    with pytest.raises(ValueError, match="SHA-256 mismatch"):
        load_embedded()


@needs_mnist
def test_embedded_subset_equals_quantised_full_images(embedded, full_mnist):
    """Each embedded image is round(pixel * 15 / 255) / 15 of the full image at its stored index."""
    with np.load(data_module.EMBEDDED_FILE, allow_pickle=False) as npz:
        index = {"train": npz["train_index"], "test": npz["test_index"]}
    for split in ("train", "test"):
        assert np.all(np.diff(index[split]) > 0)  # distinct, sorted rows
        full_images = getattr(full_mnist, f"{split}_images")[index[split]]
        pixels = np.rint(full_images.astype(np.float64) * 255)
        levels = np.rint(pixels * 15 / 255)  # pixel / 17 is never a half-integer: no ties
        small_images = getattr(embedded, f"{split}_images")
        assert_array_equal(np.rint(small_images * 15), levels)
        full_labels = getattr(full_mnist, f"{split}_labels")[index[split]]
        assert_array_equal(getattr(embedded, f"{split}_labels"), full_labels)
        # Threshold binarisation is unchanged by the quantisation.
        assert_array_equal(binarize(small_images), (pixels > 127.5).astype(np.float32))


# ---------------------------------------------------------------- binarisation


def test_binarize_threshold_is_strictly_greater_than_half():
    """Threshold binarisation sets a pixel to 1 iff grey > 0.5: pixel 127 -> 0, 128 -> 1, 0.5 -> 0."""
    grey = np.array([[0.0, 0.5, np.nextafter(np.float32(0.5), 1), 127 / 255, 128 / 255, 1.0]])
    out = binarize(grey)
    assert out.dtype == np.float32
    assert_array_equal(out, [[0, 0, 1, 0, 1, 1]])
    assert_array_equal(binarize(np.arange(256) / 255), (np.arange(256) >= 128).astype(np.float32))


@pytest.mark.parametrize("seed", [0, 1])
def test_binarize_stochastic_frequency_matches_grey_level(seed):
    """For each of the 16 grey levels, the frequency of ones is within 5 binomial sigma of the level."""
    n = 20_000
    grey = np.repeat(np.arange(16, dtype=np.float32)[None, :] / 15, n, axis=0)  # (n, 16)
    freq = binarize(grey, "stochastic", rng=np.random.default_rng(seed)).mean(axis=0)
    p = np.arange(16) / 15
    # Frequency of n Bernoulli(p) draws has sd sqrt(p(1-p)/n) <= 0.0036; 5 sd bounds a chance failure by
    # 6e-7 per level. Levels 0 and 1 must be exact.
    assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n))


def test_binarize_stochastic_is_reproducible_with_the_same_seed(embedded):
    """The same seed gives the same binary images; a different seed gives different ones."""
    x = embedded.test_images[:50]
    a = binarize(x, "stochastic", rng=np.random.default_rng(7))
    b = binarize(x, "stochastic", rng=np.random.default_rng(7))
    c = binarize(x, "stochastic", rng=np.random.default_rng(8))
    assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert set(np.unique(a)) <= {0.0, 1.0}


@pytest.mark.parametrize("rng", [None, 0, np.random.RandomState(0)], ids=["None", "int", "RandomState"])
def test_binarize_stochastic_requires_a_generator(rng):
    """Stochastic binarisation without a numpy Generator raises TypeError naming rng."""
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator"):
        binarize(np.zeros((2, 784)), "stochastic", rng=rng)


def test_binarize_rejects_values_outside_unit_interval_and_unknown_method():
    """Grey levels outside [0, 1] (e.g. uint8 pixels) and an unknown method raise ValueError."""
    expected = r"images must hold grey levels in \[0, 1\]; got values in \[0, 255\]"
    with pytest.raises(ValueError, match=expected):
        binarize(np.array([0, 255], dtype=np.uint8))
    with pytest.raises(ValueError, match="method"):
        binarize(np.zeros(3), method="otsu")


# ---------------------------------------------------------------- --data argument


def test_get_dataset_resolves_embedded_and_rejects_missing_directory(tmp_path):
    """'embedded' gives the shipped subset; a missing directory raises FileNotFoundError naming it."""
    assert get_dataset("embedded").train_images.shape == (10000, 784)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        get_dataset(str(tmp_path / "nowhere"))
    with pytest.raises(TypeError, match="data must be"):
        get_dataset(3)


@needs_mnist
def test_get_dataset_loads_a_directory_of_mnist_files():
    """A directory path loads the full files."""
    assert get_dataset(MNIST_DIR).train_images.shape == (60000, 784)


def test_get_dataset_accepts_datasets_and_objects_with_the_four_arrays(embedded):
    """A Dataset is returned as it is; another object with the four arrays is checked into a Dataset."""
    assert get_dataset(embedded) is embedded
    plain = SimpleNamespace(train_images=embedded.train_images[:5], train_labels=[0, 1, 2, 3, 4.0],
                            test_images=embedded.test_images[:2], test_labels=np.array([1, 2], np.int32))
    data = get_dataset(plain)
    assert data.train_labels.dtype == np.int64 and data.source == "in-memory dataset"
    with pytest.raises(TypeError, match="without test_images, test_labels"):
        get_dataset(SimpleNamespace(train_images=plain.train_images, train_labels=plain.train_labels))


# ---------------------------------------------------------------- the Dataset's checks


def _arrays(n_train=6, n_test=3, width=4):
    rng = np.random.default_rng(0)
    return {"train_images": rng.random((n_train, width)), "train_labels": np.arange(n_train) % 10,
            "test_images": rng.random((n_test, width)), "test_labels": np.arange(n_test) % 10}


@pytest.mark.parametrize("field, value, error, match", [
    ("train_labels", np.arange(5), ValueError, r"train_labels must have shape \(6,\) to match train_images"),
    ("test_labels", np.arange(4), ValueError, r"test_labels must have shape \(3,\) to match test_images"),
    ("test_images", np.zeros((3, 5)), ValueError, "test_images must have 4 pixels per image like train_"),
    ("train_images", np.zeros(6), ValueError, r"train_images must have shape \(images, pixels\)"),
    ("train_images", np.zeros((0, 4)), ValueError, "at least one image"),
    ("train_images", np.full((6, 4), 255.0), ValueError, r"train_images must hold grey levels in \[0, 1\]"),
    ("test_images", np.full((3, 4), np.nan), ValueError, "test_images must be finite"),
    ("train_images", "pixels", TypeError, "train_images must be an array of numbers"),
    ("train_labels", np.full(6, 0.7), ValueError, "train_labels must hold integer class labels"),
    ("train_labels", np.full(6, 10), ValueError, r"train_labels must hold labels in \[0, 10\)"),
    ("test_labels", np.array([0, -1, 2]), ValueError, r"test_labels must hold labels in \[0, 10\)"),
    ("test_labels", np.array(["a", "b", "c"]), TypeError, "test_labels must be an array of integer"),
])
def test_dataset_rejects_inconsistent_fields_naming_them(field, value, error, match):
    """Mismatched counts, widths, grey levels or labels fail on construction, naming the field."""
    arrays = _arrays()
    arrays[field] = value
    with pytest.raises(error, match=match):
        Dataset(**arrays)


def test_dataset_keeps_images_and_makes_labels_int64():
    """Valid arrays are kept as they are (no copy of the images); whole-number float labels become int64."""
    arrays = _arrays()
    arrays["train_labels"] = arrays["train_labels"].astype(np.float64)
    data = Dataset(**arrays, source="mine")
    assert data.train_images is arrays["train_images"]
    assert data.train_labels.dtype == np.int64 and np.array_equal(data.train_labels, np.arange(6) % 10)


def test_with_train_images_takes_the_first_ones_and_refuses_more_than_there_are(embedded):
    """The first N training images (test set unchanged); more than there are is an error naming the count."""
    small = embedded.with_train_images(10)
    assert np.array_equal(small.train_images, embedded.train_images[:10])
    assert small.test_images is embedded.test_images
    assert small.source.endswith("(first 10 training images)")
    with pytest.raises(ValueError, match="train_images must be at most 10,000, the training images of emb"):
        embedded.with_train_images(999_999_999)
