"""The stable elementary functions agree with their naive definitions and stay silent at extreme inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from refimpl.numerics import log_sigmoid, log_softmax, logsumexp, sigmoid, softmax, softplus

MODERATE = np.linspace(-30.0, 30.0, 121)
EXTREME = np.array([-1e4, -745.0, -50.0, 0.0, 50.0, 745.0, 1e4])


def test_sigmoid_matches_definition_at_moderate_logits():
    """sigmoid(a) = 1 / (1 + exp(-a)), written with math.exp per element."""
    expected = [1.0 / (1.0 + math.exp(-a)) for a in MODERATE]
    assert_allclose(sigmoid(MODERATE), expected, rtol=4e-15, atol=0)  # a few ulps


def test_softplus_and_log_sigmoid_match_definitions():
    """softplus(a) = log1p(exp(a)) and log sigmoid(a) = -log1p(exp(-a)) where those do not overflow."""
    assert_allclose(softplus(MODERATE), [math.log1p(math.exp(a)) for a in MODERATE], rtol=1e-15)
    assert_allclose(log_sigmoid(MODERATE), [-math.log1p(math.exp(-a)) for a in MODERATE], rtol=1e-15)


def test_extreme_logits_are_exact_and_silent():
    """At logits of +-1e4 the functions return their limits with no warning (warnings are errors here)."""
    assert_allclose(sigmoid(EXTREME)[[0, -1]], [0.0, 1.0], atol=0)
    assert_allclose(softplus(EXTREME)[[0, -1]], [0.0, 1e4], atol=0)
    assert_allclose(log_sigmoid(EXTREME)[[0, -1]], [-1e4, 0.0], atol=0)
    assert np.all(np.isfinite(softplus(EXTREME))) and np.all(np.isfinite(log_sigmoid(EXTREME)))


@pytest.mark.parametrize("shift", [0.0, 1e4, -1e4])
def test_logsumexp_softmax_are_shift_invariant(shift):
    """logsumexp(a + s) = logsumexp(a) + s and softmax(a + s) = softmax(a), checked against a small sum."""
    a = np.array([[0.1, -2.0, 3.0], [1.0, 1.0, 1.0]])
    direct = np.log(np.exp(a).sum(axis=1))
    assert_allclose(logsumexp(a + shift, axis=1), direct + shift, rtol=1e-14)
    # a + shift is itself rounded to ~1e-12 absolute when |shift| = 1e4, hence the looser rtol.
    assert_allclose(softmax(a + shift), np.exp(a) / np.exp(a).sum(axis=1, keepdims=True), rtol=1e-11)
    assert_allclose(np.exp(log_softmax(a + shift)).sum(axis=1), 1.0, rtol=1e-11)


def test_logsumexp_of_all_minus_infinity_is_minus_infinity():
    """A row of -inf has log-sum-exp -inf, without a warning."""
    assert logsumexp(np.array([-np.inf, -np.inf])) == -np.inf


@pytest.mark.parametrize("func", [sigmoid, softplus, log_sigmoid])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elementwise_functions_preserve_floating_dtype(func, dtype):
    """sigmoid, softplus and log_sigmoid keep shape and floating dtype, silently at +-1e4."""
    a = np.array([[-1e4, -100.0, -30.0, 0.0], [0.5, 30.0, 100.0, 1e4]], dtype=dtype)
    out = func(a)
    assert out.dtype == dtype and out.shape == a.shape
    assert np.all(np.isfinite(out))


def _ulps(got, exact, dtype):
    """|got - exact| in units of the spacing of `exact` rounded to `dtype` (exact is a Python float)."""
    return abs(float(got) - exact) / float(np.spacing(dtype(exact)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("a", [-30.0, -100.0])
def test_deep_lower_tail_is_accurate_to_the_last_digit(a, dtype):
    """At a = -30 and -100 sigmoid and log_sigmoid are within 1 ulp of a math.exp reference.

    sigmoid(a) = e/(1+e) with e = exp(a) and log sigmoid(a) = a - log1p(exp(a)) for a < 0, in
    float64 with math.exp; sigma(-100) ~ 3.7e-44 is subnormal in float32, where 1 ulp is the
    subnormal spacing. A half-plus-half-tanh sigmoid fails this by millions of ulps.
    """
    e = math.exp(a)
    assert _ulps(sigmoid(np.array([a], dtype))[0], e / (1.0 + e), dtype) <= 1.0
    assert _ulps(log_sigmoid(np.array([a], dtype))[0], a - math.log1p(e), dtype) <= 1.0
    assert _ulps(softplus(np.array([a], dtype))[0], math.log1p(e), dtype) <= 1.0


@pytest.mark.parametrize("func", [sigmoid, softplus, log_sigmoid])
def test_elementwise_functions_turn_integers_and_bools_into_float64(func):
    """Integer and bool input is computed as float64, with the same values as float64 input."""
    ints = np.array([-3, 0, 2])
    assert func(ints).dtype == np.float64
    assert_allclose(func(ints), func(ints.astype(np.float64)), rtol=0, atol=0)
    assert_allclose(func(np.array([True, False])), func(np.array([1.0, 0.0])), rtol=0, atol=0)


@pytest.mark.parametrize("func", [logsumexp, log_softmax, softmax])
def test_reductions_reject_an_empty_axis(func):
    """No value along the axis raises ValueError naming a, the axis and the shape (not NumPy's reduction error)."""
    with pytest.raises(ValueError, match=r"^a must hold at least one value along axis -1; got shape \(0,\)\.$"):
        func([])
    with pytest.raises(ValueError, match=r"^a must hold at least one value along axis 1; got shape \(2, 0\)\.$"):
        func(np.empty((2, 0)), axis=1)


def test_logsumexp_of_no_rows_is_an_empty_result():
    """Zero rows of three values each is a valid input: the result has zero rows, no error."""
    out = logsumexp(np.empty((0, 3)), axis=-1)
    assert out.shape == (0,)


NON_NUMERIC = [
    pytest.param("a", r"got str\.", id="str"),
    pytest.param(None, r"got NoneType\.", id="None"),
    pytest.param(np.array([1.0, 2.0], dtype=object), r"got dtype object\.", id="object"),
    pytest.param(["x", "y"], r"got dtype <U1\.", id="strings"),
]


@pytest.mark.parametrize("func", [sigmoid, softplus, log_sigmoid, logsumexp, log_softmax, softmax])
@pytest.mark.parametrize("bad, got", NON_NUMERIC)
def test_functions_reject_non_numeric_input(func, bad, got):
    """Strings, None and object arrays raise TypeError naming a (before: NaN, or NumPy's conversion error)."""
    with pytest.raises(TypeError, match=r"^a must be an array of numbers; " + got + "$"):
        func(bad)


@pytest.mark.parametrize("func", [sigmoid, softplus, log_sigmoid, logsumexp, log_softmax, softmax])
def test_functions_reject_complex_input(func):
    """Complex logits raise TypeError naming a: the branch tests a >= 0 mean nothing for them."""
    with pytest.raises(TypeError, match=r"^a must be real; got dtype complex128\.$"):
        func(np.array([1.0 + 1.0j, 0.5]))
