"""Numerically stable elementary functions used throughout the package.

Every probability in ``refimpl`` is computed from logits with the functions
below, never as ``log(1 + exp(a))`` or ``log(p + eps)``. Each is exact to
float64 rounding and silent (no overflow warning) for any finite input,
including logits of +-1e4.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "softplus", "log_sigmoid", "logsumexp", "softmax", "log_softmax"]


def sigmoid(a):
    r"""Logistic sigmoid :math:`\sigma(a) = 1 / (1 + e^{-a})`, overflow-free.

    Parameters
    ----------
    a : array_like
        Logits, any shape.

    Returns
    -------
    ndarray
        :math:`\sigma(a)` with the shape and floating dtype of ``a``.

    Notes
    -----
    Evaluated as :math:`e^{-\mathrm{softplus}(-a)}`, which never exponentiates
    a positive number.

    Examples
    --------
    >>> float(sigmoid(0.0))
    0.5
    """
    a = np.asarray(a)
    return np.exp(-np.logaddexp(0.0, -a))


def softplus(a):
    r"""Softplus :math:`\log(1 + e^{a})` via ``np.logaddexp(0, a)``.

    Examples
    --------
    >>> float(softplus(1e4))
    10000.0
    """
    return np.logaddexp(0.0, a)


def log_sigmoid(a):
    r"""Log-sigmoid :math:`\log \sigma(a) = -\mathrm{softplus}(-a)`.

    Examples
    --------
    >>> float(log_sigmoid(-1e4))
    -10000.0
    """
    return -np.logaddexp(0.0, -np.asarray(a))


def logsumexp(a, axis=-1, keepdims=False):
    r"""Stable :math:`\log \sum_i e^{a_i}` along ``axis``.

    Rows that are all ``-inf`` give ``-inf`` (no warning).

    Examples
    --------
    >>> float(logsumexp(np.array([1e4, 1e4])))  # doctest: +ELLIPSIS
    10000.69314718...
    """
    a = np.asarray(a)
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    s = np.sum(np.exp(a - m), axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        out = np.log(s) + m
    if not keepdims:
        out = np.squeeze(out, axis=axis)
    return out


def log_softmax(a, axis=-1):
    r"""Stable :math:`a_i - \log \sum_j e^{a_j}` along ``axis``."""
    a = np.asarray(a)
    return a - logsumexp(a, axis=axis, keepdims=True)


def softmax(a, axis=-1):
    r"""Stable softmax :math:`e^{a_i} / \sum_j e^{a_j}` along ``axis``."""
    return np.exp(log_softmax(a, axis=axis))
