r"""Learning a coupled pair: discriminative (L0), generative wake-sleep (L1, L1u), hybrid (L2).

Implements the learning rules of the method (tutorial 4), for a :class:`refimpl.coupled.CoupledPair`:

- (L0) :math:`\frac1B\sum_b \log \tilde q(y_b \mid x_b)`, :math:`\tilde q` from the mean pass (M6),
  with its gradient by hand-derived backpropagation;
- (L1) wake: :math:`G = \mathbb{E}_{h \sim q(h \mid x)} \log p(x, h \mid y)` at real images;
  sleep: :math:`R = \mathbb{E}_{(h, x) \sim p(h, x \mid y)} \log q(h, y \mid x)` at dreams for the
  same labels; with tied weights both add onto the one :math:`W^k`; (L1u) the same, untied;
- (L2) :math:`s_G G + s_R R + \lambda\,L0`;
- (S1, S2) beyond the paper: an unlabelled image's wake term with its class summed over the
  recogniser's belief, and the semi-supervised step; reweighted wake-sleep (:func:`rws_step_grads`).

Every value is a quantity to **maximise**, summed over units and averaged over the batch, and
every gradient is its gradient (the optimisers of :mod:`refimpl.optim` ascend). With the sampled
states held fixed each term is a sum of layers, each layer one of the two pieces below, whose
gradient with respect to its logits :math:`a = W u + b` is

.. math:: \delta = t - \sigma(a) \ \text{(Bernoulli)}, \qquad
          \delta = \mathrm{onehot}(y) - \mathrm{softmax}(a) \ \text{(categorical top)}, \qquad
          \frac{\partial}{\partial W} = \delta\,u^\top,\quad \frac{\partial}{\partial b} = \delta.

Gradients come back as a plain dict with every key of ``pair.params`` (zeros where a term does
not depend on a parameter; ``"prior"`` always: these rules do not learn :math:`p(y)`). The sleep
term is not the gradient of any bound on :math:`\log p(x)`.
"""

from __future__ import annotations

import numpy as np

from . import _validation as check
from ._validation import boundary
from .forward import forward_logits
from .layers import (
    bernoulli_delta,
    bernoulli_log_prob,
    categorical_delta,
    categorical_log_prob,
    categorical_sample,
    linear_grad,
    one_hot,
)
from .numerics import logsumexp, sigmoid, softmax

__all__ = ["NORMALISE", "l0_value_and_grad", "l1_step_grads", "l2_step_grads", "rws_step_grads",
           "semi_step_grads", "sleep_value_and_grad", "wake_unlabelled_value_and_grad", "wake_value_and_grad"]

NORMALISE = ("none", "units")


# ------------------------------------------------------------ the two layers and their gradients
def _bernoulli(t, a, scale):
    """A Bernoulli layer at fixed states t: per-row log q(t | a) and scale * (t - sigma(a)) (refimpl.layers)."""
    return bernoulli_log_prob(t, a), bernoulli_delta(t, a) * scale


def _categorical(y, a, scale):
    """The categorical top at labels y: per-row log q(y | a) and scale * (onehot(y) - softmax(a)) (refimpl.layers)."""
    onehot = one_hot(y, a.shape[-1], a.dtype)
    return categorical_log_prob(onehot, a), categorical_delta(onehot, a) * scale


def _add_layer_grads(grads, keys, delta, u, transposed=False):
    """Add :func:`refimpl.layers.linear_grad` of a layer (dW, db, summed over the batch) to ``grads[keys]``."""
    dw, db = linear_grad(delta, u, transposed)
    grads[keys[0]] += dw
    grads[keys[1]] += db


def _zeros(pair):
    return {key: np.zeros_like(p) for key, p in pair.params.items()}


def _sum(*grads):
    """The sum of gradient dicts, added in order into the first."""
    for g in grads[1:]:
        for key in grads[0]:
            grads[0][key] += g[key]
    return grads[0]


def _finite(pair, terms):
    """Once per step: a NaN or infinite term names the bad parameter, if any, else blames the step size."""
    for name, value in terms.items():
        if not np.isfinite(value):
            pair.check_finite()
            raise ValueError(f"{name} is {value}: the parameters are finite but the objective overflowed; "
                             "lower the step size (lr) or lambda.")
    return terms


# -------------------------------------------------------------------------- the three terms
@boundary(pair=check.pair, x=check.images, y=check.labels("x"), scale=check.nonnegative)
def l0_value_and_grad(pair, x, y, scale=1.0):
    r"""Discriminative objective L0 and its gradient by hand-derived backpropagation.

    Parameters
    ----------
    pair : CoupledPair
    x : array_like of shape (B, d_0)
        Binary images.
    y : array_like of int, shape (B,)
    scale : float, default 1
        The gradient returned is that of ``scale * L0`` (how L2 weighs it); the value is L0.

    Returns
    -------
    value : float
        :math:`\frac1B \sum_b \log \tilde q(y_b \mid x_b)`.
    grads : dict of str -> ndarray
        Keys and shapes of ``pair.params``; only ``W``, ``b`` are non-zero.

    Notes
    -----
    Equation: L0

    .. math::
        \delta^n = \mathrm{onehot}(y) - \mathrm{softmax}(a^n),\quad
        \delta^{k} = \big((W^{k+1})^\top \delta^{k+1}\big) \odot \mu^k (1 - \mu^k),\quad
        \frac{\partial}{\partial W^k} = \delta^k (\mu^{k-1})^\top

    Examples
    --------
    >>> from refimpl import CoupledPair
    >>> pair = CoupledPair((4, 3, 2), rng=np.random.default_rng(0))
    >>> v, g = l0_value_and_grad(pair, np.ones((2, 4)), [0, 1])
    >>> round(v, 2)  # about log(1/2): a uniform guess at tiny weights
    -0.69
    """
    logits = forward_logits(pair.recogniser, x, dtype=pair.dtype)  # a^1 .. a^n of the mean pass
    mus, grads = [x] + [sigmoid(a) for a in logits[:-1]], _zeros(pair)  # mu^0 .. mu^{n-1}
    logp_y, delta = _categorical(y, logits[-1], scale / x.shape[0])
    for k in range(pair.n_layers, 0, -1):
        _add_layer_grads(grads, pair.recogniser_keys[k - 1], delta, mus[k - 1])
        if k > 1:  # back through a^k = W^k mu^{k-1} + b^k, then mu^{k-1} = sigma(a^{k-1})
            delta = delta @ pair.recogniser.weights[k - 1]
            delta *= mus[k - 1] * (1.0 - mus[k - 1])
    return _finite(pair, {"L0": float(np.mean(logp_y, dtype=np.float64))})["L0"], grads


@boundary(pair=check.pair, x=check.images, hidden=check.hidden("x"), y=check.labels("x"), scale=check.scale("x"))
def wake_value_and_grad(pair, x, hidden, y, scale=1.0):
    r"""Generator term G at fixed states: :math:`\frac1B\sum_b \log p(x_b, h_b \mid y_b)` and its gradient.

    In L1 ``x`` are real images and ``hidden`` the recogniser's samples :math:`h \sim q(h \mid x)`.

    Parameters
    ----------
    pair : CoupledPair
    x : array_like of shape (B, d_0)
    hidden : list of array_like
        ``hidden[k - 1]`` of shape ``(B, d_k)``, ``k = 1..n-1``.
    y : array_like of int, shape (B,)
    scale : float or ndarray of shape (B, 1), default 1
        The gradient returned is that of ``scale * G`` (per row if an array); the value is G.

    Returns
    -------
    value : float
    grads : dict of str -> ndarray
        Non-zero for ``c`` and the generator's matrices (``W`` if tied, ``V`` if untied).

    Notes
    -----
    Equation: L1

    .. math::
        g^{k-1} = (W^k)^\top h^k + c^{k-1},\quad
        \frac{\partial G}{\partial W^k} = h^k\,(h^{k-1} - \sigma(g^{k-1}))^\top,\quad
        \frac{\partial G}{\partial c^{k-1}} = h^{k-1} - \sigma(g^{k-1})

    with :math:`h^0 = x`, :math:`h^n = \mathrm{onehot}(y)`.
    """
    states, grads = [pair.one_hot(y)] + hidden[::-1] + [x], _zeros(pair)  # y, h^{n-1}, ..., h^1, x
    total = np.zeros(x.shape[0])
    for j, keys in enumerate(pair.generator_keys, start=1):
        u, t = states[j - 1], states[j]
        logp, delta = _bernoulli(t, pair.generator.logits(j, u), scale / x.shape[0])
        total += logp
        _add_layer_grads(grads, keys, delta, u, transposed=True)
    return _finite(pair, {"G": float(total.mean())})["G"], grads


@boundary(pair=check.pair, x_dream=check.images, hidden_dream=check.hidden("x_dream"),
          y=check.labels("x_dream"), scale=check.scale("x_dream"))
def sleep_value_and_grad(pair, x_dream, hidden_dream, y, scale=1.0):
    r"""Recogniser term R at fixed states: :math:`\frac1B\sum_b \log q(h_b, y_b \mid x_b)` and its gradient.

    In L1 ``(hidden_dream, x_dream)`` are the generator's dreams :math:`\sim p(h, x \mid y)`.

    Parameters
    ----------
    pair : CoupledPair
    x_dream : array_like of shape (B, d_0)
    hidden_dream : list of array_like
        ``hidden_dream[k - 1]`` of shape ``(B, d_k)``, ``k = 1..n-1``.
    y : array_like of int, shape (B,)
    scale : float or ndarray of shape (B, 1), default 1
        The gradient returned is that of ``scale * R`` (per row if an array); the value is R.

    Returns
    -------
    value : float
    grads : dict of str -> ndarray
        Non-zero for ``W`` and ``b``.

    Notes
    -----
    Equation: L1

    .. math::
        a^k = W^k h^{k-1} + b^k,\quad
        \frac{\partial R}{\partial W^k} = (h^k - \sigma(a^k))\,(h^{k-1})^\top,\quad
        \frac{\partial R}{\partial W^n} = (\mathrm{onehot}(y) - \mathrm{softmax}(a^n))\,(h^{n-1})^\top
    """
    states, grads = [x_dream] + hidden_dream, _zeros(pair)
    total, s = np.zeros(x_dream.shape[0]), scale / x_dream.shape[0]
    for k, keys in enumerate(pair.recogniser_keys, start=1):
        u, a = states[k - 1], pair.recogniser.logits(k, states[k - 1])
        logp, delta = _bernoulli(states[k], a, s) if k < pair.n_layers else _categorical(y, a, s)
        total += logp
        _add_layer_grads(grads, keys, delta, u)
    return _finite(pair, {"R": float(total.mean())})["R"], grads


# ------------------------------------------------------------------------- the learning rules
def _scales(pair, normalise):
    """The weights (s_G, s_R) of G and R: 1 and 1, or one over the units each network produces."""
    if normalise == "none":
        return 1.0, 1.0
    hidden_units = sum(pair.sizes[1:-1])
    return 1.0 / (pair.sizes[0] + hidden_units), 1.0 / (hidden_units + 1)


def _wake_sleep(pair, x, y, rng, s_g=1.0, s_r=1.0):
    """L1's two terms: wake at h ~ q(h | x) for the REAL images, sleep at dreams for the SAME labels."""
    g, grads_g = wake_value_and_grad(pair, x, pair.sample_hidden(x, rng), y, s_g)
    hidden_d, x_d = pair.sample_generator(y, rng)
    r, grads_r = sleep_value_and_grad(pair, x_d, hidden_d, y, s_r)
    return {"G": g, "R": r}, _sum(grads_g, grads_r)


@boundary(pair=check.pair, x=check.images, y=check.labels("x"), rng=check.rng)
def l1_step_grads(pair, x, y, rng):
    r"""One stochastic L1 (or L1u, for an untied pair) step: wake then sleep, gradients summed.

    Draws, in this order from ``rng``: :math:`h \sim q(h \mid x)` for the real
    images (:meth:`CoupledPair.sample_hidden`), then :math:`(h', x') \sim p(h, x \mid y)`
    for the same labels (:meth:`CoupledPair.sample_generator`).

    Parameters
    ----------
    pair : CoupledPair
    x : array_like of shape (B, d_0)
        Real binary images.
    y : array_like of int, shape (B,)
        Their labels.
    rng : numpy.random.Generator

    Returns
    -------
    terms : dict
        ``{"G": float, "R": float}``, batch means at the sampled states.
    grads : dict of str -> ndarray
        Gradient of :math:`G + R`; for a tied pair :math:`W^k` gets the sum of both contributions.

    Notes
    -----
    Equation: L1, L1u

    .. math::
        G = \mathbb{E}_{h \sim q(h \mid x)} \log p(x, h \mid y), \qquad
        R = \mathbb{E}_{(h, x) \sim p(h, x \mid y)} \log q(h, y \mid x)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> from refimpl import CoupledPair
    >>> pair = CoupledPair((4, 3, 2), rng=rng)
    >>> terms, grads = l1_step_grads(pair, np.ones((2, 4)), [0, 1], rng)
    >>> sorted(terms), sorted(grads) == sorted(pair.params)
    (['G', 'R'], True)
    """
    return _wake_sleep(pair, x, y, rng)


@boundary(pair=check.pair, x=check.images, y=check.labels("x"), rng=check.rng, lam=check.nonnegative,
          normalise=check.choice(*NORMALISE))
def l2_step_grads(pair, x, y, rng, lam, normalise: str = "none"):
    r"""One stochastic L2 step: :math:`s_G\,G + s_R\,R + \lambda\,L0`.

    Parameters
    ----------
    pair : CoupledPair
    x : array_like of shape (B, d_0)
    y : array_like of int, shape (B,)
    rng : numpy.random.Generator
        Drawn from exactly as in :func:`l1_step_grads`.
    lam : float
        Weight :math:`\lambda \ge 0` of the discriminative term.
    normalise : {"none", "units"}, default "none"
        ``"none"``: :math:`s_G = s_R = 1`. ``"units"``: per-unit averages,
        :math:`s_G = 1/(d_0 + \dots + d_{n-1})` (units the generator produces) and
        :math:`s_R = 1/(d_1 + \dots + d_{n-1} + 1)` (the recogniser's, the label counting as one).

    Returns
    -------
    terms : dict
        ``{"G", "R", "L0"}`` unscaled batch means, and ``"objective"`` =
        :math:`s_G G + s_R R + \lambda L0`.
    grads : dict of str -> ndarray
        Gradient of ``terms["objective"]``.

    Notes
    -----
    Equation: L2

    .. math:: L2 = s_G\,G + s_R\,R + \lambda\,L0
    """
    s_g, s_r = _scales(pair, normalise)
    terms, grads = _wake_sleep(pair, x, y, rng, s_g, s_r)
    terms["L0"], grads_l0 = l0_value_and_grad(pair, x, y, lam)
    terms["objective"] = s_g * terms["G"] + s_r * terms["R"] + lam * terms["L0"]
    return _finite(pair, terms), _sum(grads, grads_l0) if lam > 0 else grads


@boundary(pair=check.pair, x=check.images, y=check.labels("x"), rng=check.rng, n_samples=check.positive_int,
          lam=check.nonnegative)
def rws_step_grads(pair, x, y, rng, n_samples: int = 5, lam: float = 0.0):
    r"""One reweighted wake-sleep step (beyond the paper): importance-weighted wake terms plus sleep.

    Bornschein and Bengio's reweighted wake-sleep (arXiv:1406.2751) with the label observed:
    ``K`` samples :math:`h_k \sim q(h \mid x)` per real image, weighted by the self-normalised
    :math:`\tilde w_k \propto p(x, h_k \mid y) / q(h_k \mid x)` (held fixed), give the generator
    :math:`\sum_k \tilde w_k \log p(x, h_k \mid y)` ("wake-p") and the recogniser
    :math:`\sum_k \tilde w_k \log q(h_k, y \mid x)` ("wake-q"), plus the sleep term R of
    :func:`l1_step_grads`. With tied weights all three add onto the one :math:`W^k`.

    Parameters
    ----------
    pair : CoupledPair
    x : array_like of shape (B, d_0)
    y : array_like of int, shape (B,)
    rng : numpy.random.Generator
        Draws, in this order: the ``B * K`` hidden samples (image ``b``'s samples in
        rows ``b K .. b K + K - 1``), then the dreams for ``y``.
    n_samples : int, default 5
        ``K``, importance samples per image.
    lam : float, default 0
        Weight :math:`\lambda \ge 0` of L0 added to the step (the hybrid "RWS2").

    Returns
    -------
    terms : dict
        ``"G"`` and ``"Q"``: batch means of the weighted wake terms; ``"R"``: the sleep term;
        ``"bound"``: the mean :math:`\log \frac1K \sum_k p(x, h_k \mid y) / q(h_k \mid x)`;
        with ``lam > 0`` also ``"L0"``.
    grads : dict of str -> ndarray
        Gradient of :math:`G + Q + R + \lambda L0` with the weights held fixed.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> from refimpl import CoupledPair
    >>> pair = CoupledPair((4, 3, 2), rng=rng)
    >>> terms, grads = rws_step_grads(pair, np.ones((2, 4)), [0, 1], rng, n_samples=3)
    >>> sorted(terms)
    ['G', 'Q', 'R', 'bound']
    """
    B, K = x.shape[0], n_samples
    xr, yr = np.repeat(x, K, axis=0), np.repeat(y, K)
    hidden = pair.sample_hidden(xr, rng)
    log_p = pair.log_p(xr, hidden, yr)  # log p(x, h | y)
    log_q = pair.log_q(xr, hidden, yr)  # log q(h, y | x)
    log_w = (log_p - pair.recogniser.log_prob(xr, hidden, dtype=pair.dtype)).reshape(B, K)  # the proposal is q(h | x)
    w = np.exp(log_w - logsumexp(log_w, axis=1, keepdims=True)).reshape(-1)  # each image's weights sum to 1
    scale = (w * K).astype(pair.dtype)[:, None]  # the terms average over their B * K rows
    _, grads_p = wake_value_and_grad(pair, xr, hidden, yr, scale)
    _, grads_q = sleep_value_and_grad(pair, xr, hidden, yr, scale)
    hidden_d, x_d = pair.sample_generator(y, rng)
    r, grads_r = sleep_value_and_grad(pair, x_d, hidden_d, y)
    terms = {"G": float(np.sum(w * log_p) / B), "Q": float(np.sum(w * log_q) / B), "R": r,
             "bound": float(np.mean(logsumexp(log_w, axis=1)) - np.log(K))}
    grads = _sum(grads_p, grads_q, grads_r)
    if lam > 0:
        terms["L0"], grads_l0 = l0_value_and_grad(pair, x, y, lam)
        grads = _sum(grads, grads_l0)
    return _finite(pair, terms), grads


# ----------------------------------------------------------- unlabelled images (semi-supervised)
@boundary(pair=check.pair, x=check.images, hidden=check.hidden("x"),
          class_weights=check.class_weights("x"), scale=check.nonnegative)
def wake_unlabelled_value_and_grad(pair, x, hidden, class_weights, scale=1.0):
    r"""Generator term of an unlabelled image, S1: the class summed over the recogniser's belief.

    In S2 ``hidden`` are the recogniser's samples :math:`h \sim q(h \mid x)` and
    ``class_weights`` its class posterior :math:`q(y \mid h^{n-1})` at them; both are
    held fixed, as the samples of L1 are.

    Parameters
    ----------
    pair : CoupledPair
    x : array_like of shape (B, d_0)
        Unlabelled binary images.
    hidden : list of array_like
        ``hidden[k - 1]`` of shape ``(B, d_k)``, ``k = 1..n-1``.
    class_weights : array_like of shape (B, C)
        Non-negative weights :math:`w_{by}`, each row summing to one.
    scale : float, default 1
        The gradient returned is that of ``scale * G_u``; the value is G_u.

    Returns
    -------
    value : float
        :math:`\frac1B \sum_b \sum_y w_{by} \log p(x_b, h_b \mid y)`.
    grads : dict of str -> ndarray
        Non-zero for ``c`` and the generator's matrices.

    Notes
    -----
    Equation: S1

    .. math::
        G_u = \sum_y w_y \log p(x, h \mid y), \qquad
        \frac{\partial G_u}{\partial W^n_{y\cdot}} = w_y\,\big(h^{n-1} - \sigma(W^n_{y\cdot} + c^{n-1})\big)

    Only the top generator layer :math:`p(h^{n-1} \mid y)` depends on the class; the layers
    below contribute as in :func:`wake_value_and_grad`. Summing over :math:`y` with
    :math:`w_y = q(y \mid h^{n-1})` is the Rao-Blackwellised form of drawing
    :math:`y \sim q(y \mid h^{n-1})` and using the labelled wake term.
    """
    w, states, B = class_weights, hidden[::-1] + [x], x.shape[0]  # h^{n-1}, ..., h^1, x
    # the top layer, the class summed out: row y of g holds the logits given y
    t, g = states[0], pair.generator.logits(1, np.eye(pair.n_classes, dtype=pair.dtype))
    total = np.sum(w * bernoulli_log_prob(t[:, None, :], g[None, :, :]), axis=1)
    delta = (w.T @ t - w.sum(axis=0)[:, None] * sigmoid(g)) * (scale / B)  # sum_b w_by (t_b - sigma(g_y))
    (w_key, c_key), grads = pair.generator_keys[0], _zeros(pair)
    grads[w_key] += delta.astype(pair.dtype)  # row y of W^n is g_y - c^{n-1}
    grads[c_key] += delta.sum(axis=0).astype(pair.dtype)
    for j, keys in enumerate(pair.generator_keys[1:], start=1):  # the layers below, as in the wake term
        u = states[j - 1]
        logp, delta = _bernoulli(states[j], pair.generator.logits(j + 1, u), scale / B)
        total += logp
        _add_layer_grads(grads, keys, delta, u, transposed=True)
    return _finite(pair, {"G_u": float(total.mean())})["G_u"], grads


@boundary(pair=check.pair, x_unlabelled=check.images, x_labelled=check.images,
          y_labelled=check.labels("x_labelled"), rng=check.rng, lam=check.nonnegative,
          normalise=check.choice(*NORMALISE), labelled_weight=check.nonnegative)
def semi_step_grads(pair, x_unlabelled, x_labelled, y_labelled, rng, lam, normalise: str = "none",
                    labelled_weight: float = 1.0):
    r"""One semi-supervised step, S2: the joint of labelled pairs, the marginal of unlabelled images, and L0.

    An unlabelled image contributes its wake term with the class summed over the recogniser's
    belief (S1), a labelled image the wake term of L1 with its true class and :math:`\lambda` L0.
    Draws, in this order from ``rng``: :math:`h \sim q(h \mid x)` for the unlabelled images;
    :math:`h \sim q(h \mid x)` for the labelled images (only if ``labelled_weight > 0``); the dream
    labels :math:`y' \sim p(y)`; the dreams :math:`(h', x') \sim p(h, x \mid y')`.

    Parameters
    ----------
    pair : CoupledPair
    x_unlabelled : array_like of shape (B, d_0)
        Binary images whose labels are not used.
    x_labelled : array_like of shape (B_l, d_0)
    y_labelled : array_like of int, shape (B_l,)
    rng : numpy.random.Generator
    lam : float
        Weight :math:`\lambda \ge 0` of L0 on the labelled batch.
    normalise : {"none", "units"}
        As in :func:`l2_step_grads`.
    labelled_weight : float, default 1
        Weight :math:`w_l \ge 0` of the labelled batch's wake term; 0 leaves it out (and draws
        nothing for it): the ablation ``S2noLW``.

    Returns
    -------
    terms : dict
        ``"G"`` (S1 on the unlabelled batch), ``"G_l"`` (the labelled wake term; only if
        ``labelled_weight > 0``), ``"R"`` (sleep at dreams for labels drawn from the prior),
        ``"L0"`` (labelled batch), and ``"objective"`` = :math:`s_G (G + w_l G_l) + s_R R + \lambda L0`.
    grads : dict of str -> ndarray
        Gradient of ``terms["objective"]`` with the samples and the class weights held fixed.

    Notes
    -----
    Equation: S2

    .. math::
        S2 = s_G\, \mathbb{E}_{x}\,\mathbb{E}_{h \sim q(h \mid x)} \sum_y q(y \mid h^{n-1}) \log p(x, h \mid y)
        + s_G\, w_l\, \mathbb{E}_{(x, y)\ \text{labelled}}\,\mathbb{E}_{h \sim q(h \mid x)} \log p(x, h \mid y)
        + s_R\, \mathbb{E}_{y \sim p(y)}\,\mathbb{E}_{(h, x) \sim p(h, x \mid y)} \log q(h, y \mid x)
        + \lambda\, \mathbb{E}_{(x, y)\ \text{labelled}} \log \tilde q(y \mid x)
    """
    x_u, x_l, y_l, w_l, (s_g, s_r) = x_unlabelled, x_labelled, y_labelled, labelled_weight, _scales(pair, normalise)
    hidden = pair.sample_hidden(x_u, rng)  # wake: h ~ q(h | x), the class weighted by q(y | h^{n-1})
    top = hidden[-1] if hidden else x_u
    belief = softmax(pair.recogniser.logits(pair.n_layers, top).astype(np.float64))
    terms, all_grads = {}, []
    terms["G"], grads = wake_unlabelled_value_and_grad(pair, x_u, hidden, belief, s_g)
    all_grads.append(grads)
    if w_l > 0:  # a labelled image: the wake term of L1 with its true class
        terms["G_l"], grads = wake_value_and_grad(pair, x_l, pair.sample_hidden(x_l, rng), y_l, s_g * w_l)
        all_grads.append(grads)
    prior = np.broadcast_to(pair.params["prior"].astype(np.float64), (x_u.shape[0], pair.n_classes))
    y_dream = np.argmax(categorical_sample(prior, rng), axis=1)  # sleep: dreams for classes drawn from p(y)
    hidden_d, x_d = pair.sample_generator(y_dream, rng)
    terms["R"], grads = sleep_value_and_grad(pair, x_d, hidden_d, y_dream, s_r)
    all_grads.append(grads)
    terms["L0"], grads = l0_value_and_grad(pair, x_l, y_l, lam)
    if lam > 0:
        all_grads.append(grads)
    terms["objective"] = s_g * (terms["G"] + w_l * terms.get("G_l", 0.0)) + s_r * terms["R"] + lam * terms["L0"]
    return _finite(pair, terms), _sum(*all_grads)
