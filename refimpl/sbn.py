r"""The sigmoid Bayesian network (SBN): conditionals, ancestral sampling, log-probability.

Implements equations M1, M2 and M3 of the method:

- (M1) :math:`q(x^k \mid x^{k-1}) = \prod_i \sigma(a^k_i)^{x^k_i}(1-\sigma(a^k_i))^{1-x^k_i}`,
  :math:`a^k = W^k x^{k-1} + b^k`;
- (M2) a categorical output layer :math:`q(y \mid x^{n-1}) = \mathrm{softmax}(W^n x^{n-1} + b^n)_y`;
- (M3) :math:`\log q(x^1..x^n \mid x^0) = \sum_k \sum_i [x^k_i a^k_i - \mathrm{softplus}(a^k_i)]`.

Conventions: row-vector batches, ``weights[k]`` has shape ``(d_{k+1}, d_k)`` and
maps layer ``k`` to layer ``k + 1`` (so ``weights[0]`` is :math:`W^1`), binary
units are 0/1 floats, and a categorical output is stored one-hot.
"""

from __future__ import annotations

import numpy as np

from ._validation import (
    as_batch,
    as_float_array,
    check_binary,
    check_choice,
    check_finite,
    check_float_dtype,
    check_nonnegative,
    check_positive_int,
    check_rng,
)
from .numerics import logsumexp, sigmoid, softmax, softplus

__all__ = [
    "SigmoidBeliefNet",
    "binary_states",
    "bernoulli_log_prob",
    "categorical_log_prob",
    "one_hot",
]

OUTPUTS = ("bernoulli", "categorical")


def bernoulli_log_prob(x, logits):
    r"""Per-unit Bernoulli log-probability from logits, stable form of M1.

    Parameters
    ----------
    x : ndarray of shape (..., d)
        Binary states (0/1).
    logits : ndarray of shape (..., d)
        :math:`a = W u + b`, broadcastable against ``x``.

    Returns
    -------
    ndarray of shape (...,), float64
        :math:`\sum_i [x_i a_i - \mathrm{softplus}(a_i)]`, summed in float64
        whatever the dtype of the logits.

    Notes
    -----
    Equation: M1, M3

    .. math:: \log q(x \mid u) = \sum_i \big[x_i a_i - \mathrm{softplus}(a_i)\big]

    This equals :math:`\sum_i [x_i \log\sigma(a_i) + (1-x_i)\log(1-\sigma(a_i))]`
    because :math:`\log\sigma(a) = a - \mathrm{softplus}(a)` and
    :math:`\log(1-\sigma(a)) = -\mathrm{softplus}(a)`.

    Examples
    --------
    >>> float(bernoulli_log_prob(np.array([1.0]), np.array([0.0])))  # log 1/2
    -0.6931471805599453
    """
    return np.sum(x * logits - softplus(logits), axis=-1, dtype=np.float64)


def categorical_log_prob(x, logits):
    r"""Log-probability of a one-hot state under :math:`\mathrm{softmax}(a)`, M2.

    Parameters
    ----------
    x : ndarray of shape (..., C)
        One-hot states.
    logits : ndarray of shape (..., C)

    Returns
    -------
    ndarray of shape (...,), float64
        :math:`\sum_c x_c a_c - \log\sum_c e^{a_c}`, computed in float64.

    Notes
    -----
    Equation: M2, M3

    .. math:: \log q(y \mid u) = a_y - \log \sum_c e^{a_c}
    """
    logits = np.asarray(logits, dtype=np.float64)
    return np.sum(x * logits, axis=-1) - logsumexp(logits, axis=-1)


def one_hot(y, n_classes: int, dtype=np.float64) -> np.ndarray:
    """One-hot encoding of integer labels ``y`` (any shape) over ``n_classes``, in ``dtype``.

    Raises
    ------
    ValueError
        If a label is not an integer in ``[0, n_classes)``.

    Examples
    --------
    >>> one_hot([2, 0], 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    n_classes = check_positive_int(n_classes, "n_classes")
    y = np.asarray(y)
    if y.size and (not np.issubdtype(y.dtype, np.integer) and not np.all(y == np.round(y))):
        raise ValueError(f"y must hold integer class labels; got dtype {y.dtype}.")
    y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"y must hold labels in [0, {n_classes}); got values in [{y.min()}, {y.max()}]."
        )
    return np.eye(n_classes, dtype=check_float_dtype(dtype))[y]


def binary_states(d: int, start: int = 0, stop=None) -> np.ndarray:
    """The binary states ``start, ..., stop - 1`` of ``d`` units: unit ``i`` of state ``s`` is bit ``i`` of ``s``.

    The one enumeration order of the package (unit 0 is the least significant
    bit), used by exact inference and by the consistency tables.

    Parameters
    ----------
    d : int
        Number of units.
    start, stop : int, optional
        The range of states, default all :math:`2^d`.

    Returns
    -------
    ndarray of shape (stop - start, d), float64

    Examples
    --------
    >>> binary_states(2)
    array([[0., 0.],
           [1., 0.],
           [0., 1.],
           [1., 1.]])
    """
    d = check_positive_int(d, "d")
    stop = 2**d if stop is None else stop
    integers = isinstance(start, (int, np.integer)) and isinstance(stop, (int, np.integer))
    if not (integers and 0 <= start <= stop <= 2**d):
        raise ValueError(f"start and stop must be integers with 0 <= start <= stop <= 2**d = {2**d}; "
                         f"got start={start!r}, stop={stop!r}.")
    s = np.arange(start, stop, dtype=np.int64)
    return ((s[:, None] >> np.arange(d, dtype=np.int64)) & 1).astype(np.float64)


class SigmoidBeliefNet:
    r"""A directed chain of binary stochastic layers with logistic conditionals.

    Parameters
    ----------
    weights : sequence of ndarray
        ``weights[k]`` of shape ``(d_{k+1}, d_k)``: the matrix :math:`W^{k+1}`
        from layer ``k`` to layer ``k + 1``.
    biases : sequence of ndarray
        ``biases[k]`` of shape ``(d_{k+1},)``.
    output : {"bernoulli", "categorical"}, default "bernoulli"
        The last layer's conditional: independent Bernoulli units (M1) or one
        softmax over ``d_n`` classes (M2), stored one-hot.
    dtype : {float64, float32}, default float64
        Storage dtype of the parameters (training uses float32).
    copy : bool, default True
        Copy the parameters (later changes to the caller's arrays leave the
        network alone). With ``copy=False`` arrays already of ``dtype`` are
        used as they are, views included: this is how a tied pair's generator
        shares the recogniser's matrices (:class:`refimpl.coupled.CoupledPair`).

    Raises
    ------
    ValueError
        If the shapes do not chain, a parameter is not finite, or ``output`` is unknown.
    TypeError
        If ``dtype`` is not float32 or float64.

    Notes
    -----
    Equation: M1, M2

    .. math::
        q(x^k \mid x^{k-1}) = \prod_i \sigma(a^k_i)^{x^k_i}\,(1-\sigma(a^k_i))^{1-x^k_i},
        \qquad a^k = W^k x^{k-1} + b^k

    States are enumerated in one order throughout the package: state ``s`` of
    a layer of ``d`` units has unit ``i`` equal to bit ``i`` of ``s``
    (:func:`binary_states`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> net = SigmoidBeliefNet.random([3, 2, 2], rng)
    >>> net.sizes
    (3, 2, 2)
    """

    def __init__(self, weights, biases, output: str = "bernoulli", dtype=np.float64, copy: bool = True):
        self.output = check_choice(output, "output", OUTPUTS)
        dtype = check_float_dtype(dtype)
        if isinstance(weights, np.ndarray) or isinstance(biases, np.ndarray):
            raise TypeError("weights and biases must be sequences (lists) of arrays, one per layer.")
        weights, biases = list(weights), list(biases)
        if len(weights) == 0:
            raise ValueError("weights must hold at least one matrix; got an empty sequence.")
        if len(biases) != len(weights):
            raise ValueError(
                f"biases must hold one vector per weight matrix ({len(weights)}); got {len(biases)}."
            )
        self.weights, self.biases = [], []
        for k, (w, b) in enumerate(zip(weights, biases, strict=True)):
            w, b = as_float_array(w, f"weights[{k}]", dtype), as_float_array(b, f"biases[{k}]", dtype)
            if copy:
                w, b = w.copy(), b.copy()
            check_finite(w, f"weights[{k}]"), check_finite(b, f"biases[{k}]")
            if w.ndim != 2:
                raise ValueError(f"weights[{k}] must be a 2-d matrix; got shape {w.shape}.")
            if k > 0 and w.shape[1] != self.weights[-1].shape[0]:
                prev = self.weights[-1].shape
                raise ValueError(
                    f"weights[{k}] must have shape ({w.shape[0]}, {prev[0]}) to follow "
                    f"weights[{k - 1}] of shape {prev}; got {w.shape}."
                )
            if b.shape != (w.shape[0],):
                raise ValueError(
                    f"biases[{k}] must have shape ({w.shape[0]},) to match weights[{k}] "
                    f"of shape {w.shape}; got {b.shape}."
                )
            self.weights.append(w)
            self.biases.append(b)
        if self.output == "categorical" and self.weights[-1].shape[0] < 2:
            raise ValueError("a categorical output layer needs at least 2 classes.")
        self.dtype = dtype

    # ------------------------------------------------------------------ basics
    @classmethod
    def random(cls, sizes, rng, scale: float = 1.0, output: str = "bernoulli"):
        """A network with weights and biases drawn i.i.d. from N(0, scale^2).

        Parameters
        ----------
        sizes : sequence of int
            Layer widths ``(d_0, ..., d_n)``.
        rng : numpy.random.Generator
        scale : float
            Standard deviation of the weights and biases, finite and >= 0.
        output : {"bernoulli", "categorical"}
        """
        rng = check_rng(rng)
        check_nonnegative(scale, "scale")
        sizes = [check_positive_int(d, f"sizes[{i}]") for i, d in enumerate(sizes)]
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least two layer widths; got {sizes}.")
        weights = [scale * rng.standard_normal((sizes[k + 1], sizes[k])) for k in range(len(sizes) - 1)]
        biases = [scale * rng.standard_normal(sizes[k + 1]) for k in range(len(sizes) - 1)]
        return cls(weights, biases, output=output)

    @property
    def sizes(self) -> tuple:
        """Layer widths ``(d_0, d_1, ..., d_n)``."""
        return (self.weights[0].shape[1],) + tuple(w.shape[0] for w in self.weights)

    @property
    def n_layers(self) -> int:
        """Number of stochastic layers ``n`` (= number of weight matrices)."""
        return len(self.weights)

    def is_categorical(self, k: int) -> bool:
        """True if layer ``k`` (1-based, as in the method) is the categorical output."""
        return self.output == "categorical" and k == self.n_layers

    def __repr__(self) -> str:
        return f"SigmoidBeliefNet(sizes={self.sizes}, output={self.output!r})"

    def logits(self, k: int, x_prev):
        r"""Logits :math:`a^k = W^k x^{k-1} + b^k` of layer ``k`` (1-based), batched over leading axes.

        Notes
        -----
        Equation: M1
        """
        return x_prev @ self.weights[k - 1].T + self.biases[k - 1]

    def layer_log_prob(self, k: int, x_k, x_prev):
        r"""Summed log-probability :math:`\log q(x^k \mid x^{k-1})` of layer ``k`` (1-based).

        Notes
        -----
        Equation: M1, M2
        """
        a = self.logits(k, x_prev)
        if self.is_categorical(k):
            return categorical_log_prob(x_k, a)
        return bernoulli_log_prob(x_k, a)

    # --------------------------------------------------------------- sampling
    def sample(self, x0, n: int, rng):
        r"""Ancestral sampling of all layers given the input, M1 applied layer by layer.

        Parameters
        ----------
        x0 : array_like of shape (d_0,) or (B, d_0)
            Binary input.
        n : int
            Number of samples per input.
        rng : numpy.random.Generator

        Returns
        -------
        layers : list of ndarray
            ``layers[k - 1]`` holds :math:`x^k` for ``k = 1..n``, of shape
            ``(n, d_k)`` for one input or ``(n, B, d_k)`` for a batch; 0/1
            floats, one-hot for a categorical output.

        Raises
        ------
        ValueError, TypeError
            For a badly shaped or non-binary ``x0``, a non-positive ``n``, or an
            ``rng`` that is not a ``numpy.random.Generator``.

        Notes
        -----
        Equation: M1, M2

        .. math:: x^k \sim q(x^k \mid x^{k-1}),\quad k = 1, \dots, n

        See Also
        --------
        log_prob : the log-probability of what this returns.
        """
        n = check_positive_int(n, "n")
        rng = check_rng(rng)
        x, single = as_batch(x0, "x0", self.sizes[0], dtype=self.dtype)
        layers = self.sample_states(np.broadcast_to(x, (n,) + x.shape), rng)
        return [state[:, 0] for state in layers] if single else layers

    def sample_states(self, x, rng, n_layers=None):
        r"""Ancestral sampling without validation: the inner-loop path of :meth:`sample`.

        Parameters
        ----------
        x : ndarray of shape (..., d_0)
            Binary input in the network's dtype (not checked).
        rng : numpy.random.Generator
        n_layers : int, optional
            Sample layers ``1..n_layers`` only (default: all ``n``).

        Returns
        -------
        list of ndarray
            ``states[k - 1]`` of shape ``(..., d_k)``: one draw of :math:`x^k` per row of ``x``.

        Notes
        -----
        Equation: M1, M2

        A Bernoulli unit is on when a uniform draw falls below :math:`\sigma(a)`;
        the uniforms are drawn in the network's dtype (float32 draws are cheaper).
        A categorical layer draws one uniform per row and takes the class where
        the cumulative softmax first exceeds it.
        """
        states, prev = [], x
        for k in range(1, (self.n_layers if n_layers is None else n_layers) + 1):
            a = self.logits(k, prev)
            if self.is_categorical(k):
                p = softmax(a)
                u = rng.random(p.shape[:-1] + (1,))
                idx = np.minimum(np.sum(np.cumsum(p, axis=-1) < u, axis=-1), p.shape[-1] - 1)
                prev = np.eye(p.shape[-1], dtype=self.dtype)[idx]
            else:
                prev = (rng.random(a.shape, dtype=self.dtype) < sigmoid(a)).astype(self.dtype)
            states.append(prev)
        return states

    # -------------------------------------------------------- log-probability
    def log_prob(self, x0, layers):
        r"""Complete-data log-probability :math:`\log q(x^1..x^n \mid x^0)`, M3.

        Parameters
        ----------
        x0 : array_like of shape (d_0,) or (B, d_0)
            Binary input.
        layers : sequence of array_like
            ``layers[k - 1]`` of shape ``(..., d_k)``, leading axes broadcastable
            against ``x0``'s batch axis, e.g. the output of :meth:`sample`.

        Returns
        -------
        ndarray
            One log-probability per sample (the broadcast leading shape).

        Raises
        ------
        ValueError
            If the number of layers or a width is wrong, a state is not binary,
            or a categorical state is not one-hot.

        Notes
        -----
        Equation: M3

        .. math::
            \log q(x^1..x^n \mid x^0) = \sum_k \sum_i \big[x^k_i a^k_i - \mathrm{softplus}(a^k_i)\big]

        with the categorical output's term :math:`a^n_y - \log\sum_c e^{a^n_c}`.
        Stable at logits of :math:`\pm 10^4`: no overflow and no NaN.

        See Also
        --------
        sample : draws states whose log-probability this evaluates.

        Examples
        --------
        >>> net = SigmoidBeliefNet([np.zeros((1, 2))], [np.zeros(1)])
        >>> float(net.log_prob([0, 1], [np.array([1.0])]))  # log 1/2
        -0.6931471805599453
        """
        x, single = as_batch(x0, "x0", self.sizes[0], dtype=np.float64)
        if single:
            x = x[0]
        if not isinstance(layers, (list, tuple)):
            raise TypeError(
                f"layers must be a list of {self.n_layers} arrays, one per layer; got {type(layers).__name__}."
            )
        if len(layers) != self.n_layers:
            raise ValueError(
                f"layers must hold {self.n_layers} arrays (layers 1..{self.n_layers}); got {len(layers)}."
            )
        states = []
        for k in range(1, self.n_layers + 1):
            name = f"layers[{k - 1}]"
            state = check_binary(as_float_array(layers[k - 1], name), name)
            if state.ndim == 0 or state.shape[-1] != self.sizes[k]:
                raise ValueError(
                    f"{name} must have last axis of length d_{k} = {self.sizes[k]}; got shape {state.shape}."
                )
            if self.is_categorical(k) and not np.all(state.sum(axis=-1) == 1):
                raise ValueError(f"{name} is the categorical output and must be one-hot in every row.")
            states.append(state)
        return self.log_prob_states(x, states)

    def log_prob_states(self, x, states):
        r"""Sum of :meth:`layer_log_prob` over the given layers, without validation.

        The inner-loop path of :meth:`log_prob`: ``states`` may hold the first
        ``m <= n`` layers only, and then the result is
        :math:`\log q(x^1..x^m \mid x^0)`.

        Notes
        -----
        Equation: M3
        """
        prev, total = x, 0.0
        for k, state in enumerate(states, start=1):
            total = total + self.layer_log_prob(k, state, prev)
            prev = state
        return total
