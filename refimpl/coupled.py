r"""Claim 2: a recogniser and a generator coupled by transposition.

Implements equations M9 and M10 of the method:

- (M9) a prior :math:`p(y)` and the reverse chain
  :math:`p(x^{k-1} \mid x^k) = \prod_j \mathrm{Bern}\big(x^{k-1}_j;\ \sigma((W^k)^\top x^k + c^{k-1})_j\big)`,
  the **same** :math:`W^k` as the recogniser, transposed, with biases :math:`c` of its own;
- (M10) generation: ancestral sampling from the one-hot :math:`y` down to :math:`x^0`,
  and the generator's mean pass :math:`\nu^{k-1} = \sigma((W^k)^\top \nu^k + c^{k-1})`.

A :class:`CoupledPair` holds all parameters in one dict ``pair.params``:

- recogniser ``"W1".."Wn"`` of shape ``(d_k, d_{k-1})`` and ``"b1".."bn"`` of shape ``(d_k,)``;
- generator biases ``"c0".."c{n-1}"`` of shape ``(d_k,)``;
- untied pairs only: generator matrices ``"V1".."Vn"``, shaped like ``W^k`` and used transposed;
- ``"prior"``: logits of :math:`p(y)` over the ``d_n`` classes, zeros (uniform) at
  initialisation. The learning rules of :mod:`refimpl.learning` do not change it
  (its gradient is reported as zero); set it from class frequencies if wanted.

Both directions are :class:`refimpl.sbn.SigmoidBeliefNet` objects
(:meth:`CoupledPair.recogniser`, :meth:`CoupledPair.generator`): a generator *is*
an SBN whose weights are the recogniser's transposed. The batch methods below
compute the same quantities directly on ``params`` (no copies, the pair's dtype,
float32 by default) because training calls them millions of times.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validation import as_batch, as_float_array, check_finite, check_labels, check_positive_int, check_rng
from .numerics import log_softmax, sigmoid, softplus
from .sbn import SigmoidBeliefNet

__all__ = ["CoupledPair"]


def _bernoulli_log_lik(t, a):
    r"""Per-row :math:`\sum_i [t_i a_i - \mathrm{softplus}(a_i)]` (M1, M3), accumulated in float64."""
    return np.sum(t * a - softplus(a), axis=-1, dtype=np.float64)


def _sample_bernoulli(a, rng):
    r"""One sample of :math:`\mathrm{Bern}(\sigma(a))` per entry, in the dtype of ``a``.

    The uniforms come from ``rng`` in the dtype of ``a`` (float32 draws are cheaper).
    """
    u = rng.random(a.shape, dtype=a.dtype if a.dtype in (np.float32, np.float64) else np.float64)
    return (u < sigmoid(a)).astype(a.dtype)


def _param_keys(n: int, tied: bool) -> list:
    keys = [f"W{k}" for k in range(1, n + 1)] + [f"b{k}" for k in range(1, n + 1)]
    keys += [f"c{k}" for k in range(n)]
    if not tied:
        keys += [f"V{k}" for k in range(1, n + 1)]
    return keys + ["prior"]


def _check_sizes(sizes) -> tuple:
    if isinstance(sizes, (str, bytes, numbers.Number)) or sizes is None:
        raise TypeError(f"sizes must be a sequence of layer widths (d_0, ..., d_n); got {type(sizes).__name__}.")
    sizes = tuple(check_positive_int(d, f"sizes[{i}]") for i, d in enumerate(sizes))
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least two layer widths (d_0, ..., d_n); got {sizes}.")
    if sizes[-1] < 2:
        raise ValueError(f"sizes[-1] is the number of classes and must be >= 2; got {sizes[-1]}.")
    return sizes


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
    dtype : numpy float dtype, default float32
        Storage dtype of every parameter; all computations run in it.

    Attributes
    ----------
    params : dict of str -> ndarray
        All parameters, see the module docstring. Optimisers update it in place.
    sizes : tuple of int
    tied : bool

    Raises
    ------
    TypeError
        If ``rng`` is not a ``numpy.random.Generator`` or ``sizes`` is not a sequence.
    ValueError
        If a width is not a positive integer, fewer than two widths are given or ``d_n < 2``.

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
    >>> pair.generator().weights[0].shape   # (W^2)^T maps y (3) to h^1 (4)
    (4, 3)
    """

    def __init__(self, sizes, tied: bool = True, rng=None, init_scale: float = 0.01, dtype=np.float32):
        rng = check_rng(rng)
        sizes = _check_sizes(sizes)
        if not isinstance(tied, (bool, np.bool_)):
            raise TypeError(f"tied must be a bool; got {type(tied).__name__}.")
        if not isinstance(init_scale, numbers.Real) or not np.isfinite(init_scale) or init_scale < 0:
            raise ValueError(f"init_scale must be a finite number >= 0; got {init_scale!r}.")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64; got {dtype}.")
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
        self._set(params, sizes, bool(tied), dtype)

    def _set(self, params, sizes, tied, dtype):
        self.params = params
        self.sizes = tuple(sizes)
        self.tied = tied
        self.dtype = np.dtype(dtype)
        self.n_layers = len(sizes) - 1
        self.n_classes = sizes[-1]

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
            Its dtype is that of ``params["W1"]`` if floating, else float64.

        Raises
        ------
        ValueError
            For a missing or unexpected key, a wrong shape or a non-finite entry.
        """
        sizes = _check_sizes(sizes)
        if not isinstance(tied, (bool, np.bool_)):
            raise TypeError(f"tied must be a bool; got {type(tied).__name__}.")
        if not hasattr(params, "keys"):
            raise TypeError(f"params must be a dict of arrays; got {type(params).__name__}.")
        n = len(sizes) - 1
        expected = _param_keys(n, bool(tied))
        missing = [k for k in expected if k not in params]
        extra = [k for k in params if k not in expected]
        if missing or extra:
            raise ValueError(
                f"params must hold exactly the keys {expected} for sizes {sizes} (tied={bool(tied)}); "
                f"missing {missing}, unexpected {extra}."
            )
        w1 = np.asarray(params["W1"])
        dtype = w1.dtype if w1.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        out = {}
        for key in expected:
            arr = check_finite(as_float_array(params[key], f"params[{key!r}]", dtype).copy(), f"params[{key!r}]")
            kind, idx = key[0], (int(key[1:]) if key != "prior" else n)
            if kind in "WV":
                shape = (sizes[idx], sizes[idx - 1])
            else:
                shape = (sizes[idx],)
            if arr.shape != shape:
                raise ValueError(f"params[{key!r}] must have shape {shape} for sizes {sizes}; got {arr.shape}.")
            out[key] = arr
        pair = cls.__new__(cls)
        pair._set(out, sizes, bool(tied), dtype)
        return pair

    def copy(self):
        """An independent copy (parameters copied)."""
        return CoupledPair.from_params(self.params, self.sizes, self.tied)

    def __repr__(self) -> str:
        return f"CoupledPair(sizes={self.sizes}, tied={self.tied}, dtype={self.dtype.name})"

    def gen_weight(self, k: int) -> np.ndarray:
        r"""The generator's matrix for layer ``k`` (shape ``(d_k, d_{k-1})``, used transposed):
        ``params["Wk"]`` if tied, else ``params["Vk"]`` (no copy)."""
        return self.params[f"W{k}"] if self.tied else self.params[f"V{k}"]

    def recogniser(self) -> SigmoidBeliefNet:
        r"""The recogniser as an SBN: weights ``[W1..Wn]``, biases ``[b1..bn]``, categorical output.

        Notes
        -----
        Equation: M1, M2
        """
        n = self.n_layers
        return SigmoidBeliefNet(
            [self.params[f"W{k}"] for k in range(1, n + 1)],
            [self.params[f"b{k}"] for k in range(1, n + 1)],
            output="categorical",
            dtype=self.dtype,
        )

    def generator(self) -> SigmoidBeliefNet:
        r"""The generator as an SBN whose input is the one-hot :math:`y`.

        Weights ``[(W^n)^T, ..., (W^1)^T]`` (``V`` if untied), biases
        ``[c^{n-1}, ..., c^0]``, Bernoulli output. Its ``layers`` are
        ``[h^{n-1}, ..., h^1, x]``.

        Notes
        -----
        Equation: M9

        .. math:: p(x^{k-1} \mid x^k) = \prod_j \mathrm{Bern}\big(x^{k-1}_j;\ \sigma((W^k)^\top x^k + c^{k-1})_j\big)
        """
        n = self.n_layers
        return SigmoidBeliefNet(
            [self.gen_weight(k).T for k in range(n, 0, -1)],
            [self.params[f"c{k - 1}"] for k in range(n, 0, -1)],
            output="bernoulli",
            dtype=self.dtype,
        )

    def log_prior(self) -> np.ndarray:
        r""":math:`\log p(y)` for every class, shape ``(d_n,)``: log-softmax of ``params["prior"]``."""
        return log_softmax(self.params["prior"].astype(np.float64))

    # ------------------------------------------------------------ validation
    def _x(self, x, name="x"):
        return as_batch(x, name, self.sizes[0], binary=True, dtype=self.dtype)[0]

    def _y(self, y, batch=None, name="y"):
        return check_labels(y, self.n_classes, name, batch)

    def _hidden(self, hidden, batch, name="hidden"):
        n = self.n_layers
        if not isinstance(hidden, (list, tuple)):
            raise TypeError(f"{name} must be a list of {n - 1} arrays h^1..h^{n - 1}; got {type(hidden).__name__}.")
        if len(hidden) != n - 1:
            raise ValueError(f"{name} must hold {n - 1} arrays (h^1..h^{n - 1}); got {len(hidden)}.")
        out = []
        for k, h in enumerate(hidden, start=1):
            hk, _ = as_batch(h, f"{name}[{k - 1}]", self.sizes[k], binary=True, dtype=self.dtype)
            if hk.shape[0] != batch:
                raise ValueError(f"{name}[{k - 1}] must have shape ({batch}, {self.sizes[k]}); got {hk.shape}.")
            out.append(hk)
        return out

    def _one_hot(self, y):
        return np.eye(self.n_classes, dtype=self.dtype)[y]

    # ----------------------------------------------------------- recognition
    def _recognise_mean(self, x):
        mus, mu = [], x
        n = self.n_layers
        for k in range(1, n):
            mu = sigmoid(mu @ self.params[f"W{k}"].T + self.params[f"b{k}"])
            mus.append(mu)
        logits = mu @ self.params[f"W{n}"].T + self.params[f"b{n}"]
        return mus, logits

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
        Equation: M6

        .. math:: \mu^k = \sigma(W^k \mu^{k-1} + b^k),\quad \mu^0 = x
        """
        mus, logits = self._recognise_mean(self._x(x))
        probs = np.exp(log_softmax(logits))
        return mus + [probs] if all_layers else probs

    def _sample_hidden(self, x, rng):
        hidden, h = [], x
        for k in range(1, self.n_layers):
            h = _sample_bernoulli(h @ self.params[f"W{k}"].T + self.params[f"b{k}"], rng)
            hidden.append(h)
        return hidden

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

        Notes
        -----
        Equation: M1
        """
        rng = check_rng(rng)
        return self._sample_hidden(self._x(x), rng)

    def _log_q_hidden(self, x, hidden):
        """Per-row log q(h | x) of the hidden layers alone (float64)."""
        u, total = x, 0.0
        for k in range(1, self.n_layers):
            a = u @ self.params[f"W{k}"].T + self.params[f"b{k}"]
            total = total + _bernoulli_log_lik(hidden[k - 1], a)
            u = hidden[k - 1]
        return total

    def _log_q_label(self, x, hidden, y):
        """Per-row log q(y | h^{n-1}) of the categorical top layer (float64)."""
        n = self.n_layers
        top = hidden[-1] if hidden else x
        a = (top @ self.params[f"W{n}"].T + self.params[f"b{n}"]).astype(np.float64)
        return log_softmax(a)[np.arange(len(y)), y]

    def _log_q(self, x, hidden, y):
        return self._log_q_hidden(x, hidden) + self._log_q_label(x, hidden, y)

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

        Notes
        -----
        Equation: M3
        """
        x = self._x(x)
        return self._log_q(x, self._hidden(hidden, x.shape[0]), self._y(y, x.shape[0]))

    # ------------------------------------------------------------ generation
    def _sample_generator(self, y, rng):
        n = self.n_layers
        u = self._one_hot(y)
        states = []
        for k in range(n, 0, -1):
            u = _sample_bernoulli(u @ self.gen_weight(k) + self.params[f"c{k - 1}"], rng)
            states.append(u)
        states.reverse()  # [x, h^1, ..., h^{n-1}]
        return states[1:], states[0]

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
        return self._sample_generator(self._y(y), rng)

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
        nu = self._one_hot(self._y(y))
        out = []
        for k in range(self.n_layers, 0, -1):
            nu = sigmoid(nu @ self.gen_weight(k) + self.params[f"c{k - 1}"])
            out.append(nu)
        out.reverse()
        return out if all_layers else out[0]

    def _log_p(self, x, hidden, y):
        n = self.n_layers
        states = [x] + list(hidden)
        u, total = self._one_hot(y), 0.0
        for k in range(n, 0, -1):
            a = u @ self.gen_weight(k) + self.params[f"c{k - 1}"]
            total = total + _bernoulli_log_lik(states[k - 1], a)
            u = states[k - 1]
        return total

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

        Notes
        -----
        Equation: M9
        """
        x = self._x(x)
        return self._log_p(x, self._hidden(hidden, x.shape[0]), self._y(y, x.shape[0]))
