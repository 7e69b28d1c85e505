"""Tests of refimpl/layers.py: each layer's log-probability, sample and local gradient, against definitions.

The references are independent of the code: the log-probability as the log of the product of
the conditionals written out, the local gradient by central differences, the sampler by the
frequencies of many draws.
"""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from refimpl import layers
from refimpl.gradcheck import central_differences


def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def test_m1_bernoulli_log_prob_is_log_of_product():
    """sum_i [t a - softplus(a)] equals log prod_i sigma(a)^t (1 - sigma(a))^(1 - t)."""
    rng = np.random.default_rng(0)
    a, t = rng.standard_normal((5, 4)), (rng.random((5, 4)) < 0.5).astype(float)
    want = np.log(np.prod(_sig(a) ** t * (1 - _sig(a)) ** (1 - t), axis=-1))
    assert_allclose(layers.bernoulli_log_prob(t, a), want, rtol=1e-12)


def test_m2_categorical_log_prob_is_log_softmax():
    """a_y - logsumexp(a) equals log(exp(a_y) / sum_c exp(a_c))."""
    rng = np.random.default_rng(1)
    a, y = rng.standard_normal((6, 3)), rng.integers(0, 3, 6)
    want = np.log(np.exp(a[np.arange(6), y]) / np.exp(a).sum(axis=1))
    assert_allclose(layers.categorical_log_prob(np.eye(3)[y], a), want, rtol=1e-12)


def test_m1_local_gradients_match_central_differences():
    """(t - sigma(a)) u^T and (onehot - softmax(a)) u^T are the gradients of the log-probabilities in W and b."""
    rng = np.random.default_rng(2)
    u = (rng.random((4, 3)) < 0.5).astype(float)
    params = {"W": rng.standard_normal((2, 3)), "b": rng.standard_normal(2)}
    t, y = (rng.random((4, 2)) < 0.5).astype(float), np.eye(2)[rng.integers(0, 2, 4)]
    for log_prob, delta, target in ((layers.bernoulli_log_prob, layers.bernoulli_delta, t),
                                    (layers.categorical_log_prob, layers.categorical_delta, y)):
        def f(log_prob=log_prob, target=target):
            return float(log_prob(target, u @ params["W"].T + params["b"]).sum())

        num = central_differences(f, params)
        gw, gb = layers.linear_grad(delta(target, u @ params["W"].T + params["b"]), u)
        assert_allclose(gw, num["W"], atol=1e-8)
        assert_allclose(gb, num["b"], atol=1e-8)


def test_m9_transposed_layer_gradient_matches_central_differences():
    """A layer a = V^T u + c applying its stored matrix V transposed (the generator's) gets u delta^T for V."""
    rng = np.random.default_rng(4)
    u, t = (rng.random((4, 3)) < 0.5).astype(float), (rng.random((4, 2)) < 0.5).astype(float)
    params = {"V": rng.standard_normal((3, 2)), "c": rng.standard_normal(2)}

    def f():
        return float(layers.bernoulli_log_prob(t, u @ params["V"] + params["c"]).sum())

    num = central_differences(f, params)
    gv, gc = layers.linear_grad(layers.bernoulli_delta(t, u @ params["V"] + params["c"]), u, transposed=True)
    assert gv.shape == params["V"].shape
    assert_allclose(gv, num["V"], atol=1e-8)
    assert_allclose(gc, num["c"], atol=1e-8)


def test_m1_samples_follow_sigma_and_softmax():
    """Frequencies of 200,000 draws match sigma(a) and softmax(a) within 5 standard errors."""
    rng = np.random.default_rng(3)
    a = np.array([[-1.0, 0.0, 2.0]])
    on = layers.bernoulli_sample(np.repeat(a, 200_000, axis=0), rng).mean(axis=0)
    assert_allclose(on, _sig(a[0]), atol=5 * 0.5 / np.sqrt(200_000))
    freq = layers.categorical_sample(np.repeat(a, 200_000, axis=0), rng).mean(axis=0)
    assert_allclose(freq, np.exp(a[0]) / np.exp(a[0]).sum(), atol=5 * 0.5 / np.sqrt(200_000))
