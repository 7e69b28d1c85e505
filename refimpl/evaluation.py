r"""Evaluation of a trained recogniser-generator pair (method section 5).

Three measurements of a :class:`refimpl.coupled.CoupledPair`:

- recognition: the test error of a class-probability table, and the Monte
  Carlo estimate of the model's :math:`q(y \mid x)` (M4) with ``S`` ancestral
  samples through the recogniser, to set beside the deterministic pass (M6);
- generation: :math:`\log p(x \mid y)` for every class and
  :math:`\log p(x) = \log \sum_y p(y)\, p(x \mid y)` in nats per image, by
  importance sampling with the recogniser as proposal;
- consistency: cycle accuracy, the fraction of generated images
  :math:`x \sim p(x \mid y)` (M10) that the recogniser's mean pass assigns to ``y``.

Conventions: a pair with sizes :math:`(d_0, \dots, d_n)` has hidden layers
:math:`h = (h^1, \dots, h^{n-1})` and a categorical top layer of
:math:`C = d_n` classes. The recogniser's weights are ``weights[k-1]`` =
:math:`W^k` of shape ``(d_k, d_{k-1})``; the generator is the sigmoid belief
net whose input is the one-hot label and whose layers run
:math:`h^{n-1}, \dots, h^1, x` (M9). Arithmetic runs in the pair's dtype
(float32 for MNIST-sized pairs); per-sample log-weights are accumulated and
log-sum-exp'ed in float64.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ._validation import (
    as_batch,
    as_float_array,
    check_choice,
    check_instance,
    check_labels,
    check_positive_int,
    check_rng,
)
from .coupled import CoupledPair
from .numerics import logsumexp, sigmoid, softmax, softplus
from .sbn import bernoulli_log_prob

BACKENDS = ("numba", "numpy")

__all__ = [
    "ImportanceResult",
    "mc_class_probs",
    "test_error",
    "importance_log_likelihood",
    "log_likelihood_curve",
    "cycle_accuracy",
]

#: rows (image x sample) processed per block; bounds memory to a few tens of MB
_ROWS_PER_BLOCK = 8192


# ---------------------------------------------------------------- helpers
def _check_x(x, pair, name: str = "x") -> np.ndarray:
    """Binary images of shape (N, d_0) (or one of shape (d_0,)) in the pair's dtype."""
    return as_batch(x, name, pair.sizes[0], dtype=pair.dtype)[0]


# -------------------------------------------------- kernels: NumPy, then Numba
def _sample_layer_numpy(a, bias, u):
    r"""Draw :math:`h_i = [u_i < \sigma(a_i + b_i)]` and return ``h`` and :math:`\log q(h)` per row.

    Parameters
    ----------
    a : ndarray of shape (R, d)
        Logits without the bias, :math:`W u`.
    bias : ndarray of shape (d,)
    u : ndarray of shape (R, d)
        Uniform draws in [0, 1) from the caller's ``rng``.

    Returns
    -------
    h : ndarray of shape (R, d), dtype of ``a``
    logq : ndarray of shape (R,), float64
        :math:`\sum_i [h_i z_i - \mathrm{softplus}(z_i)]`, :math:`z = a + b` (M1).
    """
    z = a + bias
    h = (u < sigmoid(z)).astype(a.dtype)
    return h, bernoulli_log_prob(h, z)


@njit(cache=True, fastmath=True)
def _sample_layer_numba(a, bias, u):  # pragma: no cover - compiled
    r"""Numba twin of `_sample_layer_numpy`; same arguments, same result.

    One fused pass per row, rows one after the other: run in parallel, the
    kernel's threads competed with the BLAS threads that spin between the
    matrix products around it, and the whole estimate took 16 % longer
    (measured on 2 cores). With :math:`e = e^{-|z|}`:
    :math:`\sigma(z) = 1/(1+e)` for :math:`z \ge 0` and :math:`e/(1+e)` else, so
    the draw is :math:`u (1 + e) < 1` or :math:`< e`; and
    :math:`\log q(h_i) = -\log(1+e) - |z|\,[h_i \ne (z \ge 0)]`. The sum of
    :math:`\log(1+e)` is taken as the log of a product over blocks of 512
    units (each factor lies in (1, 2], so no overflow): one ``exp`` per unit
    and one ``log`` per block. Accumulated in float64.
    """
    R, d = a.shape
    h = np.empty_like(a)
    logq = np.empty(R)
    for r in range(R):
        acc = 0.0
        prod = 1.0
        for i in range(d):
            z = a[r, i] + bias[i]
            az = abs(z)
            e = np.exp(-az)
            ope = 1.0 + e
            prod *= ope
            if (i & 511) == 511:
                acc -= np.log(prod)
                prod = 1.0
            pos = z >= 0
            on = u[r, i] * ope < (1.0 if pos else e)
            h[r, i] = 1.0 if on else 0.0
            if on != pos:
                acc -= az
        logq[r] = acc - np.log(prod)
    return h, logq


def _target_log_prob_numpy(a, bias, t, group):
    r"""Bernoulli log-probability of fixed binary targets, per row: :math:`\sum_i [t_i z_i - \mathrm{softplus}(z_i)]`.

    Parameters
    ----------
    a : ndarray of shape (R, d)
        Logits without the bias.
    bias : ndarray of shape (d,)
    t : ndarray of shape (R // group, d)
        Targets; row ``r`` of ``a`` is scored against ``t[r // group]``.
    group : int
        Rows of ``a`` sharing one target row (``K`` samples of one image).

    Returns
    -------
    ndarray of shape (R,), float64
    """
    R, d = a.shape
    z = (a + bias).reshape(R // group, group, d)
    return bernoulli_log_prob(t[:, None, :], z).reshape(R)


@njit(cache=True, fastmath=True)
def _target_log_prob_numba(a, bias, t, group):  # pragma: no cover - compiled
    r"""Numba twin of `_target_log_prob_numpy`; same arguments, same result.

    Fused per row, serial for the reason given in `_sample_layer_numba`:
    :math:`\log\sigma(s z) = -\log(1 + e^{-|z|}) - |z|\,[t \ne (z \ge 0)]` with :math:`s = 2t - 1`;
    the :math:`\log(1 + e^{-|z|})` terms are summed as the log of a product over blocks of 512 units,
    as in `_sample_layer_numba`.
    """
    R, d = a.shape
    out = np.empty(R)
    for r in range(R):
        tr = r // group
        acc = 0.0
        prod = 1.0
        for i in range(d):
            z = a[r, i] + bias[i]
            az = abs(z)
            prod *= 1.0 + np.exp(-az)
            if (i & 511) == 511:
                acc -= np.log(prod)
                prod = 1.0
            if (t[tr, i] != 0) != (z >= 0):
                acc -= az
        out[r] = acc - np.log(prod)
    return out


_KERNELS = {
    "numpy": (_sample_layer_numpy, _target_log_prob_numpy),
    "numba": (_sample_layer_numba, _target_log_prob_numba),
}


def _sample_hidden_block(rec, x, n_samples, rng, backend):
    """Sample h^1..h^{n-1} ~ q(h | x), ``n_samples`` per image, through the recogniser ``rec``.

    Returns the list of hidden states, each of shape (B * S, d_k) with the
    samples of one image contiguous, and log q(h | x) of shape (B * S,), float64.
    """
    sample = _KERNELS[backend][0]
    B, n = x.shape[0], rec.n_layers
    logq = np.zeros(B * n_samples)
    hidden = []
    if n == 1:
        return hidden, logq
    # layer 1: W^1 x depends on the image only, so multiply once per image
    a = np.repeat(x @ rec.weights[0].T, n_samples, axis=0)
    for k in range(1, n):
        u = rng.random(a.shape, dtype=rec.dtype)
        h, lq = sample(a, rec.biases[k - 1], u)
        logq += lq
        hidden.append(h)
        if k < n - 1:
            a = h @ rec.weights[k].T
    return hidden, logq


def _block_size(n_samples: int, batch_size) -> int:
    if batch_size is None:
        return max(1, _ROWS_PER_BLOCK // n_samples)
    return check_positive_int(batch_size, "batch_size")


# ------------------------------------------------------------ recognition
def mc_class_probs(pair, x, n_samples: int, rng, batch_size=None, backend: str = "numba"):
    r"""Monte Carlo estimate of the model's class posterior :math:`q(y \mid x)`.

    Parameters
    ----------
    pair : refimpl.coupled.CoupledPair
    x : array_like of shape (N, d_0) or (d_0,)
        Binary images.
    n_samples : int
        Number ``S`` of ancestral samples of the hidden layers per image.
    rng : numpy.random.Generator
    batch_size : int, optional
        Images per block (default: about 8192 / S), to bound memory.
    backend : {"numba", "numpy"}, default "numba"
        Fused Numba kernels or their NumPy twins (same result).

    Returns
    -------
    ndarray of shape (N, C)
        Estimated :math:`q(y \mid x)`, float64; rows sum to one.

    Raises
    ------
    ValueError, TypeError
        For non-binary or badly shaped ``x``, ``n_samples`` < 1, a ``rng``
        that is not a ``numpy.random.Generator``, or an object that is not a pair.

    Notes
    -----
    Equation: M4

    .. math::
        q(y \mid x) \approx \frac1S \sum_{s=1}^S \mathrm{softmax}(W^n h^{n-1}_s + b^n)_y,
        \qquad h_s \sim q(h^1..h^{n-1} \mid x)

    The hidden layers :math:`h^1..h^{n-1}` are drawn ancestrally through the
    recogniser (M1); the top layer is Rao-Blackwellised: instead of drawing
    :math:`y` we average its exact conditional (M2) over the drawn
    :math:`h^{n-1}`, which is unbiased with lower variance. Its error falls as
    :math:`1/\sqrt{S}`. With no hidden layer the result is exact.

    See Also
    --------
    refimpl.coupled.CoupledPair.recognise_mean : the deterministic pass (M6) it is compared with.
    test_error : the error of ``argmax`` of these probabilities.
    """
    rec = check_instance(pair, CoupledPair, "pair").recogniser
    S = check_positive_int(n_samples, "n_samples")
    rng = check_rng(rng)
    backend = check_choice(backend, "backend", BACKENDS)
    x = _check_x(x, pair)
    N, C = x.shape[0], rec.sizes[-1]
    bs = _block_size(S, batch_size)
    out = np.empty((N, C))
    for i in range(0, N, bs):
        xb = x[i : i + bs]
        hidden, _ = _sample_hidden_block(rec, xb, S, rng, backend)
        top = hidden[-1] if hidden else np.repeat(xb, S, axis=0)
        p = softmax(rec.logits(rec.n_layers, top).astype(np.float64))
        out[i : i + bs] = p.reshape(xb.shape[0], S, C).mean(axis=1)
    return out


def test_error(probs, labels) -> float:
    r"""Fraction of images whose most probable class differs from the label.

    Parameters
    ----------
    probs : array_like of shape (N, C)
        Class probabilities (or any scores) per image.
    labels : array_like of shape (N,)
        Integer labels in ``[0, C)``.

    Returns
    -------
    float
        :math:`\frac1N \sum_i [\arg\max_y \mathrm{probs}_{iy} \ne \mathrm{labels}_i]`.

    Raises
    ------
    ValueError
        If the shapes disagree or a label is out of range.

    Examples
    --------
    >>> test_error([[0.9, 0.1], [0.3, 0.7]], [0, 0])
    0.5
    """
    probs = as_float_array(probs, "probs")
    if probs.ndim != 2:
        raise ValueError(f"probs must have shape (N, C); got shape {probs.shape}.")
    labels = check_labels(labels, probs.shape[1], "labels", batch=probs.shape[0], against="probs")
    return float(np.mean(np.argmax(probs, axis=1) != labels))


test_error.__test__ = False  # not a pytest test despite its name


# -------------------------------------------------------------- generation
class ImportanceResult(NamedTuple):
    r"""Importance-sampled log-likelihoods, nats per image.

    Attributes
    ----------
    log_px_y : ndarray of shape (N, C)
        :math:`\log p(x \mid y)` for every image and class.
    log_px : ndarray of shape (N,)
        :math:`\log p(x) = \log \sum_y p(y)\, p(x \mid y)`.
    n_samples : int
        The number ``K`` of importance samples per image.
    """

    log_px_y: np.ndarray
    log_px: np.ndarray
    n_samples: int


def _log_weights_block(pair, gen_w, x, K: int, rng, backend):
    r"""Log importance weights :math:`\log p(x, h_k \mid y) - \log q(h_k \mid x)`, shape (B, K, C), float64.

    ``gen_w`` are the generator's weights as C-contiguous arrays. The class enters
    only through the top generator layer, so the rest of :math:`\log p(x, h \mid y)`
    and :math:`\log q(h \mid x)` are computed once per sample and the class term is
    added as a (B K, C) table.
    """
    target = _KERNELS[backend][1]
    gen_b, B = pair.generator.biases, x.shape[0]
    hidden, logq = _sample_hidden_block(pair.recogniser, x, K, rng, backend)
    states = hidden[::-1]  # generator order h^{n-1}, ..., h^1
    # log p(x, h^1..h^{n-2} | h^{n-1}): the generator layers below the top one
    rest = np.zeros(B * K)
    for j, upper in enumerate(states, start=1):
        a = upper @ gen_w[j].T
        if j < len(states):
            rest += target(a, gen_b[j], states[j], 1)
        else:  # the image: one target row shared by its K samples
            rest += target(a, gen_b[j], x, K)
    # the class-dependent term log p(top | y) for every class at once
    top = states[0] if states else np.repeat(x, K, axis=0)
    logits_y = (gen_w[0].T + gen_b[0]).astype(np.float64)  # (C, d_top): row y = logits given y
    class_term = (top @ logits_y.T.astype(pair.dtype)).astype(np.float64)
    class_term -= softplus(logits_y).sum(axis=1)
    class_term += (rest - logq)[:, None]
    return class_term.reshape(B, K, -1)


def importance_log_likelihood(
    pair, x, K: int, rng, batch_size=None, backend: str = "numba"
) -> ImportanceResult:
    r"""Importance-sampled :math:`\log p(x \mid y)` for every class and :math:`\log p(x)`, nats per image.

    Parameters
    ----------
    pair : refimpl.coupled.CoupledPair
    x : array_like of shape (N, d_0) or (d_0,)
        Binary images.
    K : int
        Importance samples per image (shared by all classes).
    rng : numpy.random.Generator
    batch_size : int, optional
        Images per block (default: about 8192 / K), to bound memory.
    backend : {"numba", "numpy"}, default "numba"
        Fused Numba kernels or their NumPy twins (same result).

    Returns
    -------
    ImportanceResult
        ``log_px_y`` of shape (N, C), ``log_px`` of shape (N,), and ``n_samples`` = K.

    Raises
    ------
    ValueError, TypeError
        For non-binary or badly shaped ``x``, ``K`` < 1, a ``rng`` that is not a
        ``numpy.random.Generator``, or an object that is not a pair.

    Notes
    -----
    .. math::
        \log p(x \mid y) \approx \log \frac1K \sum_{k=1}^K
            \frac{p(x, h_k \mid y)}{q(h_k \mid x)}, \qquad h_k \sim q(h \mid x),
        \qquad \log p(x) = \log \sum_y p(y)\, p(x \mid y)

    The proposal is the recogniser's distribution of the hidden layers
    :math:`h = (h^1..h^{n-1})` given the image, the label excluded; the same
    ``K`` samples serve every class. Only the top generator term
    :math:`\log p(h^{n-1} \mid y)` depends on the class, so
    :math:`\log p(x, h^1..h^{n-2} \mid h^{n-1})` and :math:`\log q(h \mid x)`
    are computed once per sample and the class term is added as a ``(K, C)``
    table.

    The estimate is stochastic. By Jensen's inequality its expectation is a
    lower bound on the true log-likelihood that rises with ``K`` and reaches it
    as :math:`K \to \infty`; always report ``K``. Matrix products run in the
    pair's dtype; the per-sample log-weights and the log-sum-exp are float64.

    See Also
    --------
    log_likelihood_curve : the estimate as a function of ``K``.

    Examples
    --------
    >>> from refimpl.coupled import CoupledPair
    >>> pair = CoupledPair((6, 4, 3), rng=np.random.default_rng(0), dtype=np.float64)
    >>> x = np.random.default_rng(1).integers(0, 2, (2, 6))
    >>> res = importance_log_likelihood(pair, x, K=10, rng=np.random.default_rng(2))
    >>> res.log_px_y.shape, res.log_px.shape
    ((2, 3), (2,))
    """
    pair = check_instance(pair, CoupledPair, "pair")
    K = check_positive_int(K, "K")
    rng = check_rng(rng)
    backend = check_choice(backend, "backend", BACKENDS)
    x = _check_x(x, pair)
    N, C = x.shape[0], pair.n_classes
    bs = _block_size(K, batch_size)
    gen_w = [np.ascontiguousarray(w) for w in pair.generator.weights]  # transposed views -> BLAS-friendly copies
    log_px_y = np.empty((N, C))
    for i in range(0, N, bs):
        logw = _log_weights_block(pair, gen_w, x[i : i + bs], K, rng, backend)
        log_px_y[i : i + bs] = logsumexp(logw, axis=1) - np.log(K)
    log_px = logsumexp(log_px_y + pair.log_prior(), axis=1)
    return ImportanceResult(log_px_y, log_px, K)


def log_likelihood_curve(
    pair, x, rng, Ks=(1, 10, 100, 1000), labels=None, batch_size=None, backend: str = "numba"
) -> dict:
    r"""Mean importance-sampled log-likelihood for several ``K``: how the bound rises with ``K``.

    Parameters
    ----------
    pair : refimpl.coupled.CoupledPair
    x : array_like of shape (N, d_0)
        Binary images (a subset of the test set: the cost grows with ``sum(Ks)``).
    rng : numpy.random.Generator
    Ks : sequence of int, default (1, 10, 100, 1000)
    labels : array_like of shape (N,), optional
        If given, also the mean :math:`\log p(x \mid y)` at the true labels.
    batch_size : int, optional
    backend : {"numba", "numpy"}, default "numba"

    Returns
    -------
    dict
        ``{"K": array of Ks, "log_px": mean log p(x) per K}`` and, with
        labels, ``"log_px_y": mean log p(x | label) per K``; nats per image.

    Notes
    -----
    Each ``K`` uses fresh, independent samples drawn from ``rng``.

    See Also
    --------
    importance_log_likelihood : one point of the curve.
    """
    rng = check_rng(rng)
    Ks = [check_positive_int(k, f"Ks[{i}]") for i, k in enumerate(Ks)]
    if not Ks:
        raise ValueError("Ks must list at least one number of samples; got an empty sequence.")
    out = {"K": np.array(Ks), "log_px": np.empty(len(Ks))}
    if labels is not None:  # checked before any sampling
        x = _check_x(x, check_instance(pair, CoupledPair, "pair"))
        labels = check_labels(labels, pair.n_classes, "labels", batch=x.shape[0], against="x")
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


def cycle_accuracy(pair, n_per_class: int, rng) -> CycleResult:
    r"""Fraction of generated images that the recogniser's mean pass assigns to their own class.

    Parameters
    ----------
    pair : refimpl.coupled.CoupledPair
    n_per_class : int
        Images generated per class.
    rng : numpy.random.Generator

    Returns
    -------
    CycleResult
        ``accuracy`` (float) over all ``C * n_per_class`` images and
        ``per_class`` of shape (C,).

    Raises
    ------
    ValueError, TypeError
        For ``n_per_class`` < 1, a ``rng`` that is not a ``numpy.random.Generator``,
        or an object that is not a pair.

    Notes
    -----
    .. math::
        \mathrm{acc}_y = \frac1M \sum_{m=1}^M \big[\arg\max_{y'} \tilde q(y' \mid x_m) = y\big],
        \qquad x_m \sim p(x \mid y)

    Images are drawn ancestrally from the generator (M10) for the labels
    ``0, ..., 0, 1, ..., C-1`` (``n_per_class`` each, in that order) and
    classified by the deterministic mean pass (M6). A pair whose two
    directions agree with one joint distribution (M11) scores high.

    See Also
    --------
    refimpl.coupled.CoupledPair.sample_generator, refimpl.coupled.CoupledPair.recognise_mean
    """
    pair = check_instance(pair, CoupledPair, "pair")
    M = check_positive_int(n_per_class, "n_per_class")
    rng = check_rng(rng)
    C = pair.n_classes
    y = np.repeat(np.arange(C), M)
    _, x = pair.sample_generator(y, rng)
    pred = np.argmax(np.asarray(pair.recognise_mean(x)), axis=1)
    hit = (pred == y).reshape(C, M)
    return CycleResult(float(hit.mean()), hit.mean(axis=1))
