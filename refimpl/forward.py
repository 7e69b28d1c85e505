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

from ._validation import as_batch, as_float_array, check_binary, check_choice, check_finite
from .numerics import sigmoid, softmax
from .sbn import bernoulli_log_prob, categorical_log_prob

__all__ = [
    "expected_sigmoid_logit",
    "forward_log_prob",
    "forward_logits",
    "forward_marginals",
    "forward_pass",
    "marginals_from_parent_distribution",
    "mean_pass",
    "preactivation_moments",
]

METHODS = ("mean", "probit")
_PROBIT = np.pi / 8.0


def _check_layer_index(net, k) -> int:
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an integer layer index in 1..{net.n_layers}; got {type(k).__name__}.")
    if not 1 <= k <= net.n_layers:
        raise ValueError(f"k must be a layer index in 1..{net.n_layers}; got {k}.")
    return int(k)


def preactivation_moments(net, mu_prev, k: int):
    r"""Mean and variance of the logits :math:`a^k` when layer ``k - 1`` factorises (A1).

    Parameters
    ----------
    net : SigmoidBeliefNet
    mu_prev : array_like of shape (..., d_{k-1})
        Marginals :math:`\mu^{k-1}_j = q(x^{k-1}_j{=}1 \mid x^0)`, values in [0, 1].
    k : int
        Layer index, 1-based (``1..n``).

    Returns
    -------
    mean : ndarray of shape (..., d_k)
        :math:`\mathbb{E}\,a^k = W^k \mu^{k-1} + b^k`.
    var : ndarray of shape (..., d_k)
        :math:`\mathrm{Var}\,a^k_i = \sum_j (W^k_{ij})^2 \mu^{k-1}_j (1 - \mu^{k-1}_j)`.

    Raises
    ------
    ValueError, TypeError
        If ``k`` is not a layer index, or ``mu_prev`` has the wrong width, is not finite or leaves [0, 1].

    Notes
    -----
    Equation: A1

    .. math::
        q(x^{k-1} \mid x^0) \approx \prod_j \mathrm{Bern}(x^{k-1}_j; \mu^{k-1}_j)
        \;\Rightarrow\;
        \mathbb{E}\,a^k = W^k \mu^{k-1} + b^k,\quad
        \mathrm{Var}\,a^k_i = \sum_j (W^k_{ij})^2 \mu^{k-1}_j (1-\mu^{k-1}_j)

    The mean is exact whatever the dependence between the units of layer ``k - 1``
    (linearity of expectation); the variance drops their covariances, which is where
    A1 enters. With ``mu_prev`` binary (layer 1, :math:`x^0` observed) the variance is 0.

    Examples
    --------
    >>> from refimpl.sbn import SigmoidBeliefNet
    >>> net = SigmoidBeliefNet([np.array([[2.0, 1.0]])], [np.array([0.5])])
    >>> mean, var = preactivation_moments(net, np.array([0.5, 1.0]), 1)
    >>> float(mean[0]), float(var[0])
    (2.5, 1.0)
    """
    k = _check_layer_index(net, k)
    mu = check_finite(as_float_array(mu_prev, "mu_prev"), "mu_prev")
    if mu.ndim == 0 or mu.shape[-1] != net.sizes[k - 1]:
        raise ValueError(
            f"mu_prev must have last axis of length d_{k - 1} = {net.sizes[k - 1]}; got shape {mu.shape}."
        )
    if mu.size and (mu.min() < 0 or mu.max() > 1):
        raise ValueError(f"mu_prev must hold probabilities in [0, 1]; got values in [{mu.min():g}, {mu.max():g}].")
    w, b = net.weights[k - 1].astype(np.float64), net.biases[k - 1].astype(np.float64)
    return _moments(w, b, mu)


def _moments(w, b, mu):
    """Unvalidated A1 moments (mean, var) for ``mu`` of shape (..., d_in)."""
    return mu @ w.T + b, _variance(w, mu)


def _variance(w, mu):
    r"""Unvalidated A1 variance :math:`\mathrm{Var}\,a_i = \sum_j W_{ij}^2 \mu_j (1 - \mu_j)`."""
    return (mu * (1.0 - mu)) @ (w * w).T


def expected_sigmoid_logit(mean, var, method: str = "mean"):
    r"""An effective logit :math:`\tilde a` with :math:`\sigma(\tilde a) \approx \mathbb{E}\,\sigma(a)` (A2 or M8).

    Parameters
    ----------
    mean : array_like, any shape
        :math:`\mathbb{E}\,a`.
    var : array_like, shape of ``mean``
        :math:`\mathrm{Var}\,a \ge 0` (ignored by ``method="mean"``).
    method : {"mean", "probit"}
        ``"mean"``: A2, :math:`\tilde a = \mathbb{E}\,a`. ``"probit"``: M8,
        :math:`\tilde a = \mathbb{E}\,a / \sqrt{1 + \pi\,\mathrm{Var}\,a / 8}`.

    Returns
    -------
    ndarray, shape of ``mean``
        The effective logit :math:`\tilde a`; apply :func:`refimpl.numerics.sigmoid` for the probability.
        Returning the logit, not the probability, keeps log-probabilities (M7) stable.

    Raises
    ------
    ValueError
        For an unknown ``method``, non-finite input or a negative variance.

    Notes
    -----
    Equation: A2, M8

    .. math::
        \mathbb{E}\,\sigma(a) \approx \sigma(\mathbb{E}\,a) \quad\text{(A2)},\qquad
        \mathbb{E}\,\sigma(a) \approx \sigma\!\Big(\frac{\mathbb{E}\,a}{\sqrt{1 + \pi\,\mathrm{Var}(a)/8}}\Big)
        \quad\text{(M8)}

    M8 is exact for the probit function :math:`\Phi(\sqrt{\pi/8}\,a)`, which matches
    :math:`\sigma(a)` in value and slope at 0, when :math:`a` is Gaussian. It is not in the
    paper (Shekhovtsov, Flach and Busta, arXiv:1803.10590, propagate means and variances).

    Examples
    --------
    >>> float(expected_sigmoid_logit(2.0, 8.0 / np.pi * 3.0, method="probit"))
    1.0
    """
    method = check_choice(method, "method", METHODS)
    mean = check_finite(as_float_array(mean, "mean"), "mean")
    if method == "mean":
        return mean
    var = check_finite(as_float_array(var, "var"), "var")
    if var.size and var.min() < 0:
        raise ValueError(f"var must be non-negative; got minimum {var.min():g}.")
    return _effective_logit(mean, var, method)


def _effective_logit(mean, var, method):
    if method == "mean":
        return mean
    return mean / np.sqrt(1.0 + _PROBIT * var)


def marginals_from_parent_distribution(net, k: int, states, probs):
    r"""Marginals of layer ``k`` as the expectation of :math:`\sigma(a^k)` over layer ``k - 1`` (M5).

    Parameters
    ----------
    net : SigmoidBeliefNet
    k : int
        Layer index, 1-based.
    states : array_like of shape (S, d_{k-1})
        Binary configurations of layer ``k - 1`` (all :math:`2^{d_{k-1}}` of them for the
        exact identity, or ancestral samples for a Monte Carlo estimate).
    probs : array_like of shape (S,)
        Their probabilities :math:`q(x^{k-1} \mid x^0)` (non-negative, summing to 1), or
        ``1/S`` for samples.

    Returns
    -------
    ndarray of shape (d_k,)
        :math:`\sum_s \mathrm{probs}_s\, \sigma(W^k x^{k-1}_s + b^k)`; the class probabilities
        :math:`\sum_s \mathrm{probs}_s\, \mathrm{softmax}(\cdot)` for a categorical output.

    Raises
    ------
    ValueError, TypeError
        For a bad ``k``, non-binary or badly shaped ``states``, or ``probs`` that are
        negative or do not sum to 1.

    Notes
    -----
    Equation: M5

    .. math::
        q(x^k_i{=}1 \mid x^0) = \mathbb{E}_{q(x^{k-1} \mid x^0)}\,\sigma(W^k_i x^{k-1} + b^k_i)

    An identity, not an approximation: :math:`x^k` depends on :math:`x^0` only through
    :math:`x^{k-1}`. Every approximation below (A1, A2, M8) is an approximation of this expectation.

    Examples
    --------
    >>> from refimpl.sbn import SigmoidBeliefNet
    >>> net = SigmoidBeliefNet([np.array([[0.0]]), np.array([[2.0]])], [np.zeros(1), np.zeros(1)])
    >>> p = marginals_from_parent_distribution(net, 2, [[0.0], [1.0]], [0.5, 0.5])
    >>> round(float(p[0]), 6)  # (sigma(0) + sigma(2)) / 2
    0.690399
    """
    k = _check_layer_index(net, k)
    s = as_float_array(states, "states")
    if s.ndim != 2 or s.shape[1] != net.sizes[k - 1]:
        raise ValueError(f"states must have shape (S, {net.sizes[k - 1]}); got shape {s.shape}.")
    check_binary(s, "states")
    p = check_finite(as_float_array(probs, "probs"), "probs")
    if p.shape != (s.shape[0],):
        raise ValueError(f"probs must have shape ({s.shape[0]},) to match states; got shape {p.shape}.")
    if p.size and (p.min() < 0 or abs(p.sum() - 1.0) > 1e-9):
        raise ValueError(f"probs must be non-negative and sum to 1; got sum {p.sum():g}, minimum {p.min():g}.")
    a = s @ net.weights[k - 1].astype(np.float64).T + net.biases[k - 1]
    cond = softmax(a) if net.is_categorical(k) else sigmoid(a)
    return p @ cond


def forward_pass(net, x, method: str = "mean"):
    r"""The forward pass without validation: the inner-loop path of every function below.

    Parameters
    ----------
    net : SigmoidBeliefNet
    x : ndarray of shape (B, d_0)
        Binary input, not checked; the arithmetic runs in the dtype of ``x`` and the net.
    method : {"mean", "probit"}, default "mean"

    Returns
    -------
    means : list of ndarray
        ``means[k - 1]`` = :math:`\mu^k` of shape (B, d_k): sigmoid of the effective
        logit, or its softmax for a categorical output.
    logits : list of ndarray
        ``logits[k - 1]`` = the effective logit :math:`\tilde a^k` of shape (B, d_k).

    Notes
    -----
    Equation: M6, M8

    .. math::
        \tilde a^k = W^k \mu^{k-1} + b^k \;\text{(M6)}, \qquad
        \tilde a^k = \frac{W^k \mu^{k-1} + b^k}{\sqrt{1 + \pi\,\mathrm{Var}\,a^k / 8}} \;\text{(M8)},
        \qquad \mu^k = \sigma(\tilde a^k)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}.")
    mu, means, logits = x, [], []
    for k in range(1, net.n_layers + 1):
        a = net.logits(k, mu)  # the mean of a^k under A1 (exact: linearity)
        if method == "probit":
            a = _effective_logit(a, _variance(net.weights[k - 1], mu), method)
        mu = softmax(a) if net.is_categorical(k) else sigmoid(a)
        means.append(mu)
        logits.append(a)
    return means, logits


def forward_logits(net, x0, method: str = "mean"):
    r"""The logits of the forward pass, layer by layer (M6 with A2, or with M8).

    Parameters
    ----------
    net : SigmoidBeliefNet
    x0 : array_like of shape (d_0,) or (B, d_0)
        Binary input.
    method : {"mean", "probit"}

    Returns
    -------
    list of ndarray
        ``logits[k - 1]`` of shape (d_k,) or (B, d_k): :math:`W^k \mu^{k-1} + b^k` for
        ``"mean"``, divided by :math:`\sqrt{1 + \pi\,\mathrm{Var}\,a^k / 8}` for ``"probit"``.

    Notes
    -----
    Equation: M6, M8

    .. math:: \mu^k = \sigma(\tilde a^k),\qquad \tilde a^k = W^k \mu^{k-1} + b^k \;\text{(M6)}

    See Also
    --------
    forward_marginals : the probabilities :math:`\mu^k` themselves.
    """
    method = check_choice(method, "method", METHODS)
    x, single = as_batch(x0, "x0", net.sizes[0])
    _, logits = forward_pass(net, x, method)
    return [z[0] for z in logits] if single else logits


def forward_marginals(net, x0, method: str = "mean"):
    r"""Approximate marginals :math:`\mu^k_i \approx q(x^k_i{=}1 \mid x^0)` by the forward pass (M6, M8).

    Parameters
    ----------
    net : SigmoidBeliefNet
    x0 : array_like of shape (d_0,) or (B, d_0)
        Binary input (the observed input of the belief network).
    method : {"mean", "probit"}, default "mean"
        ``"mean"``: the plain sigmoid DNN forward pass, A1 + A2 (M6).
        ``"probit"``: A1 + the second-order correction M8 (beyond the paper).

    Returns
    -------
    list of ndarray
        ``mu[k - 1]`` of shape (d_k,) for one input or (B, d_k) for a batch, ``k = 1..n``;
        class probabilities for a categorical output. Same layout as
        :func:`refimpl.exact.exact_marginals`.

    Raises
    ------
    ValueError, TypeError
        If ``x0`` is badly shaped, not binary or not finite, or ``method`` is unknown.

    Notes
    -----
    Equation: M6, M8

    .. math::
        \mu^0 = x^0,\qquad \mu^k = \sigma(W^k \mu^{k-1} + b^k),\quad k = 1..n

    and for a categorical output :math:`\mu^n = \mathrm{softmax}(W^n \mu^{n-1} + b^n)`.
    Layer 1 is exact for both methods (:math:`x^0` is observed, so :math:`\mathrm{Var}\,a^1 = 0`).
    With ``"probit"`` each logit is first divided by :math:`\sqrt{1 + \pi\,\mathrm{Var}\,a / 8}`,
    the variance taken under A1 (:func:`preactivation_moments`); for a categorical output
    this per-logit scaling before the softmax is a heuristic.

    See Also
    --------
    mean_pass : the same with ``method="mean"``.
    refimpl.montecarlo.mc_marginals : the unbiased sampling estimate.

    Examples
    --------
    >>> from refimpl.sbn import SigmoidBeliefNet
    >>> net = SigmoidBeliefNet([np.array([[1.0, -1.0]]), np.array([[2.0]])], [np.zeros(1), np.zeros(1)])
    >>> [np.round(m, 4) for m in forward_marginals(net, [1, 1])]
    [array([0.5]), array([0.7311])]
    """
    method = check_choice(method, "method", METHODS)
    x, single = as_batch(x0, "x0", net.sizes[0])
    means, _ = forward_pass(net, x, method)
    return [m[0] for m in means] if single else means


def mean_pass(net, x0):
    r"""The plain sigmoid DNN forward pass :math:`\mu^k = \sigma(W^k \mu^{k-1} + b^k)` (M6).

    Same as ``forward_marginals(net, x0, method="mean")``; see :func:`forward_marginals`.

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

    Parameters
    ----------
    net : SigmoidBeliefNet
    x0 : array_like of shape (d_0,) or (B, d_0)
        Binary input.
    layers : sequence of array_like
        ``layers[k - 1]`` of shape (..., d_k), binary (one-hot for a categorical output),
        leading axes broadcastable against ``x0``'s batch axis (e.g. ``net.sample(x0, S, rng)``).
    method : {"mean", "probit"}
        Which forward pass gives :math:`\mu^k`.

    Returns
    -------
    ndarray
        :math:`\log \tilde q(x^1..x^n \mid x^0)` per sample (the broadcast leading shape).

    Raises
    ------
    ValueError, TypeError
        For a bad ``x0`` or ``method``, the wrong number of layers, a wrong width, a
        non-binary state or a categorical state that is not one-hot.

    Notes
    -----
    Equation: M7

    .. math::
        \log \tilde q(x^1..x^n \mid x^0) = \sum_k \sum_i \log \mathrm{Bern}(x^k_i; \mu^k_i)
        = \sum_k \sum_i \big[x^k_i \tilde a^k_i - \mathrm{softplus}(\tilde a^k_i)\big]

    with :math:`\mu^k = \sigma(\tilde a^k)` from the forward pass, so the sum is taken from
    logits and is finite even where :math:`\mu^k_i` rounds to 0 or 1. A categorical output
    contributes :math:`\log \mu^n_y`. Unlike the SBN's :math:`q` (M3), :math:`\tilde q` does
    not condition layer ``k`` on the sampled layer ``k - 1``: every unit is independent.

    See Also
    --------
    refimpl.sbn.SigmoidBeliefNet.log_prob : the exact model's complete-data log-probability (M3).

    Examples
    --------
    >>> from refimpl.sbn import SigmoidBeliefNet
    >>> net = SigmoidBeliefNet([np.zeros((1, 2))], [np.zeros(1)])
    >>> float(forward_log_prob(net, [0, 1], [np.array([1.0])]))  # log 1/2
    -0.6931471805599453
    """
    method = check_choice(method, "method", METHODS)
    x, single = as_batch(x0, "x0", net.sizes[0])
    if not isinstance(layers, (list, tuple)):
        raise TypeError(
            f"layers must be a list of {net.n_layers} arrays, one per layer; got {type(layers).__name__}."
        )
    if len(layers) != net.n_layers:
        raise ValueError(f"layers must hold {net.n_layers} arrays (layers 1..{net.n_layers}); got {len(layers)}.")
    _, logits = forward_pass(net, x, method)
    total = 0.0
    for k in range(1, net.n_layers + 1):
        name = f"layers[{k - 1}]"
        state = check_binary(as_float_array(layers[k - 1], name), name)
        if state.ndim == 0 or state.shape[-1] != net.sizes[k]:
            raise ValueError(f"{name} must have last axis of length d_{k} = {net.sizes[k]}; got shape {state.shape}.")
        z = logits[k - 1][0] if single else logits[k - 1]
        if net.is_categorical(k):
            if not np.all(state.sum(axis=-1) == 1):
                raise ValueError(f"{name} is the categorical output and must be one-hot in every row.")
            total = total + categorical_log_prob(state, z)
        else:
            total = total + bernoulli_log_prob(state, z)
    return total
