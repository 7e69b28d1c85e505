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
