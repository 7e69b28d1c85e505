r"""The sigmoid Bayesian network (SBN): conditionals, ancestral sampling, log-probability.

Implements equations M1, M2 and M3 of the method:

- (M1) :math:`q(x^k \mid x^{k-1}) = \prod_i \sigma(a^k_i)^{x^k_i}(1-\sigma(a^k_i))^{1-x^k_i}`,
  :math:`a^k = W^k x^{k-1} + b^k`;
- (M2) a categorical output layer :math:`q(y \mid x^{n-1}) = \mathrm{softmax}(W^n x^{n-1} + b^n)_y`;
- (M3) :math:`\log q(x^1..x^n \mid x^0) = \sum_k \sum_i [x^k_i a^k_i - \mathrm{softplus}(a^k_i)]`.

The layers themselves (log-probability, sample, local gradient) are in :mod:`refimpl.layers`;
this module chains them. Conventions: row-vector batches, ``weights[k]`` has shape ``(d_{k+1}, d_k)`` and
maps layer ``k`` to layer ``k + 1`` (so ``weights[0]`` is :math:`W^1`), binary
units are 0/1 floats, and a categorical output is stored one-hot.
"""

from __future__ import annotations

import numpy as np

from . import _validation as check
from ._validation import boundary, check_net_params, check_state_range
from .layers import bernoulli_log_prob, bernoulli_sample, categorical_log_prob, categorical_sample, one_hot

__all__ = [
    "SigmoidBeliefNet",
    "binary_states",
    "bernoulli_log_prob",
    "categorical_log_prob",
    "one_hot",
]


@boundary(check_state_range)
def binary_states(d: int, start: int = 0, stop=None) -> np.ndarray:
    """The binary states ``start, ..., stop - 1`` of ``d`` units: unit ``i`` of state ``s`` is bit ``i`` of ``s``.

    The one enumeration order of the package (unit 0 is the least significant bit), used by
    exact inference and by the consistency tables. Returns shape (stop - start, d), float64;
    by default all :math:`2^d` states.

    Examples
    --------
    >>> binary_states(2)
    array([[0., 0.],
           [1., 0.],
           [0., 1.],
           [1., 1.]])
    """
    s = np.arange(start, 2**d if stop is None else stop, dtype=np.int64)
    return ((s[:, None] >> np.arange(d, dtype=np.int64)) & 1).astype(np.float64)


class SigmoidBeliefNet:
    r"""A directed chain of binary stochastic layers with logistic conditionals.

    Parameters
    ----------
    weights : sequence of ndarray
        ``weights[k]`` of shape ``(d_{k+1}, d_k)``: the matrix :math:`W^{k+1}` from layer ``k`` to ``k + 1``.
    biases : sequence of ndarray
        ``biases[k]`` of shape ``(d_{k+1},)``.
    output : {"bernoulli", "categorical"}, default "bernoulli"
        The last layer: independent Bernoulli units (M1) or one softmax over ``d_n`` classes (M2), one-hot.
    dtype : {float64, float32}, default float64
        Storage dtype of the parameters (training uses float32).
    copy : bool, default True
        Copy the parameters. With ``copy=False`` arrays already of ``dtype`` are used as they
        are, views included: how a tied pair's generator shares the recogniser's matrices.

    Notes
    -----
    Equation: M1, M2

    .. math::
        q(x^k \mid x^{k-1}) = \prod_i \sigma(a^k_i)^{x^k_i}\,(1-\sigma(a^k_i))^{1-x^k_i},
        \qquad a^k = W^k x^{k-1} + b^k

    Examples
    --------
    >>> net = SigmoidBeliefNet.random([3, 2, 2], np.random.default_rng(0))
    >>> net.sizes
    (3, 2, 2)
    """

    @boundary(check_net_params)
    def __init__(self, weights, biases, output: str = "bernoulli", dtype=np.float64, copy: bool = True):
        self.weights, self.biases, self.output, self.dtype = list(weights), list(biases), output, np.dtype(dtype)

    @classmethod
    @boundary(check.check_output_classes, sizes=check.layer_sizes, rng=check.rng, scale=check.nonnegative,
              output=check.choice(*check.OUTPUTS))
    def random(cls, sizes, rng, scale: float = 1.0, output: str = "bernoulli"):
        """A network of layer widths ``sizes`` with weights and biases drawn i.i.d. from N(0, scale^2)."""
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

    @boundary(k=check.layer_index, x_prev=check.layer_values(-1))
    def logits(self, k: int, x_prev):
        r"""Logits :math:`a^k = W^k x^{k-1} + b^k` of layer ``k`` (1-based), batched over leading axes.

        Equation: M1
        """
        return x_prev @ self.weights[k - 1].T + self.biases[k - 1]

    @boundary(check.check_layer_batches, k=check.layer_index, x_k=check.layer_values(0, binary=True),
              x_prev=check.layer_values(-1))
    def layer_log_prob(self, k: int, x_k, x_prev):
        r""":math:`\log q(x^k \mid x^{k-1})` of layer ``k`` (1-based), summed over its units.

        Equation: M1, M2
        """
        a = self.logits(k, x_prev)
        return categorical_log_prob(x_k, a) if self.is_categorical(k) else bernoulli_log_prob(x_k, a)

    @boundary(x0=check.inputs(), n=check.optional(check.positive_int), rng=check.rng,
              n_layers=check.optional(check.layer_index))
    def sample(self, x0, n: int, rng, n_layers=None):
        r"""Ancestral sampling, M1 (and M2 at a categorical top) applied layer by layer.

        Parameters
        ----------
        x0 : array_like of shape (d_0,) or (B, d_0)
            Binary input.
        n : int or None
            Number of samples per input; None: one, without the sample axis.
        rng : numpy.random.Generator
        n_layers : int, optional
            Sample layers ``1..n_layers`` only (default: all).

        Returns
        -------
        list of ndarray
            ``layers[k - 1]`` holds :math:`x^k`, of shape ``(n,) + x0.shape[:-1] + (d_k,)`` (without the
            ``n`` axis if ``n`` is None); 0/1 in the network's dtype, one-hot at a categorical top.

        Notes
        -----
        Equation: M1, M2

        .. math:: x^k \sim q(x^k \mid x^{k-1}),\quad k = 1, \dots, n

        Uniforms are drawn in the network's dtype (one per unit; one per row at a categorical top).
        """
        layer, layers = x0 if n is None else np.broadcast_to(x0, (n,) + x0.shape), []
        for k in range(1, (self.n_layers if n_layers is None else n_layers) + 1):
            sample = categorical_sample if self.is_categorical(k) else bernoulli_sample
            layer = sample(self.logits(k, layer), rng, self.dtype)
            layers.append(layer)
        return layers

    @boundary(dtype=check.float_dtype, x0=check.inputs("dtype"), layers=check.states())
    def log_prob(self, x0, layers, dtype=np.float64):
        r"""Complete-data log-probability :math:`\log q(x^1..x^m \mid x^0)`, M3 (``m = len(layers)``, usually ``n``).

        Parameters
        ----------
        x0 : array_like of shape (d_0,) or (B, d_0)
            Binary input.
        layers : list of array_like
            ``layers[k - 1]`` of shape ``(..., d_k)`` for ``k = 1..m``, leading axes broadcastable
            against ``x0``'s batch axis, e.g. the output of :meth:`sample`.
        dtype : {float64, float32}, default float64
            The dtype the inputs are converted to and the logits computed in (training uses float32).

        Returns
        -------
        ndarray
            One log-probability per sample (the broadcast leading shape), summed in float64.

        Notes
        -----
        Equation: M3

        .. math::
            \log q(x^1..x^n \mid x^0) = \sum_k \sum_i \big[x^k_i a^k_i - \mathrm{softplus}(a^k_i)\big]

        with the categorical top's term :math:`a^n_y - \log\sum_c e^{a^n_c}`.

        Examples
        --------
        >>> net = SigmoidBeliefNet([np.zeros((1, 2))], [np.zeros(1)])
        >>> float(net.log_prob([0, 1], [np.array([1.0])]))  # log 1/2
        -0.6931471805599453
        """
        total, prev = 0.0, x0
        for k, state in enumerate(layers, start=1):
            total = total + self.layer_log_prob(k, state, prev)
            prev = state
        return total
