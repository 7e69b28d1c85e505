r"""Evaluation of a trained :class:`refimpl.coupled.CoupledPair` (tutorials 04 and 05).

Recognition: the test error, and the Monte Carlo class posterior :math:`q(y \mid x)` (M4) beside the mean pass (M6);
generation: :math:`\log p(x \mid y)` and :math:`\log p(x)` in nats per image, by importance sampling with the
recogniser as proposal; consistency: cycle accuracy. Hidden layers :math:`h = (h^1..h^{n-1})`, :math:`C = d_n`
classes; arithmetic in the pair's dtype, log-weights and log-sum-exp in float64.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validation as check
from . import kernels
from ._validation import boundary, check_test_error_args
from .numerics import logsumexp, softmax

BACKENDS = ("numba", "numpy")

__all__ = [
    "ImportanceResult",
    "mc_class_probs",
    "test_error",
    "importance_log_likelihood",
    "log_likelihood_curve",
    "cycle_accuracy",
]


# ------------------------------------------------------------ recognition
@boundary(pair=check.pair, x=check.images, n_samples=check.positive_int, rng=check.rng,
          batch_size=check.optional(check.positive_int), backend=check.choice(*BACKENDS))
def mc_class_probs(pair, x, n_samples: int, rng, batch_size=None, backend: str = "numba"):
    r"""Monte Carlo class posterior :math:`q(y \mid x)`, (N, C), from ``n_samples`` hidden samples per image.

    ``x`` (N, d_0) or (d_0,) binary; ``batch_size`` images per block (default about 8192 / S); ``backend`` "numba"
    (fused kernels) or "numpy", with the same result. The top layer is Rao-Blackwellised.

    Equation: M4

    .. math:: q(y \mid x) \approx \frac1S \sum_{s=1}^S \mathrm{softmax}(W^n h^{n-1}_s + b^n)_y,
        \qquad h_s \sim q(h^1..h^{n-1} \mid x)
    """
    S, rec, bs = n_samples, pair.recogniser, kernels.block_size(n_samples, batch_size)
    if backend == "numba":  # the fast form: fused kernels, the first layer's product once per image
        return kernels.mc_class_probs(pair, x, S, rng, bs)
    out = np.empty((x.shape[0], pair.n_classes))
    for i in range(0, x.shape[0], bs):
        xb = np.repeat(x[i : i + bs], S, axis=0)
        hidden = pair.sample_hidden(xb, rng)  # h_s ~ q(h | x)
        top = hidden[-1] if hidden else xb
        p = softmax(rec.logits(rec.n_layers, top).astype(np.float64))  # q(y | h^{n-1}_s), M2
        out[i : i + bs] = p.reshape(-1, S, pair.n_classes).mean(axis=1)
    return out


@boundary(check_test_error_args)
def test_error(probs, labels) -> float:
    r"""Fraction of images whose most probable class in ``probs`` (N, C) differs from ``labels`` (N,).

    .. math:: \frac1N \sum_i [\arg\max_y \mathrm{probs}_{iy} \ne \mathrm{labels}_i]

    Examples
    --------
    >>> test_error([[0.9, 0.1], [0.3, 0.7]], [0, 0])
    0.5
    """
    return float(np.mean(np.argmax(probs, axis=1) != labels))


test_error.__test__ = False  # not a pytest test despite its name


# -------------------------------------------------------------- generation
class ImportanceResult(NamedTuple):
    r"""Importance-sampled ``log_px_y`` (N, C), ``log_px`` (N,), nats per image, from ``n_samples`` = K samples."""

    log_px_y: np.ndarray
    log_px: np.ndarray
    n_samples: int


def _log_px_y(pair, x, K, rng):
    r"""One block: :math:`\log \frac1K \sum_k p(x, h_k \mid y) / q(h_k \mid x)` for every class, (B, C)."""
    B, C, xr = x.shape[0], pair.n_classes, np.repeat(x, K, axis=0)
    hidden = pair.sample_hidden(xr, rng)  # h_k ~ q(h | x)
    log_q = pair.recogniser.log_prob(xr, hidden, dtype=pair.dtype)
    log_p = np.stack([pair.generator.log_prob(pair.one_hot(np.full(B * K, y)), hidden[::-1] + [xr], dtype=pair.dtype)
                      for y in range(C)], axis=1)  # log p(x, h_k | y), (B K, C)
    log_w = (log_p - np.reshape(log_q, (-1, 1))).reshape(B, K, C)
    return logsumexp(log_w, axis=1) - np.log(K)


@boundary(pair=check.pair, x=check.images, K=check.positive_int, rng=check.rng,
          batch_size=check.optional(check.positive_int), backend=check.choice(*BACKENDS))
def importance_log_likelihood(
    pair, x, K: int, rng, batch_size=None, backend: str = "numba"
) -> ImportanceResult:
    r"""Importance-sampled :math:`\log p(x \mid y)` for every class and :math:`\log p(x)`, nats per image.

    ``x`` (N, d_0) or (d_0,) binary; ``K`` samples per image, shared by all classes; ``batch_size``, ``backend`` as
    :func:`mc_class_probs`. Returns an :class:`ImportanceResult`. In expectation a lower bound that rises with ``K``.

    .. math:: \log p(x \mid y) \approx \log \frac1K \sum_{k=1}^K \frac{p(x, h_k \mid y)}{q(h_k \mid x)},
        \quad h_k \sim q(h \mid x),\qquad \log p(x) = \log \sum_y p(y)\, p(x \mid y)

    Examples
    --------
    >>> from refimpl.coupled import CoupledPair
    >>> pair = CoupledPair((6, 4, 3), rng=np.random.default_rng(0), dtype=np.float64)
    >>> x = np.random.default_rng(1).integers(0, 2, (2, 6))
    >>> res = importance_log_likelihood(pair, x, K=10, rng=np.random.default_rng(2))
    >>> res.log_px_y.shape, res.log_px.shape
    ((2, 3), (2,))
    """
    bs = kernels.block_size(K, batch_size)
    if backend == "numba":  # the fast form: fused kernels, the class entering as a (K, C) table
        log_px_y = kernels.importance_log_px_y(pair, x, K, rng, bs)
    else:
        log_px_y = np.concatenate([_log_px_y(pair, x[i : i + bs], K, rng) for i in range(0, x.shape[0], bs)])
    log_px = logsumexp(log_px_y + pair.log_prior(), axis=1)  # log sum_y p(y) p(x | y)
    return ImportanceResult(log_px_y, log_px, K)


@boundary(pair=check.pair, x=check.images, rng=check.rng, Ks=check.sample_counts,
          labels=check.optional(check.labels("x")), batch_size=check.optional(check.positive_int),
          backend=check.choice(*BACKENDS))
def log_likelihood_curve(
    pair, x, rng, Ks=(1, 10, 100, 1000), labels=None, batch_size=None, backend: str = "numba"
) -> dict:
    r"""Mean importance-sampled log-likelihood for each of ``Ks`` (fresh samples each): how the bound rises with ``K``.

    Arguments as :func:`importance_log_likelihood`. Returns ``{"K": Ks, "log_px": ...}`` and, with ``labels`` (N,),
    ``"log_px_y"`` at the true labels; nats per image.
    """
    out = {"K": np.array(Ks), "log_px": np.empty(len(Ks))}
    if labels is not None:
        out["log_px_y"] = np.empty(len(Ks))
    for j, K in enumerate(Ks):
        res = importance_log_likelihood(pair, x, K, rng, batch_size=batch_size, backend=backend)
        out["log_px"][j] = res.log_px.mean()
        if labels is not None:
            out["log_px_y"][j] = res.log_px_y[np.arange(labels.size), labels].mean()
    return out


# ------------------------------------------------------------- consistency
class CycleResult(NamedTuple):
    """Cycle accuracy overall and per class (float64 array of shape (C,))."""

    accuracy: float
    per_class: np.ndarray


@boundary(pair=check.pair, n_per_class=check.positive_int, rng=check.rng)
def cycle_accuracy(pair, n_per_class: int, rng) -> CycleResult:
    r"""Fraction of generated images that the recogniser's mean pass assigns to their own class.

    ``n_per_class`` images per class are generated (M10) and classified by the mean pass (M6). Returns a
    :class:`CycleResult`: ``accuracy`` over all and ``per_class`` (C,).

    .. math:: \mathrm{acc}_y = \frac1M \sum_{m=1}^M \big[\arg\max_{y'} \tilde q(y' \mid x_m) = y\big],
        \qquad x_m \sim p(x \mid y)
    """
    C, M = pair.n_classes, n_per_class
    y = np.repeat(np.arange(C), M)
    _, x = pair.sample_generator(y, rng)
    pred = np.argmax(np.asarray(pair.recognise_mean(x)), axis=1)
    hit = (pred == y).reshape(C, M)
    return CycleResult(float(hit.mean()), hit.mean(axis=1))
