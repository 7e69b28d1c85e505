r"""Why the generator's weights are the recogniser's transposed (M9, M11), measured exactly (tutorial 03).

For one layer the tied pair's two directions are the two conditionals of an RBM (M11); untied or deeper pairs in
general agree with no joint distribution. With :math:`x` the visible layer, :math:`t = x^n` the top and
:math:`m = (x^1..x^{n-1})` the layers between, the alternating chain (up by :math:`q(m, t \mid x)`, down by
:math:`p(x, m \mid t)`) has the stationary joints :math:`\pi_q = \pi_x(x)\, q(m, t \mid x)` and
:math:`\pi_p = \pi_t(t)\, p(x, m \mid t)`; the **consistency gap** :math:`\mathrm{KL}(\pi_q \,\|\, \pi_p)` is zero
exactly when one joint has both conditionals. Tiny networks only: tables enumerate the states in the order of
:func:`refimpl.sbn.binary_states` (``C`` one-hot states at a categorical top).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validation as check
from ._validation import MAX_ENUMERATION_BITS, boundary, check_instance, check_positive_int, check_rng
from .coupled import CoupledPair, transposed_generator
from .numerics import logsumexp
from .sbn import SigmoidBeliefNet, binary_states

__all__ = [
    "MAX_ENUMERATION_BITS",
    "ConsistencyResult",
    "consistency_from_tables",
    "consistency_gap",
    "gap_samples",
    "joint_conditionals",
    "log_conditional_table",
    "pair_consistency_gap",
    "random_pair",
    "rbm_joint",
    "stationary_consistency",
    "stationary_distribution",
]

# ----------------------------------------------------------------- the RBM
@boundary(check.check_rbm_args)
def rbm_joint(W, b, c) -> np.ndarray:
    r"""The restricted Boltzmann machine's joint :math:`p(v, h)` as a normalised table (2**d_v, 2**d_h).

    ``W`` (d_h, d_v) and ``b`` (d_h,) are the recogniser's :math:`W^1, b^1`, ``c`` (d_v,) the generator's :math:`c^0`.

    Equation: M11

    .. math:: p(v, h) = \frac{1}{Z} \exp\big(h^\top W v + b^\top h + c^\top v\big)

    Examples
    --------
    >>> joint = rbm_joint(np.zeros((1, 2)), np.zeros(1), np.zeros(2))
    >>> joint.shape, round(float(joint.sum()), 12)
    ((4, 2), 1.0)
    """
    V, H = binary_states(W.shape[1]), binary_states(W.shape[0])  # visible, hidden states
    energy = (V @ W.T) @ H.T + (V @ c)[:, None] + (H @ b)[None, :]
    return np.exp(energy - logsumexp(energy.ravel()))


@boundary(check.check_joint_args)
def joint_conditionals(joint) -> tuple[np.ndarray, np.ndarray]:
    r"""Both conditionals, ``h_given_v`` (N_v, N_h) and ``v_given_h`` (N_h, N_v), of a ``joint`` table (N_v, N_h).

    Equation: M11

    .. math:: p(h \mid v) = \frac{p(v,h)}{\sum_{h'} p(v,h')}, \qquad p(v \mid h) = \frac{p(v,h)}{\sum_{v'} p(v',h)}
    """
    rows, cols = joint.sum(axis=1), joint.sum(axis=0)
    return joint / rows[:, None], (joint / cols[None, :]).T


# ------------------------------------------------- tables of a sigmoid belief net
def _layer_states(d: int, categorical: bool) -> np.ndarray:
    return np.eye(d) if categorical else binary_states(d)


@boundary(check.check_table_args)
def log_conditional_table(net, input_states=None) -> np.ndarray:
    r"""Log-probabilities :math:`\log q(x^1..x^n \mid x^0)` of every configuration, a table (N_0, N_1, ..., N_n).

    ``input_states`` (N_0, d_0), default all :math:`2^{d_0}` binary vectors (``np.eye(C)`` for a generator).

    Equation: M11

    .. math:: \log q(x^{1..k} \mid x^0) = \log q(x^{1..k-1} \mid x^0) + \log q(x^k \mid x^{k-1})
    """
    sizes = net.sizes
    prev = binary_states(sizes[0]) if input_states is None else input_states
    table = np.zeros(prev.shape[0])
    for k in range(1, net.n_layers + 1):
        states = _layer_states(sizes[k], net.is_categorical(k))
        step = net.layer_log_prob(k, states[None, :, :], prev[:, None, :])  # (N_{k-1}, N_k)
        table = table[..., None] + step
        prev = states
    return table


# ---------------------------------------------------------------- the pair
@boundary(check.check_output_classes, sizes=check.layer_sizes, rng=check.rng, scale=check.nonnegative,
          tied=check.boolean, output=check.choice(*check.OUTPUTS))
def random_pair(sizes, rng, scale: float = 1.0, tied: bool = True, output: str = "bernoulli"):
    r"""A random recogniser (sizes ``(d_0, ..., d_n)``) and its generator, tied (M9) or with weights of their own.

    Every weight and bias has standard deviation ``scale``; ``output`` is the recogniser's top layer.

    Examples
    --------
    >>> rec, gen = random_pair([3, 2], np.random.default_rng(0))
    >>> np.array_equal(gen.weights[0], rec.weights[0].T)
    True
    """
    recogniser = SigmoidBeliefNet.random(sizes, rng, scale=scale, output=output)
    sizes = recogniser.sizes
    c = [scale * rng.standard_normal(d) for d in sizes[:-1]]
    if tied:
        return recogniser, transposed_generator(recogniser, c)  # M9
    V = [scale * rng.standard_normal(w.shape) for w in recogniser.weights]
    return recogniser, SigmoidBeliefNet([v.T for v in reversed(V)], list(reversed(c)))


# --------------------------------------------------------- stationary laws
@boundary(check.check_transition_args)
def stationary_distribution(transition) -> np.ndarray:
    r"""Stationary distribution :math:`\pi = \pi T`, (N,), of an irreducible chain with ``transition`` (N, N).

    By Grassmann-Taksar-Heyman state reduction: no subtractions, so accurate even for nearly reducible chains.

    Examples
    --------
    >>> stationary_distribution([[0.9, 0.1], [0.3, 0.7]])
    array([0.75, 0.25])
    """
    P, n = transition, transition.shape[0]
    for k in range(n - 1, 0, -1):
        s = P[k, :k].sum()
        if s <= 0:
            raise ValueError(
                "transition is reducible at float64 precision (a state cannot reach the states "
                "before it); conditional probabilities underflowed to 0: reduce the weight scale."
            )
        P[:k, k] /= s
        P[:k, :k] += np.outer(P[:k, k], P[k, :k])
    pi = np.zeros(n)
    pi[0] = 1.0
    for k in range(1, n):
        pi[k] = pi[:k] @ P[:k, k]
    return pi / pi.sum()


@dataclass(frozen=True)
class ConsistencyResult:
    r"""The two factorisations of the alternating chain's stationary joint, and their gap (nats).

    Attributes
    ----------
    gap, reverse_gap : float
        :math:`\mathrm{KL}(\pi_q \,\|\, \pi_p)` and :math:`\mathrm{KL}(\pi_p \,\|\, \pi_q)`.
    pi_x, pi_top : ndarray of shape (X,) and (T,)
        Stationary distributions of the visible and the top layer.
    joint_q, joint_p : ndarray of shape (X, M, T)
        :math:`\pi_x(x)\, q(m, t \mid x)` and :math:`\pi_t(t)\, p(x, m \mid t)`.
    """

    gap: float
    reverse_gap: float
    pi_x: np.ndarray
    pi_top: np.ndarray
    joint_q: np.ndarray
    joint_p: np.ndarray


def _kl_from_logs(log_a, log_b) -> float:
    a = np.exp(log_a)
    live = a > 0
    if np.any(np.isneginf(log_b[live])):
        return float("inf")
    return float(np.sum(a[live] * (log_a[live] - log_b[live])))


@boundary(check.check_tables_args)
def consistency_from_tables(log_q, log_p) -> ConsistencyResult:
    r"""Consistency gap of two conditional tables, :math:`q(m,t \mid x)` and :math:`p(x,m \mid t)`.

    ``log_q`` (X, M, T) and ``log_p`` (T, X, M), ``M = 1`` for one layer. Returns a :class:`ConsistencyResult`.

    Equation: M11

    .. math:: \pi_x = \pi_x Q P,\ \pi_t = \pi_x Q,\quad
        \mathrm{gap} = \mathrm{KL}\big(\pi_x(x)\, q(m,t \mid x) \;\big\|\; \pi_t(t)\, p(x,m \mid t)\big)
    """
    X, T = log_q.shape[0], log_q.shape[2]
    Q = np.exp(logsumexp(log_q, axis=1))  # (X, T)  q(t | x)
    P = np.exp(logsumexp(log_p, axis=2))  # (T, X)  p(x | t)
    Q /= Q.sum(axis=1, keepdims=True)
    P /= P.sum(axis=1, keepdims=True)
    if X <= T:
        pi_x = stationary_distribution(Q @ P)
        pi_t = pi_x @ Q
    else:
        pi_t = stationary_distribution(P @ Q)
        pi_x = pi_t @ P
    with np.errstate(divide="ignore"):
        log_jq = np.log(pi_x)[:, None, None] + log_q
        log_jp = np.log(pi_t)[None, None, :] + log_p.transpose(1, 2, 0)
    return ConsistencyResult(
        gap=_kl_from_logs(log_jq, log_jp),
        reverse_gap=_kl_from_logs(log_jp, log_jq),
        pi_x=pi_x, pi_top=pi_t, joint_q=np.exp(log_jq), joint_p=np.exp(log_jp),
    )


def _pair_tables(recogniser, generator):
    n = recogniser.n_layers
    log_q = log_conditional_table(recogniser)  # (X, N1, ..., Nn)
    top = _layer_states(recogniser.sizes[-1], recogniser.is_categorical(n))
    log_g = log_conditional_table(generator, top)  # (T, N_{n-1}, ..., N_1, X)
    X, T = log_q.shape[0], log_q.shape[-1]
    log_q = log_q.reshape(X, -1, T)
    # generator axes (t, m_{n-1}, ..., m_1, x) -> (t, x, m_1, ..., m_{n-1})
    order = (0, n) + tuple(range(n - 1, 0, -1))
    log_p = log_g.transpose(order).reshape(T, X, -1)
    return log_q, log_p


@boundary(check.check_pair_nets)
def stationary_consistency(recogniser, generator) -> ConsistencyResult:
    r"""Both stationary factorisations of a recogniser/generator pair and their gap, exactly.

    ``generator`` has the ``recogniser``'s sizes reversed and a Bernoulli output. Returns a :class:`ConsistencyResult`.

    Equation: M11

    .. math:: \mathrm{gap} = \mathrm{KL}\big(\pi_x(x)\, q(x^1..x^n \mid x) \;\big\|\;
        \pi_t(x^n)\, p(x, x^1..x^{n-1} \mid x^n)\big)
    """
    return consistency_from_tables(*_pair_tables(recogniser, generator))


def consistency_gap(recogniser, generator) -> float:
    r"""Consistency gap :math:`\mathrm{KL}(\pi_q \,\|\, \pi_p)` of a pair, in nats; as :func:`stationary_consistency`.

    Equation: M11

    .. math:: \mathrm{gap} = \mathrm{KL}\big(\pi_x(x)\, q(m, t \mid x) \;\big\|\; \pi_t(t)\, p(x, m \mid t)\big)

    Examples
    --------
    >>> rec, gen = random_pair([3, 2], np.random.default_rng(0), tied=True)
    >>> abs(consistency_gap(rec, gen)) < 1e-12
    True
    """
    return stationary_consistency(recogniser, generator).gap


def pair_consistency_gap(pair) -> float:
    """:func:`consistency_gap` of a :class:`refimpl.coupled.CoupledPair`'s recogniser and generator."""
    check_instance(pair, CoupledPair, "pair")  # not a boundary: stationary_consistency checks the tables' sizes
    return consistency_gap(pair.recogniser, pair.generator)


def gap_samples(sizes, rng, n_pairs: int, scale: float = 1.0, tied: bool = True,
                output: str = "bernoulli") -> np.ndarray:
    """Consistency gaps (n_pairs,), in nats, of ``n_pairs`` random pairs drawn by :func:`random_pair`."""
    # not a boundary: each pair is checked by random_pair, its tables' sizes by consistency_gap
    rng, n_pairs = check_rng(rng), check_positive_int(n_pairs, "n_pairs")
    return np.array([consistency_gap(*random_pair(sizes, rng, scale=scale, tied=tied, output=output))
                     for _ in range(n_pairs)])
