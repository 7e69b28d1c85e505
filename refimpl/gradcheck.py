"""Central finite differences, the independent check of every hand-derived gradient (tests, tutorial 04)."""

from __future__ import annotations

import numpy as np

from ._validation import check_real

__all__ = ["central_differences", "max_discrepancy"]


def central_differences(f, params: dict, eps: float = 1e-6) -> dict:
    r"""Gradient of ``f()`` with respect to every entry of every float64 array in the dict ``params``.

    ``f`` takes no arguments and reads ``params``, each entry perturbed in place and restored. Returns a dict
    keyed and shaped like ``params``; error :math:`O(\varepsilon^2)`, rounding :math:`10^{-16}|f|/\varepsilon`.

    .. math:: \partial_i f \approx (f(\theta + \varepsilon e_i) - f(\theta - \varepsilon e_i)) / 2\varepsilon

    Examples
    --------
    >>> w = {"w": np.array([1.0, 2.0])}
    >>> np.round(central_differences(lambda: float(np.sum(w["w"] ** 2)), w)["w"], 6)
    array([2., 4.])
    """
    if not callable(f) or not hasattr(params, "items"):
        raise TypeError(f"f must be a function of no arguments and params a dict of arrays; "
                        f"got {type(f).__name__} and {type(params).__name__}.")
    eps, grads = check_real(eps, "eps", 0, low_open=True), {}
    for key, p in params.items():
        if not (isinstance(p, np.ndarray) and p.dtype == np.float64):
            raise TypeError(f"params[{key!r}] must be a float64 ndarray for a gradient check; "
                            f"got {type(p).__name__} of dtype {getattr(p, 'dtype', None)}.")
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            up = f()
            p[idx] = old - eps
            down = f()
            p[idx] = old
            g[idx] = (up - down) / (2 * eps)
        grads[key] = g
    return grads


def max_discrepancy(a: dict, b: dict) -> float:
    """Largest absolute difference between two gradients with the same keys and shapes."""
    if not (hasattr(a, "keys") and hasattr(b, "keys")):
        raise TypeError(f"a and b must be dicts of arrays; got {type(a).__name__} and {type(b).__name__}.")
    if sorted(a) != sorted(b) or not a:
        raise ValueError(f"a and b must have the same keys, at least one; got {sorted(a)} and {sorted(b)}.")
    for k in a:
        if np.shape(a[k]) != np.shape(b[k]):
            raise ValueError(f"a[{k!r}] and b[{k!r}] must have the same shape; got {np.shape(a[k])} and "
                             f"{np.shape(b[k])}.")
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)
