r"""The DNN forward pass as approximate inference in the sigmoid belief network.

Implements equations M5, A1, A2, M6, M7 and M8 of the method:

- (M5) exact identity :math:`q(x^k_i{=}1 \mid x^0) = \mathbb{E}_{q(x^{k-1} \mid x^0)}\,\sigma(W^k_i x^{k-1} + b^k_i)`
  (:func:`marginals_from_parent_distribution`);
- (A1) factorisation :math:`q(x^{k-1} \mid x^0) \approx \prod_j \mathrm{Bern}(x^{k-1}_j; \mu^{k-1}_j)`, which
  gives the pre-activation moments :math:`\mathbb{E}\,a = W\mu + b`,
  :math:`\mathrm{Var}\,a = \sum_j W_{ij}^2 \mu_j (1-\mu_j)` (:func:`preactivation_moments`);
- (A2) linearisation :math:`\mathbb{E}\,\sigma(a) \approx \sigma(\mathbb{E}\,a)`, and (M8) its second-order
  (probit) correction :math:`\mathbb{E}\,\sigma(a) \approx \sigma(\mathbb{E}\,a / \sqrt{1 + \pi\,\mathrm{Var}\,a / 8})`
  (:func:`expected_sigmoid_logit`);
- (M6) together, the forward pass :math:`\mu^k = \sigma(W^k \mu^{k-1} + b^k)`, :math:`\mu^0 = x^0`
  (:func:`mean_pass`, :func:`forward_marginals`);
- (M7) the forward pass as a factorised probabilistic model of the output and every hidden unit,
  :math:`\tilde q(x^1..x^n \mid x^0) = \prod_k \prod_i \mathrm{Bern}(x^k_i; \mu^k_i)` (:func:`forward_log_prob`).

M8 goes beyond the paper; it follows the same group's later work (Shekhovtsov, Flach and
Busta, arXiv:1803.10590). For a categorical output layer the mean pass uses
:math:`\mathbb{E}\,\mathrm{softmax}(a) \approx \mathrm{softmax}(\mathbb{E}\,a)`; the probit pass scales each
logit by its own factor :math:`1/\sqrt{1 + \pi\,\mathrm{Var}\,a_c / 8}` before the softmax, a heuristic
(exact only in the binary-sigmoid case it is borrowed from), chosen here for its simplicity.

The input :math:`x^0` must be binary: it is the observed input of the belief network,
whose inputs are 0/1. (The arithmetic of the forward pass would accept any input in
:math:`[0, 1]`, but then it is no longer inference in this model.)
"""

from __future__ import annotations

import numpy as np

from ._validation import (
    check_effective_logit_args,
    check_forward_args,
    check_moments_args,
    check_parent_distribution_args,
    check_states,
)
from .layers import bernoulli_log_prob, categorical_log_prob
from .numerics import sigmoid, softmax

__all__ = [
    "expected_sigmoid_logit",
    "forward_log_prob",
    "forward_logits",
    "forward_marginals",
    "marginals_from_parent_distribution",
    "mean_pass",
    "preactivation_moments",
]

_PROBIT = np.pi / 8.0


def preactivation_moments(net, mu_prev, k: int):
    r"""Mean and variance of the logits :math:`a^k` when layer ``k - 1`` factorises (A1).

    ``mu_prev`` of shape (..., d_{k-1}) holds the marginals :math:`\mu^{k-1}` (in [0, 1]); ``k``
    is 1-based. Returns ``mean`` and ``var``, each of shape (..., d_k), float64.

    Notes
    -----
    Equation: A1

    .. math::
        \mathbb{E}\,a^k = W^k \mu^{k-1} + b^k,\qquad
        \mathrm{Var}\,a^k_i = \sum_j (W^k_{ij})^2 \mu^{k-1}_j (1-\mu^{k-1}_j)

    The mean is exact (linearity); the variance drops the covariances of layer ``k - 1``, which
    is where A1 enters. Taught in tutorial 2.

    Examples
    --------
    >>> from refimpl.sbn import SigmoidBeliefNet
    >>> net = SigmoidBeliefNet([np.array([[2.0, 1.0]])], [np.array([0.5])])
    >>> mean, var = preactivation_moments(net, np.array([0.5, 1.0]), 1)
    >>> float(mean[0]), float(var[0])
    (2.5, 1.0)
    """
    mu, k = check_moments_args(net, mu_prev, k)
    w, b = net.weights[k - 1].astype(np.float64), net.biases[k - 1].astype(np.float64)
    return mu @ w.T + b, (mu * (1.0 - mu)) @ (w * w).T


def expected_sigmoid_logit(mean, var, method: str = "mean"):
    r"""An effective logit :math:`\tilde a` with :math:`\sigma(\tilde a) \approx \mathbb{E}\,\sigma(a)` (A2 or M8).

    ``mean`` and ``var`` (same shape) are :math:`\mathbb{E}\,a` and :math:`\mathrm{Var}\,a \ge 0`;
    ``method="mean"`` (A2) ignores ``var``. Returns :math:`\tilde a`, shape of ``mean``: a logit,
    not a probability, so that log-probabilities (M7) stay stable.

    Notes
    -----
    Equation: A2, M8

    .. math::
        \mathbb{E}\,\sigma(a) \approx \sigma(\mathbb{E}\,a) \quad\text{(A2)},\qquad
        \mathbb{E}\,\sigma(a) \approx \sigma\!\Big(\frac{\mathbb{E}\,a}{\sqrt{1 + \pi\,\mathrm{Var}(a)/8}}\Big)
        \quad\text{(M8)}

    M8 is exact for the probit :math:`\Phi(\sqrt{\pi/8}\,a)` of a Gaussian :math:`a` (tutorial 2).

    Examples
    --------
    >>> float(expected_sigmoid_logit(2.0, 8.0 / np.pi * 3.0, method="probit"))
    1.0
    """
    mean, var, method = check_effective_logit_args(mean, var, method)
    return mean if method == "mean" else mean / np.sqrt(1.0 + _PROBIT * var)


def marginals_from_parent_distribution(net, k: int, states, probs):
    r"""Marginals of layer ``k`` as the expectation of :math:`\sigma(a^k)` over layer ``k - 1`` (M5).

    ``states`` of shape (S, d_{k-1}) are binary configurations of layer ``k - 1`` (all of them,
    or samples) and ``probs`` of shape (S,) their probabilities (summing to 1, or ``1/S``).
    Returns shape (d_k,): :math:`\sum_s p_s\, \sigma(W^k x_s + b^k)`, the softmax at a categorical top.

    Notes
    -----
    Equation: M5

    .. math:: q(x^k_i{=}1 \mid x^0) = \mathbb{E}_{q(x^{k-1} \mid x^0)}\,\sigma(W^k_i x^{k-1} + b^k_i)

    An identity, not an approximation: A1, A2 and M8 approximate this expectation.

    Examples
    --------
    >>> from refimpl.sbn import SigmoidBeliefNet
    >>> net = SigmoidBeliefNet([np.array([[0.0]]), np.array([[2.0]])], [np.zeros(1), np.zeros(1)])
    >>> p = marginals_from_parent_distribution(net, 2, [[0.0], [1.0]], [0.5, 0.5])
    >>> round(float(p[0]), 6)  # (sigma(0) + sigma(2)) / 2
    0.690399
    """
    k, s, p = check_parent_distribution_args(net, k, states, probs)
    a = s @ net.weights[k - 1].astype(np.float64).T + net.biases[k - 1]
    return p @ (softmax(a) if net.is_categorical(k) else sigmoid(a))


def forward_logits(net, x0, method: str = "mean", dtype=np.float64):
    r"""The effective logits :math:`\tilde a^k` of the forward pass, layer by layer (M6 with A2, or M8).

    Parameters
    ----------
    net : SigmoidBeliefNet
    x0 : array_like of shape (d_0,) or (B, d_0)
        Binary input.
    method : {"mean", "probit"}
    dtype : {float64, float32}, default float64
        The dtype of the arithmetic (training passes the pair's float32).

    Returns
    -------
    list of ndarray
        ``logits[k - 1]`` of shape (d_k,) or (B, d_k).

    Notes
    -----
    Equation: M6, M8

    .. math::
        \tilde a^k = W^k \mu^{k-1} + b^k \;\text{(M6)}, \qquad
        \tilde a^k = \frac{W^k \mu^{k-1} + b^k}{\sqrt{1 + \pi\,\mathrm{Var}\,a^k / 8}} \;\text{(M8)},
        \qquad \mu^k = \sigma(\tilde a^k),\ \mu^0 = x^0
    """
    x, single, method = check_forward_args(net, x0, method, dtype)
    mu, logits = x, []
    for k in range(1, net.n_layers + 1):
        a = net.logits(k, mu)  # E a^k under A1 (exact, by linearity)
        if method == "probit":  # M8, with Var a^k under A1
            w = net.weights[k - 1]
            a = a / np.sqrt(1.0 + _PROBIT * ((mu * (1.0 - mu)) @ (w * w).T))
        mu = softmax(a) if net.is_categorical(k) else sigmoid(a)
        logits.append(a)
    return [a[0] for a in logits] if single else logits


def forward_marginals(net, x0, method: str = "mean", dtype=np.float64):
    r"""Approximate marginals :math:`\mu^k_i \approx q(x^k_i{=}1 \mid x^0)` by the forward pass (M6, M8).

    Arguments as :func:`forward_logits`; ``method="mean"`` is the plain sigmoid DNN (A1 + A2),
    ``"probit"`` adds the second-order correction M8. Returns ``mu[k - 1]`` of shape (d_k,) or
    (B, d_k), class probabilities at a categorical top; the layout of
    :func:`refimpl.exact.exact_marginals`.

    Notes
    -----
    Equation: M6, M8

    .. math:: \mu^0 = x^0,\qquad \mu^k = \sigma(W^k \mu^{k-1} + b^k),\quad k = 1..n

    and :math:`\mu^n = \mathrm{softmax}(W^n \mu^{n-1} + b^n)` at a categorical top. Layer 1 is
    exact for both methods (:math:`x^0` is observed).

    Examples
    --------
    >>> from refimpl.sbn import SigmoidBeliefNet
    >>> net = SigmoidBeliefNet([np.array([[1.0, -1.0]]), np.array([[2.0]])], [np.zeros(1), np.zeros(1)])
    >>> [np.round(m, 4) for m in forward_marginals(net, [1, 1])]
    [array([0.5]), array([0.7311])]
    """
    logits = forward_logits(net, x0, method, dtype)
    return [softmax(a) if net.is_categorical(k) else sigmoid(a) for k, a in enumerate(logits, start=1)]


def mean_pass(net, x0):
    r"""The plain sigmoid DNN forward pass :math:`\mu^k = \sigma(W^k \mu^{k-1} + b^k)` (M6).

    Same as ``forward_marginals(net, x0, method="mean")``.

    Notes
    -----
    Equation: M6

    .. math:: \mu^0 = x^0,\qquad \mu^k = \sigma(W^k \mu^{k-1} + b^k)

    Examples
    --------
    >>> from refimpl.sbn import SigmoidBeliefNet
    >>> net = SigmoidBeliefNet([np.zeros((2, 3))], [np.zeros(2)])
    >>> mean_pass(net, [1, 0, 1])[0]
    array([0.5, 0.5])
    """
    return forward_marginals(net, x0, method="mean")


def forward_log_prob(net, x0, layers, method: str = "mean"):
    r"""Log-probability of all layers under the factorised forward-pass model :math:`\tilde q` (M7).

    ``layers[k - 1]`` of shape (..., d_k), binary (one-hot at a categorical top), leading axes
    broadcastable against ``x0``'s batch axis (e.g. ``net.sample(x0, S, rng)``). Returns
    :math:`\log \tilde q(x^1..x^n \mid x^0)` per sample.

    Notes
    -----
    Equation: M7

    .. math::
        \log \tilde q(x^1..x^n \mid x^0) = \sum_k \sum_i \big[x^k_i \tilde a^k_i - \mathrm{softplus}(\tilde a^k_i)\big]

    Unlike the SBN's :math:`q` (M3), :math:`\tilde q` does not condition layer ``k`` on the
    sampled layer ``k - 1``: every unit is independent.

    Examples
    --------
    >>> from refimpl.sbn import SigmoidBeliefNet
    >>> net = SigmoidBeliefNet([np.zeros((1, 2))], [np.zeros(1)])
    >>> float(forward_log_prob(net, [0, 1], [np.array([1.0])]))  # log 1/2
    -0.6931471805599453
    """
    logits = forward_logits(net, x0, method)
    layers = check_states(net, layers, all_layers=True)
    total = 0.0
    for k, (state, a) in enumerate(zip(layers, logits, strict=True), start=1):
        total = total + (categorical_log_prob(state, a) if net.is_categorical(k) else bernoulli_log_prob(state, a))
    return total
