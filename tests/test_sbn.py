"""Tests of refimpl/sbn.py: the conditionals (M1, M2), ancestral sampling and the log-probability (M3).

References are independent of the code under test: products of conditionals
written out with plain ``1 / (1 + exp(-a))`` and ``exp(a) / sum(exp(a))`` at
moderate logits, enumerations written out with ``itertools.product``, and
binomial error bounds for sampled frequencies.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose

from refimpl.sbn import SigmoidBeliefNet, bernoulli_log_prob, binary_states, categorical_log_prob, one_hot


def _net(sizes, output="bernoulli", seed=0, scale=1.0):
    return SigmoidBeliefNet.random(sizes, np.random.default_rng(seed), scale=scale, output=output)


def _written_out_prob(net, x0, layers):
    """prod_k q(x^k | x^{k-1}) for one input and one configuration, each factor spelled out."""
    prob, prev = 1.0, np.asarray(x0, float)
    for k, state in enumerate(layers, start=1):
        a = net.weights[k - 1] @ prev + net.biases[k - 1]
        if net.output == "categorical" and k == net.n_layers:
            prob *= np.exp(a[int(np.argmax(state))]) / np.sum(np.exp(a))
        else:
            for a_i, x_i in zip(a, state, strict=True):
                s = 1.0 / (1.0 + np.exp(-a_i))
                prob *= s if x_i == 1 else 1.0 - s
        prev = np.asarray(state, float)
    return prob


def _written_out_marginals(net, x0):
    """Exact q(x^k_i = 1 | x^0) by listing every configuration of layers 1..n."""
    ranges = []
    for k in range(1, net.n_layers + 1):
        if net.output == "categorical" and k == net.n_layers:
            ranges.append([np.eye(net.sizes[k])[c] for c in range(net.sizes[k])])
        else:
            ranges.append([np.array(v, float) for v in itertools.product([0, 1], repeat=net.sizes[k])])
    marg = [np.zeros(d) for d in net.sizes[1:]]
    for config in itertools.product(*ranges):
        p = _written_out_prob(net, x0, config)
        for k, state in enumerate(config):
            marg[k] += p * state
    return marg


# --------------------------------------------------------------------------- M1, M2, M3: log-probability
@pytest.mark.parametrize("output", ["bernoulli", "categorical"])
@pytest.mark.parametrize("sizes", [[3, 2], [4, 3, 2], [2, 3, 4, 3]])
@pytest.mark.parametrize("seed", [0, 1])
def test_m3_log_prob_equals_product_of_conditionals(sizes, output, seed):
    """log_prob of sampled states equals the log of the product of the conditionals M1/M2 written out."""
    if output == "categorical" and sizes[-1] < 2:
        pytest.skip("a categorical output needs two classes")
    net = _net(sizes, output, seed)
    rng = np.random.default_rng(seed)
    x0 = rng.integers(0, 2, sizes[0]).astype(float)
    layers = net.sample(x0, 6, rng)
    got = net.log_prob(x0, layers)
    want = [np.log(_written_out_prob(net, x0, [layer[s] for layer in layers])) for s in range(6)]
    assert got.shape == (6,)
    assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_m3_log_prob_of_a_batch_broadcasts_over_inputs():
    """For inputs (B, d_0) and samples (n, B, d_k), log_prob returns (n, B), each entry the written-out product."""
    net = _net([3, 2, 3], "categorical", 4)
    rng = np.random.default_rng(4)
    x0 = rng.integers(0, 2, (5, 3)).astype(float)
    layers = net.sample(x0, 4, rng)
    assert [layer.shape for layer in layers] == [(4, 5, 2), (4, 5, 3)]
    got = net.log_prob(x0, layers)
    assert got.shape == (4, 5)
    for s in range(4):
        for b in range(5):
            want = np.log(_written_out_prob(net, x0[b], [layer[s, b] for layer in layers]))
            assert_allclose(got[s, b], want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("sizes, output", [([3, 2, 2], "bernoulli"), ([2, 3, 3], "categorical")])
def test_m3_probabilities_of_all_configurations_sum_to_one(sizes, output):
    """exp(log_prob) summed over every configuration of layers 1..n is 1, for each input."""
    net = _net(sizes, output, 2)
    ranges = [[np.array(v, float) for v in itertools.product([0, 1], repeat=sizes[1])]]
    ranges.append([np.eye(sizes[2])[c] for c in range(sizes[2])] if output == "categorical"
                  else [np.array(v, float) for v in itertools.product([0, 1], repeat=sizes[2])])
    for x0 in itertools.product([0.0, 1.0], repeat=sizes[0]):
        total = sum(np.exp(net.log_prob(np.array(x0), list(config))) for config in itertools.product(*ranges))
        assert_allclose(total, 1.0, rtol=0, atol=1e-12)


def test_m1_bernoulli_log_prob_equals_log_of_written_out_bernoulli():
    """bernoulli_log_prob(x, a) = sum_i log(sigma(a_i)^x_i (1 - sigma(a_i))^(1 - x_i)) at moderate logits."""
    rng = np.random.default_rng(0)
    a = rng.normal(scale=3.0, size=(7, 5))
    x = rng.integers(0, 2, size=(7, 5)).astype(float)
    s = 1.0 / (1.0 + np.exp(-a))
    want = np.sum(np.log(s**x * (1.0 - s) ** (1.0 - x)), axis=1)
    assert_allclose(bernoulli_log_prob(x, a), want, rtol=1e-12, atol=1e-12)


def test_m2_categorical_log_prob_equals_log_softmax_written_out():
    """categorical_log_prob(onehot(y), a) = log(exp(a_y) / sum_c exp(a_c)) at moderate logits."""
    rng = np.random.default_rng(1)
    a = rng.normal(scale=3.0, size=(6, 4))
    y = rng.integers(0, 4, 6)
    want = np.log(np.exp(a[np.arange(6), y]) / np.exp(a).sum(axis=1))
    assert_allclose(categorical_log_prob(one_hot(y, 4), a), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("output", ["bernoulli", "categorical"])
def test_m3_stable_at_extreme_logits(output):
    """At weights +-50 and biases +-1e4: no warning, no NaN; log_prob is the written-out limit -|a| per wrong unit."""
    rng = np.random.default_rng(3)
    sizes = [4, 3, 3]
    weights = [50.0 * rng.choice([-1.0, 1.0], size=(sizes[k + 1], sizes[k])) for k in range(2)]
    biases = [1e4 * rng.choice([-1.0, 1.0], size=sizes[k + 1]) for k in range(2)]
    net = SigmoidBeliefNet(weights, biases, output=output)
    x0 = rng.integers(0, 2, sizes[0]).astype(float)
    # the most probable states: thresholds of the logits, written out
    a1 = weights[0] @ x0 + biases[0]
    h = (a1 > 0).astype(float)
    a2 = weights[1] @ h + biases[1]
    y = np.eye(3)[np.argmax(a2)] if output == "categorical" else (a2 > 0).astype(float)
    assert_allclose(net.log_prob(x0, [h, y]), 0.0, rtol=0, atol=1e-300)  # log(1 - e^-1e4) underflows to -0
    # flip one hidden unit: its term is -|a_1| and the output still costs ~0 only if its logits keep their sign
    h_bad = h.copy()
    h_bad[0] = 1.0 - h_bad[0]
    a2_bad = weights[1] @ h_bad + biases[1]
    if output == "categorical":
        y_term = a2_bad[int(np.argmax(y))] - (np.max(a2_bad) + np.log(np.sum(np.exp(a2_bad - np.max(a2_bad)))))
    else:
        y_term = -np.sum(np.abs(a2_bad) * (y != (a2_bad > 0)))
    lp = net.log_prob(x0, [h_bad, y])
    assert np.isfinite(lp)
    assert_allclose(lp, -abs(a1[0]) + y_term, rtol=1e-12, atol=1e-9)
    # sampling at these logits returns the deterministic states
    samples = net.sample(x0, 50, rng)
    assert np.all(samples[0] == h) and np.all(samples[1] == y)


# --------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("sizes, output", [([3, 3, 2], "bernoulli"), ([2, 2, 3, 3], "categorical")])
def test_m1_sampled_frequencies_match_exact_marginals(sizes, output):
    """Sampled frequencies of every unit lie within 5 binomial standard errors of the written-out exact marginals."""
    net = _net(sizes, output, 5, scale=1.5)
    rng = np.random.default_rng(5)
    x0 = rng.integers(0, 2, sizes[0]).astype(float)
    n = 40_000
    samples = net.sample(x0, n, rng)
    for freq, p in zip((s.mean(axis=0) for s in samples), _written_out_marginals(net, x0), strict=True):
        # each frequency is a mean of n Bernoulli(p) draws, standard error sqrt(p(1-p)/n) <= 0.0025; with
        # at most ~10 units checked, a 5-sigma bound fails by chance with probability < 1e-5.
        assert np.all(np.abs(freq - p) <= 5.0 * np.sqrt(p * (1.0 - p) / n) + 1e-12)


def test_m1_sampled_joint_frequencies_match_the_joint():
    """Frequencies of all 2^(d_1 + d_2) joint states lie within 5 standard errors of the written-out joint."""
    net = _net([2, 2, 2], "bernoulli", 6, scale=1.5)
    rng = np.random.default_rng(6)
    x0 = np.array([1.0, 0.0])
    n = 40_000
    h, y = net.sample(x0, n, rng)
    index = h @ [1, 2] + 4 * (y @ [1, 2])
    counts = np.bincount(index.astype(int), minlength=16) / n
    for j in range(16):
        config = [np.array([j & 1, (j >> 1) & 1], float), np.array([(j >> 2) & 1, (j >> 3) & 1], float)]
        p = _written_out_prob(net, x0, config)
        # binomial standard error; 16 cells at 5 sigma: chance failure < 1e-5
        assert abs(counts[j] - p) <= 5.0 * np.sqrt(p * (1.0 - p) / n) + 1e-12


def test_m1_sample_shapes_and_values():
    """sample returns 0/1 states of shape (n, d_k) for one input, (n, B, d_k) for a batch; categorical ones one-hot."""
    net = _net([3, 4, 5], "categorical", 0)
    rng = np.random.default_rng(0)
    single = net.sample(np.ones(3), 7, rng)
    batch = net.sample(np.ones((2, 3)), 7, rng)
    assert [s.shape for s in single] == [(7, 4), (7, 5)]
    assert [s.shape for s in batch] == [(7, 2, 4), (7, 2, 5)]
    for s in single + batch:
        assert set(np.unique(s)) <= {0.0, 1.0}
    assert np.all(single[1].sum(axis=-1) == 1) and np.all(batch[1].sum(axis=-1) == 1)


def test_m1_sample_is_reproducible_from_the_generator():
    """Two generators with the same seed give the same samples."""
    net = _net([3, 4, 2])
    a = net.sample(np.ones(3), 5, np.random.default_rng(42))
    b = net.sample(np.ones(3), 5, np.random.default_rng(42))
    for u, v in zip(a, b, strict=True):
        assert np.array_equal(u, v)


# --------------------------------------------------------------------------- validation
W2 = [np.zeros((2, 3)), np.zeros((2, 2))]
B2 = [np.zeros(2), np.zeros(2)]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(weights=W2, biases=B2, output="gaussian"), ValueError,
         r"output must be one of \['bernoulli', 'categorical'\]"),
        (dict(weights=np.zeros((2, 3)), biases=B2), TypeError, "weights and biases must be sequences"),
        (dict(weights=[], biases=[]), ValueError, "weights must hold at least one matrix"),
        (dict(weights=W2, biases=B2[:1]), ValueError, r"biases must hold one vector per weight matrix \(2\); got 1"),
        (dict(weights=[np.zeros(3)], biases=[np.zeros(1)]), ValueError,
         r"weights\[0\] must have shape \(d_out, d_in\); got shape \(3,\)"),
        (dict(weights=[np.zeros((2, 3)), np.zeros((2, 4))], biases=B2), ValueError,
         r"weights\[1\] must have shape \(d_out, 2\) to follow weights\[0\] of shape \(2, 3\); got shape \(2, 4\)"),
        (dict(weights=W2, biases=[np.zeros(3), np.zeros(2)]), ValueError, r"biases\[0\] must have shape \(2,\)"),
        (dict(weights=[np.full((2, 3), np.nan), W2[1]], biases=B2), ValueError, r"weights\[0\] must be finite"),
        (dict(weights=W2, biases=[np.zeros(2), np.array([np.inf, 0.0])]), ValueError, r"biases\[1\] must be finite"),
        (dict(weights=["ab", W2[1]], biases=B2), TypeError, r"weights\[0\] must be an array of numbers"),
        (dict(weights=[np.zeros((1, 3))], biases=[np.zeros(1)], output="categorical"), ValueError,
         "categorical output layer needs at least 2 classes"),
        (dict(weights=W2, biases=B2, dtype=int), TypeError, "dtype must be float32 or float64; got int64"),
        (dict(weights=W2, biases=B2, dtype=np.float16), TypeError, "dtype must be float32 or float64; got float16"),
    ],
)
def test_sigmoid_belief_net_rejects_bad_parameters(kwargs, error, message):
    """Each malformed constructor argument raises an error naming that argument."""
    with pytest.raises(error, match=message):
        SigmoidBeliefNet(**kwargs)


@pytest.mark.parametrize(
    "sizes, rng, error, message",
    [
        ([3, 2], 0, TypeError, "rng must be a numpy.random.Generator"),
        ([3], np.random.default_rng(0), ValueError, "sizes must list at least two layer widths"),
        ([3, 0], np.random.default_rng(0), ValueError, r"sizes\[1\] must be an integer >= 1"),
        ([3, 2.5], np.random.default_rng(0), TypeError, r"sizes\[1\] must be an integer"),
    ],
)
def test_random_rejects_bad_arguments(sizes, rng, error, message):
    """SigmoidBeliefNet.random rejects a non-Generator rng and bad layer widths, naming the argument."""
    with pytest.raises(error, match=message):
        SigmoidBeliefNet.random(sizes, rng)


@pytest.mark.parametrize("scale", [-1.0, np.nan, np.inf])
def test_random_rejects_a_negative_or_non_finite_scale(scale):
    """A weight scale below zero or not finite is rejected, naming scale."""
    with pytest.raises(ValueError, match="scale must be a finite number >= 0"):
        SigmoidBeliefNet.random([3, 2], np.random.default_rng(0), scale=scale)


@pytest.mark.parametrize("rng", [0, None, np.random.RandomState(0)], ids=["int", "None", "RandomState"])
def test_sample_rejects_rng_that_is_not_a_generator(rng):
    """sample's rng given as an int, None or a legacy RandomState raises TypeError naming rng."""
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator, e.g. np.random.default_rng\(0\); got"):
        _net([3, 2, 2]).sample(np.ones(3), 4, rng)


@pytest.mark.parametrize(
    "x0, n, error, message",
    [
        (np.array([0.0, 2.0, 1.0]), 3, ValueError, r"x0 must be binary \(0/1\); got values in \[0, 2\]"),
        (np.ones(4), 3, ValueError, r"x0 must have shape \(3,\) or \(batch, 3\)"),
        (np.ones((1, 1, 3)), 3, ValueError, r"x0 must have shape"),
        ("abc", 3, TypeError, "x0 must be an array of numbers"),
        (np.ones(3), 0, ValueError, "n must be an integer >= 1; got 0"),
        (np.ones(3), 2.0, TypeError, "n must be an integer; got float"),
    ],
)
def test_sample_rejects_bad_x0_and_n(x0, n, error, message):
    """sample rejects a non-binary or badly shaped x0 and a non-positive or non-integer n, naming the argument."""
    with pytest.raises(error, match=message):
        _net([3, 2, 2]).sample(x0, n, np.random.default_rng(0))


@pytest.mark.parametrize(
    "x0, layers, error, message",
    [
        (np.ones(3), np.zeros((2, 2)), TypeError, "layers must be a list of 2 arrays"),
        (np.ones(3), [np.zeros(2)] * 3, ValueError, r"layers must hold at most 2 arrays \(layers 1..m, m <= 2\)"),
        (np.ones(3), [np.zeros(3), np.array([1.0, 0.0])], ValueError,
         r"layers\[0\] must have shape \(\.\.\., 2\) for d_1 = 2"),
        (np.ones(3), [np.zeros(2), np.array([0.5, 0.5])], ValueError, r"layers\[1\] must be binary"),
        (np.ones(3), [np.zeros(2), np.array([1.0, 1.0])], ValueError,
         r"layers\[1\] is the categorical output and must be one-hot"),
        (np.array([1.0, 0.3, 0.0]), [np.zeros(2), np.array([1.0, 0.0])], ValueError, "x0 must be binary"),
        (np.ones(2), [np.zeros(2), np.array([1.0, 0.0])], ValueError, r"x0 must have shape \(3,\)"),
    ],
)
def test_log_prob_rejects_bad_arguments(x0, layers, error, message):
    """log_prob rejects a wrong number of layers, wrong widths, non-binary or non-one-hot states and a bad x0."""
    with pytest.raises(error, match=message):
        _net([3, 2, 2], "categorical").log_prob(x0, layers)


def test_parameters_are_copied_on_construction():
    """Changing the caller's arrays after construction does not change the network."""
    w, b = np.zeros((2, 3)), np.zeros(2)
    net = SigmoidBeliefNet([w], [b])
    w[:] = 5.0
    b[:] = 5.0
    assert np.all(net.weights[0] == 0) and np.all(net.biases[0] == 0)


def test_parameters_are_shared_without_copy():
    """With copy=False the network holds the caller's arrays, transposed views included."""
    w, b = np.zeros((2, 3)), np.zeros(2)
    net = SigmoidBeliefNet([w.T], [np.zeros(3)], copy=False)
    w[0, 1] = 7.0
    assert net.weights[0][1, 0] == 7.0 and np.shares_memory(net.weights[0], w)
    assert not np.shares_memory(SigmoidBeliefNet([w], [b]).weights[0], w)


@pytest.mark.parametrize("d", [1, 3, 6])
def test_binary_states_unit_i_is_bit_i_of_the_state_index(d):
    """Row s of binary_states(d) holds the bits of s, unit 0 least significant (written out with itertools)."""
    expected = np.array(list(itertools.product([0.0, 1.0], repeat=d)))[:, ::-1]
    assert np.array_equal(binary_states(d), expected)
    assert np.array_equal(binary_states(d, 1, 2**d - 1), expected[1:-1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_m1_sample_draws_uniforms_in_the_network_dtype(dtype):
    """The fast sampler switches a unit on exactly when its uniform (drawn in the net's dtype) is below sigma(a)."""
    rng = np.random.default_rng(3)
    net = SigmoidBeliefNet.random([5, 4, 3], rng)
    net = SigmoidBeliefNet(net.weights, net.biases, dtype=dtype)
    x = rng.integers(0, 2, (6, 5)).astype(dtype)
    h1, h2 = (h[0] for h in net.sample(x, 1, np.random.default_rng(9)))
    replay = np.random.default_rng(9)
    u1 = replay.random((6, 4), dtype=dtype)
    expect1 = (u1 < 1.0 / (1.0 + np.exp(-(x.astype(np.float64) @ net.weights[0].T.astype(np.float64)
                                              + net.biases[0])))).astype(dtype)
    assert h1.dtype == dtype and np.array_equal(h1, expect1)
    assert h2.shape == (6, 3) and set(np.unique(h2)) <= {0.0, 1.0}
    only_first = net.sample(x, 1, np.random.default_rng(9), n_layers=1)
    assert len(only_first) == 1 and np.array_equal(only_first[0][0], h1)


def test_m3_log_prob_of_the_first_layers_is_their_marginal_term():
    """log_prob over layers 1..m sums the same per-layer terms that it sums over all n."""
    rng = np.random.default_rng(4)
    net = SigmoidBeliefNet.random([4, 3, 2, 2], rng, output="categorical")
    x = rng.integers(0, 2, (5, 4)).astype(float)
    layers = [h[0] for h in net.sample(x, 1, rng)]
    full = net.log_prob(x, layers)
    first_two = net.log_prob(x, layers[:2])
    top = np.log(np.sum(layers[2] * np.exp(layers[1] @ net.weights[2].T + net.biases[2]), axis=1)
                 / np.sum(np.exp(layers[1] @ net.weights[2].T + net.biases[2]), axis=1))
    assert_allclose(full, first_two + top, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("start, stop", [(0, 8), (-1, 1), (3, 2)])
def test_binary_states_rejects_a_range_outside_the_states(start, stop):
    """start and stop must satisfy 0 <= start <= stop <= 2**d; the message gives the bound."""
    with pytest.raises(ValueError, match=r"0 <= start <= stop <= 2\*\*d = 4"):
        binary_states(2, start, stop)
