"""Stable elementary functions: every probability in ``refimpl`` is computed from logits with them.

Each keeps its input's float dtype and is silent for any finite input (logits of ±1e4 included).
"""

from __future__ import annotations

import numpy as np

from . import _validation as check
from ._validation import boundary

__all__ = ["sigmoid", "softplus", "log_sigmoid", "logsumexp", "softmax", "log_softmax"]


@boundary(a=check.real_array)
def sigmoid(a):
    r"""Logistic sigmoid, overflow-free and accurate in the lower tail; shape and float dtype of ``a``.

    .. math:: \sigma(a) = \frac{1}{1 + e^{-a}} = \frac{1 \text{ if } a \ge 0 \text{ else } e}{1 + e},\quad e = e^{-|a|}

    Examples
    --------
    >>> sigmoid(np.array([-100.0], np.float32)).dtype
    dtype('float32')
    """
    e = np.exp(-np.abs(a))
    return np.maximum(e, a >= 0) / (1 + e)  # numerator: 1 where a >= 0 (as e <= 1), e where a < 0


@boundary(a=check.real_array)
def softplus(a):
    r"""Softplus :math:`\log(1 + e^{a}) = \max(a, 0) + \log(1 + e^{-|a|})`, overflow-free; shape and dtype of ``a``.

    Examples
    --------
    >>> float(softplus(1e4))
    10000.0
    """
    return np.log1p(np.exp(-np.abs(a))) + np.maximum(a, 0)


@boundary(a=check.real_array)
def log_sigmoid(a):
    r"""Log-sigmoid :math:`\log \sigma(a) = \min(a, 0) - \log(1 + e^{-|a|})`; shape and dtype of ``a``."""
    return np.minimum(a, 0) - np.log1p(np.exp(-np.abs(a)))


@boundary(check.nonempty_reduction, a=check.real_array)
def logsumexp(a, axis=-1, keepdims=False):
    r"""Stable :math:`\log \sum_i e^{a_i} = m + \log \sum_i e^{a_i - m}`, :math:`m = \max_i a_i`, along ``axis``.

    Rows that are all ``-inf`` give ``-inf`` (no warning); an empty sum raises ValueError.

    Examples
    --------
    >>> float(logsumexp(np.array([1e4, 1e4])))  # doctest: +ELLIPSIS
    10000.69314718...
    """
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    s = np.sum(np.exp(a - m), axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        out = np.log(s) + m
    if not keepdims:
        out = np.squeeze(out, axis=axis)
    return out


@boundary(check.nonempty_reduction, a=check.real_array)
def log_softmax(a, axis=-1):
    r"""Stable :math:`a_i - \log \sum_j e^{a_j}` along ``axis``."""
    return a - logsumexp(a, axis=axis, keepdims=True)


@boundary(check.nonempty_reduction, a=check.real_array)
def softmax(a, axis=-1):
    r"""Stable softmax :math:`e^{a_i} / \sum_j e^{a_j}` along ``axis``."""
    return np.exp(log_softmax(a, axis=axis))
