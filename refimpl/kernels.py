"""Fast paths, kept apart from the lesson: each twin of a readable NumPy function, held equal to it by a test."""

from __future__ import annotations

import numpy as np
from numba import njit

from .numerics import logsumexp, softmax, softplus

# --- learning and evaluation kernels ---
# The fast form of the importance-sampled log-likelihood (refimpl.evaluation.importance_log_likelihood)
# and of the Monte Carlo class posterior (refimpl.evaluation.mc_class_probs), chosen there by
# ``backend="numba"``: images in blocks, the first layer's product once per image, fused Numba
# kernels for "sample a Bernoulli layer and score it" and "score fixed targets", and the class
# entering as a (rows, C) table. tests/test_evaluation.py::test_is_backends_agree holds them equal
# to the NumPy forms.

#: rows (image x sample) processed per block; bounds memory to a few tens of MB
ROWS_PER_BLOCK = 8192


@njit(cache=True, fastmath=True)
def sample_layer(a, bias, u):  # pragma: no cover - compiled
    r"""Draw :math:`h = [u < \sigma(a + b)]` and return ``h`` and :math:`\log q(h)` per row.

    The twin of sampling a Bernoulli layer (:meth:`refimpl.sbn.SigmoidBeliefNet.sample`) and
    scoring it (:func:`refimpl.sbn.bernoulli_log_prob`). One fused pass per row, rows one after
    the other (run in parallel, the threads competed with the BLAS threads around it: 16 % slower
    on 2 cores). With :math:`e = e^{-|z|}`: :math:`\sigma(z) = 1/(1+e)` for :math:`z \ge 0` and
    :math:`e/(1+e)` else, so the draw is :math:`u (1 + e) < 1` or :math:`< e`; and
    :math:`\log q(h_i) = -\log(1+e) - |z|\,[h_i \ne (z \ge 0)]`. The sum of :math:`\log(1+e)` is
    the log of a product over blocks of 512 units (each factor in (1, 2]): one ``exp`` per unit,
    one ``log`` per block. Accumulated in float64.
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


@njit(cache=True, fastmath=True)
def target_log_prob(a, bias, t, group):  # pragma: no cover - compiled
    r"""Per row, :math:`\sum_i [t_i z_i - \mathrm{softplus}(z_i)]`, :math:`z = a + b`, against ``t[r // group]``.

    The twin of :func:`refimpl.sbn.bernoulli_log_prob` (``group`` rows, the ``K`` samples of one
    image, share one target row). Fused per row, serial, and summed as in :func:`sample_layer`:
    :math:`\log\sigma(s z) = -\log(1 + e^{-|z|}) - |z|\,[t \ne (z \ge 0)]`.
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


def block_size(n_samples: int, batch_size=None) -> int:
    """Images per block: ``batch_size`` if given, else about :data:`ROWS_PER_BLOCK` rows."""
    return max(1, ROWS_PER_BLOCK // n_samples) if batch_size is None else batch_size


def sample_hidden(rec, x, n_samples, rng):
    """h^1..h^{n-1} ~ q(h | x), ``n_samples`` per image (contiguous), and log q(h | x) of shape (B * S,)."""
    B, n = x.shape[0], rec.n_layers
    logq, hidden = np.zeros(B * n_samples), []
    if n == 1:
        return hidden, logq
    a = np.repeat(x @ rec.weights[0].T, n_samples, axis=0)  # W^1 x depends on the image only
    for k in range(1, n):
        u = rng.random(a.shape, dtype=rec.dtype)
        h, lq = sample_layer(a, rec.biases[k - 1], u)
        logq += lq
        hidden.append(h)
        if k < n - 1:
            a = h @ rec.weights[k].T
    return hidden, logq


def mc_class_probs(pair, x, S, rng, bs):
    """The fast form of :func:`refimpl.evaluation.mc_class_probs`: blocks of ``bs`` images."""
    rec, C = pair.recogniser, pair.n_classes
    out = np.empty((x.shape[0], C))
    for i in range(0, x.shape[0], bs):
        xb = x[i : i + bs]
        hidden, _ = sample_hidden(rec, xb, S, rng)
        top = hidden[-1] if hidden else np.repeat(xb, S, axis=0)
        p = softmax(rec.logits(rec.n_layers, top).astype(np.float64))
        out[i : i + bs] = p.reshape(xb.shape[0], S, C).mean(axis=1)
    return out


def log_weights(pair, gen_w, x, K, rng):
    r"""Log importance weights :math:`\log p(x, h_k \mid y) - \log q(h_k \mid x)`, shape (B, K, C), float64.

    ``gen_w`` are the generator's weights as C-contiguous arrays. The class enters only through
    the top generator layer, so the rest of :math:`\log p(x, h \mid y)` and :math:`\log q(h \mid x)`
    are computed once per sample and the class term is added as a (B K, C) table.
    """
    gen_b, B = pair.generator.biases, x.shape[0]
    hidden, logq = sample_hidden(pair.recogniser, x, K, rng)
    states = hidden[::-1]  # generator order h^{n-1}, ..., h^1
    rest = np.zeros(B * K)  # log p(x, h^1..h^{n-2} | h^{n-1}): the generator layers below the top one
    for j, upper in enumerate(states, start=1):
        a = upper @ gen_w[j].T
        rest += target_log_prob(a, gen_b[j], states[j], 1) if j < len(states) else target_log_prob(a, gen_b[j], x, K)
    top = states[0] if states else np.repeat(x, K, axis=0)
    logits_y = (gen_w[0].T + gen_b[0]).astype(np.float64)  # (C, d_top): row y = logits given y
    class_term = (top @ logits_y.T.astype(pair.dtype)).astype(np.float64)
    class_term -= softplus(logits_y).sum(axis=1)
    class_term += (rest - logq)[:, None]
    return class_term.reshape(B, K, -1)


def importance_log_px_y(pair, x, K, rng, bs):
    """The fast form of :func:`refimpl.evaluation.importance_log_likelihood`'s :math:`\\log p(x \\mid y)`, (N, C)."""
    gen_w = [np.ascontiguousarray(w) for w in pair.generator.weights]  # transposed views -> BLAS-friendly copies
    out = np.empty((x.shape[0], pair.n_classes))
    for i in range(0, x.shape[0], bs):
        out[i : i + bs] = logsumexp(log_weights(pair, gen_w, x[i : i + bs], K, rng), axis=1) - np.log(K)
    return out
