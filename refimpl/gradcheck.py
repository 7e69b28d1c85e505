"""Central finite differences: the independent check of every hand-derived gradient.

Used by the tests and by tutorial 4. It knows nothing of the gradient formulas:
it perturbs one parameter entry at a time and evaluates the objective twice.
"""

from __future__ import annotations

import numpy as np

__all__ = ["central_differences", "max_discrepancy"]


def central_differences(f, params: dict, eps: float = 1e-6) -> dict:
    r"""Gradient of ``f()`` with respect to every entry of every array in ``params``.

    Parameters
    ----------
    f : callable
        Takes no arguments and returns a float computed from the arrays in
        ``params`` (which it reads when called).
    params : dict of str -> ndarray
        The parameters, float64; each entry is perturbed in place and restored.
    eps : float, default 1e-6
        Step; the error of the central difference is :math:`O(\varepsilon^2)`
        plus rounding of order :math:`10^{-16} |f| / \varepsilon`.

    Returns
    -------
    dict of str -> ndarray
        :math:`\big(f(\theta + \varepsilon e_i) - f(\theta - \varepsilon e_i)\big) / 2\varepsilon`
        for every entry, keyed and shaped like ``params``.

    Raises
    ------
    TypeError
        If a parameter is not a float64 array (rounding in float32 would swamp the check).

    Examples
    --------
    >>> w = {"w": np.array([1.0, 2.0])}
    >>> g = central_differences(lambda: float(np.sum(w["w"] ** 2)), w)
    >>> np.round(g["w"], 6)
    array([2., 4.])
    """
    grads = {}
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
    if sorted(a) != sorted(b):
        raise ValueError(f"a and b must have the same keys; got {sorted(a)} and {sorted(b)}.")
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)
