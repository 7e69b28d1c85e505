r"""The DNN forward pass as approximate inference in the sigmoid belief network (tutorial 02).

M5, A1, A2, M6, M7 and M8 (the probit correction, from arXiv:1803.10590). The input :math:`x^0` is binary.
"""
from __future__ import annotations

import numpy as np

from . import _validation as check
from ._validation import boundary, check_effective_logit_args, check_moments_args, check_parent_distribution_args
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


@boundary(check_moments_args)
def preactivation_moments(net, mu_prev, k: int):
    r"""Mean and variance (..., d_k) of the logits :math:`a^k` given the marginals ``mu_prev`` of layer ``k - 1`` (A1).

    Equation: A1

    .. math:: \mathbb{E}\,a^k = W^k\mu^{k-1} + b^k,\ \mathrm{Var}\,a^k_i = \sum_j (W^k_{ij})^2\mu^{k-1}_j(1-\mu^{k-1}_j)
    """
    w, b = net.weights[k - 1].astype(np.float64), net.biases[k - 1].astype(np.float64)
    return mu_prev @ w.T + b, (mu_prev * (1.0 - mu_prev)) @ (w * w).T


@boundary(check_effective_logit_args)
def expected_sigmoid_logit(mean, var, method: str = "mean"):
    r"""Effective logit with :math:`\sigma(\tilde a) \approx \mathbb{E}\,\sigma(a)`, from ``mean`` and ``var`` (A2, M8).

    Equation: A2, M8

    .. math:: \tilde a = \mathbb{E}\,a\ \text{(A2)},\qquad
        \tilde a = \mathbb{E}\,a / \sqrt{1 + \pi\,\mathrm{Var}\,a/8}\ \text{(M8)}
    """
    return mean if method == "mean" else mean / np.sqrt(1.0 + _PROBIT * var)


@boundary(check_parent_distribution_args)
def marginals_from_parent_distribution(net, k: int, states, probs):
    r"""Marginals (d_k,) of layer ``k`` from the ``states`` (S, d_{k-1}) of layer ``k - 1`` and their ``probs`` (M5).

    Equation: M5

    .. math:: q(x^k_i{=}1 \mid x^0) = \mathbb{E}_{q(x^{k-1} \mid x^0)}\,\sigma(W^k_i x^{k-1} + b^k_i)
    """
    a = states @ net.weights[k - 1].astype(np.float64).T + net.biases[k - 1]
    return probs @ (softmax(a) if net.is_categorical(k) else sigmoid(a))


@boundary(net=check.net, dtype=check.float_dtype, x0=check.inputs("dtype"), method=check.choice(*check.METHODS))
def forward_logits(net, x0, method: str = "mean", dtype=np.float64):
    r"""The effective logits :math:`\tilde a^k` of the forward pass, layer by layer (M6 with A2, or M8).

    ``x0`` (d_0,) or (B, d_0) binary; ``method`` "mean" or "probit"; ``dtype`` float64 or float32.
    Returns ``logits[k - 1]`` of shape (d_k,) or (B, d_k).

    Equation: M6, M8

    .. math:: \tilde a^k = \frac{W^k \mu^{k-1} + b^k}{\sqrt{1 + \pi\,\mathrm{Var}\,a^k / 8}}\ \text{(M8; M6: no root)},
        \quad \mu^k = \sigma(\tilde a^k),\ \mu^0 = x^0
    """
    mu, logits = x0, []
    for k in range(1, net.n_layers + 1):
        a = net.logits(k, mu)  # E a^k under A1 (exact, by linearity)
        if method == "probit":  # M8, with Var a^k under A1
            w = net.weights[k - 1]
            a = a / np.sqrt(1.0 + _PROBIT * ((mu * (1.0 - mu)) @ (w * w).T))
        mu = softmax(a) if net.is_categorical(k) else sigmoid(a)
        logits.append(a)
    return logits


@boundary(net=check.net, dtype=check.float_dtype, x0=check.inputs("dtype"), method=check.choice(*check.METHODS))
def forward_marginals(net, x0, method: str = "mean", dtype=np.float64):
    r"""Approximate marginals :math:`\mu^k_i \approx q(x^k_i{=}1 \mid x^0)` by the forward pass (M6, M8).

    Arguments as :func:`forward_logits`; returns ``mu[k - 1]`` as :func:`refimpl.exact.exact_marginals` does.

    Equation: M6, M8

    .. math:: \mu^0 = x^0,\qquad \mu^k = \sigma(\tilde a^k)\ \text{(softmax at a categorical top)}
    """
    logits = forward_logits(net, x0, method, dtype)
    return [softmax(a) if net.is_categorical(k) else sigmoid(a) for k, a in enumerate(logits, start=1)]


@boundary(net=check.net, x0=check.inputs(np.float64))
def mean_pass(net, x0):
    r"""The plain sigmoid DNN forward pass (M6): ``forward_marginals(net, x0, method="mean")``.

    Equation: M6

    .. math:: \mu^0 = x^0,\qquad \mu^k = \sigma(W^k \mu^{k-1} + b^k)
    """
    return forward_marginals(net, x0, method="mean")


@boundary(net=check.net, x0=check.inputs(np.float64), layers=check.states(all_layers=True),
          method=check.choice(*check.METHODS))
def forward_log_prob(net, x0, layers, method: str = "mean"):
    r"""Log-probability of all layers under the factorised forward-pass model :math:`\tilde q` (M7).

    ``layers[k - 1]`` (..., d_k) binary (one-hot at a categorical top), e.g. ``net.sample(x0, S, rng)``.

    Equation: M7

    .. math:: \log \tilde q(x^{1..n} \mid x^0) = \sum_{k,i} [x^k_i \tilde a^k_i - \mathrm{softplus}(\tilde a^k_i)]
    """
    logits = forward_logits(net, x0, method)
    total = 0.0
    for k, (state, a) in enumerate(zip(layers, logits, strict=True), start=1):
        total = total + (categorical_log_prob(state, a) if net.is_categorical(k) else bernoulli_log_prob(state, a))
    return total
