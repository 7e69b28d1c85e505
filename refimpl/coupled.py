r"""Claim 2: a recogniser and a generator coupled by transposition.

Implements equations M9 and M10 of the method:

- (M9) a prior :math:`p(y)` and the reverse chain
  :math:`p(x^{k-1} \mid x^k) = \prod_j \mathrm{Bern}\big(x^{k-1}_j;\ \sigma((W^k)^\top x^k + c^{k-1})_j\big)`,
  the **same** :math:`W^k` as the recogniser, transposed, with biases :math:`c` of its own
  (:func:`transposed_generator`);
- (M10) generation: ancestral sampling from the one-hot :math:`y` down to :math:`x^0`,
  and the generator's mean pass :math:`\nu^{k-1} = \sigma((W^k)^\top \nu^k + c^{k-1})`.

A :class:`CoupledPair` is two :class:`refimpl.sbn.SigmoidBeliefNet` objects,
``pair.recogniser`` (:math:`x \to h^1 \to \dots \to y`, categorical top) and
``pair.generator`` (:math:`y \to h^{n-1} \to \dots \to x`), that share their
arrays. In a tied pair the generator's weights *are* the recogniser's,
transposed: views, not copies, so a step of an optimiser on :math:`W^k` moves
both directions at once. All arrays live in one plain dict ``pair.params``, what
optimisers update in place and checkpoints store (update an entry in place:
putting another array in its place would leave the two networks holding the old one):

- recogniser ``"W1".."Wn"`` of shape ``(d_k, d_{k-1})`` and ``"b1".."bn"`` of shape ``(d_k,)``;
- generator biases ``"c0".."c{n-1}"`` of shape ``(d_k,)``;
- untied pairs only: generator matrices ``"V1".."Vn"``, shaped like ``W^k`` and used transposed;
- ``"prior"``: logits of :math:`p(y)` over the ``d_n`` classes, zeros (uniform) at
  initialisation. The learning rules of :mod:`refimpl.learning` do not change it.

``pair.recogniser_keys[k - 1]`` and ``pair.generator_keys[j - 1]`` name the
``(weight, bias)`` entries of ``params`` behind layer ``k`` of the recogniser and
layer ``j`` of the generator (which uses its weight entry transposed).
"""

from __future__ import annotations

import numpy as np

from . import _validation as check
from ._validation import boundary, check_finite, check_pair_params, check_transpose_args
from .forward import forward_marginals
from .numerics import log_softmax
from .sbn import SigmoidBeliefNet, one_hot

__all__ = ["CoupledPair", "transposed_generator"]


@boundary(check_transpose_args)
def transposed_generator(recogniser, gen_biases) -> SigmoidBeliefNet:
    r"""The generator tied to a recogniser: the same :math:`W^k`, transposed, with biases of its own.

    ``gen_biases`` is ``[c^0, ..., c^{n-1}]``. Returns a network of sizes ``(d_n, ..., d_0)``, weights
    ``[(W^n)^T, ..., (W^1)^T]`` (views of the recogniser's arrays), biases ``[c^{n-1}, ..., c^0]``.

    Equation: M9

    .. math:: p(x^{k-1} \mid x^k) = \prod_j \mathrm{Bern}\big(x^{k-1}_j;\ \sigma((W^k)^\top x^k + c^{k-1})_j\big)

    Examples
    --------
    >>> rec = SigmoidBeliefNet.random([4, 3, 2], np.random.default_rng(0))
    >>> gen = transposed_generator(rec, [np.zeros(4), np.zeros(3)])
    >>> gen.sizes, np.shares_memory(gen.weights[0], rec.weights[1])
    ((2, 3, 4), True)
    """
    weights = [w.T for w in reversed(recogniser.weights)]  # M9: the same matrices, transposed
    return SigmoidBeliefNet(weights, gen_biases[::-1], dtype=recogniser.dtype, copy=False)


class CoupledPair:
    r"""A recogniser :math:`q(h, y \mid x)` and a generator :math:`p(x, h \mid y)` sharing weights.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``(d_0, ..., d_n)``; ``d_0`` pixels, ``d_n`` classes (categorical top).
    tied : bool, default True
        If True the generator uses the recogniser's :math:`W^k` transposed (M9);
        if False it has its own matrices ``"V1".."Vn"`` (the untied baseline, L1u).
    rng : numpy.random.Generator
        Required; draws the initial weights.
    init_scale : float, default 0.01
        Standard deviation of the initial weights (biases and prior start at zero).
    dtype : {float32, float64}, default float32
        Storage dtype of every parameter; all computations run in it.

    Attributes
    ----------
    recogniser : SigmoidBeliefNet
        Weights ``[W^1..W^n]``, biases ``[b^1..b^n]``, categorical output.
    generator : SigmoidBeliefNet
        Input the one-hot :math:`y`; weights ``[(W^n)^T..(W^1)^T]`` (``V`` if untied),
        biases ``[c^{n-1}..c^0]``; its layers are ``[h^{n-1}, ..., h^1, x]``.
    params : dict of str -> ndarray
        All parameters, see the module docstring; the arrays both networks hold (update in place).
    recogniser_keys, generator_keys : list of (str, str)
        The ``params`` entries behind each layer of the two networks.
    sizes : tuple of int
    tied : bool
    dtype : numpy.dtype

    Notes
    -----
    Equation: M9

    .. math::
        p(x^{k-1} \mid x^k) = \prod_j \mathrm{Bern}\big(x^{k-1}_j;\ \sigma((W^k)^\top x^k + c^{k-1})_j\big)

    Examples
    --------
    >>> pair = CoupledPair((6, 4, 3), rng=np.random.default_rng(0))
    >>> sorted(pair.params)
    ['W1', 'W2', 'b1', 'b2', 'c0', 'c1', 'prior']
    >>> pair.generator.weights[0].shape   # (W^2)^T maps y (3) to h^1 (4)
    (4, 3)
    >>> np.shares_memory(pair.generator.weights[0], pair.params["W2"])
    True
    """

    @boundary(rng=check.rng, sizes=check.pair_sizes, tied=check.boolean, init_scale=check.nonnegative,
              dtype=check.float_dtype)
    def __init__(self, sizes, tied: bool = True, rng=None, init_scale: float = 0.01, dtype=np.float32):
        n = len(sizes) - 1
        params = {f"W{k}": (init_scale * rng.standard_normal((sizes[k], sizes[k - 1]))).astype(dtype)
                  for k in range(1, n + 1)}
        params |= {f"b{k}": np.zeros(sizes[k], dtype) for k in range(1, n + 1)}
        params |= {f"c{k}": np.zeros(sizes[k], dtype) for k in range(n)}
        if not tied:
            params |= {f"V{k}": (init_scale * rng.standard_normal((sizes[k], sizes[k - 1]))).astype(dtype)
                       for k in range(1, n + 1)}
        params["prior"] = np.zeros(sizes[-1], dtype)
        self._build(params, sizes, tied)

    def _build(self, params, sizes, tied):
        """Wrap ``params`` in the two networks; every array is shared, none copied."""
        n = len(sizes) - 1
        self.sizes, self.tied, self.dtype, self.params = tuple(sizes), tied, params["W1"].dtype, params
        self.n_layers, self.n_classes = n, sizes[-1]
        self.recogniser_keys = [(f"W{k}", f"b{k}") for k in range(1, n + 1)]
        self.generator_keys = [(f"{'W' if tied else 'V'}{k}", f"c{k - 1}") for k in range(n, 0, -1)]
        self.recogniser = SigmoidBeliefNet([params[w] for w, _ in self.recogniser_keys],
                                           [params[b] for _, b in self.recogniser_keys],
                                           output="categorical", dtype=self.dtype, copy=False)
        self.generator = SigmoidBeliefNet([params[v].T for v, _ in self.generator_keys],
                                          [params[c] for _, c in self.generator_keys], dtype=self.dtype, copy=False)

    # ---------------------------------------------------------------- basics
    @classmethod
    @boundary(check_pair_params, sizes=check.pair_sizes, tied=check.boolean)
    def from_params(cls, params, sizes, tied: bool = True):
        """A pair of ``params`` (copied; exactly the keys of the module docstring), in the dtype of ``params["W1"]``
        if float32 or float64, else float64."""
        pair = cls.__new__(cls)
        pair._build(params, sizes, tied)
        return pair

    def copy(self):
        """An independent copy (parameters copied)."""
        return CoupledPair.from_params(self.params, self.sizes, self.tied)

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):  # copy.copy (and any reduction) rebuilds the shared views from the parameters
        return CoupledPair.from_params, (dict(self.params), self.sizes, self.tied)

    def __repr__(self) -> str:
        return f"CoupledPair(sizes={self.sizes}, tied={self.tied}, dtype={self.dtype.name})"

    def log_prior(self) -> np.ndarray:
        r""":math:`\log p(y)` for every class, shape ``(d_n,)``: log-softmax of ``params["prior"]``."""
        return log_softmax(self.params["prior"].astype(np.float64))

    def check_finite(self):
        """Raise ValueError naming the first parameter that holds NaN or infinity."""
        for key, value in self.params.items():
            check_finite(value, f"the pair's params[{key!r}]")

    @boundary(y=check.labels())
    def one_hot(self, y):
        """The labels ``y`` one-hot in the pair's dtype: the generator's input."""
        return one_hot(y, self.n_classes, dtype=self.dtype)

    # ----------------------------------------------------------- recognition
    @boundary(x=check.images, all_layers=check.boolean)
    def recognise_mean(self, x, all_layers: bool = False):
        r"""The recogniser's mean pass (the DNN forward pass), M6, with a softmax top.

        Parameters
        ----------
        x : array_like of shape (B, d_0)
            Binary images.
        all_layers : bool, default False
            If True return ``[mu^1, ..., mu^{n-1}, probs]``.

        Returns
        -------
        probs : ndarray of shape (B, d_n)
            :math:`\tilde q(y \mid x) = \mathrm{softmax}(W^n \mu^{n-1} + b^n)`.

        Notes
        -----
        The mean pass of :func:`refimpl.forward.forward_marginals` on ``pair.recogniser``.

        .. math:: \mu^k = \sigma(W^k \mu^{k-1} + b^k),\quad \mu^0 = x
        """
        means = forward_marginals(self.recogniser, x, dtype=self.dtype)
        return means if all_layers else means[-1]

    @boundary(x=check.images, rng=check.rng)
    def sample_hidden(self, x, rng):
        r"""Draw :math:`h^1, \dots, h^{n-1} \sim q(h \mid x)`, one sample per row (M1).

        Parameters
        ----------
        x : array_like of shape (B, d_0)
        rng : numpy.random.Generator

        Returns
        -------
        hidden : list of ndarray
            ``hidden[k - 1]`` of shape ``(B, d_k)``, 0/1 in the pair's dtype.
        """
        return self.recogniser.sample(x, None, rng, n_layers=self.n_layers - 1)

    @boundary(x=check.images, hidden=check.hidden("x"), y=check.labels("x"))
    def log_q(self, x, hidden, y):
        r"""Per-row :math:`\log q(h, y \mid x)` of the recogniser (M3, categorical top).

        Parameters
        ----------
        x : array_like of shape (B, d_0)
        hidden : list of array_like
            ``hidden[k - 1]`` of shape ``(B, d_k)``, ``k = 1..n-1``.
        y : array_like of int, shape (B,)

        Returns
        -------
        ndarray of shape (B,), float64
        """
        return self.recogniser.log_prob(x, hidden + [self.one_hot(y)], dtype=self.dtype)

    # ------------------------------------------------------------ generation
    @boundary(y=check.labels(), rng=check.rng)
    def sample_generator(self, y, rng):
        r"""Ancestral sampling of :math:`(h, x) \sim p(h, x \mid y)` from the labels down, M10.

        Parameters
        ----------
        y : array_like of int, shape (B,)
        rng : numpy.random.Generator

        Returns
        -------
        hidden : list of ndarray
            ``hidden[k - 1]`` = :math:`h^k` of shape ``(B, d_k)``, ``k = 1..n-1``
            (the recogniser's order).
        x : ndarray of shape (B, d_0)
            The dreamed images, 0/1.

        Notes
        -----
        Equation: M10

        .. math:: x^{k-1} \sim \mathrm{Bern}\big(\sigma((W^k)^\top x^k + c^{k-1})\big),\quad x^n = \mathrm{onehot}(y)
        """
        states = self.generator.sample(self.one_hot(y), None, rng)
        return states[-2::-1], states[-1]  # [h^{n-1}, ..., h^1, x] -> [h^1, ..., h^{n-1}], x

    @boundary(y=check.labels(), all_layers=check.boolean)
    def generate_mean(self, y, all_layers: bool = False):
        r"""The generator's deterministic mean pass from the one-hot labels, M10.

        Parameters
        ----------
        y : array_like of int, shape (B,)
        all_layers : bool, default False
            If True return ``[nu^0, nu^1, ..., nu^{n-1}]``.

        Returns
        -------
        nu0 : ndarray of shape (B, d_0)
            Mean images.

        Notes
        -----
        Equation: M10

        .. math:: \nu^{k-1} = \sigma((W^k)^\top \nu^k + c^{k-1}),\quad \nu^n = \mathrm{onehot}(y)
        """
        means = forward_marginals(self.generator, self.one_hot(y), dtype=self.dtype)
        return means[::-1] if all_layers else means[-1]

    @boundary(x=check.images, hidden=check.hidden("x"), y=check.labels("x"))
    def log_p(self, x, hidden, y):
        r"""Per-row :math:`\log p(x, h \mid y)` of the generator, excluding :math:`\log p(y)` (M9, M3).

        Parameters
        ----------
        x : array_like of shape (B, d_0)
        hidden : list of array_like
            ``hidden[k - 1]`` of shape ``(B, d_k)``, ``k = 1..n-1``.
        y : array_like of int, shape (B,)

        Returns
        -------
        ndarray of shape (B,), float64
        """
        return self.generator.log_prob(self.one_hot(y), hidden[::-1] + [x], dtype=self.dtype)
