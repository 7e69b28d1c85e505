r"""Gradient-ascent optimisers written out in NumPy: SGD with momentum and Adam.

Convention: the learning rules of :mod:`refimpl.learning` return gradients of
quantities to **maximise**, so :meth:`SGD.step` and :meth:`Adam.step` *ascend*:
``params[k]`` moves along ``+grads[k]``. Both update the parameter arrays in
place (so a :class:`refimpl.coupled.CoupledPair` sees the change), keep their
state as plain arrays in the parameters' dtype, and are deterministic. The
parameters must be float32 or float64 ndarrays (TypeError otherwise).

:meth:`state_dict` returns only plain arrays and numbers (keys ``"m/<name>"``,
``"v/<name>"`` for per-parameter state), so it can be saved with ``np.savez``
or, after ``tolist()``, as JSON; :meth:`load_state_dict` restores it.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["SGD", "Adam"]

_PARAM_TYPES = (np.float32, np.float64)


def _check_real(value, name, low, high=None, low_inclusive=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}.")
    bad_low = value < low if low_inclusive else value <= low
    if bad_low or (high is not None and value >= high):
        rng = f"{'[' if low_inclusive else '('}{low}, {high if high is not None else 'inf'})"
        raise ValueError(f"{name} must lie in {rng}; got {value!r}.")
    return float(value)


def _check_step_args(params, grads):
    if not hasattr(params, "keys") or not hasattr(grads, "keys"):
        raise TypeError("params and grads must be dicts of arrays keyed alike.")
    if set(params) != set(grads):
        raise ValueError(
            f"grads must have exactly the keys of params {sorted(params)}; got {sorted(grads)}."
        )
    for key, p in params.items():
        # updated in place: an integer array would truncate (or refuse) every step
        if not isinstance(p, np.ndarray) or p.dtype.type not in _PARAM_TYPES:
            got = p.dtype if isinstance(p, np.ndarray) else type(p).__name__
            raise TypeError(
                f"params[{key!r}] must be a float array (float32 or float64) to be updated in place; got {got}."
            )
        g = grads[key]
        if np.shape(g) != p.shape:
            raise ValueError(f"grads[{key!r}] must have shape {p.shape}; got {np.shape(g)}.")
        if not np.all(np.isfinite(g)):
            raise ValueError(f"grads[{key!r}] must be finite; got an array containing NaN or infinity.")


class SGD:
    r"""Stochastic gradient ascent with (heavy-ball) momentum.

    Parameters
    ----------
    lr : float
        Step size :math:`\eta > 0`.
    momentum : float, default 0.9
        :math:`\beta \in [0, 1)`.

    Notes
    -----
    .. math::
        m \leftarrow \beta\, m + g, \qquad \theta \leftarrow \theta + \eta\, m

    with :math:`m = 0` before the first step.

    Examples
    --------
    >>> params = {"w": np.zeros(2)}
    >>> opt = SGD(lr=0.1, momentum=0.0)
    >>> opt.step(params, {"w": np.array([1.0, -2.0])})
    >>> params["w"]
    array([ 0.1, -0.2])
    """

    def __init__(self, lr, momentum: float = 0.9):
        self.lr = _check_real(lr, "lr", 0.0)
        self.momentum = _check_real(momentum, "momentum", 0.0, 1.0, low_inclusive=True)
        self.t = 0
        self.m = {}

    def step(self, params, grads):
        """Ascend one step, updating ``params`` in place (``grads`` are not modified)."""
        _check_step_args(params, grads)
        self.t += 1
        for key, p in params.items():
            g = np.asarray(grads[key], dtype=p.dtype)
            if self.momentum > 0:
                m = self.m.get(key)
                if m is None:
                    m = self.m[key] = np.zeros_like(p)
                m *= self.momentum
                m += g
                g = m
            p += self.lr * g

    def state_dict(self) -> dict:
        """Plain arrays and numbers: ``lr``, ``momentum``, ``t`` and ``m/<name>``."""
        d = {"lr": self.lr, "momentum": self.momentum, "t": self.t}
        d.update({f"m/{k}": v.copy() for k, v in self.m.items()})
        return d

    def load_state_dict(self, d) -> None:
        """Restore from :meth:`state_dict` output (arrays copied)."""
        self.lr = _check_real(float(d["lr"]), "lr", 0.0)
        self.momentum = _check_real(float(d["momentum"]), "momentum", 0.0, 1.0, low_inclusive=True)
        self.t = int(d["t"])
        self.m = {k[2:]: np.array(v) for k, v in d.items() if k.startswith("m/")}


class Adam:
    r"""Adam (Kingma and Ba, 2015) for gradient ascent, with bias correction.

    Parameters
    ----------
    lr : float
        Step size :math:`\eta > 0`.
    beta1, beta2 : float, default 0.9, 0.999
        Decay rates in :math:`[0, 1)`.
    eps : float, default 1e-8

    Notes
    -----
    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) g,\quad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
        \theta \leftarrow \theta + \eta\,\frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}

    Examples
    --------
    >>> params = {"w": np.zeros(1)}
    >>> opt = Adam(lr=0.1)
    >>> opt.step(params, {"w": np.array([3.0])})
    >>> params["w"].round(6)  # the first step has length lr, sign of g
    array([0.1])
    """

    def __init__(self, lr, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr = _check_real(lr, "lr", 0.0)
        self.beta1 = _check_real(beta1, "beta1", 0.0, 1.0, low_inclusive=True)
        self.beta2 = _check_real(beta2, "beta2", 0.0, 1.0, low_inclusive=True)
        self.eps = _check_real(eps, "eps", 0.0)
        self.t = 0
        self.m, self.v = {}, {}
        self._scratch = {}

    def step(self, params, grads):
        """Ascend one step, updating ``params`` in place (``grads`` are not modified)."""
        _check_step_args(params, grads)
        self.t += 1
        c1 = 1.0 - self.beta1**self.t
        c2 = 1.0 - self.beta2**self.t
        for key, p in params.items():
            g = np.asarray(grads[key], dtype=p.dtype)
            if key not in self.m:
                self.m[key] = np.zeros_like(p)
                self.v[key] = np.zeros_like(p)
            m, v = self.m[key], self.v[key]
            # two scratch arrays per parameter, so the update allocates nothing
            step, denom = self._scratch.setdefault(key, (np.empty_like(p), np.empty_like(p)))
            m *= self.beta1
            m += np.multiply(g, 1.0 - self.beta1, out=step)         # m = b1 m + (1 - b1) g
            v *= self.beta2
            v += np.multiply(np.multiply(g, g, out=step), 1.0 - self.beta2, out=step)  # v = b2 v + (1 - b2) g^2
            np.sqrt(np.divide(v, c2, out=denom), out=denom)
            denom += self.eps                                         # sqrt(v / c2) + eps
            p += np.divide(np.multiply(m, self.lr / c1, out=step), denom, out=step)  # (lr / c1) m / denom

    def state_dict(self) -> dict:
        """Plain arrays and numbers: hyper-parameters, ``t``, ``m/<name>`` and ``v/<name>``."""
        d = {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps, "t": self.t}
        d.update({f"m/{k}": v.copy() for k, v in self.m.items()})
        d.update({f"v/{k}": v.copy() for k, v in self.v.items()})
        return d

    def load_state_dict(self, d) -> None:
        """Restore from :meth:`state_dict` output (arrays copied)."""
        self._scratch = {}
        self.lr = _check_real(float(d["lr"]), "lr", 0.0)
        self.beta1 = _check_real(float(d["beta1"]), "beta1", 0.0, 1.0, low_inclusive=True)
        self.beta2 = _check_real(float(d["beta2"]), "beta2", 0.0, 1.0, low_inclusive=True)
        self.eps = _check_real(float(d["eps"]), "eps", 0.0)
        self.t = int(d["t"])
        self.m = {k[2:]: np.array(v) for k, v in d.items() if k.startswith("m/")}
        self.v = {k[2:]: np.array(v) for k, v in d.items() if k.startswith("v/")}
