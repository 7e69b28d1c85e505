"""Fast paths, kept apart from the lesson: each twin of a readable NumPy function, held equal to it by a test.

The lesson's functions are NumPy written like their equations; a function here computes the
same thing faster (Numba loops, fused passes, blocks) and runs only where a caller chooses it,
in one visible place (a ``backend=`` argument). Each section names the readable function it
speeds up and the test that holds the two equal.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from .numerics import logsumexp, sigmoid, softmax, softplus
from .sbn import binary_states

# --- inference kernels ---
# The fast forms of the two steps of the layer recursion M4 (refimpl.exact.layer_step and
# refimpl.exact.output_step), chosen by ``backend="numba"`` in refimpl.exact;
# tests/test_exact.py::test_m4_numba_step_equals_numpy_step and
# ::test_m4_output_step_blocks_equal_output_step hold them equal.


@njit(cache=True, parallel=True)
def layer_step(p_prev, weight, bias, n_blocks):  # pragma: no cover - compiled
    r"""Numba twin of :func:`refimpl.exact.layer_step`; same arguments, same result.

    One extra argument, ``n_blocks``: the states ``s`` are split into that many
    blocks, run in parallel (``prange``), each with its own accumulator; pass
    ``numba.get_num_threads()``.

    What differs: the transition table is never stored. For each state ``s``
    of layer ``k`` the next layer's units are split into a low half (bits
    ``0..h-1`` of ``t``) and a high half, and since the units are independent
    given ``s``,

    .. math:: q(t \mid s) = q(t_{lo} \mid s)\, q(t_{hi} \mid s),

    two small tables of :math:`2^{h}` and :math:`2^{d_{k+1}-h}` products of
    :math:`\sigma(\pm a_j)`, built by doubling. The accumulation
    ``out[t_hi, t_lo] += p(s) q(t_hi|s) q(t_lo|s)`` is then one multiply-add
    per (s, t): no ``exp`` and no ``log`` in the inner loop. All factors are
    non-negative probabilities with full relative precision (``sigma(-a)`` is
    computed as such, never as ``1 - sigma(a)``), so nothing cancels,
    overflows or loses precision at extreme weights.
    """
    B, n_prev = p_prev.shape
    d_next, d_prev = weight.shape
    lo = d_next // 2
    hi = d_next - lo
    n_lo = 1 << lo
    n_hi = 1 << hi
    n_blocks = max(1, min(n_blocks, n_prev))
    acc = np.zeros((n_blocks, B, n_hi, n_lo))
    for c in prange(n_blocks):
        a = np.empty(d_next)
        f_lo = np.empty(n_lo)
        f_hi = np.empty(n_hi)
        for s in range(c * n_prev // n_blocks, (c + 1) * n_prev // n_blocks):
            any_mass = False
            for b in range(B):
                if p_prev[b, s] != 0.0:
                    any_mass = True
            if not any_mass:
                continue
            for j in range(d_next):  # a(s) = W s + b
                v = bias[j]
                for i in range(d_prev):
                    if (s >> i) & 1:
                        v += weight[j, i]
                a[j] = v
            f_lo[0] = 1.0
            for j in range(lo):
                _double(f_lo, 1 << j, a[j])
            f_hi[0] = 1.0
            for j in range(hi):
                _double(f_hi, 1 << j, a[lo + j])
            for b in range(B):
                ps = p_prev[b, s]
                if ps == 0.0:
                    continue
                for th in range(n_hi):
                    w = ps * f_hi[th]
                    row = acc[c, b, th]
                    for tl in range(n_lo):
                        row[tl] += w * f_lo[tl]
    out = np.zeros((B, n_hi * n_lo))
    for c in range(n_blocks):
        out += acc[c].reshape(B, n_hi * n_lo)
    return out


@njit(cache=True, inline="always")
def _double(f, size, a):  # pragma: no cover - compiled
    """Append one Bernoulli unit with logit ``a`` to the product table ``f[:size]`` -> ``f[:2*size]``."""
    if a >= 0.0:
        e = np.exp(-a)
        on, off = 1.0 / (1.0 + e), e / (1.0 + e)
    else:
        e = np.exp(a)
        on, off = e / (1.0 + e), 1.0 / (1.0 + e)
    for t in range(size):
        f[t + size] = f[t] * on
        f[t] = f[t] * off


def layer_step_threads(p_prev, weight, bias):
    """:func:`layer_step` with one block of states per Numba thread: what ``backend="numba"`` runs."""
    return layer_step(p_prev, weight, bias, get_num_threads())


#: entries per temporary block of :func:`output_step_blocks` (8 MiB of float64)
OUTPUT_BLOCK = 1 << 20


def output_step_blocks(p_prev, weight, bias, categorical, block=OUTPUT_BLOCK):
    """:func:`refimpl.exact.output_step` over blocks of the states ``s``, so that no temporary holds more than
    about ``block`` entries: what ``backend="numba"`` runs for the last layer. Held equal to it by
    tests/test_exact.py::test_m4_output_step_blocks_equal_output_step."""
    d_prev = weight.shape[1]
    rows = max(1, block // max(weight.shape[0], d_prev))
    out = np.zeros((p_prev.shape[0], weight.shape[0]))
    for start in range(0, 2**d_prev, rows):
        stop = min(start + rows, 2**d_prev)
        a = binary_states(d_prev, start, stop) @ weight.T + bias
        out += p_prev[:, start:stop] @ (softmax(a) if categorical else sigmoid(a))
    return out


def moments_in_blocks(moments, net, x, n_samples, rng, rao_blackwell, block):
    """:func:`refimpl.montecarlo.sample_moments` of ``n_samples`` drawn in blocks of at most ``block`` samples
    (``moments`` is that function), combined block by block by Chan et al.'s parallel update, which avoids the
    cancellation of :math:`\\sum v^2 - S \\bar v^2`. Held equal to one pass over the same values by
    tests/test_montecarlo.py::test_m4_moments_in_blocks_equal_one_pass."""
    total, out = 0, None
    while total < n_samples:
        m = min(block, n_samples - total)
        chunk = moments(net, x, m, rng, rao_blackwell)
        if out is None:
            out = chunk
        else:
            n = total + m
            out = [(mean + (c_mean - mean) * (m / n), m2 + c_m2 + (c_mean - mean) ** 2 * (total * m / n))
                   for (mean, m2), (c_mean, c_m2) in zip(out, chunk, strict=True)]
        total += m
    return out


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
