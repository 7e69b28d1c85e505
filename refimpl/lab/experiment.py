r"""The MNIST experiment: does one tied pair recognise and generate well at once?

``python -m refimpl.lab.experiment --data DIR --out results/`` trains every row of
one table with the same architecture, epochs, batch size and seed, evaluates
each on the test images, and writes ``table.json``, ``table.md`` and the
figures. Rows (method.md, section 5):

=========  =================================================
row        what
=========  =================================================
L0         discriminative: mean pass + softmax
L1         generative learning of the tied pair (G + R)
L1u        the same with separate generator weights
L2         L1 + lambda * L0, tied
L2u        the same, untied
=========  =================================================

Two protocols: ``threshold`` (images binarised at 0.5, every row) and
``stochastic`` (training images re-drawn as Bernoulli(grey level) every epoch,
the test set drawn once with :data:`refimpl.lab.train.TEST_BINARIZATION_SEED`;
the generative rows only), the second being the protocol of published MNIST
log-likelihoods.

Columns: test error of the mean pass (M6) and of the Monte Carlo class
posterior with ``S`` samples; importance-sampled :math:`\log p(x \mid y)` at the
true label and :math:`\log p(x)` with ``K`` samples (nats per image); the
curve of :math:`\log p(x)` over several ``K`` on a subset; cycle accuracy; and
training and evaluation time. L0 trains no generator, so its generative
columns are left empty.

Checkpoints go to ``--work`` (default ``runs/experiment``, not committed); a
second run of the same command resumes training from them and skips rows
already evaluated with the same settings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .checkpoint import CheckpointError, load_checkpoint
from .data import binarize, get_dataset
from ..evaluation import (cycle_accuracy, importance_log_likelihood, log_likelihood_curve, mc_class_probs,
                         test_error)
from .figures import save_figure
from .train import METHODS, TEST_BINARIZATION_SEED, _int_at_least, _Parser, fit, recognition_error

__all__ = ["ROWS", "PROTOCOLS", "FULL", "QUICK", "run_experiment", "main"]

ROWS = ("L0", "L1", "L1u", "L2", "L2u")
#: Rows beyond the main table, run on request (``--rows RWS``): reweighted wake-sleep.
EXTRA_ROWS = ("RWS", "RWSu")
ALL_ROWS = ROWS + EXTRA_ROWS
GENERATIVE = ("L1", "L1u", "L2", "L2u") + EXTRA_ROWS
PROTOCOLS = ("threshold", "stochastic")

#: Settings of the full experiment (the committed ``results/``).
FULL = {
    "sizes": (784, 500, 500, 10),
    "epochs": 20,
    "batch_size": 100,
    "optimizer": "adam",
    "lr": 3e-3,
    "lr_decay": 0.85,
    "lam": 100.0,
    "normalise": "none",
    "seed": 0,
    "S": 100,
    "K": 100,
    "curve_K": (1, 10, 100, 1000),
    "curve_images": 1000,
    "cycle_per_class": 1000,
    "test_images": None,  # None: all of them
    "train_images": None,  # None: all of them
    "rows": ROWS,
    "protocols": PROTOCOLS,
}

#: A version that runs in seconds on the embedded data (the pipeline's test).
QUICK = dict(FULL, sizes=(784, 40, 10), epochs=1, S=5, K=5, curve_K=(1, 5), curve_images=50,
             cycle_per_class=10, test_images=200, train_images=2000)


def _row_seed(seed: int, protocol: str, row: str) -> int:
    """Evaluation seed of one row: fixed by the settings, different per row and protocol."""
    return seed * 1000 + 100 * PROTOCOLS.index(protocol) + ALL_ROWS.index(row)


def _row_key(settings: dict, source: str) -> dict:
    """The settings that make a row's result: what a rerun must match to reuse a row record.

    ``rows`` and ``protocols`` only choose which rows run; the data enters by
    content (the four standard MNIST files are checked against their SHA-256
    wherever they are), and ``train_images`` only when a subset is used.
    """
    key = {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()
           if k not in ("rows", "protocols")}
    if key["train_images"] is None:
        del key["train_images"]
    key["data"] = "MNIST (the four standard files, SHA-256 verified)" if source.startswith("MNIST from") else source
    return key


def _test_set(dataset, protocol: str, n_images):
    x = (binarize(dataset.test_images, "threshold") if protocol == "threshold"
         else binarize(dataset.test_images, "stochastic", rng=np.random.default_rng(TEST_BINARIZATION_SEED)))
    y = np.asarray(dataset.test_labels)
    if n_images is not None:
        x, y = x[:n_images], y[:n_images]
    return x, y


def evaluate_row(pair, row: str, x, y, settings: dict, rng) -> dict:
    """All columns of one row of the table for a trained pair."""
    start = time.perf_counter()
    result = {"test_error_mean_pass": recognition_error(pair, x, y)}
    probs = mc_class_probs(pair, x, settings["S"], rng)
    result["test_error_mc"] = test_error(probs, y)
    if row in GENERATIVE:
        ll = importance_log_likelihood(pair, x, settings["K"], rng)
        result["log_px_y"] = float(np.mean(ll.log_px_y[np.arange(y.size), y]))
        result["log_px"] = float(np.mean(ll.log_px))
        n_curve = min(settings["curve_images"], y.size)
        curve = log_likelihood_curve(pair, x[:n_curve], rng, Ks=settings["curve_K"])
        result["curve"] = {"K": [int(k) for k in curve["K"]], "log_px": [float(v) for v in curve["log_px"]],
                           "images": n_curve}
        cycle = cycle_accuracy(pair, settings["cycle_per_class"], rng)
        result["cycle_accuracy"] = float(cycle.accuracy)
        result["cycle_per_class"] = [float(v) for v in cycle.per_class]
    result["eval_seconds"] = time.perf_counter() - start
    return result


def _plot_row(pair, row: str, protocol: str, rng):
    """10 samples and the mean image per class, one column per class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_classes = pair.sizes[-1]
    labels = np.repeat(np.arange(n_classes), 10)
    _, samples = pair.sample_generator(labels, rng)
    means = pair.generate_mean(np.arange(n_classes))
    fig, axes = plt.subplots(11, n_classes, figsize=(n_classes * 0.8, 11 * 0.8))
    for c in range(n_classes):
        for i in range(10):
            axes[i, c].imshow(samples[c * 10 + i].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        axes[10, c].imshow(means[c].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        axes[0, c].set_title(str(c))
    for ax in axes.ravel():
        ax.set_xticks([]), ax.set_yticks([])
    axes[10, 0].set_ylabel("mean", rotation=0, ha="right")
    fig.suptitle(f"{row} ({protocol}): 10 samples per class, generator mean (last row)")
    save_figure(fig, f"05_{protocol}_{row}_samples")
    plt.close(fig)


def _plot_summary(table: list):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for rec in table:  # one colour per row, solid for threshold and dashed for stochastic binarisation
        epochs = [r["epoch"] for r in rec["log"]]
        errors = [r["test_error"] for r in rec["log"]]
        style = dict(color=f"C{ALL_ROWS.index(rec['row'])}", ls="-" if rec["protocol"] == "threshold" else "--",
                     label=f"{rec['row']} ({rec['protocol']})")
        axes[0].plot(epochs, 100 * np.array(errors, dtype=float), **style)
        if "curve" in rec:
            axes[1].plot(rec["curve"]["K"], rec["curve"]["log_px"], marker="o", **style)
    axes[0].set(xlabel="epoch", ylabel="test error of the mean pass (%)", yscale="log", title="learning curves")
    axes[1].set(xlabel="K (importance samples)", ylabel="mean log p(x) (nats)", xscale="log",
                title="importance-sampled bound rises with K")
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    save_figure(fig, "05_learning_curves_and_K")
    plt.close(fig)


def _markdown(table: list, settings: dict) -> str:
    def fmt(value, spec):
        return "–" if value is None else format(value, spec)

    lines = [
        f"Architecture {'-'.join(map(str, settings['sizes']))}, {settings['epochs']} epochs, batch "
        f"{settings['batch_size']}, {settings['optimizer']} lr {settings['lr']} x {settings['lr_decay']}^(epoch-1), lambda {settings['lam']} "
        f"(normalise: {settings['normalise']}), seed {settings['seed']}. Test error of the mean pass and of "
        f"Monte Carlo with S = {settings['S']}; log-likelihoods by importance sampling with K = {settings['K']} "
        f"(nats per test image); cycle accuracy over {settings['cycle_per_class']} generated images per class.",
        "",
        "| protocol | row | tied | test error (mean pass) | test error (MC) | log p(x｜y) | log p(x) "
        "| cycle acc. | train s | eval s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in table:
        lines.append(
            f"| {r['protocol']} | {r['row']} | {'yes' if METHODS[r['row']] else 'no'} "
            f"| {100 * r['test_error_mean_pass']:.2f} % | {100 * r['test_error_mc']:.2f} % "
            f"| {fmt(r.get('log_px_y'), '.2f')} | {fmt(r.get('log_px'), '.2f')} "
            f"| {fmt(None if 'cycle_accuracy' not in r else 100 * r['cycle_accuracy'], '.1f')}"
            f"{'' if 'cycle_accuracy' not in r else ' %'} "
            f"| {r['train_seconds']:.0f} | {r['eval_seconds']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def _atomic_write(path: Path, text: str):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def run_experiment(data="embedded", out="results", work="runs/experiment", settings=None, progress=True,
                   overwrite=False):
    """Train and evaluate every row and protocol; write table.json, table.md and figures.

    Parameters
    ----------
    data : str or Dataset
        ``"embedded"``, ``"download"`` or a directory of the MNIST files.
    out : path
        Where ``table.json``, ``table.md``, ``rows/*.json`` and the per-row logs go.
    work : path
        Where checkpoints go (resumed on a second run).
    settings : dict, optional
        Overrides of :data:`FULL`.
    progress : bool
        Show progress bars.
    overwrite : bool
        Replace row records (and restart checkpoints) made with other settings;
        without it such a row is an error, so no earlier result is silently lost.

    Returns
    -------
    list of dict
        One record per (protocol, row).
    """
    settings = dict(FULL, **(settings or {}))
    unknown = set(settings) - set(FULL)
    if unknown:
        raise ValueError(f"settings has unknown keys {sorted(unknown)}; known: {sorted(FULL)}.")
    for row in settings["rows"]:
        if row not in ALL_ROWS:
            raise ValueError(f"rows must be drawn from {list(ALL_ROWS)}; got {row!r}.")
    for protocol in settings["protocols"]:
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocols must be drawn from {list(PROTOCOLS)}; got {protocol!r}.")
    dataset = get_dataset(data) if isinstance(data, (str, os.PathLike)) else data
    if settings["train_images"] is not None:
        n = settings["train_images"]
        dataset = SimpleNamespace(train_images=dataset.train_images[:n], train_labels=dataset.train_labels[:n],
                                  test_images=dataset.test_images, test_labels=dataset.test_labels,
                                  source=f"{getattr(dataset, 'source', data)} (first {n} training images)")
    out, work = Path(out), Path(work)
    (out / "rows").mkdir(parents=True, exist_ok=True)
    key = _row_key(settings, getattr(dataset, "source", str(data)))
    table = []
    for protocol in settings["protocols"]:
        x_test, y_test = _test_set(dataset, protocol, settings["test_images"])
        for row in settings["rows"]:
            if protocol == "stochastic" and row not in GENERATIVE:
                continue
            row_file = out / "rows" / f"{protocol}_{row}.json"
            if row_file.exists():
                try:
                    record = json.loads(row_file.read_text())
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    raise ValueError(f"{row_file}: not a readable row record ({exc}); remove it to "
                                     "re-evaluate the row.") from None
                old = record.get("settings") if isinstance(record, dict) else None
                if old == key:
                    print(f"[{protocol} {row}] already evaluated with these settings: {row_file}", flush=True)
                    table.append(record)
                    continue
                if not overwrite:
                    changed = sorted(k for k in set(key) | set(old or {}) if (old or {}).get(k) != key.get(k))
                    raise ValueError(f"{row_file} holds a row evaluated with other settings (differing: "
                                     f"{', '.join(changed)}); pass overwrite=True (--overwrite) to replace "
                                     "it, or choose another out folder.")
            print(f"[{protocol} {row}] training ...", flush=True)
            run_dir = work / protocol / row
            train = dict(
                dataset=dataset, method=row, lam=settings["lam"], sizes=settings["sizes"],
                epochs=settings["epochs"], batch_size=settings["batch_size"], optimizer=settings["optimizer"],
                lr=settings["lr"], lr_decay=settings["lr_decay"], normalise=settings["normalise"],
                seed=settings["seed"], out_dir=run_dir, binarization=protocol, progress=progress,
            )
            try:  # continue the row's checkpoint if there is one
                pair, log = fit(resume="auto", **train)
            except ValueError:  # a checkpoint made with other settings (CheckpointError is a ValueError)
                if not overwrite:
                    raise
                pair, log = fit(resume=False, overwrite=True, **train)
            print(f"[{protocol} {row}] evaluating ...", flush=True)
            rng = np.random.default_rng(_row_seed(settings["seed"], protocol, row))
            record = {"protocol": protocol, "row": row, "tied": METHODS[row], "settings": key,
                      "train_seconds": float(sum(r["seconds"] for r in log)), "log": log}
            record.update(evaluate_row(pair, row, x_test, y_test, settings, rng))
            if row in GENERATIVE:
                _plot_row(pair, row, protocol, rng)
            _atomic_write(row_file, json.dumps(record, indent=1))
            table.append(record)
            print(f"[{protocol} {row}] test error {100 * record['test_error_mean_pass']:.2f} %"
                  + (f", log p(x) {record['log_px']:.2f}, cycle {100 * record['cycle_accuracy']:.1f} %"
                     if "log_px" in record else ""), flush=True)
    _plot_summary(table)
    _atomic_write(out / "table.json", json.dumps(table, indent=1))
    _atomic_write(out / "table.md", _markdown(table, settings))
    return table


def _parse_ints(text: str, name: str):
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name} must be comma-separated integers; got {text!r}") from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"{name} must be positive integers; got {text!r}")
    return values


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m refimpl.lab.experiment", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="embedded", help="'embedded', 'download' or a directory of MNIST files")
    p.add_argument("--out", help="folder for table.json, table.md and row records; default results "
                   "(runs/quick/results with --quick, so a quick run never touches the committed table)")
    p.add_argument("--work", help="folder for checkpoints (resumed); default runs/experiment "
                   "(runs/quick/work with --quick)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace rows and checkpoints made with other settings (default: refuse)")
    p.add_argument("--quick", action="store_true", help="a version of about a minute (tiny network, 1 epoch, 2,000 images)")
    p.add_argument("--rows", type=lambda t: tuple(t.split(",")), help=f"subset of {','.join(ALL_ROWS)}")
    p.add_argument("--protocols", type=lambda t: tuple(t.split(",")), help="subset of threshold,stochastic")
    p.add_argument("--sizes", type=lambda t: _parse_ints(t, "--sizes"))
    p.add_argument("--epochs", type=_int_at_least(1))
    p.add_argument("--lr", type=float)
    p.add_argument("--lr-decay", type=float)
    p.add_argument("--lam", type=float)
    p.add_argument("--normalise", choices=("none", "units"))
    p.add_argument("--seed", type=_int_at_least(0))
    p.add_argument("--K", type=_int_at_least(1))
    p.add_argument("--S", type=_int_at_least(1))
    p.add_argument("--test-images", type=_int_at_least(1))
    p.add_argument("--train-images", type=_int_at_least(1))
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already reported in one line
        return exc.code if isinstance(exc.code, int) else 0
    settings = dict(QUICK if args.quick else FULL)
    for name in ("rows", "protocols", "sizes", "epochs", "lr", "lr_decay", "lam", "normalise", "seed", "K", "S",
                 "test_images", "train_images"):
        value = getattr(args, name)
        if value is not None:
            settings[name] = value
    if args.out is None:
        args.out = "runs/quick/results" if args.quick else "results"
    if args.work is None:
        args.work = "runs/quick/work" if args.quick else "runs/experiment"
    try:
        start = time.perf_counter()
        table = run_experiment(args.data, args.out, args.work, settings, progress=not args.no_progress,
                               overwrite=args.overwrite)
    except (ValueError, TypeError, FileNotFoundError, CheckpointError) as exc:
        print(f"python -m refimpl.lab.experiment: error: {exc}", file=sys.stderr)
        return 2
    command = "python -m refimpl.lab.experiment " + " ".join(sys.argv[1:] if argv is None else argv)
    _atomic_write(Path(args.out) / "command.txt",
                  f"{command}\n# {len(table)} rows in {time.perf_counter() - start:.0f} s\n")
    print(Path(args.out, "table.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
