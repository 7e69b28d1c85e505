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

from ._validation import (
    as_batch,
    as_float_array,
    check_finite,
    check_float_dtype,
    check_labels,
    check_layer_sizes,
    check_nonnegative,
    check_rng,
)
from .forward import forward_marginals
from .numerics import log_softmax
from .sbn import SigmoidBeliefNet, one_hot

__all__ = ["CoupledPair", "transposed_generator"]


def transposed_generator(recogniser, gen_biases) -> SigmoidBeliefNet:
    r"""The generator tied to a recogniser: the same :math:`W^k`, transposed, with biases of its own.

    Parameters
    ----------
    recogniser : SigmoidBeliefNet
        Sizes ``(d_0, ..., d_n)``, weights ``[W^1, ..., W^n]``.
    gen_biases : sequence of array_like
        ``[c^0, ..., c^{n-1}]``, ``c^{k-1}`` of shape ``(d_{k-1},)``.

    Returns
    -------
    SigmoidBeliefNet
        Sizes ``(d_n, ..., d_0)``, weights ``[(W^n)^T, ..., (W^1)^T]`` (views of the
        recogniser's arrays, not copies), biases ``[c^{n-1}, ..., c^0]``, Bernoulli
        output, the recogniser's dtype. Its input is the top layer (the one-hot ``y``
        when the recogniser's output is categorical).

    Notes
    -----
    Equation: M9

    .. math:: p(x^{k-1} \mid x^k) = \prod_j \mathrm{Bern}\big(x^{k-1}_j;\ \sigma((W^k)^\top x^k + c^{k-1})_j\big)

    Examples
    --------
    >>> rec = SigmoidBeliefNet.random([4, 3, 2], np.random.default_rng(0))
    >>> gen = transposed_generator(rec, [np.zeros(4), np.zeros(3)])
    >>> gen.sizes, np.shares_memory(gen.weights[0], rec.weights[1])
    ((2, 3, 4), True)
    """
    if not isinstance(recogniser, SigmoidBeliefNet):
        raise TypeError(f"recogniser must be a SigmoidBeliefNet; got {type(recogniser).__name__}.")
    gen_biases = list(gen_biases)
    n = recogniser.n_layers
    if len(gen_biases) != n:
        raise ValueError(f"gen_biases must hold {n} vectors c^0..c^{n - 1}; got {len(gen_biases)}.")
    for k, c in enumerate(gen_biases):
        if np.shape(c) != (recogniser.sizes[k],):
            raise ValueError(f"gen_biases[{k}] (c^{k}) must have shape ({recogniser.sizes[k]},); got {np.shape(c)}.")
    weights = [w.T for w in reversed(recogniser.weights)]  # M9: the same matrices, transposed
    return SigmoidBeliefNet(weights, gen_biases[::-1], dtype=recogniser.dtype, copy=False)


def _param_keys(n: int, tied: bool) -> list:
    keys = [f"W{k}" for k in range(1, n + 1)] + [f"b{k}" for k in range(1, n + 1)]
    keys += [f"c{k}" for k in range(n)]
    if not tied:
        keys += [f"V{k}" for k in range(1, n + 1)]
    return keys + ["prior"]


def _check_sizes(sizes) -> tuple:
    sizes = check_layer_sizes(sizes)
    if sizes[-1] < 2:
        raise ValueError(f"sizes[-1] is the number of classes and must be >= 2; got {sizes[-1]}.")
    return sizes


def _check_tied(tied) -> bool:
    if not isinstance(tied, (bool, np.bool_)):
        raise TypeError(f"tied must be a bool; got {type(tied).__name__}.")
    return bool(tied)


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

    def __init__(self, sizes, tied: bool = True, rng=None, init_scale: float = 0.01, dtype=np.float32):
        rng = check_rng(rng)
        sizes = _check_sizes(sizes)
        tied = _check_tied(tied)
        init_scale = check_nonnegative(init_scale, "init_scale")
        dtype = check_float_dtype(dtype)
        n = len(sizes) - 1
        params = {}
        for k in range(1, n + 1):
            params[f"W{k}"] = (init_scale * rng.standard_normal((sizes[k], sizes[k - 1]))).astype(dtype)
        for k in range(1, n + 1):
            params[f"b{k}"] = np.zeros(sizes[k], dtype)
        for k in range(n):
            params[f"c{k}"] = np.zeros(sizes[k], dtype)
        if not tied:
            for k in range(1, n + 1):
                params[f"V{k}"] = (init_scale * rng.standard_normal((sizes[k], sizes[k - 1]))).astype(dtype)
        params["prior"] = np.zeros(sizes[-1], dtype)
        self._build(params, sizes, tied, dtype)

    def _build(self, params, sizes, tied, dtype):
        """Wrap ``params`` in the two networks; every array is shared, none copied."""
        n = len(sizes) - 1
        self.sizes, self.tied, self.dtype = tuple(sizes), tied, np.dtype(dtype)
        self.n_layers, self.n_classes = n, sizes[-1]
        self.params = params
        self.recogniser_keys = [(f"W{k}", f"b{k}") for k in range(1, n + 1)]
        self.recogniser = SigmoidBeliefNet([params[w] for w, _ in self.recogniser_keys],
                                           [params[b] for _, b in self.recogniser_keys],
                                           output="categorical", dtype=dtype, copy=False)
        gen_biases = [params[f"c{k}"] for k in range(n)]
        if tied:
            self.generator = transposed_generator(self.recogniser, gen_biases)
        else:
            self.generator = SigmoidBeliefNet([params[f"V{k}"].T for k in range(n, 0, -1)], gen_biases[::-1],
                                              dtype=dtype, copy=False)
        self.generator_keys = [(f"{'W' if tied else 'V'}{k}", f"c{k - 1}") for k in range(n, 0, -1)]

    # ---------------------------------------------------------------- basics
    @classmethod
    def from_params(cls, params, sizes, tied: bool = True):
        """Build a pair from a parameter dict (copied), validating keys, shapes and finiteness.

        Parameters
        ----------
        params : mapping of str -> array_like
            Exactly the keys listed in the module docstring for ``tied``.
        sizes : sequence of int
        tied : bool

        Returns
        -------
        CoupledPair
            Its dtype is that of ``params["W1"]`` if float32 or float64, else float64.

        """
        sizes = _check_sizes(sizes)
        tied = _check_tied(tied)
        if not hasattr(params, "keys"):
            raise TypeError(f"params must be a dict of arrays; got {type(params).__name__}.")
        n = len(sizes) - 1
        expected = _param_keys(n, tied)
        missing = [k for k in expected if k not in params]
        extra = [k for k in params if k not in expected]
        if missing or extra:
            raise ValueError(
                f"params must hold exactly the keys {expected} for sizes {sizes} (tied={tied}); "
                f"missing {missing}, unexpected {extra}."
            )
        w1 = np.asarray(params["W1"])
        dtype = w1.dtype if w1.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        out = {}
        for key in expected:
            arr = check_finite(as_float_array(params[key], f"params[{key!r}]", dtype).copy(), f"params[{key!r}]")
            kind, idx = key[0], (int(key[1:]) if key != "prior" else n)
            shape = (sizes[idx], sizes[idx - 1]) if kind in "WV" else (sizes[idx],)
            if arr.shape != shape:
                raise ValueError(f"params[{key!r}] must have shape {shape} for sizes {sizes}; got {arr.shape}.")
            out[key] = arr
        pair = cls.__new__(cls)
        pair._build(out, sizes, tied, dtype)
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

    def check_batch(self, x, y, hidden=None, x_name: str = "x", hidden_name: str = "hidden"):
        """Validate a batch of images, labels and (optionally) hidden states for this pair.

        Returns
        -------
        x : ndarray of shape (B, d_0), binary, the pair's dtype
        y : ndarray of shape (B,), int64
            (None if ``y`` is None: an unlabelled batch)
        hidden : list of ndarray
            ``hidden[k - 1]`` of shape ``(B, d_k)``, binary, the pair's dtype (empty if not given).
        """
        x = as_batch(x, x_name, self.sizes[0], binary=True, dtype=self.dtype)[0]
        if y is not None:
            y = check_labels(y, self.n_classes, "y", x.shape[0], against=x_name)
        if hidden is None:
            return x, y, []
        n = self.n_layers
        if not isinstance(hidden, (list, tuple)):
            raise TypeError(f"{hidden_name} must be a list of {n - 1} arrays h^1..h^{n - 1}; "
                            f"got {type(hidden).__name__}.")
        if len(hidden) != n - 1:
            raise ValueError(f"{hidden_name} must hold {n - 1} arrays (h^1..h^{n - 1}); got {len(hidden)}.")
        out = []
        for k, h in enumerate(hidden, start=1):
            hk = as_batch(h, f"{hidden_name}[{k - 1}]", self.sizes[k], binary=True, dtype=self.dtype)[0]
            if hk.shape[0] != x.shape[0]:
                raise ValueError(f"{hidden_name}[{k - 1}] must have shape ({x.shape[0]}, {self.sizes[k]}); "
                                 f"got {hk.shape}.")
            out.append(hk)
        return x, y, out

    def one_hot(self, y):
        """The labels ``y`` one-hot in the pair's dtype: the generator's input."""
        return one_hot(y, self.n_classes, dtype=self.dtype)

    # ----------------------------------------------------------- recognition
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
        x = as_batch(x, "x", self.sizes[0], binary=True, dtype=self.dtype)[0]
        means = forward_marginals(self.recogniser, x, dtype=self.dtype)
        return means if all_layers else means[-1]

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
        rng = check_rng(rng)
        x = as_batch(x, "x", self.sizes[0], binary=True, dtype=self.dtype)[0]
        return [h[0] for h in self.recogniser.sample(x, 1, rng, n_layers=self.n_layers - 1)]

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
        x, y, hidden = self.check_batch(x, y, hidden)
        return self.recogniser.log_prob(x, hidden + [self.one_hot(y)], dtype=self.dtype)

    # ------------------------------------------------------------ generation
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
        rng = check_rng(rng)
        states = [s[0] for s in self.generator.sample(self.one_hot(check_labels(y, self.n_classes, "y")), 1, rng)]
        return states[-2::-1], states[-1]  # [h^{n-1}, ..., h^1, x] -> [h^1, ..., h^{n-1}], x

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
        means = forward_marginals(self.generator, self.one_hot(check_labels(y, self.n_classes, "y")), dtype=self.dtype)
        return means[::-1] if all_layers else means[-1]

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
        x, y, hidden = self.check_batch(x, y, hidden)
        return self.generator.log_prob(self.one_hot(y), hidden[::-1] + [x], dtype=self.dtype)
