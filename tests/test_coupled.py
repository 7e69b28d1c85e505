"""Tests for refimpl.coupled: the recogniser-generator pair tied by transposition (M9, M10)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from refimpl.coupled import CoupledPair, transposed_generator
from refimpl.numerics import logsumexp
from refimpl.sbn import one_hot

SIZES = [(5, 3, 2), (6, 4, 3, 3)]


def _log_bern(t, a):
    """log Bern(t; sigma(a)) summed over units, written out: t log sigma(a) + (1 - t) log(1 - sigma(a))."""
    p = 1.0 / (1.0 + np.exp(-a))
    return np.sum(t * np.log(p) + (1 - t) * np.log1p(-p), axis=1)


def _pair(sizes, tied, seed, scale=1.0):
    """A float64 pair with all parameters random (biases too), so no check passes by symmetry."""
    rng = np.random.default_rng(seed)
    pair = CoupledPair(sizes, tied=tied, rng=rng, init_scale=scale, dtype=np.float64)
    for key in pair.params:
        if key[0] in "bc" or key == "prior":
            pair.params[key][...] = scale * rng.standard_normal(pair.params[key].shape)
    return pair


def _binary(rng, shape):
    return (rng.random(shape) < 0.5).astype(np.float64)


def _plain_sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("tied", [True, False])
def test_m9_generator_weights_are_recogniser_transposed(sizes, tied):
    """The generator SBN's weights are exactly W^n.T..W^1.T (tied) or V^n.T..V^1.T, biases c^{n-1}..c^0."""
    pair = _pair(sizes, tied, 0)
    gen, rec = pair.generator, pair.recogniser
    n = len(sizes) - 1
    assert gen.output == "bernoulli" and rec.output == "categorical"
    assert gen.sizes == tuple(reversed(sizes))
    for i, k in enumerate(range(n, 0, -1)):
        src = pair.params[f"W{k}"] if tied else pair.params[f"V{k}"]
        assert_array_equal(gen.weights[i], src.T)
        assert_array_equal(gen.biases[i], pair.params[f"c{k - 1}"])
        assert_array_equal(rec.weights[k - 1], pair.params[f"W{k}"])
    if not tied:
        assert not np.array_equal(pair.params["V1"], pair.params["W1"])


@pytest.mark.parametrize("sizes", SIZES)
def test_m9_tied_generator_weights_are_views_of_the_recogniser_weights(sizes):
    """In a tied pair every generator matrix shares memory with the recogniser's W^k: views, not copies."""
    pair = _pair(sizes, True, 0)
    n = len(sizes) - 1
    for j in range(n):
        assert np.shares_memory(pair.generator.weights[j], pair.recogniser.weights[n - 1 - j])
        assert pair.generator.weights[j].base is pair.params[f"W{n - j}"]
    rebuilt = transposed_generator(pair.recogniser, [pair.params[f"c{k}"] for k in range(n)])
    for a, b in zip(rebuilt.weights, pair.generator.weights, strict=True):
        assert np.shares_memory(a, b)


def test_params_are_the_arrays_both_networks_hold():
    """pair.params is a plain dict of the shared arrays: writing into one (in place) changes both networks."""
    pair = _pair((5, 3, 2), True, 0)
    w1 = pair.params["W1"]
    pair.params["W1"][...] = np.ones((3, 5))
    assert pair.params["W1"] is w1 and np.all(pair.generator.weights[-1] == 1.0)
    c0 = pair.params["c0"].copy()
    pair.params["c0"] += 2.0
    assert_array_equal(pair.generator.biases[-1], c0 + 2.0)


def test_m9_update_to_w_changes_both_directions():
    """An in-place update of W^1 (as an optimiser does) changes the recogniser and the tied generator alike."""
    pair = _pair((5, 3, 2), True, 1)
    y = np.array([0, 1])
    before = pair.generate_mean(y)
    pair.params["W1"] += 0.5
    assert_array_equal(pair.recogniser.weights[0], pair.params["W1"])
    assert_array_equal(pair.generator.weights[-1], pair.params["W1"].T)
    assert not np.allclose(pair.generate_mean(y), before)


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_m9_log_p_equals_the_transposed_logistic_sums_written_out(sizes, tied, seed):
    """pair.log_p(x, h, y) equals sum_k log Bern(h^{k-1}; sigma(G_k^T h^k + c^{k-1})), G = W (tied) or V, written
    out here from the parameters, and the generator SBN's M3 log-probability of [h^{n-1}..h^1, x]."""
    pair = _pair(sizes, tied, seed)
    rng = np.random.default_rng(seed + 10)
    B = 7
    x = _binary(rng, (B, sizes[0]))
    hidden = [_binary(rng, (B, d)) for d in sizes[1:-1]]
    y = rng.integers(0, sizes[-1], B)
    states, n = [x, *hidden, np.eye(sizes[-1])[y]], len(sizes) - 1
    written = sum(_log_bern(states[k - 1], states[k] @ pair.params[f"{'W' if tied else 'V'}{k}"]
                            + pair.params[f"c{k - 1}"]) for k in range(n, 0, -1))
    assert_allclose(pair.log_p(x, hidden, y), written, rtol=1e-12, atol=1e-12)
    expected = pair.generator.log_prob(one_hot(y, sizes[-1]), list(reversed(hidden)) + [x])
    assert_allclose(pair.log_p(x, hidden, y), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("seed", [0, 1])
def test_m3_log_q_equals_the_logistic_and_softmax_sums_written_out(sizes, seed):
    """pair.log_q(x, h, y) equals sum_k log Bern(h^k; sigma(W^k h^{k-1} + b^k)) + log softmax(W^n h^{n-1} + b^n)_y,
    written out here from the parameters, and the recogniser SBN's M3 log-probability."""
    pair = _pair(sizes, True, seed)
    rng = np.random.default_rng(seed + 20)
    B = 7
    x = _binary(rng, (B, sizes[0]))
    hidden = [_binary(rng, (B, d)) for d in sizes[1:-1]]
    y = rng.integers(0, sizes[-1], B)
    states, n = [x, *hidden], len(sizes) - 1
    written = sum(_log_bern(states[k], states[k - 1] @ pair.params[f"W{k}"].T + pair.params[f"b{k}"])
                  for k in range(1, n))
    top = states[-1] @ pair.params[f"W{n}"].T + pair.params[f"b{n}"]
    written = written + top[np.arange(B), y] - np.log(np.sum(np.exp(top), axis=1))
    assert_allclose(pair.log_q(x, hidden, y), written, rtol=1e-12, atol=1e-12)
    expected = pair.recogniser.log_prob(x, hidden + [one_hot(y, sizes[-1])])
    assert_allclose(pair.log_q(x, hidden, y), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("tied", [True, False])
def test_m10_generate_mean_equals_plain_sigmoid_pass(sizes, tied):
    """generate_mean(y) equals nu^{k-1} = 1/(1+exp(-(nu^k G^k + c^{k-1}))) written out from nu^n = onehot(y)."""
    pair = _pair(sizes, tied, 3)
    y = np.arange(sizes[-1])
    nu = np.eye(sizes[-1])[y]
    layers = []
    for k in range(len(sizes) - 1, 0, -1):
        G = pair.params[f"W{k}"] if tied else pair.params[f"V{k}"]
        nu = _plain_sigmoid(nu @ G + pair.params[f"c{k - 1}"])
        layers.insert(0, nu)
    assert_allclose(pair.generate_mean(y), layers[0], rtol=1e-12, atol=1e-14)
    for got, want in zip(pair.generate_mean(y, all_layers=True), layers, strict=True):
        assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("sizes", SIZES)
def test_m6_recognise_mean_equals_plain_forward_pass(sizes):
    """recognise_mean(x) equals the sigmoid forward pass with a softmax top, written out in the test."""
    pair = _pair(sizes, True, 4)
    x = _binary(np.random.default_rng(5), (6, sizes[0]))
    mu = x
    for k in range(1, len(sizes) - 1):
        mu = _plain_sigmoid(mu @ pair.params[f"W{k}"].T + pair.params[f"b{k}"])
    a = mu @ pair.params[f"W{len(sizes) - 1}"].T + pair.params[f"b{len(sizes) - 1}"]
    probs = np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)
    assert_allclose(pair.recognise_mean(x), probs, rtol=1e-12, atol=1e-14)
    mu1 = _plain_sigmoid(x @ pair.params["W1"].T + pair.params["b1"])
    assert_allclose(pair.recognise_mean(x, all_layers=True)[0], mu1, rtol=1e-12)


def _configs(widths):
    return [np.array(c, dtype=float) for c in itertools.product([0, 1], repeat=sum(widths))]


def test_m10_sample_generator_frequencies_match_exact_joint():
    """Empirical frequencies of (h, x) ~ sample_generator(y) match exp(log p(x, h | y)) from the generator SBN."""
    sizes, N = (3, 2, 2), 20000
    pair = _pair(sizes, False, 6)
    y = np.full(N, 1)
    hidden, x = pair.sample_generator(y, np.random.default_rng(7))
    codes = np.concatenate([x, hidden[0]], axis=1) @ (2 ** np.arange(5))
    freq = np.bincount(codes.astype(int), minlength=32) / N
    configs = np.array(_configs([5]))
    probs = np.exp(pair.generator.log_prob(np.eye(2)[[1] * 32], [configs[:, 3:], configs[:, :3]]))
    exact = probs[np.argsort(configs @ (2 ** np.arange(5)))]
    assert_allclose(exact.sum(), 1.0, rtol=1e-12)
    # each frequency has standard error sqrt(p(1-p)/N) <= 0.0036; 5 standard errors over 32 cells
    assert np.all(np.abs(freq - exact) <= 5 * np.sqrt(exact * (1 - exact) / N) + 1e-4), np.abs(freq - exact).max()


def test_m1_sample_hidden_frequencies_match_recogniser():
    """Empirical frequencies of h ~ sample_hidden(x) match q(h | x) = sum_y q(h, y | x) from the recogniser SBN."""
    sizes, N = (3, 2, 2), 20000
    pair = _pair(sizes, True, 8)
    x0 = np.array([1.0, 0.0, 1.0])
    (h,) = pair.sample_hidden(np.tile(x0, (N, 1)), np.random.default_rng(9))
    freq = np.bincount((h @ [1, 2]).astype(int), minlength=4) / N
    rec = pair.recogniser
    hs = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=float)
    exact = np.array([logsumexp(np.array([rec.log_prob(x0, [hh, np.eye(2)[c]]) for c in range(2)])) for hh in hs])
    exact = np.exp(exact)
    # standard error <= 0.0036 per cell; 5 standard errors
    assert np.all(np.abs(freq - exact) <= 5 * np.sqrt(exact * (1 - exact) / N) + 1e-4), np.abs(freq - exact).max()


def test_default_dtype_is_float32_throughout():
    """A default pair stores float32 parameters and its samples and means stay float32."""
    rng = np.random.default_rng(0)
    pair = CoupledPair((6, 4, 3), rng=rng)
    assert all(v.dtype == np.float32 for v in pair.params.values())
    hidden, x = pair.sample_generator([0, 2], rng)
    assert x.dtype == np.float32 and hidden[0].dtype == np.float32
    assert pair.sample_hidden(x, rng)[0].dtype == np.float32
    assert pair.generate_mean([1]).dtype == np.float32
    assert pair.recognise_mean(x).dtype == np.float32
    assert_array_equal(pair.params["prior"], 0.0)
    assert_allclose(pair.log_prior(), np.log(np.full(3, 1 / 3)), rtol=1e-12)


def test_from_params_and_copy_are_independent_copies():
    """from_params/copy reproduce the pair and never share arrays with the source."""
    pair = _pair((5, 3, 2), False, 2)
    twin = pair.copy()
    assert twin.tied is False and twin.sizes == (5, 3, 2) and twin.dtype == np.float64
    for key in pair.params:
        assert_array_equal(twin.params[key], pair.params[key])
    twin.params["W1"] += 1.0
    assert not np.array_equal(twin.params["W1"], pair.params["W1"])


def test_extreme_weights_give_finite_results_without_warnings():
    """Weights of +-50 and logits near 1e4 give finite log_p, log_q, means and samples (warnings are errors)."""
    pair = _pair((5, 3, 2), True, 3)
    for key in pair.params:
        pair.params[key] *= 50.0
    pair.params["b1"] += 1e4
    rng = np.random.default_rng(0)
    x = _binary(rng, (4, 5))
    y = np.array([0, 1, 1, 0])
    hidden = pair.sample_hidden(x, rng)
    assert np.all(np.isfinite(pair.log_q(x, hidden, y)))
    assert np.all(np.isfinite(pair.log_p(x, hidden, y)))
    assert np.all(np.isfinite(pair.generate_mean(y)))
    assert np.all(np.isfinite(pair.recognise_mean(x)))
    f32 = CoupledPair.from_params({k: v.astype(np.float32) for k, v in pair.params.items()}, (5, 3, 2), True)
    assert np.all(np.isfinite(f32.log_p(x, f32.sample_hidden(x, rng), y)))


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"sizes": (5,), "rng": np.random.default_rng(0)}, ValueError, "sizes"),
        ({"sizes": (5, 0, 2), "rng": np.random.default_rng(0)}, ValueError, r"sizes\[1\]"),
        ({"sizes": (5, 3, 1), "rng": np.random.default_rng(0)}, ValueError, "classes"),
        ({"sizes": 5, "rng": np.random.default_rng(0)}, TypeError, "sizes"),
        ({"sizes": (5, 3, 2), "rng": 0}, TypeError, "rng"),
        ({"sizes": (5, 3, 2)}, TypeError, "rng"),
        ({"sizes": (5, 3, 2), "rng": np.random.RandomState(0)}, TypeError, "rng"),
        ({"sizes": (5, 3, 2), "rng": np.random.default_rng(0), "tied": 1}, TypeError, "tied"),
        ({"sizes": (5, 3, 2), "rng": np.random.default_rng(0), "init_scale": -1.0}, ValueError, "init_scale"),
        ({"sizes": (5, 3, 2), "rng": np.random.default_rng(0), "dtype": np.float16}, TypeError,
         "dtype must be float32 or float64; got float16"),
        ({"sizes": (5, 3, 2), "rng": np.random.default_rng(0), "dtype": int}, TypeError,
         "dtype must be float32 or float64; got int64"),
    ],
)
def test_constructor_rejects_bad_arguments(kwargs, exc, match):
    """The constructor names the bad argument (sizes, rng, tied, init_scale)."""
    with pytest.raises(exc, match=match):
        CoupledPair(**kwargs)


def test_methods_reject_bad_inputs():
    """Labels out of range, non-binary x, wrong shapes and wrong hidden lists raise with the argument's name."""
    pair = _pair((5, 3, 2), True, 0)
    rng = np.random.default_rng(0)
    x = _binary(rng, (2, 5))
    h = [_binary(rng, (2, 3))]
    with pytest.raises(ValueError, match=r"y must hold labels in \[0, 2\)"):
        pair.sample_generator([0, 2], rng)
    with pytest.raises(ValueError, match="y must hold integer"):
        pair.generate_mean([0.5])
    with pytest.raises(ValueError, match=r"y must have shape \(batch,\)"):
        pair.generate_mean([[0]])
    with pytest.raises(ValueError, match=r"y must have shape \(2,\)"):
        pair.log_p(x, h, [0, 1, 1])
    with pytest.raises(ValueError, match="x must be binary"):
        pair.sample_hidden(x + 0.5, rng)
    with pytest.raises(ValueError, match="x must have shape"):
        pair.recognise_mean(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="hidden must hold 1"):
        pair.log_q(x, [], [0, 1])
    with pytest.raises(TypeError, match="hidden must be a list"):
        pair.log_q(x, h[0], [0, 1])
    with pytest.raises(ValueError, match=r"hidden\[0\] must have shape"):
        pair.log_q(x, [_binary(rng, (3, 3))], [0, 1])
    with pytest.raises(TypeError, match="rng"):
        pair.sample_hidden(x, 1)


def test_from_params_rejects_bad_params():
    """from_params names a missing key, a wrong shape and a non-finite entry."""
    pair = _pair((5, 3, 2), True, 0)
    params = {k: v.copy() for k, v in pair.params.items()}
    with pytest.raises(ValueError, match=r"missing \['c0'\], unexpected \[\]"):
        CoupledPair.from_params({k: v for k, v in params.items() if k != "c0"}, (5, 3, 2), True)
    with pytest.raises(ValueError, match=r"missing \['V1', 'V2'\], unexpected \[\]"):
        CoupledPair.from_params(params, (5, 3, 2), False)
    bad = dict(params, W1=np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"params\['W1'\] must have shape \(3, 5\)"):
        CoupledPair.from_params(bad, (5, 3, 2), True)
    bad = dict(params, b2=np.array([np.nan, 0.0]))
    with pytest.raises(ValueError, match=r"params\['b2'\] must be finite"):
        CoupledPair.from_params(bad, (5, 3, 2), True)


def test_copies_keep_the_two_networks_tied():
    """copy.copy and copy.deepcopy give independent tied pairs."""
    import copy

    pair = _pair((5, 3, 2), True, 0)
    w1 = pair.params["W1"]
    for twin in (copy.deepcopy(pair), copy.copy(pair)):
        assert np.array_equal(twin.params["W1"], pair.params["W1"]) and not np.shares_memory(twin.params["W1"], w1)
        assert np.shares_memory(twin.generator.weights[-1], twin.params["W1"])
