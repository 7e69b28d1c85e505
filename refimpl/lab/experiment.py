r"""The MNIST experiment: does one tied pair recognise and generate well at once?

``python -m refimpl.lab.experiment --data DIR --out results/`` trains every row of
one table with the same architecture, epochs, batch size and seed, evaluates
each on the test images, and writes ``table.json``, ``table.md``, one record
per row in ``rows/`` and the figures in ``figures/``, all inside ``--out``,
printing the path of every file it writes. Rows (tutorials 4 and 5):

=========  =================================================
row        what
=========  =================================================
L0         discriminative: mean pass + softmax
L1         generative learning of the tied pair (G + R)
L1u        the same with separate generator weights
L2         L1 + lambda * L0, tied
L2u        the same, untied
RWS        reweighted wake-sleep, K = 5 (on request: ``--rows``)
RWSu       the same, untied (on request)
S2         semi-supervised (with ``--labelled N``): S1 wake and sleep on every
           image, the wake term with the true class and lambda * L0 on the N
           labelled ones, tied (on request)
S2u        the same, untied (on request)
RWS2       reweighted wake-sleep + lambda * L0, tied (on request)
S2noLW     the ablation: S2 without the labelled images' wake term (on request)
S2noLWu    the same, untied (on request)
=========  =================================================

With ``--labelled N`` only N training labels are kept (class-balanced, chosen
by ``--seed``): L0 then learns from those N images alone.

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
columns are left empty. Each row record also holds the versions of Python,
NumPy and Numba and the git commit that produced it (``provenance``).

Checkpoints go to ``--work`` (default ``runs/experiment``, not committed); a
second run of the same command resumes training from them and skips rows
already evaluated with the same settings (``settings`` of the row record; the
provenance does not enter the comparison). Ctrl-C keeps both: rerunning the
same command resumes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .._validation import check_choice, check_positive_int, check_real
from ..evaluation import (
    cycle_accuracy,
    importance_log_likelihood,
    log_likelihood_curve,
    mc_class_probs,
    test_error,
)
from ._cli import Parser, arg_type, command_line, either, int_list, parse_args, run, str_list
from ._io import atomic_writer, write_text
from .checkpoint import CheckpointError
from .data import binarize, get_dataset
from .train import (
    HYBRID,
    LABELLED_WAKE,
    LAM_HINT,
    MAX_LAM,
    METHODS,
    SEMI,
    TEST_BINARIZATION_SEED,
    TrainConfig,
    check_mnist_sizes,
    fit,
    provenance,
    recognition_error,
)

__all__ = ["ALL_ROWS", "FULL", "PROTOCOLS", "QUICK", "ROWS", "main", "run_experiment"]

ROWS = ("L0", "L1", "L1u", "L2", "L2u")
#: Rows beyond the main table, run on request (``--rows RWS``): reweighted wake-sleep (RWS, RWSu, and
#: RWS2 with lambda * L0) and the semi-supervised pairs (S2, S2u, with ``--labelled``).
EXTRA_ROWS = ("RWS", "RWSu", "S2", "S2u", "RWS2", "S2noLW", "S2noLWu")
ALL_ROWS = ROWS + EXTRA_ROWS
GENERATIVE = ("L1", "L1u", "L2", "L2u", *EXTRA_ROWS)
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
    "labelled": None,  # None: every training label; a number: scarce labels (rows L0, S2, S2u, S2noLW)
    "labelled_weight": 1.0,  # the weight of the labelled images' wake term (rows S2, S2u)
    "augment": False,  # re-draw the unlabelled images stochastically every epoch (rows S2, S2u, S2noLW; threshold)
    "rows": ROWS,
    "protocols": PROTOCOLS,
}

#: A version that runs in seconds on the embedded data (the pipeline's test).
QUICK = dict(FULL, sizes=(784, 40, 10), epochs=1, S=5, K=5, curve_K=(1, 5), curve_images=50,
             cycle_per_class=10, test_images=200, train_images=2000)


def _check_subset(values, name: str, choices) -> tuple:
    """``values`` as a tuple, each one of ``choices``."""
    return tuple(check_choice(value, name, choices) for value in values)


#: Each row's place in its evaluation seed. S2noLW and S2noLWu are the rules that S2 and S2u named before the
#: labelled images' wake term was added, so they keep those places (their rows are what a rerun gives), and
#: S2 and S2u take new ones.
_SEED_INDEX = {**{row: i for i, row in enumerate(ALL_ROWS)}, "S2noLW": 7, "S2noLWu": 8, "S2": 11, "S2u": 12}


def _row_seed(seed: int, protocol: str, row: str) -> int:
    """Evaluation seed of one row: fixed by the settings, different per row and protocol."""
    return seed * 1000 + 100 * PROTOCOLS.index(protocol) + _SEED_INDEX[row]


def _row_key(settings: dict, source: str) -> dict:
    """The settings that make a row's result: what a rerun must match to reuse a row record.

    ``rows`` and ``protocols`` only choose which rows run; the data enters by
    content (the four standard MNIST files are checked against their SHA-256
    wherever they are), and ``train_images`` only when a subset is used.
    """
    key = {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()
           if k not in ("rows", "protocols")}
    for name in ("train_images", "labelled"):
        if key.get(name) is None:
            key.pop(name, None)
    if key.get("labelled_weight") == 1.0:  # the defaults, which rows made before the options lack
        key.pop("labelled_weight")
    if key.get("augment") is False:
        key.pop("augment")
    full_mnist = source.startswith("MNIST from")
    key["data"] = "MNIST (the four standard files, SHA-256 verified)" if full_mnist else source
    return key


def _check_settings(settings: dict) -> dict:
    """Every setting checked, before any data is read or folder made; returns the TrainConfig of each row."""
    unknown = set(settings) - set(FULL)
    if unknown:
        raise ValueError(f"settings has unknown keys {sorted(unknown)}; known: {sorted(FULL)}.")
    rows = _check_subset(settings["rows"], "rows", ALL_ROWS)
    protocols = _check_subset(settings["protocols"], "protocols", PROTOCOLS)
    for name in ("S", "K", "curve_images", "cycle_per_class"):
        check_positive_int(settings[name], name)
    if not settings["curve_K"]:
        raise ValueError("curve_K must list at least one number of importance samples; got none.")
    for k in settings["curve_K"]:
        check_positive_int(k, "curve_K")
    for name in ("test_images", "train_images"):
        if settings[name] is not None:
            check_positive_int(settings[name], name)
    check_mnist_sizes(settings["sizes"])
    common = {k: settings[k] for k in ("lam", "sizes", "epochs", "batch_size", "optimizer", "lr", "lr_decay",
                                        "normalise", "seed", "labelled")}
    weight = check_real(settings["labelled_weight"], "labelled_weight", 0, MAX_LAM)
    augment = settings["augment"]
    if not isinstance(augment, bool):
        raise TypeError(f"augment must be True or False; got {type(augment).__name__}.")
    return {(protocol, row): TrainConfig(method=row, binarization=protocol, **common,
                                         **({"labelled_weight": weight} if row in LABELLED_WAKE else {}),
                                         **({"augment": True} if augment and row in SEMI and protocol == "threshold"
                                            else {}))
            for protocol in protocols for row in rows if protocol == "threshold" or row in GENERATIVE}


def _prepare_folder(folder: Path, option: str) -> None:
    """Create ``folder`` and make sure a file can be written in it, before hours of training."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise OSError(f"{option} {folder} is not a writable folder ({exc.strerror or exc}); "
                      f"choose another {option}") from None


def _test_set(dataset, protocol: str, test_images):
    x = (binarize(dataset.test_images, "threshold") if protocol == "threshold"
         else binarize(dataset.test_images, "stochastic", rng=np.random.default_rng(TEST_BINARIZATION_SEED)))
    y = np.asarray(dataset.test_labels)
    if test_images is not None:
        x, y = x[:test_images], y[:test_images]
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
        curve_images = min(settings["curve_images"], y.size)
        curve = log_likelihood_curve(pair, x[:curve_images], rng, Ks=settings["curve_K"])
        result["curve"] = {"K": [int(k) for k in curve["K"]], "log_px": [float(v) for v in curve["log_px"]],
                           "images": curve_images}
        cycle = cycle_accuracy(pair, settings["cycle_per_class"], rng)
        result["cycle_accuracy"] = float(cycle.accuracy)
        result["cycle_per_class"] = [float(v) for v in cycle.per_class]
    result["eval_seconds"] = time.perf_counter() - start
    return result


def _save_figure(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_writer(path) as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}", flush=True)


def _plot_row(pair, row: str, protocol: str, rng, folder: Path) -> None:
    """10 samples and the mean image per class, one column per class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_classes = pair.sizes[-1]
    labels = np.repeat(np.arange(n_classes), 10)
    _, samples = pair.sample_generator(labels, rng)
    means = pair.generate_mean(np.arange(n_classes))
    rules = {"L1": "wake-sleep", "L2": "wake-sleep + λ·L0", "RWS": "reweighted wake-sleep",
             "RWS2": "reweighted wake-sleep + λ·L0", "S2": "semi-supervised",
             "S2noLW": "semi-supervised, no labelled wake term"}  # S2noLWu: the same, untied
    rule = rules.get(row.removesuffix("u"), row)
    fig, axes = plt.subplots(11, n_classes, figsize=(n_classes * 0.8 + 0.6, 11 * 0.8 + 1.2),
                             gridspec_kw={"hspace": 0.08, "wspace": 0.08})
    for c in range(n_classes):
        for i in range(10):
            axes[i, c].imshow(samples[c * 10 + i].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        axes[10, c].imshow(means[c].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        axes[0, c].set_title(f"y = {c}", fontsize=12)
    for ax in axes.ravel():
        ax.set_xticks([]), ax.set_yticks([])
    for i in range(10):
        axes[i, 0].set_ylabel(str(i + 1), fontsize=10, rotation=0, ha="right", va="center")
    axes[10, 0].set_ylabel(r"mean $\nu^0$", fontsize=12, rotation=0, ha="right", va="center")
    fig.suptitle(f"{row}: {rule}, {'tied' if METHODS[row] else 'untied'} weights, {protocol} binarisation\n"
                 "rows 1-10: generator samples of each class y; last row: the generator's mean image",
                 fontsize=13, y=0.955)
    _save_figure(fig, folder / f"05_{protocol}_{row}_samples.png")


def _plot_summary(table: list, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter, LogLocator, MaxNLocator, NullFormatter

    protocols = [p for p in PROTOCOLS if any(rec["protocol"] == p for rec in table)]
    with_curve = any("curve" in rec for rec in table)
    n_rows = 2 if with_curve else 1
    fig, axes = plt.subplots(n_rows, len(protocols), figsize=(4.6 * len(protocols) + 0.8, 3.9 * n_rows),
                             squeeze=False, sharey="row")
    markers = "osD^vP*Xph<>d"  # one per row of ALL_ROWS
    for rec in table:  # one panel per protocol; one colour and marker per row of the table
        col = protocols.index(rec["protocol"])
        index = ALL_ROWS.index(rec["row"])
        style = {"color": f"C{index}", "marker": markers[index], "label": rec["row"]}
        epochs = [r["epoch"] for r in rec["log"]]
        errors = 100 * np.array([r["test_error"] for r in rec["log"]], dtype=float)
        axes[0, col].plot(epochs, errors, ms=4, **style)
        if "curve" in rec:
            axes[1, col].plot(rec["curve"]["K"], rec["curve"]["log_px"], ms=6, **style)
    for col, protocol in enumerate(protocols):
        ax = axes[0, col]
        ax.set(xlabel="epoch", yscale="log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=(1, 2, 5, 10), min_n_ticks=1))
        ax.set_title(f"learning curves ({protocol} binarisation)", fontsize=11)
        ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 3, 5)))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        if with_curve:
            ax = axes[1, col]
            ax.set(xlabel="K (importance samples)", xscale="log")
            ax.set_title(f"log p(x) bound rises with K ({protocol})", fontsize=11)
            ax.set_xticks(sorted({k for rec in table if "curve" in rec for k in rec["curve"]["K"]}))
            ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
            ax.xaxis.set_minor_formatter(NullFormatter())
    axes[0, 0].set_ylabel("test error of the mean pass (%)")
    if with_curve:
        axes[1, 0].set_ylabel("mean log p(x) (nats)")
    handles = {}
    for ax in axes.ravel():
        handles.update(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
    order = sorted(handles, key=ALL_ROWS.index)
    fig.tight_layout()
    if order:
        fig.legend([handles[r] for r in order], order, title="row", fontsize=11, title_fontsize=11,
                   loc="center left", bbox_to_anchor=(1.0, 0.5))
    _save_figure(fig, folder / "05_learning_curves_and_K.png")


def _markdown(table: list, settings: dict) -> str:
    def fmt(value, spec):
        return "–" if value is None else format(value, spec)

    s = settings
    lines = [
        (f"Architecture {'-'.join(map(str, s['sizes']))}, {s['epochs']} epochs, batch {s['batch_size']}, "
         f"{s['optimizer']} lr {s['lr']} x {s['lr_decay']}^(epoch-1), lambda {s['lam']} (normalise: "
         f"{s['normalise']}), seed {s['seed']}. Test error of the mean pass and of Monte Carlo with "
         f"S = {s['S']}; log-likelihoods by importance sampling with K = {s['K']} (nats per test image); "
         f"cycle accuracy over {s['cycle_per_class']} generated images per class."
         + ("" if s.get("labelled") is None else
            f" Labels kept: {s['labelled']} (class-balanced, chosen by the seed); the other training images "
            "are used without their labels.")
         + ("" if s.get("labelled_weight", 1.0) == 1.0 else
            f" Weight of the labelled images' wake term (S2, S2u): {s['labelled_weight']}.")
         + ("" if not s.get("augment") else
            " The unlabelled images are re-drawn by stochastic binarisation every epoch (augmentation).")),
        "",
        ("| protocol | row | tied | test error (mean pass) | test error (MC) | log p(x∣y) | log p(x) "
         "| cycle acc. | train s | eval s |"),
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


def _reusable_record(row_file: Path, key: dict, overwrite: bool):
    """The row record in ``row_file`` if it was made with the settings ``key``, else None.

    Raises ValueError for an unreadable record, or one made with other settings unless ``overwrite``.
    """
    if not row_file.exists():
        return None
    try:
        record = json.loads(row_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{row_file}: not a readable row record ({exc}); remove it to re-evaluate the "
                         "row.") from None
    old = (record.get("settings") if isinstance(record, dict) else None) or {}
    if old == key:
        return record
    if not overwrite:
        changed = sorted(k for k in set(key) | set(old) if old.get(k) != key.get(k))
        raise ValueError(f"{row_file} holds a row evaluated with other settings (differing: "
                         f"{', '.join(changed)}); pass overwrite=True (--overwrite) to replace it, or choose "
                         "another out folder.")
    return None


def run_experiment(data="embedded", out="results", work="runs/experiment", settings=None, progress=True,
                   overwrite=False):
    """Train and evaluate every row and protocol; write table.json, table.md, row records and figures.

    Parameters
    ----------
    data : str, os.PathLike or Dataset
        ``"embedded"``, ``"download"``, a directory of the MNIST files or a
        dataset (:func:`refimpl.lab.data.get_dataset`).
    out : path
        Where ``table.json``, ``table.md``, ``rows/*.json`` and ``figures/*.png`` go.
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

    Raises
    ------
    ValueError, TypeError
        For a wrong setting (naming it; checked before any folder is made) or
        a row record made with other settings.
    OSError
        If ``out`` or ``work`` cannot be written, or the download fails.
    """
    settings = dict(FULL, **(settings or {}))
    configs = _check_settings(settings)
    dataset = get_dataset(data)
    if settings["train_images"] is not None:
        dataset = dataset.with_train_images(settings["train_images"])
    n_test = dataset.test_images.shape[0]
    if settings["test_images"] is not None and settings["test_images"] > n_test:
        raise ValueError(f"test_images must be at most {n_test:,}, the test images of {dataset.source}; "
                         f"got {settings['test_images']:,}.")
    out, work = Path(out), Path(work)
    for folder, option in ((out / "rows", "--out"), (out / "figures", "--out"), (work, "--work")):
        _prepare_folder(folder, option)
    key = _row_key(settings, dataset.source)
    table = []
    for protocol in dict.fromkeys(p for p, _ in configs):
        x_test, y_test = _test_set(dataset, protocol, settings["test_images"])
        for (this_protocol, row), config in configs.items():
            if this_protocol != protocol:
                continue
            row_file = out / "rows" / f"{protocol}_{row}.json"
            record = _reusable_record(row_file, key, overwrite)
            if record is not None:
                print(f"[{protocol} {row}] already evaluated with these settings: {row_file}", flush=True)
                table.append(record)
                continue
            print(f"[{protocol} {row}] training ...", flush=True)
            run_dir = work / protocol / row
            try:  # continue the row's checkpoint if there is one
                pair, log = fit(None, dataset, config, run_dir, resume="auto", progress=progress)
            except CheckpointError:  # a checkpoint made with other settings
                if not overwrite:
                    raise
                pair, log = fit(None, dataset, config, run_dir, overwrite=True, progress=progress)
            print(f"[{protocol} {row}] evaluating ...", flush=True)
            rng = np.random.default_rng(_row_seed(settings["seed"], protocol, row))
            record = {"protocol": protocol, "row": row, "tied": METHODS[row], "settings": key,
                      "provenance": provenance(), "train_seconds": float(sum(r["seconds"] for r in log)),
                      "log": log}
            record.update(evaluate_row(pair, row, x_test, y_test, settings, rng))
            if row in GENERATIVE:
                _plot_row(pair, row, protocol, rng, out / "figures")
            write_text(row_file, json.dumps(record, indent=1))
            table.append(record)
            print(f"[{protocol} {row}] test error {100 * record['test_error_mean_pass']:.2f} %"
                  + (f", log p(x) {record['log_px']:.2f}, cycle {100 * record['cycle_accuracy']:.1f} %"
                     if "log_px" in record else ""), flush=True)
    _plot_summary(table, out / "figures")
    write_text(out / "table.json", json.dumps(table, indent=1))
    write_text(out / "table.md", _markdown(table, settings))
    return table


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m refimpl.lab.experiment``."""
    p = Parser(prog="python -m refimpl.lab.experiment",
               description="Does one tied pair recognise and generate well at once? Train and evaluate "
                           "every row of the table of tutorial 5 and write table.json, table.md, rows/ and "
                           "figures/ into --out, printing each path. Rerunning the same command resumes.")
    f = FULL
    p.add_argument("--data", default="embedded",
                   help="'embedded' (the subset shipped with the package), 'download' (full MNIST, "
                        "fetched once into ~/.cache/refimpl/mnist), or a folder holding the four MNIST "
                        "files; default %(default)s")
    p.add_argument("--out", help="folder for table.json, table.md, rows/ and figures/; default results "
                   "(runs/quick/results with --quick, so a quick run never touches the committed table)")
    p.add_argument("--work", help="folder for checkpoints (resumed by a rerun); default runs/experiment "
                   "(runs/quick/work with --quick)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace rows and checkpoints made with other settings (default: refuse)")
    p.add_argument("--quick", action="store_true",
                   help="a version of about a minute: 784-40-10, 1 epoch, 2,000 training and 200 test "
                        "images, S = K = 5")
    p.add_argument("--rows", type=arg_type("--rows", _check_subset, ALL_ROWS, parse=str_list),
                   help=f"comma-separated subset of {','.join(ALL_ROWS)}; default {','.join(ROWS)}")
    p.add_argument("--protocols", type=arg_type("--protocols", _check_subset, PROTOCOLS, parse=str_list),
                   help="comma-separated subset of threshold,stochastic; default both")
    p.add_argument("--sizes", type=arg_type("--sizes", check_mnist_sizes, parse=int_list),
                   help="layer widths, comma-separated, from 784 pixels to 10 classes; "
                        "default 784,500,500,10")
    p.add_argument("--epochs", type=arg_type("--epochs", check_positive_int, parse=int),
                   help=f"epochs per row; default {f['epochs']}")
    p.add_argument("--lr", type=arg_type("--lr", check_real, 0, low_open=True),
                   help=f"step size of epoch 1 (> 0); default {f['lr']}")
    p.add_argument("--lr-decay", type=arg_type("--lr-decay", check_real, 0, 1, low_open=True),
                   help="per-epoch factor of the step size, in (0, 1]: epoch e steps with "
                        f"lr * lr_decay**(e-1); 1.0 keeps it constant; default {f['lr_decay']}")
    p.add_argument("--lam", type=arg_type("--lam", check_real, 0, MAX_LAM, hint=LAM_HINT),
                   help=f"lambda, the weight of L0 in the rows L2, L2u, RWS2, S2 and S2u, in [0, {MAX_LAM:g}]; "
                        f"default {f['lam']}")
    p.add_argument("--normalise", choices=("none", "units"),
                   help=f"per-term normalisation of the rows L2, L2u, S2 and S2u; default {f['normalise']}")
    p.add_argument("--seed", type=arg_type("--seed", check_positive_int, 0, parse=int),
                   help=f"seed of training and evaluation; default {f['seed']}")
    p.add_argument("--K", type=arg_type("--K", check_positive_int, parse=int),
                   help=f"importance samples per test image for log p(x); default {f['K']}")
    p.add_argument("--S", type=arg_type("--S", check_positive_int, parse=int),
                   help=f"Monte Carlo samples per test image for the class posterior; default {f['S']}")
    p.add_argument("--test-images", type=arg_type("--test-images", check_positive_int, parse=int),
                   help="evaluate on the first N test images only; default: all of them")
    p.add_argument("--train-images", type=arg_type("--train-images", check_positive_int, parse=int),
                   help="train on the first N training images only; default: all of them")
    p.add_argument("--labelled", type=arg_type("--labelled", check_positive_int, parse=int),
                   help="keep the labels of N training images only (class-balanced, chosen by --seed), for "
                        "the rows L0, S2, S2u and S2noLW; default: every label")
    p.add_argument("--augment", action="store_true", default=None,
                   help="rows S2, S2u, S2noLW (threshold protocol): re-draw the unlabelled images by stochastic "
                        "binarisation every epoch")
    p.add_argument("--labelled-weight", type=arg_type("--labelled-weight", check_real, 0, MAX_LAM),
                   help=f"weight of the labelled images' wake term in the rows S2 and S2u; default "
                        f"{f['labelled_weight']}")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bars nor lines per epoch (the lines per row and file stay)")
    return p


def main(argv=None) -> int:
    """Run ``python -m refimpl.lab.experiment`` with ``argv`` (default ``sys.argv[1:]``); return its status.

    0 on success; 2 for wrong arguments or settings (before any folder is
    made); 1 if the run fails (download, unwritable folders, memory); 130 if
    interrupted. Every error is one line on stderr.
    """
    parser = build_parser()
    args = parse_args(parser, argv)
    if isinstance(args, int):
        return args
    settings = dict(QUICK if args.quick else FULL)
    for name in ("rows", "protocols", "sizes", "epochs", "lr", "lr_decay", "lam", "normalise", "seed", "labelled",
                 "labelled_weight", "augment", "K", "S", "test_images", "train_images"):
        value = getattr(args, name)
        if value is not None:
            settings[name] = value
    for option, name in (("--lam", "lam"), ("--normalise", "normalise")):
        if getattr(args, name) is not None and not set(settings["rows"]) & set(HYBRID):
            print(f"{parser.prog}: error: {option} applies only to the rows {either(HYBRID)}; --rows "
                  f"{','.join(settings['rows'])} has none of them: drop {option} (see --help)",
                  file=sys.stderr)
            return 2
    out = Path(args.out or ("runs/quick/results" if args.quick else "results"))
    work = Path(args.work or ("runs/quick/work" if args.quick else "runs/experiment"))
    command = command_line(parser.prog, argv)

    def experiment() -> int:
        start = time.perf_counter()
        table = run_experiment(args.data, out, work, settings, progress=not args.no_progress,
                               overwrite=args.overwrite)
        seconds = time.perf_counter() - start
        write_text(out / "command.txt", f"{command}\n# {len(table)} rows in {seconds:.0f} s\n")
        print((out / "table.md").read_text())
        return 0

    def interrupted() -> str:
        return (f"finished rows stay in {out / 'rows'} and checkpoints in {work}; rerun the same command to "
                f"resume: {command}")

    return run(parser.prog, experiment, interrupted)


if __name__ == "__main__":
    sys.exit(main())
