r"""Learning a coupled pair: discriminative (L0), generative wake-sleep (L1, L1u), hybrid (L2).

Implements the learning rules of the method, for a :class:`refimpl.coupled.CoupledPair`:

- (L0) :math:`\frac1B\sum_b \log \tilde q(y_b \mid x_b)`, :math:`\tilde q` from the mean pass (M6),
  with its gradient by hand-derived backpropagation;
- (L1) generator term :math:`G = \mathbb{E}_{h \sim q(h \mid x)} \log p(x, h \mid y)` at real
  images ("wake") and recogniser term :math:`R = \mathbb{E}_{(h, x) \sim p(h, x \mid y)} \log q(h, y \mid x)`
  at dreams for the same real labels ("sleep"); with tied weights both add onto the one :math:`W^k`;
- (L1u) the same for an untied pair (``tied=False``): ``W`` gets R, ``V`` gets G;
- (L2) :math:`L1 + \lambda\,L0`, with :math:`\lambda` and the per-term normalisation explicit;
- (S1, S2) beyond the paper's labelled setting: an unlabelled image in the wake phase, its
  class summed over the recogniser's belief :math:`q(y \mid h^{n-1})`, and the semi-supervised
  step (generative terms on unlabelled images, :math:`\lambda` L0 on the labelled ones);
- reweighted wake-sleep (:func:`rws_step_grads`), beyond the paper, for comparison.

Conventions
-----------
Every value is a quantity to **maximise** (a log-likelihood); every gradient is
its gradient, so optimisers in :mod:`refimpl.optim` *ascend*. Values are summed
over units and **averaged over the batch**; so are the gradients. With the
sampled states held fixed every term is a sum of per-layer logistic
log-likelihoods: for logits :math:`a = Wu + b` and binary target :math:`t`,

.. math::
    \frac{\partial}{\partial W} = (t - \sigma(a))\,u^\top, \qquad \frac{\partial}{\partial b} = t - \sigma(a),

the generator's layers give the same form transposed, and the categorical top
gives :math:`(\mathrm{onehot}(y) - \mathrm{softmax}(a))\,u^\top`. Gradients come
back as a dict with **every** key of ``pair.params`` (zeros where a term does
not depend on a parameter); ``"prior"`` always gets zero: these rules do not
learn :math:`p(y)`.

The sleep term is not the gradient of any bound on :math:`\log p(x)`: a tied
:math:`W^k` receiving both terms ascends no single objective.
"""

from __future__ import annotations

import numpy as np

from ._validation import (
    as_batch,
    as_float_array,
    check_choice,
    check_instance,
    check_nonnegative,
    check_positive_int,
    check_rng,
)
from .coupled import CoupledPair
from .forward import forward_logits
from .numerics import log_softmax, logsumexp, sigmoid
from .sbn import bernoulli_log_prob

__all__ = [
    "NORMALISE",
    "l0_value_and_grad",
    "l1_step_grads",
    "l2_step_grads",
    "rws_step_grads",
    "semi_step_grads",
    "sleep_value_and_grad",
    "wake_unlabelled_value_and_grad",
    "wake_value_and_grad",
]

NORMALISE = ("none", "units")


# --------------------------------------------------------------- accumulation
def _acc(grads, key, value):
    """Add ``value`` onto ``grads[key]`` (store it if the slot is still empty: no zero-add copy)."""
    if grads[key] is None:
        grads[key] = value
    else:
        grads[key] += value


def _empty_grads(pair):
    return dict.fromkeys(pair.params)


def _fill_zeros(pair, grads):
    for key, g in grads.items():
        if g is None:
            grads[key] = np.zeros_like(pair.params[key])
    return grads


def _finite(pair, value, what):
    """Return ``value``; if it is NaN or infinite, raise naming the parameter or the cause."""
    if not np.isfinite(value):
        pair.check_finite()  # names a NaN or infinite parameter, if there is one
        raise ValueError(f"{what} is {value}: the parameters are finite but the objective overflowed; "
                         "lower the step size (lr) or lambda.")
    return value


# ------------------------------------------------------------ the three terms
def _l0(pair, x, y, grads, scale):
    """Mean log q~(y|x) over the batch; adds ``scale`` x its gradient into ``grads``."""
    B = x.shape[0]
    logits = forward_logits(pair.recogniser, x, dtype=pair.dtype)  # a^1 .. a^n of the mean pass
    means = [sigmoid(a) for a in logits[:-1]]  # mu^1 .. mu^{n-1}
    logp = log_softmax(logits[-1])
    value = float(np.mean(logp[np.arange(B), y], dtype=np.float64))
    # top layer: d/da^n = onehot(y) - softmax(a^n)
    delta = -np.exp(logp)
    delta[np.arange(B), y] += 1.0
    delta *= scale / B
    inputs = [x] + means  # mu^0 .. mu^{n-1}
    for k in range(pair.n_layers, 0, -1):
        w_key, b_key = pair.recogniser_keys[k - 1]
        _acc(grads, w_key, delta.T @ inputs[k - 1])
        _acc(grads, b_key, delta.sum(axis=0))
        if k > 1:
            mu = inputs[k - 1]
            delta = delta @ pair.recogniser.weights[k - 1]  # back through a^k = W^k mu^{k-1} + b^k
            delta *= mu * (1.0 - mu)  # back through mu = sigma(a^{k-1})
    return value


def _wake(pair, x, hidden, y, grads, scale, class_weights=None):
    """Mean log p(x, h | y) over the batch; adds ``scale`` x its gradient into ``grads``.

    With ``class_weights`` (B, C) instead of labels, the top layer's term is
    summed over the classes with those weights held fixed (S1).
    """
    B, gen = x.shape[0], pair.generator
    states = [None if y is None else pair.one_hot(y)] + hidden[::-1] + [x]  # y, h^{n-1}, ..., h^1, x
    total, first = np.zeros(B), 1
    if class_weights is not None:
        total += _wake_top_summed(pair, states[1], class_weights, grads, scale)
        first = 2
    for j, (w_key, c_key) in enumerate(pair.generator_keys[first - 1:], start=first):
        u, t = states[j - 1], states[j]
        a = gen.logits(j, u)  # (W^k)^T u + c^{k-1}
        total += bernoulli_log_prob(t, a)
        delta = sigmoid(a)
        np.subtract(t, delta, out=delta)
        delta *= scale / B
        _acc(grads, w_key, u.T @ delta)  # params[w_key] is W^k; the generator uses its transpose
        _acc(grads, c_key, delta.sum(axis=0))
    return float(total.mean())


def _wake_top_summed(pair, t, w, grads, scale):
    r"""Per-row :math:`\sum_y w_y \log p(t \mid y)` of the generator's top layer; adds ``scale`` x its gradient.

    Class ``y`` gives the logits :math:`g_y = W^n_{y\cdot} + c^{n-1}` (row ``y`` of the table
    below), so :math:`\partial/\partial g_y = \sum_b w_{by} (t_b - \sigma(g_y))`.
    """
    B, C = w.shape
    w_key, c_key = pair.generator_keys[0]
    g = pair.generator.logits(1, np.eye(C, dtype=pair.dtype))  # (C, d_{n-1}): the logits given each class
    value = np.sum(w * bernoulli_log_prob(t[:, None, :], g[None, :, :]), axis=1)  # (B,)
    delta = (w.T @ t - w.sum(axis=0)[:, None] * sigmoid(g)) * (scale / B)  # (C, d_{n-1})
    _acc(grads, w_key, delta.astype(pair.dtype))  # params[w_key] is W^n, whose row y is g_y - c
    _acc(grads, c_key, delta.sum(axis=0).astype(pair.dtype))
    return value


def _sleep(pair, x, hidden, y, grads, scale):
    """Mean log q(h, y | x) over the batch; adds ``scale`` x its gradient into ``grads``."""
    n, B, rec = pair.n_layers, x.shape[0], pair.recogniser
    states = [x] + list(hidden)
    total = np.zeros(B)
    for k, (w_key, b_key) in enumerate(pair.recogniser_keys, start=1):
        u = states[k - 1]
        a = rec.logits(k, u)  # W^k u + b^k
        if k < n:
            t = states[k]
            total += bernoulli_log_prob(t, a)
            delta = sigmoid(a)
            np.subtract(t, delta, out=delta)
        else:
            logp = log_softmax(a)
            total += logp[np.arange(B), y]
            delta = -np.exp(logp)
            delta[np.arange(B), y] += 1.0
        delta *= scale / B
        _acc(grads, w_key, delta.T @ u)
        _acc(grads, b_key, delta.sum(axis=0))
    return float(total.mean())


# -------------------------------------------------------------- public API
def l0_value_and_grad(pair, x, y):
    r"""Discriminative objective L0 and its gradient by hand-derived backpropagation.

    Parameters
    ----------
    pair : CoupledPair
    x : array_like of shape (B, d_0)
        Binary images.
    y : array_like of int, shape (B,)

    Returns
    -------
    value : float
        :math:`\frac1B \sum_b \log \tilde q(y_b \mid x_b)`.
    grads : dict of str -> ndarray
        Same keys and shapes as ``pair.params``; only ``W``, ``b`` are non-zero.

    Notes
    -----
    Equation: L0

    .. math::
        \delta^n = \mathrm{onehot}(y) - \mathrm{softmax}(a^n),\quad
        \delta^{k} = \big((W^{k+1})^\top \delta^{k+1}\big) \odot \mu^k (1 - \mu^k),\quad
        \frac{\partial}{\partial W^k} = \delta^k (\mu^{k-1})^\top

    Examples
    --------
    >>> pair = CoupledPair((4, 3, 2), rng=np.random.default_rng(0))
    >>> v, g = l0_value_and_grad(pair, np.ones((2, 4)), [0, 1])
    >>> round(v, 2)  # about log(1/2): a uniform guess at tiny weights
    -0.69
    """
    pair = check_instance(pair, CoupledPair, "pair")
    x, y, _ = pair.check_batch(x, y)
    grads = _empty_grads(pair)
    value = _finite(pair, _l0(pair, x, y, grads, 1.0), "L0")
    return value, _fill_zeros(pair, grads)


def wake_value_and_grad(pair, x, hidden, y):
    r"""Generator term G at fixed states: :math:`\frac1B\sum_b \log p(x_b, h_b \mid y_b)` and its gradient.

    In L1 ``x`` are real images and ``hidden`` the recogniser's samples :math:`h \sim q(h \mid x)`.

    Parameters
    ----------
    pair : CoupledPair
    x : array_like of shape (B, d_0)
    hidden : list of array_like
        ``hidden[k - 1]`` of shape ``(B, d_k)``, ``k = 1..n-1``.
    y : array_like of int, shape (B,)

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
    pair = check_instance(pair, CoupledPair, "pair")
    x, y, hidden = pair.check_batch(x, y, hidden)
    grads = _empty_grads(pair)
    value = _finite(pair, _wake(pair, x, hidden, y, grads, 1.0), "G")
    return value, _fill_zeros(pair, grads)


def sleep_value_and_grad(pair, x_dream, hidden_dream, y):
    r"""Recogniser term R at fixed states: :math:`\frac1B\sum_b \log q(h_b, y_b \mid x_b)` and its gradient.

    In L1 ``(hidden_dream, x_dream)`` are the generator's dreams :math:`\sim p(h, x \mid y)`.

    Parameters
    ----------
    pair : CoupledPair
    x_dream : array_like of shape (B, d_0)
    hidden_dream : list of array_like
        ``hidden_dream[k - 1]`` of shape ``(B, d_k)``, ``k = 1..n-1``.
    y : array_like of int, shape (B,)

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
    pair = check_instance(pair, CoupledPair, "pair")
    x, y, hidden = pair.check_batch(x_dream, y, hidden_dream, x_name="x_dream", hidden_name="hidden_dream")
    grads = _empty_grads(pair)
    value = _finite(pair, _sleep(pair, x, hidden, y, grads, 1.0), "R")
    return value, _fill_zeros(pair, grads)


def _scales(pair, normalise):
    """The weights (s_G, s_R) of G and R: 1 and 1, or one over the units each network produces."""
    check_choice(normalise, "normalise", NORMALISE)
    if normalise == "none":
        return 1.0, 1.0
    hidden_units = sum(pair.sizes[1:-1])
    return 1.0 / (pair.sizes[0] + hidden_units), 1.0 / (hidden_units + 1)


def _l1(pair, x, y, rng, grads, scale_g, scale_r):
    hidden = [h[0] for h in pair.recogniser.sample(x, 1, rng, n_layers=pair.n_layers - 1)]  # wake: h ~ q(h | REAL x)
    g = _wake(pair, x, hidden, y, grads, scale_g)
    hidden_d, x_d = pair.sample_generator(y, rng)  # sleep: dreams for the SAME real labels
    r = _sleep(pair, x_d, hidden_d, y, grads, scale_r)
    return _finite(pair, g, "G"), _finite(pair, r, "R")


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
    >>> pair = CoupledPair((4, 3, 2), rng=rng)
    >>> terms, grads = l1_step_grads(pair, np.ones((2, 4)), [0, 1], rng)
    >>> sorted(terms), sorted(grads) == sorted(pair.params)
    (['G', 'R'], True)
    """
    pair = check_instance(pair, CoupledPair, "pair")
    rng = check_rng(rng)
    x, y, _ = pair.check_batch(x, y)
    grads = _empty_grads(pair)
    g, r = _l1(pair, x, y, rng, grads, 1.0, 1.0)
    return {"G": g, "R": r}, _fill_zeros(pair, grads)


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
        :math:`s_G = 1/(d_0 + d_1 + \dots + d_{n-1})` (units the generator
        produces) and :math:`s_R = 1/(d_1 + \dots + d_{n-1} + 1)` (units the
        recogniser produces, the label counting as one).

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
    pair = check_instance(pair, CoupledPair, "pair")
    rng = check_rng(rng)
    lam = check_nonnegative(lam, "lam")
    s_g, s_r = _scales(pair, normalise)
    x, y, _ = pair.check_batch(x, y)
    grads = _empty_grads(pair)
    g, r = _l1(pair, x, y, rng, grads, s_g, s_r)
    l0 = _l0(pair, x, y, grads, float(lam)) if lam > 0 else _l0_value(pair, x, y)
    objective = _finite(pair, s_g * g + s_r * r + float(lam) * _finite(pair, l0, "L0"), "the L2 objective")
    return {"G": g, "R": r, "L0": l0, "objective": objective}, _fill_zeros(pair, grads)


def _l0_value(pair, x, y):
    logits = forward_logits(pair.recogniser, x, dtype=pair.dtype)
    return float(np.mean(log_softmax(logits[-1])[np.arange(x.shape[0]), y], dtype=np.float64))


def rws_step_grads(pair, x, y, rng, n_samples: int = 5, lam: float = 0.0):
    r"""One reweighted wake-sleep step (beyond the paper): importance-weighted wake terms plus sleep.

    Bornschein and Bengio's reweighted wake-sleep (arXiv:1406.2751) with the label
    observed: draw ``K`` hidden states :math:`h_k \sim q(h \mid x)` per real image,
    weigh them by the self-normalised importance weights
    :math:`\tilde w_k \propto p(x, h_k \mid y) / q(h_k \mid x)` (held fixed), and
    ascend, for the generator, :math:`\sum_k \tilde w_k \log p(x, h_k \mid y)`
    ("wake-p") and, for the recogniser, :math:`\sum_k \tilde w_k \log q(h_k, y \mid x)`
    ("wake-q": it learns from real images, not only from dreams), plus the sleep
    term R of :func:`l1_step_grads`. With tied weights all three add onto the one
    :math:`W^k`.

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
        Weight :math:`\lambda \ge 0` of L0 added to the step (the hybrid "RWS2",
        as L2 adds it to L1); 0 leaves reweighted wake-sleep alone.

    Returns
    -------
    terms : dict
        ``"G"`` and ``"Q"``: batch means of the weighted wake terms; ``"R"``: the
        sleep term; ``"bound"``: the mean importance-sampled bound
        :math:`\log \frac1K \sum_k p(x, h_k \mid y) / q(h_k \mid x)`; with
        ``lam > 0`` also ``"L0"``.
    grads : dict of str -> ndarray
        Gradient of :math:`G + Q + R + \lambda L0` with the weights held fixed.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> pair = CoupledPair((4, 3, 2), rng=rng)
    >>> terms, grads = rws_step_grads(pair, np.ones((2, 4)), [0, 1], rng, n_samples=3)
    >>> sorted(terms)
    ['G', 'Q', 'R', 'bound']
    """
    pair = check_instance(pair, CoupledPair, "pair")
    rng = check_rng(rng)
    n_samples = check_positive_int(n_samples, "n_samples")
    lam = check_nonnegative(lam, "lam")
    x, y, _ = pair.check_batch(x, y)
    B, K, n = x.shape[0], int(n_samples), pair.n_layers
    xr, yr = np.repeat(x, K, axis=0), np.repeat(y, K)
    hidden = [h[0] for h in pair.recogniser.sample(xr, 1, rng, n_layers=n - 1)]
    log_p = pair.generator.log_prob(pair.one_hot(yr), hidden[::-1] + [xr], dtype=pair.dtype)  # log p(x, h | y)
    log_q_h = pair.recogniser.log_prob(xr, hidden, dtype=pair.dtype)  # the proposal q(h | x)
    top = hidden[-1] if hidden else xr
    log_q = log_q_h + pair.recogniser.layer_log_prob(n, pair.one_hot(yr), top)  # log q(h, y | x)
    log_w = (log_p - log_q_h).reshape(B, K)
    w = np.exp(log_w - logsumexp(log_w, axis=1, keepdims=True)).reshape(-1)  # each image's weights sum to 1
    grads = _empty_grads(pair)
    scale = (w * K).astype(pair.dtype)[:, None]  # _wake and _sleep divide by their B * K rows
    _wake(pair, xr, hidden, yr, grads, scale)
    _sleep(pair, xr, hidden, yr, grads, scale)
    hidden_d, x_d = pair.sample_generator(y, rng)
    r = _finite(pair, _sleep(pair, x_d, hidden_d, y, grads, 1.0), "R")
    terms = {
        "G": float(np.sum(w * log_p) / B),
        "Q": float(np.sum(w * log_q) / B),
        "R": r,
        "bound": float(np.mean(logsumexp(log_w, axis=1)) - np.log(K)),
    }
    if lam > 0:
        terms["L0"] = _finite(pair, _l0(pair, x, y, grads, lam), "L0")
    return terms, _fill_zeros(pair, grads)


# ------------------------------------------------ unlabelled images (semi-supervised)
def _class_weights(pair, x, hidden):
    """q(y | h^{n-1}) for every class, the recogniser's top layer at the sampled states, (B, C) float64."""
    top = hidden[-1] if hidden else x
    return np.exp(log_softmax(pair.recogniser.logits(pair.n_layers, top).astype(np.float64)))


def wake_unlabelled_value_and_grad(pair, x, hidden, class_weights):
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

    Returns
    -------
    value : float
        :math:`\frac1B \sum_b \sum_y w_{by} \log p(x_b, h_b \mid y)`.
    grads : dict of str -> ndarray
        Non-zero for ``c`` and the generator's matrices.

    Raises
    ------
    ValueError
        If ``class_weights`` is badly shaped, negative or its rows do not sum to one.

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
    pair = check_instance(pair, CoupledPair, "pair")
    x, _, hidden = pair.check_batch(x, None, hidden)
    w = as_float_array(class_weights, "class_weights")
    if w.shape != (x.shape[0], pair.n_classes):
        raise ValueError(f"class_weights must have shape ({x.shape[0]}, {pair.n_classes}); got {w.shape}.")
    if np.any(~np.isfinite(w)) or np.any(w < 0) or not np.allclose(w.sum(axis=1), 1.0, rtol=0, atol=1e-6):
        raise ValueError("class_weights must be non-negative and each row must sum to one.")
    grads = _empty_grads(pair)
    value = _finite(pair, _wake(pair, x, hidden, None, grads, 1.0, class_weights=w), "G_u")
    return value, _fill_zeros(pair, grads)


def semi_step_grads(pair, x_unlabelled, x_labelled, y_labelled, rng, lam, normalise: str = "none",
                    labelled_weight: float = 1.0):
    r"""One semi-supervised step, S2: the joint of labelled pairs, the marginal of unlabelled images, and L0.

    An unlabelled image contributes its wake term with the class summed over the
    recogniser's belief (S1), a labelled image the wake term of L1 with its true
    class, :math:`\log p(x, h \mid y)` at :math:`h \sim q(h \mid x)`, and
    :math:`\lambda` L0. Draws, in this order from ``rng``: :math:`h \sim q(h \mid x)`
    for the unlabelled images; :math:`h \sim q(h \mid x)` for the labelled images
    (only if ``labelled_weight > 0``); the dream labels :math:`y' \sim p(y)`; the
    dreams :math:`(h', x') \sim p(h, x \mid y')`.

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
        Weight :math:`w_l \ge 0` of the labelled batch's wake term; 0 leaves it out (and
        draws nothing for it): the ablation ``S2noLW``, the semi-supervised step as it
        was before this term was added.

    Returns
    -------
    terms : dict
        ``"G"`` (S1 on the unlabelled batch, batch mean), ``"G_l"`` (the wake term with
        the true classes, labelled batch mean; only if ``labelled_weight > 0``), ``"R"``
        (sleep term at dreams for labels drawn from the prior), ``"L0"`` (on the labelled
        batch) and ``"objective"`` = :math:`s_G (G + w_l G_l) + s_R R + \lambda L0`.
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

    The labelled term is the wake term of :func:`l1_step_grads` on the labelled batch, the
    generative half of :math:`\log p(x, y)`; the unlabelled term is that of :math:`\log p(x)`
    with the class summed out (S1). The sleep phase draws its classes from the prior.
    """
    pair = check_instance(pair, CoupledPair, "pair")
    rng = check_rng(rng)
    lam = check_nonnegative(lam, "lam")
    w_l = check_nonnegative(labelled_weight, "labelled_weight")
    s_g, s_r = _scales(pair, normalise)
    x_u = as_batch(x_unlabelled, "x_unlabelled", pair.sizes[0], binary=True, dtype=pair.dtype)[0]
    x_l, y_l, _ = pair.check_batch(x_labelled, y_labelled, x_name="x_labelled")
    grads = _empty_grads(pair)
    hidden = [h[0] for h in pair.recogniser.sample(x_u, 1, rng, n_layers=pair.n_layers - 1)]  # wake: h ~ q(h | x)
    g = _wake(pair, x_u, hidden, None, grads, s_g, class_weights=_class_weights(pair, x_u, hidden))
    terms = {"G": _finite(pair, g, "G")}
    if w_l > 0:  # a labelled image: the wake term of L1 with its true class
        hidden_l = [h[0] for h in pair.recogniser.sample(x_l, 1, rng, n_layers=pair.n_layers - 1)]
        terms["G_l"] = _finite(pair, _wake(pair, x_l, hidden_l, y_l, grads, s_g * w_l), "G_l")
    prior = np.exp(pair.log_prior())
    y_dream = np.minimum(np.searchsorted(np.cumsum(prior), rng.random(x_u.shape[0])), pair.n_classes - 1)
    hidden_d, x_d = pair.sample_generator(y_dream, rng)  # sleep: dreams for classes drawn from p(y)
    r = _sleep(pair, x_d, hidden_d, y_dream, grads, s_r)
    terms["R"] = _finite(pair, r, "R")
    terms["L0"] = _l0(pair, x_l, y_l, grads, lam) if lam > 0 else _l0_value(pair, x_l, y_l)
    generative = g + w_l * terms.get("G_l", 0.0)
    terms["objective"] = _finite(pair, s_g * generative + s_r * r + lam * terms["L0"], "the S2 objective")
    return terms, _fill_zeros(pair, grads)
