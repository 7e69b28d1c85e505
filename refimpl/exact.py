r"""Exact inference in a sigmoid belief network: brute force and the layer recursion (M4, tutorial 01).

:func:`brute_force_marginals` enumerates every joint configuration (tiny networks only);
:func:`exact_marginals` and :func:`layer_state_distributions` run the recursion over whole-layer states, at cost
:math:`\sum_k 2^{d_k + d_{k+1}}` instead of :math:`2^{\sum_k d_k}`. State ``s`` of a layer is the binary number
:math:`s = \sum_i x_i 2^i` (class ``c`` at a categorical top). ``backend="numpy"`` runs the steps written
here, :func:`layer_step` and :func:`output_step`, which form whole tables (up to :data:`MAX_NUMPY_PAIR_BITS`);
``backend="numba"`` (the default) runs their fast forms of :mod:`refimpl.kernels`, which never store a whole table.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from ._validation import (
    MAX_BRUTE_FORCE_BITS,
    MAX_LAYER_BITS,
    MAX_NUMPY_PAIR_BITS,
    MAX_PAIR_BITS,
    check_brute_force_args,
    check_exact_args,
)
from .numerics import log_sigmoid, sigmoid, softmax
from .sbn import SigmoidBeliefNet, binary_states, one_hot  # noqa: F401 (SigmoidBeliefNet: the examples)

__all__ = [
    "MAX_BRUTE_FORCE_BITS",
    "MAX_LAYER_BITS",
    "MAX_NUMPY_PAIR_BITS",
    "MAX_PAIR_BITS",
    "brute_force_marginals",
    "exact_marginals",
    "layer_state_distributions",
]


# --------------------------------------------------------------------------- helpers
def _product_distribution(logits: np.ndarray) -> np.ndarray:
    r"""Distribution (B, 2**d) over the states of ``d`` independent Bernoulli units with ``logits`` (B, d)."""
    on, off = sigmoid(logits), sigmoid(-logits)  # sigma(-a), not 1 - sigma(a): exact for tiny probabilities
    p = np.ones((logits.shape[0], 1))
    for j in range(logits.shape[1]):
        p = np.concatenate([p * off[:, j : j + 1], p * on[:, j : j + 1]], axis=1)
    return p


def _unit_marginals(p: np.ndarray, d: int) -> np.ndarray:
    r"""Per-unit marginals :math:`q(x_i = 1) = \sum_{s:\ \text{bit } i \text{ of } s = 1} p(s)`; (B, 2**d) -> (B, d)."""
    B = p.shape[0]
    return np.stack([p.reshape(B, 2 ** (d - 1 - i), 2, 2**i)[:, :, 1, :].sum(axis=(1, 2)) for i in range(d)], axis=1)


# --------------------------------------------------------------------------- one step of the recursion
def layer_step(p_prev, weight, bias):
    r"""One step of the layer recursion: ``p_prev`` (B, 2**d_k) to :math:`q(x^{k+1} \mid x^0)`, (B, 2**d_{k+1}).

    ``weight`` (d_{k+1}, d_k), ``bias`` (d_{k+1},); :math:`\log q(t \mid s)` is a sum of log-sigmoids.

    Equation: M4

    .. math:: q(x^{k+1} \mid x^0) = \sum_{x^k} q(x^k \mid x^0)\, q(x^{k+1} \mid x^k)
    """
    d_next, d_prev = weight.shape
    s, t = binary_states(d_prev), binary_states(d_next)  # unit i of state s is bit i of s
    a = s @ weight.T + bias  # logits a(s), (2**d_k, d_{k+1})
    log_q = log_sigmoid(a) @ t.T + log_sigmoid(-a) @ (1.0 - t).T  # log q(t | s), (2**d_k, 2**d_{k+1})
    return p_prev @ np.exp(log_q)


def output_step(p_prev, weight, bias, categorical):
    r"""The last layer's marginals :math:`\sum_s p(s)\,\sigma(W s + b)` (softmax if ``categorical``), no table."""
    a = binary_states(weight.shape[1]) @ weight.T + bias  # logits a(s), (2**d_k, d_{k+1})
    return p_prev @ (softmax(a) if categorical else sigmoid(a))


#: The one place a backend is chosen: the steps written above, or their fast forms.
_STEPS = {"numpy": (layer_step, output_step), "numba": (kernels.layer_step_threads, kernels.output_step_blocks)}


# --------------------------------------------------------------------------- public functions
def layer_state_distributions(net, x0, backend: str = "numba"):
    r"""Exact distribution over every layer's states given the input, by the layer recursion (M4).

    ``x0`` (d_0,) or (B, d_0) binary; ``backend`` "numba" or "numpy" (:func:`layer_step`). Returns
    :math:`q(x^k \mid x^0)` of shape (2**d_k,) or (B, 2**d_k), ``k = 1..n`` (C states at a categorical top).

    Equation: M4

    .. math:: q(x^{k+1} \mid x^0) = \sum_{x^k} q(x^k \mid x^0)\, q(x^{k+1} \mid x^k)
    """
    x, single, weights, biases, backend = check_exact_args(net, x0, backend, include_output=True)
    step, last_step = _STEPS[backend]
    a1 = x @ weights[0].T + biases[0]
    dists = [softmax(a1) if net.is_categorical(1) else _product_distribution(a1)]
    for k in range(1, net.n_layers):
        if net.is_categorical(k + 1):
            dists.append(last_step(dists[-1], weights[k], biases[k], categorical=True))
        else:
            dists.append(step(dists[-1], weights[k], biases[k]))
    return [d[0] for d in dists] if single else dists


def exact_marginals(net, x0, backend: str = "numba"):
    r"""Exact per-unit marginals :math:`q(x^k_i = 1 \mid x^0)` of every layer, by the layer recursion (M4).

    Arguments as :func:`layer_state_distributions`. Returns ``mu[k - 1]`` (d_k,) or (B, d_k); class probabilities
    at a categorical top.

    Equation: M4

    .. math:: q(x^k_i = 1 \mid x^0) = \sum_{x^k:\ x^k_i = 1} q(x^k \mid x^0)

    Examples
    --------
    >>> net = SigmoidBeliefNet([np.zeros((2, 1)), np.full((1, 2), 2.0)], [np.zeros(2), np.zeros(1)])
    >>> [m.round(4).tolist() for m in exact_marginals(net, [1.0])]  # (s(0) + 2 s(2) + s(4)) / 4
    [[0.5, 0.5], [0.8109]]
    """
    x, single, weights, biases, backend = check_exact_args(net, x0, backend, include_output=False)
    (step, last_step), n = _STEPS[backend], net.n_layers
    a1 = x @ weights[0].T + biases[0]
    if n == 1:
        marg = [softmax(a1) if net.is_categorical(1) else sigmoid(a1)]
    else:
        p = _product_distribution(a1)
        marg = [sigmoid(a1)]  # layer 1 is exact: x^0 is observed
        for k in range(1, n - 1):
            p = step(p, weights[k], biases[k])
            marg.append(_unit_marginals(p, net.sizes[k + 1]))
        marg.append(last_step(p, weights[n - 1], biases[n - 1], net.is_categorical(n)))
    return [m[0] for m in marg] if single else marg


def brute_force_marginals(net, x0):
    r"""Per-unit marginals of every layer by enumerating all joint configurations: the definition of M4.

    Returns what :func:`exact_marginals` returns; at most ``2**MAX_BRUTE_FORCE_BITS`` configurations.

    Equation: M4

    .. math:: q(x^n \mid x^0) = \sum_{x^1..x^{n-1}} \prod_{k=1}^{n} q(x^k \mid x^{k-1})
    """
    x, single, n_configs = check_brute_force_args(net, x0)
    sizes, n = net.sizes, net.n_layers
    # configuration c: the hidden bits are the low bits of c (layer 1 lowest), the output state the rest
    c = np.arange(n_configs, dtype=np.int64)
    layers, shift = [], 0
    for k in range(1, n):
        layers.append((((c[:, None] >> shift) >> np.arange(sizes[k])) & 1).astype(np.float64))
        shift += sizes[k]
    out_index = c >> shift
    if net.is_categorical(n):
        layers.append(one_hot(out_index, sizes[n]))
    else:
        layers.append(((out_index[:, None] >> np.arange(sizes[n])) & 1).astype(np.float64))
    p = np.exp(net.log_prob(x, [state[:, None, :] for state in layers]))  # (n_configs, B)
    marg = [p.T @ state for state in layers]
    return [m[0] for m in marg] if single else marg
