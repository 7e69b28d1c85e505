"""Make refimpl/lab/embedded/mnist_subset_4bit.npz, the offline MNIST subset, from the full MNIST files.

Usage (from the project root)::

    python scripts/make_embedded.py [--mnist DIR] [--out FILE]

``DIR`` is a folder holding the four standard MNIST files. Without ``--mnist`` the script
uses ``$REFIMPL_MNIST_DIR`` or the cache that ``--data download`` fills
(``~/.cache/refimpl/mnist``; fetch it once with
``python -c "from refimpl.lab.data import download_mnist; download_mnist()"``). The script

1. loads the four standard files with their SHA-256 checked (``refimpl.lab.data.load_mnist``);
2. draws 10,000 training and 2,000 test indices without replacement with
   ``np.random.default_rng(SEED)`` and sorts them;
3. quantises each pixel to 4 bits, ``level = round(pixel * 15 / 255) = (pixel + 8) // 17``
   (no ties: ``pixel / 17`` is never a half-integer), and packs two pixels per byte,
   the even pixel in the high nibble;
4. writes a pickle-free ``.npz`` (a deflated zip of ``.npy`` files) with
   fixed zip timestamps, so the same inputs give the same bytes;
5. checks the result: reloads it with ``allow_pickle=False``, unpacks it, compares it
   with the quantised source images and labels, and prints sizes and the SHA-256,
   which must be copied into ``refimpl/lab/data.py`` (``EMBEDDED_SHA256``) and
   ``refimpl/lab/embedded/README.md``.

Arrays in the file: ``train_packed`` uint8 (10000, 392), ``train_labels`` uint8 (10000,),
``train_index`` int32 (10000,) (rows of the full training set), and the same three for
``test`` (2,000 rows of the full test set).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEED = 1709_08524  # the paper's arXiv number
N_TRAIN, N_TEST = 10_000, 2_000


def quantise(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 -> 4-bit levels 0..15, the nearest of 16 equally spaced grey levels."""
    return ((pixels.astype(np.uint16) + 8) // 17).astype(np.uint8)


def pack(levels: np.ndarray) -> np.ndarray:
    """(n, 784) levels 0..15 -> (n, 392) bytes, even pixel in the high nibble."""
    return ((levels[:, 0::2] << 4) | levels[:, 1::2]).astype(np.uint8)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays as a deflated .npz with fixed timestamps (byte-reproducible)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)


def main(argv=None) -> int:
    sys.path.insert(0, str(ROOT))  # run from a clone without installing
    from refimpl.lab.data import EMBEDDED_FILE, EMBEDDED_SHA256, MNIST_DIR_VARIABLE, find_mnist, load_mnist

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=Path, default=find_mnist(),
                        help=f"folder holding the four MNIST files; default ${MNIST_DIR_VARIABLE} or the "
                             "download cache, where present")
    parser.add_argument("--out", type=Path, default=EMBEDDED_FILE,
                        help="the file to write; default %(default)s")
    args = parser.parse_args(argv)
    if args.mnist is None:
        parser.error(f"no MNIST files in ${MNIST_DIR_VARIABLE} or the download cache: pass --mnist DIR, or "
                     'fetch them with: python -c "from refimpl.lab.data import download_mnist; '
                     'download_mnist()"')

    full = load_mnist(args.mnist)  # SHA-256 of every file checked
    rng = np.random.default_rng(SEED)
    arrays = {}
    pixels = {}
    for split, images, labels, n in (("train", full.train_images, full.train_labels, N_TRAIN),
                                     ("test", full.test_images, full.test_labels, N_TEST)):
        index = np.sort(rng.choice(len(images), size=n, replace=False)).astype(np.int32)
        pix = np.rint(images[index] * 255).astype(np.uint8)  # back to the exact uint8 pixels
        pixels[split] = pix
        arrays[f"{split}_packed"] = pack(quantise(pix))
        arrays[f"{split}_labels"] = labels[index].astype(np.uint8)
        arrays[f"{split}_index"] = index

    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_npz(args.out, arrays)

    # Check: reload without pickle, unpack, compare with the quantised source.
    raw = args.out.read_bytes()
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        back = {key: npz[key] for key in npz.files}
    for split, images, labels in (("train", full.train_images, full.train_labels),
                                  ("test", full.test_images, full.test_labels)):
        packed, index = back[f"{split}_packed"], back[f"{split}_index"]
        levels = np.empty((len(packed), 784), np.uint8)
        levels[:, 0::2], levels[:, 1::2] = packed >> 4, packed & 15
        source = np.rint(images[index] * 255).astype(np.uint8)
        if not np.array_equal(levels, quantise(source)):
            raise SystemExit(f"check failed: {split} images differ from the quantised source")
        if not np.array_equal(back[f"{split}_labels"], labels[index]):
            raise SystemExit(f"check failed: {split} labels differ from the source")
        err = np.abs(levels / 15 - source / 255).max()
        same = np.array_equal(levels >= 8, source >= 128)
        counts = np.bincount(back[f"{split}_labels"], minlength=10)
        print(f"{split}: {len(index)} images, label counts {counts.tolist()}, "
              f"max |level/15 - pixel/255| = {err:.4f}, threshold-0.5 images identical: {same}")
    raw_size = sum(a.nbytes for a in arrays.values())
    sha = hashlib.sha256(raw).hexdigest()
    print(f"wrote {args.out}: {len(raw)} bytes ({raw_size} bytes of arrays), sha256 {sha}")
    if sha != EMBEDDED_SHA256:
        print(f"note: refimpl/lab/data.py records EMBEDDED_SHA256 = {EMBEDDED_SHA256}; update it to {sha}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
