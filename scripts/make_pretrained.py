"""Make refimpl/lab/pretrained/: the experiment's trained pairs L1, L2 and L2u, stored in float16.

Usage (from the project root)::

    python scripts/make_pretrained.py --runs RUNS --data DATA [--out DIR]

``RUNS`` is the ``--work`` folder of the experiment run whose pairs are shipped (its
checkpoints are ``RUNS/threshold/<row>/``); ``DATA`` is what ``--data`` of the experiment
takes (``download`` or a folder of the four MNIST files). For every pair the script

1. loads the final checkpoint (checked: ``refimpl.lab.checkpoint.load_checkpoint``);
2. rounds every parameter to float16 and writes a pickle-free ``.npz`` (deflated, fixed
   timestamps, so the same checkpoint gives the same bytes);
3. measures what the rounding changes, on all 10,000 test images binarised at 0.5, with
   the same random numbers for both: the mean pass's test error and the importance-sampled
   log p(x) (K = 100) of the float32 pair and of the stored one;
4. writes ``manifest.json``: file, SHA-256, sizes, tied, the training command, the
   checkpoint's training settings and provenance, and the measurements of step 3.

It refuses to write a pair whose float16 copy moves the test error by 0.1 point or more,
or log p(x) by 0.1 nat or more.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

from refimpl.coupled import CoupledPair
from refimpl.evaluation import importance_log_likelihood
from refimpl.lab.checkpoint import load_checkpoint
from refimpl.lab.data import binarize, get_dataset
from refimpl.lab.pretrained import MANIFEST, PRETRAINED_DIR

ROWS = ("L1", "L2", "L2u")
K, SEED = 100, 20171


def write_npz(path: Path, arrays: dict) -> bytes:
    """A deflated, pickle-free .npz with fixed timestamps; returns its bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, arr in arrays.items():
            item = io.BytesIO()
            np.lib.format.write_array(item, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(2017, 9, 25, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, item.getvalue())
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def measure(pair: CoupledPair, x, y) -> dict:
    error = float(np.mean(np.argmax(pair.recognise_mean(x), axis=1) != y))
    log_px = float(np.mean(importance_log_likelihood(pair, x, K, np.random.default_rng(SEED)).log_px))
    return {"test_error": error, "log_px": log_px}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", required=True, help="the experiment's --work folder")
    parser.add_argument("--data", default="download", help="'download' or a folder of the four MNIST files")
    parser.add_argument("--command", default="python -m refimpl.lab.studies seeds --data download "
                                              "--out results/seeds (seed 1)",
                        help="the command that trained the pairs, recorded in the manifest")
    parser.add_argument("--out", default=str(PRETRAINED_DIR))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = get_dataset(args.data)
    x, y = binarize(data.test_images, "threshold"), np.asarray(data.test_labels)
    pairs = {}
    for row in ROWS:
        ckpt = load_checkpoint(Path(args.runs) / "threshold" / row)
        sizes, tied = tuple(ckpt.meta["sizes"]), bool(ckpt.meta["tied"])
        full = CoupledPair.from_params(ckpt.params, sizes, tied)
        stored = {k: v.astype(np.float16) for k, v in ckpt.params.items()}
        rounded = CoupledPair.from_params({k: v.astype(np.float32) for k, v in stored.items()}, sizes, tied)
        before, after = measure(full, x, y), measure(rounded, x, y)
        change = {"test_error_points": 100 * abs(after["test_error"] - before["test_error"]),
                  "log_px_nats": abs(after["log_px"] - before["log_px"])}
        print(f"{row}: float32 {before}, float16 {after}, change {change}", flush=True)
        if change["test_error_points"] >= 0.1 or change["log_px_nats"] >= 0.1:
            print(f"{row}: float16 storage changes the results too much; not written", file=sys.stderr)
            return 1
        blob = write_npz(out / f"{row}.npz", stored)
        settings = {k: ckpt.meta[k] for k in ("method", "lam", "normalise", "epochs_requested", "batch_size",
                                               "optimizer", "lr", "lr_decay", "seed", "binarization")
                    if k in ckpt.meta}
        pairs[row] = {"file": f"{row}.npz", "sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob),
                      "sizes": list(sizes), "tied": tied, "dtype": "float16", "command": args.command,
                      "settings": settings, "provenance": ckpt.meta.get("provenance"),
                      "float16_check": {"test_images": int(y.size), "K": K, "float32": before, "float16": after,
                                        **change}}
    (out / MANIFEST).write_text(json.dumps({"pairs": pairs}, indent=1) + "\n")
    print(f"wrote {out / MANIFEST} and {', '.join(p['file'] for p in pairs.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
