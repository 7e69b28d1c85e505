r"""The two kinds of layer the method is built from, side by side: log-probability, sample, local gradient.

A layer with input :math:`u` (the layer below, or above for a generator) has logits
:math:`a = W u + b`. Given ``a``:

- Bernoulli layer (M1): log-probability :math:`\sum_i [t_i a_i - \mathrm{softplus}(a_i)]`,
  sample :math:`t_i = [u_i < \sigma(a_i)]`, local gradient :math:`\delta = t - \sigma(a)`;
- categorical top (M2): log-probability :math:`a_y - \log\sum_c e^{a_c}`, sample the first
  class :math:`c` whose cumulative softmax exceeds :math:`u`, local gradient
  :math:`\delta = \mathrm{onehot}(y) - \mathrm{softmax}(a)`;

and for both :math:`\partial \log q / \partial W = \delta\, u^\top`, :math:`\partial \log q / \partial b = \delta`
(:func:`linear_grad`). Every term of the learning rules (wake on the generator, sleep and L0 on
the recogniser) is a sum of these. Rows are examples: ``a`` has shape ``(..., d)``.
"""

from __future__ import annotations

import numpy as np

from . import _validation as check
from ._validation import boundary, check_one_hot_args
from .numerics import logsumexp, sigmoid, softmax, softplus

__all__ = ["bernoulli_delta", "bernoulli_log_prob", "bernoulli_sample", "categorical_delta",
           "categorical_log_prob", "categorical_sample", "linear_grad", "one_hot"]


# ------------------------------------------------------------------ Bernoulli layer (M1)
@boundary(t=check.binary_array, a=check.real_array)
def bernoulli_log_prob(t, a):
    r""":math:`\log q(t \mid u) = \sum_i [t_i a_i - \mathrm{softplus}(a_i)]`, summed in float64, shape (...,).

    Equation: M1, M3
    """
    return np.sum(t * a - softplus(a), axis=-1, dtype=np.float64)


@boundary(a=check.real_array, rng=check.rng, dtype=check.optional(check.float_dtype))
def bernoulli_sample(a, rng, dtype=None):
    r"""One draw :math:`t_i = [u_i < \sigma(a_i)]`, :math:`u_i \sim U(0, 1)` in ``dtype`` (default that of ``a``)."""
    dtype = a.dtype if dtype is None else dtype
    return (rng.random(a.shape, dtype=dtype) < sigmoid(a)).astype(dtype)


@boundary(t=check.binary_array, a=check.real_array)
def bernoulli_delta(t, a):
    r"""The local gradient :math:`\partial \log q(t \mid u) / \partial a = t - \sigma(a)`."""
    return t - sigmoid(a)


# ------------------------------------------------------------------ categorical top (M2)
@boundary(check_one_hot_args)
def one_hot(y, n_classes: int, dtype=np.float64) -> np.ndarray:
    """One-hot encoding of integer labels ``y`` (any shape) over ``n_classes``, in ``dtype``.

    Examples
    --------
    >>> one_hot([2, 0], 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    return np.eye(n_classes, dtype=dtype)[y]


@boundary(onehot=check.binary_array, a=check.real_array)
def categorical_log_prob(onehot, a):
    r""":math:`\log q(y \mid u) = a_y - \log \sum_c e^{a_c}` for one-hot ``onehot``, in float64, shape (...,).

    Equation: M2, M3
    """
    a = np.asarray(a, dtype=np.float64)
    return np.sum(onehot * a, axis=-1) - logsumexp(a, axis=-1)


@boundary(a=check.real_array, rng=check.rng, dtype=check.float_dtype)
def categorical_sample(a, rng, dtype=np.float64):
    r"""One class per row, one-hot in ``dtype``: the first :math:`c` whose cumulative softmax exceeds :math:`u`.

    One uniform per row, drawn in float64.
    """
    p = softmax(a)
    u = rng.random(p.shape[:-1] + (1,))
    y = np.minimum(np.sum(np.cumsum(p, axis=-1) < u, axis=-1), p.shape[-1] - 1)  # min: p may sum to 1 - ulp
    return one_hot(y, p.shape[-1], dtype)


@boundary(onehot=check.binary_array, a=check.real_array)
def categorical_delta(onehot, a):
    r"""The local gradient :math:`\partial \log q(y \mid u) / \partial a = \mathrm{onehot}(y) - \mathrm{softmax}(a)`."""
    return onehot - softmax(a)


# ------------------------------------------------------------------ both
@boundary(delta=check.real_array, u=check.real_array, transposed=check.boolean)
def linear_grad(delta, u, transposed=False):
    r"""The gradients :math:`\delta\, u^\top` (for :math:`W`) and :math:`\delta` (for :math:`b`), summed over the batch.

    ``delta`` of shape (B, d_out), ``u`` of shape (B, d_in): returns (d_out, d_in) and (d_out,). A layer
    that applies a stored matrix transposed, :math:`a = W^\top u + c` (the generator's), gets ``transposed``:
    the stored matrix's gradient :math:`u\,\delta^\top`, of shape (d_in, d_out).
    """
    return (u.T @ delta if transposed else delta.T @ u), delta.sum(axis=0)
