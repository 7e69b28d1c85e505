r"""The grader's oracles, written here and independent of the code they check.

Three kinds, as the tests of the package use them:

- **enumeration**: every state of a small layer (:func:`states`, unit ``i`` of state
  ``s`` is bit ``i`` of ``s``, the package's order), every configuration of a tiny
  coupled pair (:func:`configurations`), and probabilities written out from their
  definition (:func:`log_bernoulli`, :func:`generator_log_p`, :func:`recogniser_log_q`);
- **central finite differences** of those written-out log-probabilities (:func:`central_differences`);
- **Monte Carlo** averages of a student's stochastic answer, accepted when they lie within
  a number of standard errors of the exact value (:func:`within_standard_errors`).

The log-probabilities take a plain dict ``theta`` of float64 arrays keyed like
:attr:`refimpl.coupled.CoupledPair.params` (``W1..Wn``, ``b1..bn``, ``c0..c{n-1}``) and
read nothing else of the pair: a tied pair's generator uses ``W^k`` transposed (M9).
"""

from __future__ import annotations

import itertools

import numpy as np

from refimpl.coupled import CoupledPair

from .registry import CheckFailed, as_array

__all__ = [
    "central_differences",
    "configurations",
    "distinct_depths",
    "generator_log_p",
    "gradient_dict",
    "log_bernoulli",
    "log_softmax",
    "mean_pass_log_softmax",
    "random_pair",
    "random_sizes",
    "recogniser_log_q",
    "recogniser_log_q_hidden",
    "sigmoid",
    "states",
    "theta_of",
    "within_standard_errors",
]


def states(d: int) -> np.ndarray:
    """All ``2**d`` states of ``d`` binary units, row ``s`` holding the bits of ``s`` (unit 0 lowest).

    Examples
    --------
    >>> states(2).tolist()
    [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    """
    return np.array([[(s >> i) & 1 for i in range(d)] for s in range(2**d)], dtype=np.float64).reshape(2**d, d)


def sigmoid(a):
    r""":math:`\sigma(a) = e^{-\log(1 + e^{-a})}`, without overflow."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(a, dtype=np.float64)))


def log_bernoulli(t, a) -> np.ndarray:
    r"""Summed log-probability of binary ``t`` under Bernoulli units with logits ``a``, over the last axis.

    Written as :math:`\log\sigma(a)` where a unit is on and :math:`\log\sigma(-a)` where it is off.

    Examples
    --------
    >>> float(log_bernoulli(np.array([1.0, 0.0]), np.array([0.0, 0.0])))  # log 1/4
    -1.3862943611198906
    """
    a = np.asarray(a, dtype=np.float64)
    return np.sum(np.where(np.asarray(t) == 1, -np.logaddexp(0.0, -a), -np.logaddexp(0.0, a)), axis=-1)


def log_softmax(a) -> np.ndarray:
    """Log-softmax over the last axis."""
    a = np.asarray(a, dtype=np.float64)
    top = a.max(axis=-1, keepdims=True)
    return a - top - np.log(np.sum(np.exp(a - top), axis=-1, keepdims=True))


def central_differences(f, theta: dict, eps: float = 1e-6) -> dict:
    r"""Gradient of ``f()`` with respect to every entry of the float64 arrays in ``theta``, by central differences.

    Each entry is moved by :math:`\pm\varepsilon` in place, ``f`` evaluated, and the entry restored.

    Examples
    --------
    >>> theta = {"w": np.array([1.0, 3.0])}
    >>> np.round(central_differences(lambda: float(np.sum(theta["w"] ** 2)), theta)["w"], 6)
    array([2., 6.])
    """
    grads = {}
    for key, p in theta.items():
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            up = f()
            p[idx] = old - eps
            down = f()
            p[idx] = old
            g[idx] = (up - down) / (2 * eps)
        grads[key] = g
    return grads


def within_standard_errors(samples, exact, what: str, z: float = 5.0, floor: float = 1e-9) -> None:
    r"""Accept Monte Carlo ``samples`` (axis 0) whose mean lies within ``z`` standard errors of ``exact``.

    The standard error is the sample standard deviation over :math:`\sqrt{N}`. With
    ``z = 5`` a correct answer fails one entry with probability :math:`5.7\cdot10^{-7}`,
    so a check over tens of entries fails a correct answer less than once in ten thousand;
    the seeds are fixed, so a given implementation always gets the same verdict.

    Raises
    ------
    CheckFailed
        Naming ``what`` and the largest deviation in standard errors.
    """
    samples = np.asarray(samples, dtype=np.float64)
    mean = samples.mean(axis=0)
    se = samples.std(axis=0, ddof=1) / np.sqrt(samples.shape[0])
    dev = np.abs(mean - exact) / (se + floor)
    worst = np.unravel_index(np.argmax(dev), np.shape(dev))
    if dev[worst] > z:
        spread = (f"{float(dev[worst]):.1f} standard errors" if se[worst] > floor
                  else "and it is the same in every run")
        raise CheckFailed(f"{what}: the average over {samples.shape[0]} runs is off by "
                          f"{float(abs(mean - exact)[worst]):.3g}, {spread} (at most {z:g} standard errors allowed)")


def random_pair(sizes, rng, scale: float = 1.0, tied: bool = True, prior_scale: float = 0.0) -> CoupledPair:
    """A float64 :class:`~refimpl.coupled.CoupledPair`, weights and biases drawn from N(0, scale^2).

    ``rng`` is a Generator or a seed; the prior's logits are drawn from N(0, prior_scale^2) (0: uniform).
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    pair = CoupledPair(sizes, tied=tied, rng=rng, init_scale=scale, dtype=np.float64)
    for key, value in pair.params.items():
        if key[0] in "bc":
            value[...] = scale * rng.standard_normal(value.shape)
        elif key == "prior":
            value[...] = prior_scale * rng.standard_normal(value.shape)
    return pair


def random_sizes(rng, depths=(2, 3, 4), widths=(2, 5), top=None) -> tuple:
    """Layer widths ``(d_0, ..., d_n)``: ``n`` one of ``depths``, each width in ``widths`` (inclusive).

    Checks draw their networks this way, so an answer written for one depth or one width fails.
    ``top`` fixes ``d_n`` (the number of classes).

    Examples
    --------
    >>> len(random_sizes(np.random.default_rng(0), depths=(3,))) - 1
    3
    """
    n = int(rng.choice(depths))
    sizes = [int(w) for w in rng.integers(widths[0], widths[1] + 1, n + 1)]
    if top is not None:
        sizes[-1] = top
    return tuple(sizes)


def distinct_depths(rng, count: int = 2, depths=(2, 3, 4)) -> list:
    """``count`` different depths in random order."""
    return [int(d) for d in rng.permutation(np.array(depths))[:count]]


def theta_of(pair) -> dict:
    """A plain dict of float64 copies of a pair's parameters (the oracles' input)."""
    return {key: np.array(value, dtype=np.float64) for key, value in pair.params.items()}


def configurations(widths) -> list:
    """Every joint configuration of binary layers of the given widths: one array (N, d) per layer.

    Examples
    --------
    >>> [c.shape for c in configurations([2, 1])]
    [(8, 2), (8, 1)]
    """
    if not widths:
        return []
    idx = np.array(list(itertools.product(*(range(2**d) for d in widths))))
    return [states(d)[idx[:, k]] for k, d in enumerate(widths)]


def generator_log_p(theta: dict, n: int, x, hidden, y_onehot) -> np.ndarray:
    r""":math:`\log p(x, h \mid y) = \sum_{k=1}^{n} \log p(x^{k-1} \mid x^k)`, logits :math:`(W^k)^\top x^k + c^{k-1}`.

    The generator's layers of M9, evaluated from ``theta``.

    ``hidden`` lists :math:`h^1..h^{n-1}` (rows aligned with ``x``); :math:`x^n` is the one-hot label.
    """
    layers = [x] + list(hidden) + [y_onehot]  # x^0 .. x^n
    total = 0.0
    for k in range(n, 0, -1):
        total = total + log_bernoulli(layers[k - 1], layers[k] @ theta[f"W{k}"] + theta[f"c{k - 1}"])
    return total


def recogniser_log_q_hidden(theta: dict, n: int, x, hidden) -> np.ndarray:
    r""":math:`\log q(h \mid x) = \sum_{k=1}^{n-1} \log q(x^k \mid x^{k-1})`, logits :math:`W^k x^{k-1} + b^k` (M1)."""
    layers = [x] + list(hidden)
    total = np.zeros(np.shape(x)[0])
    for k in range(1, n):
        total = total + log_bernoulli(layers[k], layers[k - 1] @ theta[f"W{k}"].T + theta[f"b{k}"])
    return total


def recogniser_log_q(theta: dict, n: int, x, hidden, y) -> np.ndarray:
    r""":math:`\log q(h, y \mid x)`: the hidden layers (M1) and the softmax top at label ``y`` (M2)."""
    top = hidden[-1] if len(hidden) else x
    logp_y = log_softmax(top @ theta[f"W{n}"].T + theta[f"b{n}"])
    return recogniser_log_q_hidden(theta, n, x, hidden) + logp_y[np.arange(len(y)), y]


def mean_pass_log_softmax(theta: dict, n: int, x) -> np.ndarray:
    r""":math:`\log \tilde q(\cdot \mid x)` of the recogniser's mean pass (M6) with its softmax top, shape (B, C)."""
    mu = np.asarray(x, dtype=np.float64)
    for k in range(1, n):
        mu = sigmoid(mu @ theta[f"W{k}"].T + theta[f"b{k}"])
    return log_softmax(mu @ theta[f"W{n}"].T + theta[f"b{n}"])


def gradient_dict(value, pair, what: str) -> dict:
    """The student's gradient ``value`` as a dict of float64 arrays shaped like ``pair.params``.

    Missing entries count as zero; an entry with the wrong shape, or a key the pair
    does not have, fails the check.
    """
    if not isinstance(value, dict):
        raise CheckFailed(f"{what} must be a dict keyed like pair.params; got {type(value).__name__}")
    out = {}
    for key, p in pair.params.items():
        out[key] = as_array(value[key], f"{what}, entry {key!r}", p.shape) if key in value else np.zeros(p.shape)
    extra = sorted(set(value) - set(pair.params))
    if extra:
        raise CheckFailed(f"{what} has entries the pair does not have: {extra}")
    return out
