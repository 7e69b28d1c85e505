"""Numerically stable elementary functions used throughout the package.

Every probability in ``refimpl`` is computed from logits with the functions
below, never as ``log(1 + exp(a))`` or ``log(p + eps)``. Each keeps the
floating dtype of its input, is accurate to a few roundings (see each
function) and is silent (no overflow warning) for any finite input, including
logits of +-1e4. ``sigmoid`` and ``softplus`` are also the training hot path of
:mod:`refimpl.coupled` and :mod:`refimpl.learning`, hence the in-place ufuncs.
Input that is not an array of real numbers (a string, None, an object or
complex array) raises TypeError; the check reads the dtype, never the values.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_real_array

__all__ = ["sigmoid", "softplus", "log_sigmoid", "logsumexp", "softmax", "log_softmax"]


def _float_array(a):
    """``a`` as an array of its own floating dtype (integers and bools become float64).

    Strings, None, object and complex arrays raise TypeError naming ``a``. A
    float ndarray passes after an O(1) look at its dtype (no copy, no pass over
    its values): these functions run in training inner loops.
    """
    return as_real_array(a, "a")


def _check_reduction_nonempty(a, axis):
    """Raise ValueError if reducing ``a`` over ``axis`` sums no terms (call it for an empty ``a`` only).

    A bad ``axis`` is left to NumPy's own AxisError.
    """
    axes = range(a.ndim) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    try:
        empty = any(a.shape[ax] == 0 for ax in axes)
    except (IndexError, TypeError):
        return
    if empty:
        raise ValueError(f"a must hold at least one value along axis {axis}; got shape {a.shape}.")


def _exp_minus_abs(a):
    r""":math:`e^{-|a|} \in (0, 1]` in a new array of the dtype of ``a``: never overflows."""
    e = np.abs(a, out=np.empty(a.shape, a.dtype))
    np.negative(e, out=e)
    return np.exp(e, out=e)


def _result(out):
    """A 0-d result as a NumPy scalar (as ufuncs return it), any other array unchanged."""
    return out if out.ndim else out[()]


def sigmoid(a):
    r"""Logistic sigmoid :math:`\sigma(a) = 1 / (1 + e^{-a})`, overflow-free.

    Parameters
    ----------
    a : array_like
        Logits, any shape.

    Returns
    -------
    ndarray
        :math:`\sigma(a)` with the shape and floating dtype of ``a`` (float32
        stays float32; integers give float64).

    Notes
    -----
    With :math:`e = e^{-|a|} \in (0, 1]`,

    .. math:: \sigma(a) = \frac{1}{1 + e} \ (a \ge 0), \qquad \sigma(a) = \frac{e}{1 + e} \ (a < 0),

    which never exponentiates a positive number and keeps full *relative*
    precision far into the lower tail (the form :math:`\tfrac12 + \tfrac12\tanh(a/2)`
    cancels to nothing below :math:`a \approx -17` in float32, :math:`-37` in
    float64). Each value is a few roundings away from exact: within 1 ulp in
    float64; in float32 the error is that of NumPy's float32 ``exp`` plus two
    roundings (at most about 3 ulp, relative error below 4e-7). The two branches
    are blended without a masked copy (``max(e, [a >= 0])`` is the numerator),
    which keeps the function fast on the training hot path.

    Examples
    --------
    >>> float(sigmoid(0.0))
    0.5
    >>> sigmoid(np.array([-100.0], np.float32)).dtype
    dtype('float32')
    """
    a = _float_array(a)
    e = _exp_minus_abs(a)
    d = np.add(e, 1, out=np.empty(a.shape, a.dtype))  # 1 + e^{-|a|}, in [1, 2]
    np.maximum(e, a >= 0, out=e)  # numerator: 1 where a >= 0, e^{-|a|} where a < 0
    np.divide(e, d, out=e)
    return _result(e)


def softplus(a):
    r"""Softplus :math:`\log(1 + e^{a}) = \max(a, 0) + \log(1 + e^{-|a|})`, overflow-free.

    Parameters
    ----------
    a : array_like
        Logits, any shape.

    Returns
    -------
    ndarray
        Same shape and floating dtype as ``a``.

    Notes
    -----
    The identity is exact; ``exp`` and ``log1p`` only ever see arguments in
    :math:`[-|a|, 0]` and :math:`(0, 1]`. Vectorised ``exp`` and ``log1p`` are
    several times faster than ``np.logaddexp`` in float32.

    Examples
    --------
    >>> float(softplus(1e4))
    10000.0
    """
    a = _float_array(a)
    e = _exp_minus_abs(a)
    np.log1p(e, out=e)
    e += np.maximum(a, 0)
    return _result(e)


def log_sigmoid(a):
    r"""Log-sigmoid :math:`\log \sigma(a) = -\mathrm{softplus}(-a) = \min(a, 0) - \log(1 + e^{-|a|})`.

    Same shape and floating dtype as ``a``; overflow-free.

    Examples
    --------
    >>> float(log_sigmoid(-1e4))
    -10000.0
    """
    a = _float_array(a)
    e = _exp_minus_abs(a)
    np.log1p(e, out=e)
    np.subtract(np.minimum(a, 0), e, out=e)
    return _result(e)


def logsumexp(a, axis=-1, keepdims=False):
    r"""Stable :math:`\log \sum_i e^{a_i}` along ``axis``.

    Rows that are all ``-inf`` give ``-inf`` (no warning). No value along
    ``axis`` (an empty sum) raises ValueError naming the shape.

    Examples
    --------
    >>> float(logsumexp(np.array([1e4, 1e4])))  # doctest: +ELLIPSIS
    10000.69314718...
    >>> logsumexp([])
    Traceback (most recent call last):
    ...
    ValueError: a must hold at least one value along axis -1; got shape (0,).
    """
    a = _float_array(a)
    if not a.size:
        _check_reduction_nonempty(a, axis)
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
    a = _float_array(a)
    return a - logsumexp(a, axis=axis, keepdims=True)


def softmax(a, axis=-1):
    r"""Stable softmax :math:`e^{a_i} / \sum_j e^{a_j}` along ``axis``."""
    return np.exp(log_softmax(a, axis=axis))
