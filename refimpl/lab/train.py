r"""Training a pair on MNIST: :class:`TrainConfig`, the :func:`fit` loop and ``python -m refimpl.lab.train``.

One call of :func:`fit` trains a :class:`refimpl.coupled.CoupledPair` by one of
the learning rules of :mod:`refimpl.learning`, with the settings of one
:class:`TrainConfig`:

===========  ======  =====================================================
method       tied    objective ascended (batch means)
===========  ======  =====================================================
``L0``       (yes)   :math:`\log \tilde q(y \mid x)` (discriminative)
``L1``       yes     :math:`G + R` (wake-sleep, weights tied)
``L1u``      no      :math:`G + R` (two separate networks)
``L2``       yes     :math:`s_G G + s_R R + \lambda\,L0` (hybrid)
``L2u``      no      the same, untied
``RWS``      yes     reweighted wake-sleep, K = 5 (beyond the paper:
                     :func:`refimpl.learning.rws_step_grads`)
``RWSu``     no      the same, untied
``RWS2``     yes     reweighted wake-sleep + :math:`\lambda\,L0`
``S2``       yes     semi-supervised (needs ``labelled``): S1 wake on every
                     image, the wake term with the true class and
                     :math:`\lambda\,L0` on the labelled ones, sleep
``S2u``      no      the same, untied
``S2noLW``   yes     the ablation: S2 without the labelled images' wake term
``S2noLWu``  no      the same, untied
===========  ======  =====================================================

With ``labelled`` set, only that many training labels are kept (class-balanced,
chosen by ``seed``): S2/S2u learn from them discriminatively and from every
image generatively, and L0 learns from them alone.

Reproducibility: one ``numpy.random.Generator``, made from ``seed``, draws
everything in order: the initial weights, then per epoch the stochastic
binarisation of the training images (if chosen), the shuffling, and per step
the labelled batch (with ``labelled``) and the samples of the step. Parameters are float32. After every epoch a
checkpoint (:mod:`refimpl.lab.checkpoint`) holds the parameters, the optimiser
state and the generator's state, so training 2 epochs in one run or 1 epoch
and then 1 more with ``resume=True`` gives bit-identical parameters.

A run whose objective or gradient stops being finite, or whose parameters
grow beyond :data:`MAX_ABS_PARAMETER`, stops with :class:`TrainingDiverged`
naming the epoch and the step size; the checkpoint of the last good epoch stays.

Per epoch one JSON line goes to ``<out_dir>/log.jsonl``: the epoch, the mean
of each term over the epoch's batches, the mean training objective, the test
error of the recogniser's mean pass (M6) and the wall-clock seconds. A run that
diverges ends its log with ``{"epoch": e, "diverged": "<what happened>"}``.

Test images are binarised like the training images: by threshold at 0.5, or,
for ``binarization="stochastic"``, drawn once from
``np.random.default_rng(TEST_BINARIZATION_SEED)`` (the same test set for every
run and seed), while the training images are re-drawn every epoch.

Command line (the defaults, L1 tied with the experiment's 784-500-500-10 for 3
epochs of the embedded 10,000 images, take about a minute on two cores)::

    python -m refimpl.lab.train                       # defaults: see TrainConfig and --help
    python -m refimpl.lab.train --method L2 --lam 10 --sizes 784,500,500,10 --epochs 20 \
        --data download --out runs/l2             # the experiment's architecture on full MNIST
    python -m refimpl.lab.train --method L2 --lam 10 --sizes 784,500,500,10 --epochs 30 \
        --data download --out runs/l2 --resume   # same settings: continue up to epoch 30

A fresh run refuses an ``--out`` that already holds a checkpoint (``--resume``
continues it, ``--overwrite`` starts afresh); resuming with any setting other
than ``--epochs`` changed is refused, naming the setting. An option the chosen
method ignores (``--lam`` without L2/L2u/RWS2/S2/S2u, ``--normalise`` without L2/L2u/S2/S2u, ``--momentum``
without sgd) is refused rather than silently dropped.

Errors end with one line on stderr: exit status 2 for wrong arguments, 1 for a
failed run (network, disk, divergence), 130 on Ctrl-C (saying how to resume).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .._validation import check_choice, check_layer_sizes, check_positive_int, check_real
from ..coupled import CoupledPair
from ..learning import (
    NORMALISE,
    l0_value_and_grad,
    l1_step_grads,
    l2_step_grads,
    rws_step_grads,
    semi_step_grads,
)
from ..optim import SGD, Adam
from ._cli import Parser, arg_type, command_line, either, int_list, parse_args, run
from ._io import atomic_writer
from .checkpoint import CHECKPOINT_JSON, CheckpointError, has_checkpoint, load_checkpoint, save_checkpoint
from .data import N_CLASSES, binarize, get_dataset

__all__ = ["METHODS", "TEST_BINARIZATION_SEED", "TrainConfig", "TrainingDiverged", "fit", "labelled_subset",
           "main", "provenance", "recognition_error"]

#: method -> whether the generator's weights are tied to the recogniser's (L0 ignores the generator).
METHODS = {"L0": True, "L1": True, "L1u": False, "L2": True, "L2u": False, "RWS": True, "RWSu": False,
           "RWS2": True, "S2": True, "S2u": False, "S2noLW": True, "S2noLWu": False}
#: The methods that use ``lam`` (RWS2: reweighted wake-sleep + lam * L0) and ``normalise``.
HYBRID = ("L2", "L2u", "RWS2", "S2", "S2u", "S2noLW", "S2noLWu")
#: The semi-supervised methods (refimpl.learning.semi_step_grads), which need ``labelled``.
SEMI = ("S2", "S2u", "S2noLW", "S2noLWu")
#: The semi-supervised methods with the labelled images' wake term, which use ``labelled_weight``.
LABELLED_WAKE = ("S2", "S2u")
#: Importance samples per image of the reweighted wake-sleep rules RWS and RWSu.
RWS_SAMPLES = 5
OPTIMIZERS = ("sgd", "adam")
BINARIZATIONS = ("threshold", "stochastic")
#: Seed of the one stochastic binarisation of the test set (the same for every training seed).
TEST_BINARIZATION_SEED = 1709_08524
#: Largest lambda: beyond it, lambda times the L0 gradient overflows Adam's float32 second moment.
MAX_LAM = 1e6
#: Why lam is bounded, as error messages say it.
LAM_HINT = "the weight of L0 in L2; larger values overflow float32 gradients"
#: Most weights a network may have (a 784-500-500-10 pair has 0.65 million): memory, not patience, ends it.
MAX_WEIGHTS = 10**8
#: A parameter beyond this magnitude means the run has diverged (a float32 sigmoid saturates at |a| = 17).
MAX_ABS_PARAMETER = 1e4
LOG_NAME = "log.jsonl"
#: Largest init_scale: initial weights beyond it exceed MAX_ABS_PARAMETER, the divergence threshold.
MAX_INIT_SCALE = MAX_ABS_PARAMETER / 10
#: Why init_scale is bounded, as error messages say it.
INIT_SCALE_HINT = "the standard deviation of the initial weights; larger ones saturate every unit"


class TrainingDiverged(RuntimeError):
    """The objective, a gradient or a parameter stopped being finite or grew beyond reason."""


def check_mnist_sizes(sizes, name: str = "sizes") -> tuple:
    """Layer widths for MNIST: 784 first, 10 last, at most :data:`MAX_WEIGHTS` weights in all."""
    sizes = check_layer_sizes(sizes, name, MAX_WEIGHTS)
    if sizes[0] != 784 or sizes[-1] != N_CLASSES:
        raise ValueError(f"{name} must start with 784 (MNIST pixels) and end with {N_CLASSES} (classes); "
                         f"got {','.join(map(str, sizes))}.")
    return sizes


@dataclass(frozen=True)
class TrainConfig:
    r"""The settings of one training run, each checked on construction.

    Parameters
    ----------
    method : {"L0", "L1", "L1u", "L2", "L2u", "RWS", "RWSu", "RWS2", "S2", "S2u", "S2noLW", "S2noLWu"}, default "L1"
        The learning rule (:data:`METHODS`); a trailing ``u`` trains an untied pair.
    lam : float, default 1.0
        :math:`\lambda \in [0, 10^6]`, the weight of L0 in L2/L2u/RWS2/S2/S2u (ignored by the other methods).
    sizes : sequence of int, default (784, 500, 500, 10)
        Layer widths; at most :data:`MAX_WEIGHTS` weights. :func:`fit` checks
        that they start with the pixel count and end with the class count of the data.
    epochs : int, default 3
        Total number of epochs (a resumed run continues up to this number).
    batch_size : int, default 100
        Images per gradient step.
    optimizer : {"adam", "sgd"}, default "adam"
    lr : float, default 3e-3
        Step size of epoch 1 (> 0).
    lr_decay : float, default 0.85
        Per-epoch factor in (0, 1]: epoch ``e`` (1-based) steps with
        ``lr * lr_decay ** (e - 1)``; 1.0 keeps the step size constant. The
        schedule does not depend on ``epochs``, so a resumed run follows it exactly.
    momentum : float, default 0.9
        SGD's momentum in [0, 1) (ignored by Adam).
    normalise : {"none", "units"}, default "none"
        L2's per-term normalisation (:func:`refimpl.learning.l2_step_grads`).
    init_scale : float, default 0.01
        Standard deviation of the initial weights (>= 0).
    seed : int, default 0
        Seeds the one generator behind initialisation, binarisation, shuffling and sampling.
    binarization : {"threshold", "stochastic"}, default "threshold"
        Threshold at 0.5, or Bernoulli draws re-drawn every epoch.
    labelled : int or None, default None
        Keep the labels of this many training images only (class-balanced, chosen by
        ``seed``; a multiple of the number of classes). Required by S2/S2u, which learn
        generatively from every training image and discriminatively from the labelled
        ones; L0 then learns from the labelled images alone, with as many steps per
        epoch as the whole training set gives. None: every label is used.
    labelled_weight : float, default 1.0
        :math:`w_l \in [0, 10^6]`, the weight of the labelled images' wake term in S2/S2u
        (:func:`refimpl.learning.semi_step_grads`; S2noLW is S2 with it 0). Every step
        draws a labelled batch of ``min(batch_size, labelled)`` images; its wake term is
        a batch mean, weighted like the unlabelled batch's, times ``labelled_weight``.
    augment : bool, default False
        S2/S2u/S2noLW with threshold binarisation only: the images taken as unlabelled are
        re-drawn every epoch by stochastic binarisation (augmentation), while the labelled
        batch and the test images stay thresholded.

    Raises
    ------
    ValueError, TypeError
        Naming the field, for a value out of range or of the wrong type.

    Examples
    --------
    >>> config = TrainConfig(method="L2", lam=10, sizes=(784, 100, 10), epochs=5)
    >>> config.lam, config.sizes, config.tied
    (10.0, (784, 100, 10), True)
    >>> TrainConfig(lr_decay=1.5)
    Traceback (most recent call last):
    ...
    ValueError: lr_decay must be a finite number in (0, 1]; got 1.5.
    """

    method: str = "L1"
    lam: float = 1.0
    sizes: tuple = (784, 500, 500, 10)
    epochs: int = 3
    batch_size: int = 100
    optimizer: str = "adam"
    lr: float = 3e-3  # with lr_decay 0.85: the experiment's schedule (L0 reaches 2.0 % on MNIST with it)
    lr_decay: float = 0.85
    momentum: float = 0.9
    normalise: str = "none"
    init_scale: float = 0.01
    seed: int = 0
    binarization: str = "threshold"
    labelled: int | None = None
    labelled_weight: float = 1.0
    augment: bool = False

    def __post_init__(self):
        checked = {
            "method": check_choice(self.method, "method", tuple(METHODS)),
            "lam": check_real(self.lam, "lam", 0, MAX_LAM, hint=LAM_HINT),
            "sizes": check_layer_sizes(self.sizes, "sizes", MAX_WEIGHTS),
            "epochs": check_positive_int(self.epochs, "epochs"),
            "batch_size": check_positive_int(self.batch_size, "batch_size"),
            "optimizer": check_choice(self.optimizer, "optimizer", OPTIMIZERS),
            "lr": check_real(self.lr, "lr", 0, low_open=True),
            "lr_decay": check_real(self.lr_decay, "lr_decay", 0, 1, low_open=True),
            "momentum": check_real(self.momentum, "momentum", 0, 1, high_open=True),
            "normalise": check_choice(self.normalise, "normalise", NORMALISE),
            "init_scale": check_real(self.init_scale, "init_scale", 0, MAX_INIT_SCALE, hint=INIT_SCALE_HINT),
            "seed": check_positive_int(self.seed, "seed", 0),
            "binarization": check_choice(self.binarization, "binarization", BINARIZATIONS),
            "labelled": None if self.labelled is None else check_positive_int(self.labelled, "labelled"),
            "labelled_weight": check_real(self.labelled_weight, "labelled_weight", 0, MAX_LAM),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        if self.method in SEMI and self.labelled is None:
            raise ValueError(f"labelled must be set for method {self.method} (how many training images keep "
                             "their labels); got None.")
        if self.labelled is not None and self.method not in SEMI + ("L0",):
            raise ValueError(f"labelled applies only to the methods L0, S2, S2u and S2noLW; method {self.method} "
                             f"uses every label: drop labelled (got {self.labelled}).")
        if self.labelled_weight != 1.0 and self.method not in LABELLED_WAKE:
            raise ValueError(f"labelled_weight applies only to the methods S2 and S2u; method {self.method} has no "
                             f"labelled wake term: drop labelled_weight (got {self.labelled_weight}).")
        if not isinstance(self.augment, (bool, np.bool_)):
            raise TypeError(f"augment must be True or False; got {type(self.augment).__name__}.")
        object.__setattr__(self, "augment", bool(self.augment))
        if self.augment and (self.method not in SEMI or self.binarization != "threshold"):
            raise ValueError(f"augment applies only to the methods {', '.join(SEMI)} with threshold binarization; "
                             f"got method {self.method}, binarization {self.binarization}: drop augment.")

    @property
    def tied(self) -> bool:
        """Whether ``method`` trains a pair with the generator's weights tied to the recogniser's."""
        return METHODS[self.method]


# ----------------------------------------------------------------- records
@functools.cache
def _git(*args) -> str | None:
    """Output of ``git <args>`` in this project's own checkout, or None (not a checkout, no git)."""
    root = Path(__file__).resolve().parents[2]
    outputs = []
    for command in (("rev-parse", "--show-toplevel"), args):
        try:
            done = subprocess.run(["git", "-C", str(root), *command], capture_output=True, text=True,
                                  timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):  # no git, or it hangs
            return None
        if done.returncode != 0:
            return None
        outputs.append(done.stdout.strip())
    return outputs[1] if Path(outputs[0]).resolve() == root else None  # not refimpl inside another repository


def provenance() -> dict:
    """What produced a result: versions of Python, NumPy and Numba, and the git commit of this code.

    ``git_commit`` is "unknown" outside a git checkout of the project;
    ``git_dirty`` says whether tracked files differed from that commit (None if unknown).

    Examples
    --------
    >>> sorted(provenance())
    ['git_commit', 'git_dirty', 'numba', 'numpy', 'python']
    """
    import numba

    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__,
            "git_commit": commit or "unknown", "git_dirty": None if status is None else bool(status)}


def _dataset_fingerprint(dataset) -> str:
    """SHA-256 of the training and test arrays, so that a resumed run provably sees the same data."""
    digest = hashlib.sha256()
    for name in ("train_images", "train_labels", "test_images", "test_labels"):
        arr = np.ascontiguousarray(getattr(dataset, name))
        digest.update(f"{name}:{arr.dtype.str}:{arr.shape}".encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def _checkpoint_settings(config: TrainConfig, pair_given: bool, dataset) -> dict:
    """What a resumed run must match (the checkpoint's ``meta`` holds these fields)."""
    hybrid = config.method in HYBRID
    return {
        "method": config.method, "tied": config.tied, "sizes": list(config.sizes),
        "lam": config.lam if hybrid else None, "normalise": config.normalise if hybrid else None,
        "batch_size": config.batch_size, "optimizer": config.optimizer, "lr": config.lr,
        "lr_decay": config.lr_decay, "momentum": config.momentum if config.optimizer == "sgd" else None,
        "seed": config.seed, "binarization": config.binarization,
        "init": "given" if pair_given else f"normal(0, {config.init_scale})",
        "dtype": "float32", "data_sha256": _dataset_fingerprint(dataset),
    } | ({} if config.labelled is None else {"labelled": config.labelled}) | (
        {} if config.labelled_weight == 1.0 else {"labelled_weight": config.labelled_weight}) | (
        {"augment": True} if config.augment else {})


def labelled_subset(labels, n_labelled: int, seed: int) -> np.ndarray:
    """Indices of ``n_labelled`` training images, the same number from every class, chosen by ``seed``.

    The choice has a generator of its own, so it depends on ``seed`` and ``n_labelled`` only.

    Raises
    ------
    ValueError
        If ``n_labelled`` is not a multiple of the number of classes, or a class has too few images.

    Examples
    --------
    >>> labelled_subset(np.array([0, 1, 0, 1, 0, 1]), 4, seed=0).size
    4
    """
    labels = np.asarray(labels)
    classes = np.unique(labels)
    per_class, rest = divmod(check_positive_int(n_labelled, "labelled"), classes.size)
    if rest:
        raise ValueError(f"labelled must be a multiple of the {classes.size} classes (class-balanced); "
                         f"got {n_labelled}.")
    rng = np.random.default_rng((seed, n_labelled))
    chosen = []
    for c in classes:
        members = np.flatnonzero(labels == c)
        if members.size < per_class:
            raise ValueError(f"labelled asks for {per_class} images of class {c}; the data has {members.size}.")
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def _write_log(path: Path, records: list) -> None:
    """Replace ``log.jsonl`` with ``records``, one JSON line each."""
    with atomic_writer(path, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)


# ----------------------------------------------------------------- evaluation
def recognition_error(pair, x, labels, batch_size: int = 2000) -> float:
    r"""Fraction of images whose :math:`\arg\max_y \tilde q(y \mid x)` (mean pass, M6) is not the label.

    Parameters
    ----------
    pair : CoupledPair
    x : ndarray of shape (N, d_0)
        Binary images (:func:`refimpl.lab.data.binarize`).
    labels : ndarray of int, shape (N,)
    batch_size : int, default 2000
        Images per forward pass (bounds memory).

    Returns
    -------
    float
        In ``[0, 1]``.

    Notes
    -----
    Equation: M6

    Examples
    --------
    >>> pair = CoupledPair((4, 3, 2), rng=np.random.default_rng(0))
    >>> recognition_error(pair, np.ones((2, 4)), np.array([0, 1]))  # zero-bias pair: ties go to class 0
    0.5
    """
    labels = np.asarray(labels)
    wrong = 0
    for start in range(0, len(labels), batch_size):
        probs = pair.recognise_mean(x[start:start + batch_size])
        wrong += int(np.sum(np.argmax(probs, axis=1) != labels[start:start + batch_size]))
    return wrong / len(labels)


def _step(method, pair, x, y, rng, lam, normalise, labelled=None, labelled_weight=1.0):
    """One gradient computation: (terms, objective, grads) for the chosen method.

    ``labelled`` is the labelled batch ``(x_l, y_l)`` when only some labels are kept:
    L0 then learns from it alone, S2/S2u/S2noLW take ``x`` as unlabelled images.
    """
    if method == "L0":
        value, grads = l0_value_and_grad(pair, *(labelled if labelled is not None else (x, y)))
        return {"L0": value}, value, grads
    if method in SEMI:
        w_l = labelled_weight if method in LABELLED_WAKE else 0.0  # S2noLW, S2noLWu: no labelled wake term
        terms, grads = semi_step_grads(pair, x, *labelled, rng, lam, normalise=normalise, labelled_weight=w_l)
        return {k: v for k, v in terms.items() if k != "objective"}, terms["objective"], grads
    if method in ("L1", "L1u"):
        terms, grads = l1_step_grads(pair, x, y, rng)
        return terms, terms["G"] + terms["R"], grads
    if method in ("RWS", "RWSu", "RWS2"):
        terms, grads = rws_step_grads(pair, x, y, rng, n_samples=RWS_SAMPLES, lam=lam if method == "RWS2" else 0.0)
        return terms, terms["G"] + terms["Q"] + terms["R"] + lam * terms.get("L0", 0.0), grads
    terms, grads = l2_step_grads(pair, x, y, rng, lam, normalise=normalise)
    objective = terms["objective"]
    return {k: v for k, v in terms.items() if k != "objective"}, objective, grads


def _diverged(config: TrainConfig, epoch: int, what: str, out: Path | None) -> TrainingDiverged:
    hybrid = config.method in HYBRID
    kept = (f"the checkpoint of epoch {epoch - 1} in {out} is kept" if out is not None and epoch > 1
            else "no checkpoint of this run was written")
    lam = f", lam={config.lam:g}" if hybrid else ""
    return TrainingDiverged(
        f"training diverged in epoch {epoch}: {what}; lower lr{' or lam' if hybrid else ''} (this run: "
        f"lr={config.lr:g}{lam}, optimizer {config.optimizer}); {kept}.")


def _log_divergence(out: Path | None, log: list, epoch: int, diverged: TrainingDiverged) -> None:
    """``log.jsonl``: the good epochs, then ``{"epoch": e, "diverged": "<why>"}`` for the epoch that failed."""
    if out is not None:
        _write_log(out / LOG_NAME, [*log, {"epoch": epoch, "diverged": str(diverged)}])


# ------------------------------------------------------------------------ fit
def fit(pair=None, data="embedded", config=None, out_dir=None, *, resume=False, overwrite=False,
        progress=True, eval_every_epoch=True):
    r"""Train a coupled pair with the settings of ``config``, checkpointing after every epoch.

    Parameters
    ----------
    pair : CoupledPair or None
        Starting parameters (copied; never modified), of ``config.sizes`` and
        tied as ``config.method`` requires. None: a new pair drawn from the
        seeded generator with ``config.init_scale``.
    data : str, os.PathLike or Dataset, default "embedded"
        ``"embedded"``, ``"download"``, a directory of MNIST files, a
        :class:`refimpl.lab.data.Dataset`, or an object with ``train_images``,
        ``train_labels``, ``test_images``, ``test_labels``
        (:func:`refimpl.lab.data.get_dataset`).
    config : TrainConfig, optional
        The settings; default ``TrainConfig()``.
    out_dir : str or os.PathLike, optional
        Where ``checkpoint.json``, the ``.npz`` and ``log.jsonl`` go. None:
        nothing is written (and ``resume`` must not be True).
    resume : bool or "auto", default False
        True: continue from the checkpoint in ``out_dir`` (which must exist and
        match every setting except ``epochs``). "auto": resume if there is a
        checkpoint, else start afresh.
    overwrite : bool, default False
        Allow a fresh run (``resume=False``) into an ``out_dir`` that already holds a checkpoint.
    progress : bool, default True
        Show a tqdm progress bar with the running mean terms (on stderr).
    eval_every_epoch : bool, default True
        Compute the test error after every epoch (else only after the last).

    Returns
    -------
    pair : CoupledPair
        The trained pair (float32).
    log : list of dict
        One record per epoch, including epochs of earlier runs when resuming:
        ``epoch``, ``terms`` (epoch means), ``train_objective``, ``test_error``
        (None where not evaluated), ``seconds``.

    Raises
    ------
    ValueError, TypeError
        For an invalid argument (naming it), sizes that do not fit the data, a
        fresh run into a directory holding a checkpoint, and (as
        :class:`refimpl.lab.checkpoint.CheckpointError`) a corrupted or mismatching checkpoint.
    FileNotFoundError
        If ``resume=True`` and ``out_dir`` holds no checkpoint, or the data directory is missing.
    TrainingDiverged
        If the objective, a gradient or a parameter stops being finite, or a
        parameter exceeds :data:`MAX_ABS_PARAMETER` (the last good checkpoint stays).

    Notes
    -----
    Equation: L0, L1, L1u, L2

    Examples
    --------
    >>> from refimpl.lab.data import Dataset
    >>> rng = np.random.default_rng(0)
    >>> grey = rng.random((40, 6)).astype(np.float32)
    >>> data = Dataset(grey[:30], np.arange(30) % 2, grey[30:], np.arange(10) % 2)
    >>> config = TrainConfig(method="L1", sizes=(6, 4, 2), epochs=2, batch_size=10)
    >>> pair, log = fit(None, data, config, progress=False)
    >>> [r["epoch"] for r in log], sorted(log[0]["terms"])
    ([1, 2], ['G', 'R'])
    """
    config = TrainConfig() if config is None else config
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, e.g. TrainConfig(method='L2', lam=10); "
                        f"got {type(config).__name__}.")
    if not (isinstance(resume, bool) or resume == "auto"):
        raise ValueError(f"resume must be False, True or 'auto'; got {resume!r}.")
    if out_dir is None and resume is True:
        raise ValueError("out_dir is required with resume=True (the checkpoint is read from it); got None.")
    if pair is not None and resume is True:
        raise ValueError("pair must be None with resume=True (the checkpoint supplies the parameters).")
    if pair is not None:
        if not isinstance(pair, CoupledPair):
            raise TypeError(f"pair must be a CoupledPair or None; got {type(pair).__name__}.")
        if pair.tied != config.tied:
            raise ValueError(f"pair has tied={pair.tied}, but method {config.method} trains a pair with "
                             f"tied={config.tied}.")
        if tuple(pair.sizes) != config.sizes:
            raise ValueError(f"pair has sizes {tuple(pair.sizes)}, but config.sizes is {config.sizes}; "
                             "pass TrainConfig(sizes=pair.sizes, ...).")
    dataset = get_dataset(data)
    n_pixels, n_classes = dataset.train_images.shape[1], int(dataset.train_labels.max()) + 1
    if config.sizes[0] != n_pixels or config.sizes[-1] != n_classes:
        raise ValueError(f"sizes must start with {n_pixels} (pixels per image) and end with {n_classes} "
                         f"(classes) for this dataset; got {','.join(map(str, config.sizes))}.")

    settings = _checkpoint_settings(config, pair is not None, dataset)
    # recorded, not compared on resume: the same images may be named differently ("embedded" or a Dataset)
    spec = str(data) if isinstance(data, (str, os.PathLike)) else dataset.source or "in-memory dataset"
    data_info = {"data": spec,
                 "n_train": int(dataset.train_images.shape[0]), "n_test": int(dataset.test_labels.shape[0])}
    out = Path(out_dir) if out_dir is not None else None
    resuming = resume is True or (resume == "auto" and out is not None and has_checkpoint(out))
    rng = np.random.default_rng(config.seed)
    opt = Adam(config.lr) if config.optimizer == "adam" else SGD(config.lr, momentum=config.momentum)
    log: list = []
    if resuming:
        pair, rng, log, start = _resume(out, config, settings, opt)
    else:
        if out is not None and has_checkpoint(out) and not overwrite:
            raise ValueError(f"out_dir {out} already holds a checkpoint; pass resume=True to continue it, "
                             "overwrite=True to start afresh, or another out_dir.")
        start = 0
        if pair is None:
            pair = CoupledPair(config.sizes, tied=config.tied, rng=rng, init_scale=config.init_scale,
                               dtype=np.float32)
        else:
            pair = CoupledPair.from_params({k: np.asarray(v, np.float32) for k, v in pair.params.items()},
                                           config.sizes, config.tied)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / CHECKPOINT_JSON).unlink(missing_ok=True)  # the old checkpoint and log are no longer valid
            (out / LOG_NAME).unlink(missing_ok=True)

    train_images, train_labels = dataset.train_images, dataset.train_labels
    if config.binarization == "threshold":
        x_train = binarize(train_images, "threshold")
        x_test = binarize(dataset.test_images, "threshold")
    else:
        x_train = None
        test_rng = np.random.default_rng(TEST_BINARIZATION_SEED)
        x_test = binarize(dataset.test_images, "stochastic", rng=test_rng)

    code = provenance()
    n, batch_size, method = train_images.shape[0], config.batch_size, config.method
    kept = None if config.labelled is None else labelled_subset(train_labels, config.labelled, config.seed)
    n_batches = -(-n // batch_size)
    for epoch in range(start + 1, config.epochs + 1):
        t0 = time.perf_counter()
        opt.lr = config.lr * config.lr_decay ** (epoch - 1)
        x_epoch = x_train if x_train is not None else binarize(train_images, "stochastic", rng=rng)
        x_unlabelled = binarize(train_images, "stochastic", rng=rng) if config.augment else x_epoch
        order = rng.permutation(n)
        sums: dict = {}
        objective_sum = 0.0
        bar = tqdm(total=n_batches, desc=f"{method} epoch {epoch}/{config.epochs}", disable=not progress,
                   leave=False, file=sys.stderr, dynamic_ncols=True)
        try:
            for b in range(n_batches):
                idx = order[b * batch_size:(b + 1) * batch_size]
                labelled = None
                if kept is not None:  # a batch of the labelled images, drawn afresh every step
                    pick = kept[rng.choice(kept.size, min(batch_size, kept.size), replace=False)]
                    labelled = (x_epoch[pick], train_labels[pick])
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # reported below instead
                    terms, objective, grads = _step(method, pair, x_unlabelled[idx], train_labels[idx], rng,
                                                    config.lam, config.normalise, labelled, config.labelled_weight)
                    try:  # the optimiser refuses a gradient holding NaN or infinity
                        if not np.isfinite(objective):
                            raise ValueError(f"the objective is {objective}")
                        opt.step(pair.params, grads)
                    except ValueError as exc:
                        diverged = _diverged(config, epoch, f"in batch {b + 1} of {n_batches}, {exc}".rstrip("."),
                                             out)
                        _log_divergence(out, log, epoch, diverged)
                        raise diverged from None
                for key, value in terms.items():
                    sums[key] = sums.get(key, 0.0) + float(value)
                objective_sum += float(objective)
                if progress and (b % 10 == 9 or b == n_batches - 1):
                    bar.set_postfix({k: f"{v / (b + 1):.4g}" for k, v in sums.items()}, refresh=False)
                bar.update(1)
        finally:
            bar.close()
        largest = np.max([np.max(np.abs(p)) for p in pair.params.values()])
        if not largest <= MAX_ABS_PARAMETER:
            what = (f"a parameter reached magnitude {largest:.3g} (more than {MAX_ABS_PARAMETER:g}); "
                    f"the objective is {objective_sum / n_batches:.4g}")
            diverged = _diverged(config, epoch, what, out)
            _log_divergence(out, log, epoch, diverged)
            raise diverged
        record = {
            "epoch": epoch,
            "terms": {k: v / n_batches for k, v in sums.items()},
            "train_objective": objective_sum / n_batches,
            "test_error": (recognition_error(pair, x_test, dataset.test_labels)
                           if eval_every_epoch or epoch == config.epochs else None),
            "seconds": round(time.perf_counter() - t0, 3),
        }
        log.append(record)
        if out is not None:
            meta = dict(settings, **data_info, provenance=code, epoch=epoch,
                        epochs_requested=config.epochs, log=log)
            save_checkpoint(out, pair.params, opt.state_dict(), rng, meta)
            _write_log(out / LOG_NAME, log)
        if progress:
            err = "" if record["test_error"] is None else f", test error {record['test_error']:.4f}"
            tqdm.write(f"{method} epoch {epoch}/{config.epochs}: objective {record['train_objective']:.4f}"
                       f"{err} ({record['seconds']:.1f} s)", file=sys.stderr)
    return pair, log


def _resume(out: Path, config: TrainConfig, settings: dict, opt):
    """The pair, generator, log and epoch of the checkpoint in ``out``; ``opt`` gets its state."""
    template = CoupledPair(config.sizes, tied=config.tied, rng=np.random.default_rng(0), init_scale=0.0,
                           dtype=np.float32).params
    ckpt = load_checkpoint(out, expect=settings, params_like=template)
    start = ckpt.meta.get("epoch")
    if not isinstance(start, int) or start < 1:
        raise CheckpointError(f"{ckpt.path}: field meta.epoch must be a positive integer; got {start!r}")
    if start > config.epochs:
        raise CheckpointError(f"epochs must be at least the checkpoint's epoch {start} to resume; "
                              f"got {config.epochs}.")
    try:
        opt.load_state_dict(ckpt.opt_state)
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{ckpt.path}: optimiser state unusable for {config.optimizer}: "
                              f"{exc!r}") from None
    log = list(ckpt.meta.get("log", []))
    _write_log(out / LOG_NAME, log)
    return CoupledPair.from_params(ckpt.params, config.sizes, config.tied), ckpt.restore_rng(), log, start


# ------------------------------------------------------------------------ CLI
def _out_problem(out: Path, resume: bool, overwrite: bool) -> str | None:
    """What is wrong with ``--out`` before anything runs, in the command line's words, or None."""
    if out.exists() and not out.is_dir():
        return f"--out must be a folder (made if missing); got {str(out)!r}, an existing file"
    blocker = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        return f"--out {str(out)!r} cannot be made: {str(blocker)!r} is a file, not a folder"
    if not resume and not overwrite and has_checkpoint(out):
        return (f"--out {out} already holds a checkpoint; add --resume to continue it, --overwrite to "
                "start afresh, or give another --out")
    return None


#: Options that only some methods or optimisers use: option -> (field, the settings that use it).
_ONLY_FOR = {"--lam": ("lam", "method", HYBRID),
             "--normalise": ("normalise", "method", tuple(m for m in HYBRID if m != "RWS2")),
             "--momentum": ("momentum", "optimizer", ("sgd",)),
             "--labelled-weight": ("labelled_weight", "method", LABELLED_WAKE)}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m refimpl.lab.train``."""
    d = TrainConfig()
    p = Parser(prog="python -m refimpl.lab.train",
               description="Train a recogniser/generator pair on MNIST with one learning rule (L0, L1, L1u, "
                           "L2, L2u, RWS, RWSu, RWS2, S2, S2u, S2noLW or S2noLWu); checkpoint after every epoch; "
                           "--resume "
                           "continues bit-identically.")
    p.add_argument("--method", choices=list(METHODS), default=d.method,
                   help="learning rule: L0 discriminative, L1 wake-sleep, L2 = L1 + lam * L0, RWS reweighted "
                        "wake-sleep (K = 5), RWS2 = RWS + lam * L0, S2 semi-supervised (with --labelled), "
                        "S2noLW = S2 without the labelled images' wake term; a trailing u trains untied weights; "
                        "default %(default)s")
    p.add_argument("--lam", type=arg_type("--lam", check_real, 0, MAX_LAM, hint=LAM_HINT),
                   help=f"lambda, the weight of L0 in L2/L2u/RWS2/S2/S2u (refused with other methods), in "
                        f"[0, {MAX_LAM:g}]; default {d.lam}")
    p.add_argument("--normalise", choices=list(NORMALISE),
                   help=f"the per-term normalisation of L2/L2u/S2/S2u (refused with other methods); "
                        f"default {d.normalise}")
    p.add_argument("--sizes", type=arg_type("--sizes", check_mnist_sizes, parse=int_list),
                   default=d.sizes,
                   help="layer widths, comma-separated, from 784 pixels to 10 classes; "
                        "default 784,500,500,10")
    p.add_argument("--epochs", type=arg_type("--epochs", check_positive_int, parse=int), default=d.epochs,
                   help="total epochs (a resumed run continues up to this number); default %(default)s")
    p.add_argument("--batch-size", type=arg_type("--batch-size", check_positive_int, parse=int),
                   default=d.batch_size, help="images per gradient step; default %(default)s")
    p.add_argument("--optimizer", choices=list(OPTIMIZERS), default=d.optimizer,
                   help="gradient ascent with Adam or with SGD and momentum; default %(default)s")
    p.add_argument("--lr", type=arg_type("--lr", check_real, 0, low_open=True), default=d.lr,
                   help="step size of epoch 1 (> 0); default %(default)s")
    p.add_argument("--lr-decay", type=arg_type("--lr-decay", check_real, 0, 1, low_open=True),
                   default=d.lr_decay,
                   help="per-epoch factor of the step size, in (0, 1]: epoch e steps with "
                        "lr * lr_decay**(e-1); 1.0 keeps it constant; default %(default)s")
    p.add_argument("--momentum", type=arg_type("--momentum", check_real, 0, 1, high_open=True),
                   help=f"SGD's momentum in [0, 1) (refused with adam); default {d.momentum}")
    p.add_argument("--init-scale", type=arg_type("--init-scale", check_real, 0, MAX_INIT_SCALE, hint=INIT_SCALE_HINT),
                   default=d.init_scale,
                   help=f"standard deviation of the initial weights, in [0, {MAX_INIT_SCALE:g}]; default %(default)s")
    p.add_argument("--seed", type=arg_type("--seed", check_positive_int, 0, parse=int), default=d.seed,
                   help="seeds initialisation, binarisation, shuffling and sampling; default %(default)s")
    p.add_argument("--data", default="embedded",
                   help="'embedded' (the 10,000/2,000-image subset shipped with the package), "
                        "'download' (full MNIST, fetched once into ~/.cache/refimpl/mnist), or a folder "
                        "holding the four MNIST files; default %(default)s")
    p.add_argument("--train-images", type=arg_type("--train-images", check_positive_int, parse=int),
                   help="train on the first N training images only; default: all of them")
    p.add_argument("--labelled", type=arg_type("--labelled", check_positive_int, parse=int),
                   help="keep the labels of this many training images only (class-balanced, chosen by "
                        "--seed); required by S2/S2u/S2noLW, optional for L0; default: every label")
    p.add_argument("--augment", action="store_true", default=None,
                   help="S2/S2u/S2noLW with threshold binarization: re-draw the images taken as unlabelled by "
                        "stochastic binarisation every epoch (the labelled and test images stay thresholded)")
    p.add_argument("--labelled-weight", type=arg_type("--labelled-weight", check_real, 0, MAX_LAM),
                   help=f"weight of the labelled images' wake term in S2/S2u (refused with other methods), in "
                        f"[0, {MAX_LAM:g}]; default {d.labelled_weight}")
    p.add_argument("--binarization", choices=list(BINARIZATIONS), default=d.binarization,
                   help="threshold at 0.5, or Bernoulli draws re-drawn each epoch; default %(default)s")
    p.add_argument("--out", default="runs/train",
                   help="output folder (checkpoint, log.jsonl); default %(default)s")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true",
                       help="continue the checkpoint in --out (same settings, more --epochs)")
    group.add_argument("--overwrite", action="store_true",
                       help="start afresh even if --out holds a checkpoint")
    p.add_argument("--no-progress", action="store_true",
                   help="print only the final result: no progress bar, no line per epoch")
    return p


def main(argv=None) -> int:
    """Run ``python -m refimpl.lab.train`` with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    0 on success; 2 for wrong arguments, a missing or mismatching checkpoint or
    data; 1 if the run fails (download, disk, memory, divergence); 130 if
    interrupted. Every error is one line on stderr.
    """
    parser = build_parser()
    args = parse_args(parser, argv)
    if isinstance(args, int):
        return args
    for option, (field, by, users) in _ONLY_FOR.items():
        if getattr(args, field) is not None and getattr(args, by) not in users:
            print(f"{parser.prog}: error: {option} applies only to --{by} {either(users)}; "
                  f"--{by} {getattr(args, by)} ignores it: drop {option} (see --help)", file=sys.stderr)
            return 2
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None}
    out = Path(args.out)
    problem = _out_problem(out, args.resume, args.overwrite)
    if problem:
        print(f"{parser.prog}: error: {problem} (see --help)", file=sys.stderr)
        return 2

    def train() -> int:
        config = TrainConfig(**given)
        data = args.data
        if args.train_images is not None:
            data = get_dataset(data).with_train_images(args.train_images)
        try:
            _, log = fit(None, data, config, out, resume=args.resume, overwrite=args.overwrite,
                         progress=not args.no_progress)
        except OSError as exc:  # the folder could not be made: say so in the option's name
            if exc.filename is None or Path(exc.filename) not in (out, *out.parents):
                raise
            raise ValueError(f"--out {out}: cannot create the folder {exc.filename} ({exc.strerror}); "
                             "give --out a folder you can write") from None
        npz = json.loads((out / CHECKPOINT_JSON).read_text(encoding="utf-8"))["npz"]
        for path in (out / CHECKPOINT_JSON, out / npz, out / LOG_NAME):
            print(f"wrote {path}", flush=True)
        last = log[-1]
        print(json.dumps({"out": str(out), "epoch": last["epoch"], "train_objective": last["train_objective"],
                          "test_error": last["test_error"]}))
        return 0

    def interrupted() -> str:
        if not has_checkpoint(out):
            return f"no epoch was completed, so there is nothing to resume in {out}"
        again = [a for a in (sys.argv[1:] if argv is None else argv) if a not in ("--overwrite", "--resume")]
        return (f"the last complete checkpoint in {out} is intact; continue it with: "
                f"{command_line(parser.prog, [*again, '--resume'])}")

    return run(parser.prog, train, interrupted)


if __name__ == "__main__":
    sys.exit(main())
