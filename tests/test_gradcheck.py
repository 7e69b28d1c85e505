"""The finite-difference checker recovers known gradients and refuses float32 parameters."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from refimpl.gradcheck import central_differences, max_discrepancy


def test_central_differences_recover_an_analytic_gradient():
    """For f = sum(sin(A) * B^2), the checker matches cos(A) B^2 and 2 sin(A) B to 1e-8."""
    rng = np.random.default_rng(0)
    params = {"A": rng.standard_normal((3, 2)), "B": rng.standard_normal((3, 2))}

    def f():
        return float(np.sum(np.sin(params["A"]) * params["B"] ** 2))

    g = central_differences(f, params)
    assert_allclose(g["A"], np.cos(params["A"]) * params["B"] ** 2, atol=1e-8)
    assert_allclose(g["B"], 2 * np.sin(params["A"]) * params["B"], atol=1e-8)
    assert max_discrepancy(g, g) == 0.0


def test_central_differences_restore_the_parameters():
    """Every perturbed entry is put back exactly."""
    params = {"w": np.array([0.1, -0.3, 2.5])}
    before = params["w"].copy()
    central_differences(lambda: float(np.prod(params["w"])), params)
    assert np.array_equal(params["w"], before)


def test_central_differences_refuse_float32_and_mismatched_keys():
    """A float32 parameter is a TypeError naming it; gradients with different keys a ValueError."""
    with pytest.raises(TypeError, match="params\\['w'\\]"):
        central_differences(lambda: 0.0, {"w": np.zeros(2, np.float32)})
    with pytest.raises(ValueError, match="same keys"):
        max_discrepancy({"a": np.zeros(1)}, {"b": np.zeros(1)})
