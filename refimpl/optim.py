r"""Gradient-ascent optimisers written out in NumPy: SGD with momentum and Adam (tutorial 04).

The learning rules return gradients of quantities to maximise, so ``step`` moves ``params[k]`` along
``+grads[k]``, in place. :meth:`~Adam.state_dict` holds only arrays and numbers, to be saved with ``np.savez``.
"""

from __future__ import annotations

import numpy as np

from ._validation import array, check_positive_int, check_real

__all__ = ["SGD", "Adam"]


def _check_step(params, grads, *state):
    """Boundary check of ``step``: float parameters, finite gradients and the optimiser's ``state`` dicts (its
    moments) keyed and shaped alike."""
    if not hasattr(params, "keys") or not hasattr(grads, "keys"):
        raise TypeError("params and grads must be dicts of arrays keyed alike.")
    if set(params) != set(grads):
        raise ValueError(f"grads must have exactly the keys of params {sorted(params)}; got {sorted(grads)}.")
    for key, p in params.items():  # updated in place: an integer array would truncate (or refuse) every step
        if not isinstance(p, np.ndarray) or p.dtype.type not in (np.float32, np.float64):
            got = p.dtype if isinstance(p, np.ndarray) else type(p).__name__
            raise TypeError(f"params[{key!r}] must be a float array (float32 or float64) to be updated in place; "
                            f"got {got}.")
        array(grads[key], f"grads[{key!r}]", None, p.shape)  # finite, of the parameter's shape
    for moments in state:
        for key, m in moments.items():
            if key not in params:
                raise ValueError(f"the optimiser holds a state for {key!r}, which params lacks: "
                                 f"was it loaded for another model?")
            if np.shape(m) != params[key].shape:
                raise ValueError(f"the optimiser's state for {key!r} has shape {np.shape(m)}, not that of "
                                 f"params[{key!r}], {params[key].shape}: was it loaded for another model?")


def _restore(d, keys) -> int:
    """Check that a saved state ``d`` holds the hyper-parameters ``keys`` and a step count ``t >= 0``; return t."""
    missing = [k for k in (*keys, "t") if k not in d]
    if missing:
        raise ValueError(f"the optimiser's state must hold {[*keys, 't']}; missing {missing}.")
    t = d["t"].item() if isinstance(d["t"], np.ndarray) and d["t"].ndim == 0 else d["t"]  # np.savez: 0-d
    return check_positive_int(t, "t", minimum=0)


def _rate(value, name):
    return check_real(value, name, 0, low_open=True)


def _decay(value, name):
    return check_real(value, name, 0, 1, high_open=True)


class SGD:
    r"""Gradient ascent with heavy-ball momentum; ``lr`` :math:`\eta > 0`, ``momentum`` :math:`\beta \in [0, 1)`.

    .. math:: m \leftarrow \beta\, m + g, \qquad \theta \leftarrow \theta + \eta\, m \qquad (m = 0 \text{ at first})

    Examples
    --------
    >>> params = {"w": np.zeros(2)}
    >>> SGD(lr=0.1, momentum=0.0).step(params, {"w": np.array([1.0, -2.0])})
    >>> params["w"]
    array([ 0.1, -0.2])
    """

    def __init__(self, lr, momentum: float = 0.9):
        self.lr, self.momentum = _rate(lr, "lr"), _decay(momentum, "momentum")
        self.t, self.m = 0, {}

    def step(self, params, grads):
        """Ascend one step, updating ``params`` in place (``grads`` are not modified)."""
        _check_step(params, grads, self.m)
        self.t += 1
        for key, p in params.items():
            g = np.asarray(grads[key], dtype=p.dtype)
            if self.momentum > 0:
                m = self.m[key] = self.momentum * self.m.get(key, 0.0) + g
                g = m
            p += self.lr * g

    def state_dict(self) -> dict:
        """Plain arrays and numbers: ``lr``, ``momentum``, ``t`` and ``m/<name>``."""
        return {"lr": self.lr, "momentum": self.momentum, "t": self.t} | {f"m/{k}": v.copy() for k, v in self.m.items()}

    def load_state_dict(self, d) -> None:
        """Restore from :meth:`state_dict` output (arrays copied)."""
        t = _restore(d, ("lr", "momentum"))
        self.__init__(float(d["lr"]), float(d["momentum"]))
        self.t = t
        self.m = {k[2:]: np.array(v) for k, v in d.items() if k.startswith("m/")}


class Adam:
    r"""Adam (Kingma and Ba, 2015) for gradient ascent; ``lr`` :math:`\eta`, ``beta1``, ``beta2`` in [0, 1).

    .. math:: m \leftarrow \beta_1 m + (1-\beta_1) g,\quad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
        \theta \leftarrow \theta + \eta\,\frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}

    Examples
    --------
    >>> params = {"w": np.zeros(1)}
    >>> Adam(lr=0.1).step(params, {"w": np.array([3.0])})
    >>> params["w"].round(6)  # the first step has length lr, sign of g
    array([0.1])
    """

    def __init__(self, lr, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr, self.eps = _rate(lr, "lr"), _rate(eps, "eps")
        self.beta1, self.beta2 = _decay(beta1, "beta1"), _decay(beta2, "beta2")
        self.t, self.m, self.v = 0, {}, {}

    def step(self, params, grads):
        """Ascend one step, updating ``params`` in place (``grads`` are not modified)."""
        _check_step(params, grads, self.m, self.v)
        self.t += 1
        c1, c2 = 1.0 - self.beta1**self.t, 1.0 - self.beta2**self.t
        for key, p in params.items():
            g = np.asarray(grads[key], dtype=p.dtype)
            m = self.m[key] = self.beta1 * self.m.get(key, 0.0) + (1.0 - self.beta1) * g
            v = self.v[key] = self.beta2 * self.v.get(key, 0.0) + (1.0 - self.beta2) * g**2
            p += (self.lr / c1) * m / (np.sqrt(v / c2) + self.eps)

    def state_dict(self) -> dict:
        """Plain arrays and numbers: hyper-parameters, ``t``, ``m/<name>`` and ``v/<name>``."""
        d = {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps, "t": self.t}
        return d | {f"m/{k}": v.copy() for k, v in self.m.items()} | {f"v/{k}": v.copy() for k, v in self.v.items()}

    def load_state_dict(self, d) -> None:
        """Restore from :meth:`state_dict` output (arrays copied)."""
        t = _restore(d, ("lr", "beta1", "beta2", "eps"))
        self.__init__(float(d["lr"]), float(d["beta1"]), float(d["beta2"]), float(d["eps"]))
        self.t = t
        self.m = {k[2:]: np.array(v) for k, v in d.items() if k.startswith("m/")}
        self.v = {k[2:]: np.array(v) for k, v in d.items() if k.startswith("v/")}
