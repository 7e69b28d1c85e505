"""Fast paths, kept apart from the lesson: each twin of a readable NumPy function, held equal to it by a test.

The lesson's functions are NumPy written like their equations; a function here computes the
same thing faster (Numba loops, fused passes, blocks) and runs only where a caller chooses it,
in one visible place (a ``backend=`` argument). Each section names the readable function it
speeds up and the test that holds the two equal.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

# --- inference kernels ---
# The fast form of one step of the layer recursion M4 (refimpl.exact.layer_step), chosen by
# ``backend="numba"`` in refimpl.exact; tests/test_exact.py::test_m4_numba_step_equals_numpy_step
# holds the two equal.


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


# --- learning and evaluation kernels ---
