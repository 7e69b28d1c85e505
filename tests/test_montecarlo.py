"""Tests for refimpl.montecarlo: ancestral-sampling estimates of q(x^k_i = 1 | x^0).

Ground truth is enumeration written out in this file; statistical tolerances are
justified where they are set.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose

from refimpl import kernels, montecarlo
from refimpl.montecarlo import mc_marginals
from refimpl.sbn import SigmoidBeliefNet


def _exact_marginals(net, x0):
    """Exact q(x^k_i = 1 | x^0) per layer, for one input, by enumeration layer to layer."""
    states, probs, out = np.asarray(x0, dtype=float)[None, :], np.array([1.0]), []
    for k in range(1, net.n_layers + 1):
        a = states @ net.weights[k - 1].T + net.biases[k - 1]
        if net.is_categorical(k):
            e = np.exp(a - a.max(axis=1, keepdims=True))
            nxt, trans = np.eye(a.shape[1]), e / e.sum(axis=1, keepdims=True)
        else:
            nxt = np.array(list(itertools.product([0.0, 1.0], repeat=a.shape[1])))
            s = 1.0 / (1.0 + np.exp(-a))
            trans = np.prod(np.where(nxt[None] == 1, s[:, None, :], 1.0 - s[:, None, :]), axis=2)
        states, probs = nxt, probs @ trans
        out.append(probs @ states)
    return out


OUTPUTS = ["bernoulli", "categorical"]


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("rao_blackwell", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_m4_mc_within_standard_errors_of_exact(output, rao_blackwell, seed):
    """With S = 20000 samples every estimate lies within 5 standard errors of the exact marginal.

    Each estimate is a mean of S i.i.d. bounded terms, so (estimate - exact) / stderr is
    N(0, 1) to a good approximation at this S; P(|z| > 5) ~ 6e-7 per unit, and with ~20
    units per test a false failure has probability ~1e-5. The Rao-Blackwellised layer 1
    has zero variance (and stderr 0), so it is compared to 1e-12 instead.
    """
    rng = np.random.default_rng(seed)
    net = SigmoidBeliefNet.random([4, 3, 4, 3, 3], rng, scale=1.5, output=output)
    x0 = rng.integers(0, 2, 4)
    mu, se = mc_marginals(net, x0, 20000, rng, rao_blackwell=rao_blackwell, return_stderr=True)
    exact = _exact_marginals(net, x0)
    for k, (m, s, e) in enumerate(zip(mu, se, exact, strict=True), start=1):
        if rao_blackwell and k == 1:
            assert_allclose(m, e, rtol=0, atol=1e-12)
            assert_allclose(s, 0.0, rtol=0, atol=1e-9)
            continue
        assert np.all(s > 0)
        assert np.max(np.abs(m - e) / s) < 5.0, (k, (m - e) / s)


@pytest.mark.parametrize("rao_blackwell", [False, True])
def test_m4_mc_error_falls_as_inverse_sqrt_samples(rao_blackwell):
    """The root-mean-square error against exact inference falls like S^(-1/2): fitted log-log slope -0.5 +- 0.1.

    For an unbiased mean of S i.i.d. terms, E (estimate - exact)^2 = Var / S exactly, so
    the RMS over seeds and units has slope -1/2. The RMS here pools 30 seeds x 10 units
    (~300 squared errors, relative s.d. of the mean square ~ sqrt(2/300) = 0.08, i.e. 0.04
    in log RMS); over two decades of S that moves the fitted slope by ~0.015. A
    tolerance of 0.1 is some 6 standard deviations.
    """
    rng0 = np.random.default_rng(123)
    net = SigmoidBeliefNet.random([4, 3, 4, 3], rng0, scale=1.5)
    x0 = rng0.integers(0, 2, 4)
    exact = np.concatenate(_exact_marginals(net, x0)[1:])  # layers 2..n (RB layer 1 is exact)
    sizes = np.array([100, 300, 1000, 3000, 10000])
    rms = []
    for s in sizes:
        sq = []
        for seed in range(30):
            mu = mc_marginals(net, x0, int(s), np.random.default_rng(seed), rao_blackwell=rao_blackwell)
            sq.append((np.concatenate(mu[1:]) - exact) ** 2)
        rms.append(np.sqrt(np.mean(sq)))
    slope = np.polyfit(np.log(sizes), np.log(rms), 1)[0]
    assert abs(slope + 0.5) < 0.1, slope


@pytest.mark.parametrize("output", OUTPUTS)
def test_m5_rao_blackwell_has_lower_variance(output):
    """Averaging sigma(a^k) over sampled parents has no larger standard error than averaging the samples.

    By the law of total variance Var sigma(a^k_i) = Var x^k_i - E Var(x^k_i | x^{k-1}) <= Var x^k_i;
    with S = 20000 the sample standard errors are within ~1% of their population values,
    so we compare the summed standard errors per layer with a 2% margin.
    """
    rng = np.random.default_rng(4)
    net = SigmoidBeliefNet.random([4, 3, 4, 3], rng, scale=1.5, output=output)
    x0 = rng.integers(0, 2, 4)
    _, se_plain = mc_marginals(net, x0, 20000, np.random.default_rng(1), return_stderr=True)
    _, se_rb = mc_marginals(net, x0, 20000, np.random.default_rng(2), rao_blackwell=True, return_stderr=True)
    for p, r in zip(se_plain, se_rb, strict=True):
        assert r.sum() <= 1.02 * p.sum()


def test_m4_batch_and_single_agree_in_shape_and_value():
    """A batch of inputs returns (B, d_k) per layer, each row an estimate of that input's marginals."""
    rng = np.random.default_rng(6)
    net = SigmoidBeliefNet.random([3, 2, 3], rng)
    x0 = rng.integers(0, 2, (5, 3))
    mu, se = mc_marginals(net, x0, 5000, rng, return_stderr=True)
    assert [m.shape for m in mu] == [(5, 2), (5, 3)]
    assert [s.shape for s in se] == [(5, 2), (5, 3)]
    for r in range(5):
        exact = _exact_marginals(net, x0[r])
        for m, s, e in zip(mu, se, exact, strict=True):
            # 5 standard errors: see test_m4_mc_within_standard_errors_of_exact.
            assert np.all(np.abs(m[r] - e) <= 5 * s + 1e-12)
    single = mc_marginals(net, x0[0], 10, rng)
    assert [m.shape for m in single] == [(2,), (3,)]


def test_m4_same_rng_state_same_estimate():
    """Two generators with the same seed give the same estimate (all randomness comes from rng)."""
    net = SigmoidBeliefNet.random([3, 2, 3], np.random.default_rng(0))
    a = mc_marginals(net, [1, 0, 1], 300, np.random.default_rng(11))
    b = mc_marginals(net, [1, 0, 1], 300, np.random.default_rng(11))
    for x, y in zip(a, b, strict=True):
        assert_allclose(x, y, rtol=0, atol=0)


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("rao_blackwell", [False, True])
def test_m4_extreme_weights_and_logits_stay_finite(output, rao_blackwell):
    """Weights +-50 and biases +-1e4 give finite estimates in [0, 1] without warnings."""
    rng = np.random.default_rng(9)
    sizes = [6, 5, 5, 4]
    weights = [50.0 * rng.choice([-1.0, 1.0], (sizes[k + 1], sizes[k])) for k in range(3)]
    biases = [1e4 * rng.choice([-1.0, 1.0], sizes[k + 1]) for k in range(3)]
    net = SigmoidBeliefNet(weights, biases, output=output)
    mu, se = mc_marginals(net, rng.integers(0, 2, (3, 6)), 50, rng, rao_blackwell=rao_blackwell, return_stderr=True)
    for m, s in zip(mu, se, strict=True):
        assert np.all(np.isfinite(m)) and m.min() >= 0 and m.max() <= 1
        assert np.all(np.isfinite(s)) and s.min() >= 0


@pytest.fixture
def net():
    return SigmoidBeliefNet.random([3, 2, 2], np.random.default_rng(0))


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"x0": np.zeros(4)}, ValueError, "x0 must have shape"),
        ({"x0": np.array([0.0, 0.5, 1.0])}, ValueError, "x0 must be binary"),
        ({"x0": np.array([0.0, np.nan, 1.0])}, ValueError, "x0 must be finite"),
        ({"n_samples": 0}, ValueError, "n_samples must be an integer >= 1"),
        ({"n_samples": 10.0}, TypeError, "n_samples must be an integer"),
        ({"n_samples": 1, "return_stderr": True}, ValueError, "n_samples must be >= 2"),
        ({"rng": 0}, TypeError, "rng must be a numpy.random.Generator"),
        ({"rng": np.random.RandomState(0)}, TypeError, "rng must be a numpy.random.Generator"),
    ],
)
def test_mc_marginals_rejects_bad_arguments(net, kwargs, exc, match):
    """Each bad argument raises an error that names it."""
    args = {"x0": np.array([0.0, 1.0, 1.0]), "n_samples": 10, "rng": np.random.default_rng(0)}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        mc_marginals(net, **args)


@pytest.mark.parametrize("block", [1, 7, 64, 1000])
def test_m4_moments_in_blocks_equal_one_pass(block):
    """Block-by-block means and squared deviations (Chan's update) equal numpy's over all the values at once."""
    values = np.random.default_rng(8).standard_normal((500, 2, 3)) * 1e3 + 1e6  # large mean: cancellation-prone
    drawn = []

    def moments(net, x, m, rng, rao_blackwell):  # the next m values, as sample_moments would return them
        v = values[sum(drawn):sum(drawn) + m]
        drawn.append(m)
        return [(v.mean(axis=0), ((v - v.mean(axis=0)) ** 2).sum(axis=0))]

    [(mean, m2)] = kernels.moments_in_blocks(moments, None, None, len(values), None, False, block)
    assert sum(drawn) == len(values) and max(drawn) <= block
    assert_allclose(mean, values.mean(axis=0), rtol=1e-14)
    assert_allclose(m2, values.var(axis=0) * len(values), rtol=1e-9)


def test_m4_mc_in_blocks_within_standard_errors_of_exact(monkeypatch):
    """With room for only 50 samples at once, 20,000 samples come in blocks and still land within 4 standard errors."""
    net = SigmoidBeliefNet.random([4, 3, 2], np.random.default_rng(9), scale=1.5)
    monkeypatch.setattr(montecarlo, "MAX_ELEMENTS", 50 * max(net.sizes))
    x0 = np.array([1.0, 0.0, 1.0, 1.0])
    mu, se = mc_marginals(net, x0, 20_000, np.random.default_rng(10), return_stderr=True)
    for m, s, e in zip(mu, se, _exact_marginals(net, x0), strict=True):
        assert np.all(np.abs(m - e) <= 4 * s)

