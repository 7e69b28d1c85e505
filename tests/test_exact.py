"""Tests of refimpl/exact.py: exact inference by enumeration and by the layer recursion (M4).

The reference in every test is independent of the code under test: an
enumeration of all joint configurations written out below with
``itertools.product`` and the conditionals M1/M2 spelled out in plain NumPy, or
the deterministic limit of a network with huge logits.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose

from refimpl import kernels
from refimpl.exact import (
    MAX_BRUTE_FORCE_BITS,
    MAX_LAYER_BITS,
    MAX_PAIR_BITS,
    brute_force_marginals,
    exact_marginals,
    layer_state_distributions,
    layer_step,
    output_step,
)
from refimpl.kernels import layer_step as layer_step_numba
from refimpl.sbn import SigmoidBeliefNet

BACKENDS = ["numba", "numpy"]
# (sizes, output): small nets whose joint configurations can be listed one by one
NETS = [
    ([3, 2, 2], "bernoulli"),
    ([2, 3, 2, 3], "bernoulli"),
    ([4, 2, 3, 2, 2], "bernoulli"),
    ([3, 1], "bernoulli"),
    ([3, 3], "categorical"),
    ([3, 2, 3], "categorical"),
    ([2, 3, 2, 4], "categorical"),
    ([3, 1, 2, 1, 3], "categorical"),
]


def _net(sizes, output, seed, scale=1.5):
    return SigmoidBeliefNet.random(sizes, np.random.default_rng(seed), scale=scale, output=output)


def _x0(d0, batch, seed):
    rng = np.random.default_rng(seed + 1000)
    return rng.integers(0, 2, size=(batch, d0) if batch else d0).astype(float)


def _written_out_joint(net, x0):
    """All joint configurations (x^1..x^n) and their probabilities prod_k q(x^k | x^{k-1}), spelled out.

    Moderate logits only (plain 1/(1+exp(-a)) and exp(a)/sum exp(a)); returns a list of
    (configuration as a list of layer vectors, probability) for one input vector.
    """
    sizes, n = net.sizes, net.n_layers
    ranges = []
    for k in range(1, n + 1):
        if net.output == "categorical" and k == n:
            ranges.append([tuple(np.eye(sizes[k])[c]) for c in range(sizes[k])])
        else:
            ranges.append(list(itertools.product([0.0, 1.0], repeat=sizes[k])))
    joint = []
    for config in itertools.product(*ranges):
        layers = [np.array(v) for v in config]
        prob, prev = 1.0, np.asarray(x0, float)
        for k, state in enumerate(layers, start=1):
            a = net.weights[k - 1] @ prev + net.biases[k - 1]
            if net.output == "categorical" and k == n:
                prob *= float(np.exp(a) @ state / np.exp(a).sum())
            else:
                s = 1.0 / (1.0 + np.exp(-a))
                prob *= float(np.prod(np.where(state == 1, s, 1.0 - s)))
            prev = state
        joint.append((layers, prob))
    return joint


def _written_out_marginals(net, x0):
    joint = _written_out_joint(net, x0)
    return [sum(p * layers[k] for layers, p in joint) for k in range(net.n_layers)]


# --------------------------------------------------------------------------- brute force: the definition
@pytest.mark.parametrize("sizes, output", NETS)
@pytest.mark.parametrize("seed", [0, 1])
def test_m4_brute_force_equals_written_out_enumeration(sizes, output, seed):
    """brute_force_marginals equals a sum over all configurations of products of conditionals, written out here."""
    net, x0 = _net(sizes, output, seed), _x0(sizes[0], 0, seed)
    got = brute_force_marginals(net, x0)
    want = _written_out_marginals(net, x0)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        assert_allclose(g, w, rtol=0, atol=1e-12)


def test_m4_brute_force_refuses_too_many_configurations():
    """brute_force_marginals refuses more than 2**MAX_BRUTE_FORCE_BITS joint configurations, naming the limit."""
    half = MAX_BRUTE_FORCE_BITS // 2 + 1
    net = _net([2, half, half, 1], "bernoulli", 0)
    with pytest.raises(ValueError, match="MAX_BRUTE_FORCE_BITS"):
        brute_force_marginals(net, np.zeros(2))


# --------------------------------------------------------------------------- the recursion
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batch", [0, 5], ids=["single", "batch"])
@pytest.mark.parametrize("sizes, output", NETS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_m4_recursion_equals_brute_force(sizes, output, seed, batch, backend):
    """The layer recursion gives the same marginals as enumerating all joint configurations, to 1e-12."""
    net, x0 = _net(sizes, output, seed), _x0(sizes[0], batch, seed)
    got = exact_marginals(net, x0, backend=backend)
    want = brute_force_marginals(net, x0)
    assert len(got) == net.n_layers
    for k, (g, w) in enumerate(zip(got, want, strict=True), start=1):
        assert g.shape == ((batch, sizes[k]) if batch else (sizes[k],))
        assert_allclose(g, w, rtol=0, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sizes, output", NETS)
def test_m4_layer_state_distributions_equal_enumeration(sizes, output, backend):
    """Each layer's state distribution equals the written-out joint summed over the other layers.

    State s of a layer has unit i equal to bit i of s (s = sum_i x_i 2^i)."""
    net, x0 = _net(sizes, output, 3), _x0(sizes[0], 0, 3)
    got = layer_state_distributions(net, x0, backend=backend)
    joint = _written_out_joint(net, x0)
    for k, dist in enumerate(got, start=1):
        categorical = output == "categorical" and k == net.n_layers
        want = np.zeros(sizes[k] if categorical else 2 ** sizes[k])
        for layers, p in joint:
            state = layers[k - 1]
            index = int(np.argmax(state)) if categorical else int(sum(int(v) << i for i, v in enumerate(state)))
            want[index] += p
        assert_allclose(dist, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_m4_layer_state_distributions_sum_to_one(backend, seed):
    """Every layer's state probabilities are non-negative and sum to 1 for every input of a batch."""
    net = _net([5, 6, 7, 5, 3], "bernoulli", seed, scale=3.0)
    for dist in layer_state_distributions(net, _x0(5, 4, seed), backend=backend):
        assert np.all(dist >= 0)
        assert_allclose(dist.sum(axis=-1), 1.0, rtol=0, atol=1e-12)


def test_m4_state_index_has_unit_i_as_bit_i():
    """State s of a layer has unit i on iff bit i of s is set: checked on independent units with known logits."""
    logits = np.array([2.0, -1.0, 0.5])
    net = SigmoidBeliefNet([np.zeros((3, 1))], [logits])
    dist = layer_state_distributions(net, [1.0])[0]
    on = 1.0 / (1.0 + np.exp(-logits))
    for s in range(8):
        bits = [(s >> i) & 1 for i in range(3)]
        want = np.prod([on[i] if bits[i] else 1.0 - on[i] for i in range(3)])
        assert_allclose(dist[s], want, rtol=1e-14, atol=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_m4_batch_rows_equal_single_inputs(backend):
    """Marginals of a batch equal the marginals of each of its rows computed one at a time."""
    net = _net([4, 5, 4, 3], "categorical", 7)
    x0 = _x0(4, 6, 7)
    batch = exact_marginals(net, x0, backend=backend)
    for b in range(6):
        for k, single in enumerate(exact_marginals(net, x0[b], backend=backend)):
            assert_allclose(batch[k][b], single, rtol=0, atol=1e-14)


# --------------------------------------------------------------------------- the two twins
@pytest.mark.parametrize("scale", [1.0, 50.0], ids=["moderate", "weights50"])
@pytest.mark.parametrize("d_prev, d_next", [(1, 1), (3, 5), (6, 4), (7, 8)])
@pytest.mark.parametrize("n_blocks", [1, 2, 3])
def test_m4_numba_step_equals_numpy_step(d_prev, d_next, scale, n_blocks):
    """The Numba recursion step equals the NumPy step to 1e-12, for any number of parallel blocks and weights +-50."""
    rng = np.random.default_rng(d_prev * 10 + d_next)
    p = rng.random((3, 2**d_prev))
    p[1, ::2] = 0.0  # rows with exact zeros exercise the skip path
    p /= p.sum(axis=1, keepdims=True)
    weight = scale * rng.choice([-1.0, 1.0], size=(d_next, d_prev)) * rng.random((d_next, d_prev))
    bias = scale * rng.standard_normal(d_next)
    got = layer_step_numba(p, weight, bias, n_blocks)
    want = layer_step(p, weight, bias)
    assert_allclose(got, want, rtol=0, atol=1e-12)
    assert_allclose(got.sum(axis=1), 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("categorical", [False, True])
@pytest.mark.parametrize("block", [1, 7, 1 << 20])
def test_m4_output_step_blocks_equal_output_step(categorical, block):
    """The last layer's step over blocks of states (any block size) equals the one-table form, and a second formula."""
    rng = np.random.default_rng(11)
    p = rng.random((3, 2**5))
    p /= p.sum(axis=1, keepdims=True)
    weight, bias = 3.0 * rng.standard_normal((4, 5)), rng.standard_normal(4)
    got = kernels.output_step_blocks(p, weight, bias, categorical, block=block)
    assert_allclose(got, output_step(p, weight, bias, categorical), rtol=0, atol=1e-14)
    a = np.array([[(s >> i) & 1 for i in range(5)] for s in range(32)], dtype=float) @ weight.T + bias
    by_state = np.exp(a) / np.exp(a).sum(axis=1, keepdims=True) if categorical else 1.0 / (1.0 + np.exp(-a))
    assert_allclose(got, p @ by_state, rtol=0, atol=1e-14)


def test_m4_numpy_backend_refuses_a_step_wider_than_its_table_limit():
    """backend="numpy" forms whole tables: a step beyond MAX_NUMPY_PAIR_BITS is refused by name; numba runs it."""
    net = _net([2, 12, 11, 2], "bernoulli", 0)
    with pytest.raises(ValueError, match=r"backend='numpy' .* d_1 \+ d_2 must be <= MAX_NUMPY_PAIR_BITS = 22"):
        exact_marginals(net, np.zeros(2), backend="numpy")
    marg = exact_marginals(net, np.zeros(2), backend="numba")
    assert [m.shape for m in marg] == [(12,), (11,), (2,)] and np.all((marg[1] >= 0) & (marg[1] <= 1))


@pytest.mark.parametrize("output", ["bernoulli", "categorical"])
def test_m4_numba_equals_numpy_at_weights_50(output):
    """With weights +-50 the two backends agree to 1e-12, silently and without NaN."""
    rng = np.random.default_rng(5)
    sizes = [6, 7, 6, 8, 3]
    weights = [50.0 * rng.choice([-1.0, 1.0], size=(sizes[k + 1], sizes[k])) for k in range(4)]
    biases = [50.0 * rng.standard_normal(sizes[k + 1]) for k in range(4)]
    net = SigmoidBeliefNet(weights, biases, output=output)
    x0 = _x0(6, 4, 5)
    a = exact_marginals(net, x0, backend="numba")
    b = exact_marginals(net, x0, backend="numpy")
    for ma, mb in zip(a, b, strict=True):
        assert np.all(np.isfinite(ma))
        assert_allclose(ma, mb, rtol=0, atol=1e-12)
    numba, numpy = layer_state_distributions(net, x0, "numba"), layer_state_distributions(net, x0, "numpy")
    for da, db in zip(numba, numpy, strict=True):
        assert_allclose(da, db, rtol=0, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("output", ["bernoulli", "categorical"])
def test_m4_extreme_logits_give_the_deterministic_network(backend, output):
    """At logits of +-1e4 every unit is deterministic: marginals are the thresholded pass's 0/1 states, no warnings."""
    rng = np.random.default_rng(11)
    sizes = [4, 5, 6, 3]
    weights = [rng.choice([-1.0, 1.0], size=(sizes[k + 1], sizes[k])) for k in range(3)]
    biases = [1e4 * rng.choice([-1.0, 1.0], size=sizes[k + 1]) for k in range(3)]
    net = SigmoidBeliefNet(weights, biases, output=output)
    x0 = _x0(4, 3, 11)
    state = x0
    want = []
    for k in range(3):  # logits are dominated by the +-1e4 bias: a threshold pass, written out
        a = state @ weights[k].T + biases[k]
        state = np.eye(3)[np.argmax(a, axis=1)] if (output == "categorical" and k == 2) else (a > 0).astype(float)
        want.append(state)
    got = exact_marginals(net, x0, backend=backend)
    for g, w in zip(got, want, strict=True):
        assert_allclose(g, w, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- limits and validation
def test_m4_refuses_a_hidden_layer_too_wide():
    """A hidden layer wider than MAX_LAYER_BITS is refused with a message naming the limit and the memory."""
    net = _net([3, MAX_LAYER_BITS + 1, 2], "bernoulli", 0)
    with pytest.raises(ValueError, match=r"d_1 must be <= MAX_LAYER_BITS .*MiB"):
        exact_marginals(net, np.zeros(3))
    with pytest.raises(ValueError, match="MAX_LAYER_BITS"):
        layer_state_distributions(net, np.zeros(3))


def test_m4_refuses_a_pair_of_layers_too_wide():
    """Two consecutive hidden layers wider than MAX_PAIR_BITS together are refused, naming 2**(d_k + d_{k+1})."""
    d = MAX_PAIR_BITS // 2 + 1
    net = _net([3, d, d, 2], "bernoulli", 0)
    with pytest.raises(ValueError, match=r"2\*\*\(d_1 \+ d_2\).*MAX_PAIR_BITS"):
        exact_marginals(net, np.zeros(3))


def test_m4_wide_input_and_output_are_allowed_for_marginals():
    """Layer 0 is observed and the output needs only per-unit marginals: neither width is limited in exact_marginals."""
    net = _net([40, 3, MAX_LAYER_BITS + 6], "bernoulli", 0)
    x0 = _x0(40, 0, 0)
    got = exact_marginals(net, x0)
    # an output unit's marginal depends only on its own row of W^2: check the first 3 on a net cut down to them
    small = SigmoidBeliefNet([net.weights[0], net.weights[1][:3]], [net.biases[0], net.biases[1][:3]])
    assert_allclose(got[1][:3], brute_force_marginals(small, x0)[1], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="MAX_LAYER_BITS"):
        layer_state_distributions(net, x0)  # the full output distribution would need 2**30 states


@pytest.mark.parametrize("func", [exact_marginals, layer_state_distributions, brute_force_marginals])
@pytest.mark.parametrize(
    "x0, message",
    [
        (np.array([0.0, 1.0, 0.5]), r"x0 must be binary \(0/1\); got values in \[0, 1\]"),
        (np.array([0.0, 1.0]), r"x0 must have shape \(3,\) or \(batch, 3\); got shape"),
        (np.zeros((2, 2, 3)), r"x0 must have shape"),
        (np.array([0.0, np.nan, 1.0]), r"x0 must be finite"),
        (np.zeros((0, 3)), r"x0 must hold at least one row"),
    ],
)
def test_m4_rejects_bad_x0(func, x0, message):
    """A non-binary, badly shaped, non-finite or empty x0 raises ValueError naming x0."""
    net = _net([3, 2, 2], "bernoulli", 0)
    with pytest.raises(ValueError, match=message):
        func(net, x0)


@pytest.mark.parametrize("func", [exact_marginals, layer_state_distributions])
def test_m4_rejects_unknown_backend(func):
    """An unknown backend raises ValueError naming backend and the choices."""
    net = _net([3, 2, 2], "bernoulli", 0)
    with pytest.raises(ValueError, match=r"backend must be one of \['numba', 'numpy'\]; got 'cuda'"):
        func(net, np.zeros(3), backend="cuda")


@pytest.mark.parametrize("func", [exact_marginals, layer_state_distributions, brute_force_marginals])
def test_m4_rejects_a_net_that_is_not_a_sigmoid_belief_net(func):
    """Passing weights instead of a SigmoidBeliefNet raises TypeError naming net."""
    with pytest.raises(TypeError, match="net must be a refimpl.sbn.SigmoidBeliefNet; got list"):
        func([np.zeros((2, 3))], np.zeros(3))
