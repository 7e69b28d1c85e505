"""Tests for refimpl.consistency: the RBM argument for transposed weights (M11), measured.

Every reference value is computed here from scratch: explicit loops over binary states,
the logistic formula written out, normalisation by hand, and numpy's eigen-solver on the
full-state transition matrix.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from refimpl.consistency import (
    MAX_ENUMERATION_BITS,
    consistency_from_tables,
    consistency_gap,
    gap_samples,
    joint_conditionals,
    log_conditional_table,
    pair_consistency_gap,
    random_pair,
    rbm_joint,
    stationary_consistency,
    stationary_distribution,
)
from refimpl.coupled import CoupledPair, transposed_generator
from refimpl.sbn import SigmoidBeliefNet


# ------------------------------------------------------------------ helpers
def _states(d):
    """All binary vectors of length d, unit i = bit i of the state's index (written independently)."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=d)))[:, ::-1]


def _bern(x, a):
    """prod_i sigma(a_i)^x_i (1 - sigma(a_i))^(1 - x_i), the logistic formula written out."""
    s = 1.0 / (1.0 + np.exp(-a))
    return float(np.prod(np.where(x == 1, s, 1.0 - s)))


def _softmax_prob(y, a):
    e = np.exp(a - a.max())
    return float(e[int(np.argmax(y))] / e.sum())


def _cond(x_prev, x_k, w, b, categorical=False):
    a = w @ x_prev + b
    return _softmax_prob(x_k, a) if categorical else _bern(x_k, a)


def _leading_left_eigvec(T):
    """Stationary law as numpy's eigenvector of T^T for the eigenvalue nearest 1."""
    vals, vecs = np.linalg.eig(T.T)
    v = np.real(vecs[:, np.argmin(np.abs(vals - 1.0))])
    return v / v.sum()


# ------------------------------------------------------------ RBM (M11)
@pytest.mark.parametrize("d_v,d_h", [(3, 2), (4, 3), (2, 4)])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("scale", [1.0, 4.0])
def test_m11_tied_conditionals_are_the_rbm_conditionals(d_v, d_h, seed, scale):
    """q(h|v) = prod sigma(Wv+b) and p(v|h) = prod sigma(W^T h + c) are exactly the RBM joint's conditionals."""
    rng = np.random.default_rng(seed)
    W = scale * rng.standard_normal((d_h, d_v))
    b, c = scale * rng.standard_normal(d_h), scale * rng.standard_normal(d_v)
    V, H = _states(d_v), _states(d_h)
    # the RBM joint by enumeration, normalised by hand
    joint = np.array([[np.exp(h @ W @ v + b @ h + c @ v) for h in H] for v in V])
    joint /= joint.sum()
    h_given_v = joint / joint.sum(axis=1, keepdims=True)
    v_given_h = (joint / joint.sum(axis=0, keepdims=True)).T
    q = np.array([[_bern(h, W @ v + b) for h in H] for v in V])
    p = np.array([[_bern(v, W.T @ h + c) for v in V] for h in H])
    assert_allclose(q, h_given_v, rtol=0, atol=1e-12)
    assert_allclose(p, v_given_h, rtol=0, atol=1e-12)
    # and the package's table and conditionals agree with the enumeration
    assert_allclose(rbm_joint(W, b, c), joint, rtol=1e-11, atol=1e-15)
    qh, pv = joint_conditionals(rbm_joint(W, b, c))
    assert_allclose(qh, q, rtol=0, atol=1e-12)
    assert_allclose(pv, p, rtol=0, atol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 50.0])
def test_m11_rbm_joint_and_conditionals_are_normalised(scale):
    """The RBM table sums to 1 and both conditionals' rows sum to 1, also at weights of 50."""
    rng = np.random.default_rng(3)
    W, b, c = scale * rng.standard_normal((3, 4)), scale * rng.standard_normal(3), rng.standard_normal(4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        joint = rbm_joint(W, b, c)
        qh, pv = joint_conditionals(joint)
    assert joint.shape == (16, 8)
    assert_allclose(joint.sum(), 1.0, rtol=0, atol=1e-12)
    assert_allclose(qh.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert_allclose(pv.sum(axis=1), 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("sizes,output", [((3, 2), "bernoulli"), ((3, 2, 2), "bernoulli"),
                                          ((2, 3, 3), "categorical")])
def test_m11_log_conditional_table_is_the_product_of_conditionals(sizes, output):
    """Each table entry equals the product of the layer conditionals written out; slices sum to 1."""
    rng = np.random.default_rng(5)
    net = SigmoidBeliefNet.random(sizes, rng, scale=1.5, output=output)
    table = log_conditional_table(net)
    layer_states = [_states(d) for d in sizes[:-1]]
    layer_states.append(np.eye(sizes[-1]) if output == "categorical" else _states(sizes[-1]))
    for idx in itertools.product(*[range(len(s)) for s in layer_states]):
        xs = [layer_states[k][i] for k, i in enumerate(idx)]
        prob = 1.0
        for k in range(1, len(sizes)):
            prob *= _cond(xs[k - 1], xs[k], net.weights[k - 1], net.biases[k - 1],
                          categorical=(output == "categorical" and k == len(sizes) - 1))
        assert_allclose(np.exp(table[idx]), prob, rtol=1e-12, atol=0)
    sums = np.exp(table).reshape(table.shape[0], -1).sum(axis=1)
    assert_allclose(sums, 1.0, rtol=0, atol=1e-12)


# ---------------------------------------------------------- the gap (M11)
@pytest.mark.parametrize("sizes", [(3, 2), (4, 3), (5, 4), (2, 5)])
@pytest.mark.parametrize("scale", [1.0, 2.0])
@pytest.mark.parametrize("seed", range(5))
def test_m11_one_layer_tied_gap_is_zero(sizes, scale, seed):
    """A one-layer tied pair is consistent: the gap is 0 to 1e-10 (both KL directions)."""
    rec, gen = random_pair(sizes, np.random.default_rng(seed), scale=scale, tied=True)
    res = stationary_consistency(rec, gen)
    assert abs(res.gap) < 1e-10
    assert abs(res.reverse_gap) < 1e-10


@pytest.mark.parametrize("seed", range(3))
def test_m11_one_layer_tied_stationary_joint_is_the_rbm(seed):
    """Both stationary factorisations of a one-layer tied pair equal the RBM joint, enumerated here."""
    rng = np.random.default_rng(seed)
    rec, gen = random_pair((4, 3), rng, scale=2.0, tied=True)
    W, b, c = rec.weights[0], rec.biases[0], gen.biases[0]
    V, H = _states(4), _states(3)
    joint = np.array([[np.exp(h @ W @ v + b @ h + c @ v) for h in H] for v in V])
    joint /= joint.sum()
    res = stationary_consistency(rec, gen)
    assert_allclose(res.joint_q[:, 0, :], joint, rtol=0, atol=1e-12)
    assert_allclose(res.joint_p[:, 0, :], joint, rtol=0, atol=1e-12)
    assert_allclose(res.pi_x, joint.sum(axis=1), rtol=0, atol=1e-12)


def test_m11_categorical_top_one_layer_tied_gap_is_zero():
    """softmax(Wx+b) and sigmoid(W^T y + c) with one-hot y are the conditionals of one joint: gap 0."""
    for seed in range(5):
        rec, gen = random_pair((4, 3), np.random.default_rng(seed), scale=2.0, output="categorical")
        assert abs(consistency_gap(rec, gen)) < 1e-10


@pytest.mark.parametrize("sizes,tied", [((4, 3), False), ((3, 2, 2), True), ((4, 3, 2), True),
                                        ((3, 2, 2), False), ((4, 3, 2), False), ((3, 2, 3), "cat")])
@pytest.mark.parametrize("scale", [1.0, 2.0])
@pytest.mark.parametrize("seed", range(4))
def test_m11_untied_and_deep_tied_gaps_are_positive(sizes, tied, scale, seed):
    """Untied one-layer, deep tied and deep untied random pairs are inconsistent: gap > 1e-4 nats.

    For continuous random weights, compatibility is a measure-zero event; the smallest gap seen over
    hundreds of random draws at these scales is ~1e-2, so 1e-4 is a margin far above rounding (1e-15).
    """
    output = "categorical" if tied == "cat" else "bernoulli"
    rec, gen = random_pair(sizes, np.random.default_rng(100 + seed), scale=scale,
                           tied=bool(tied), output=output)
    res = stationary_consistency(rec, gen)
    assert res.gap > 1e-4
    assert res.reverse_gap > 1e-4


@pytest.mark.parametrize("sizes", [(3, 2), (3, 2, 2), (2, 2, 2, 2)])
@pytest.mark.parametrize("seed", range(3))
def test_m11_gap_is_zero_for_the_bayes_inverse_generator(sizes, seed):
    """A generator built as the exact Bayes inverse r(x) q(h|x) / sum_x of a recogniser is consistent:
    gap 0 and the stationary x-marginal is the prior r."""
    rng = np.random.default_rng(seed)
    rec = SigmoidBeliefNet.random(sizes, rng, scale=1.5)
    X, T = 2 ** sizes[0], 2 ** sizes[-1]
    # q(m, t | x) by enumeration, written out
    layer_states = [_states(d) for d in sizes]
    log_q = np.zeros((X, int(np.prod([2 ** d for d in sizes[1:-1]])), T))
    for idx in itertools.product(*[range(len(s)) for s in layer_states]):
        xs = [layer_states[k][i] for k, i in enumerate(idx)]
        prob = np.prod([_cond(xs[k - 1], xs[k], rec.weights[k - 1], rec.biases[k - 1])
                        for k in range(1, len(sizes))])
        m = np.ravel_multi_index(idx[1:-1], [2 ** d for d in sizes[1:-1]]) if len(sizes) > 2 else 0
        log_q[idx[0], m, idx[-1]] = np.log(prob)
    r = rng.dirichlet(np.ones(X))
    joint = r[:, None, None] * np.exp(log_q)  # (X, M, T)
    p = joint / joint.sum(axis=(0, 1), keepdims=True)  # p(x, m | t)
    res = consistency_from_tables(log_q, np.log(p.transpose(2, 0, 1)))
    assert abs(res.gap) < 1e-10
    assert_allclose(res.pi_x, r, rtol=1e-9, atol=1e-14)
    # and perturbing the inverse breaks consistency
    bad = p * np.exp(0.3 * rng.standard_normal(p.shape))
    bad /= bad.sum(axis=(0, 1), keepdims=True)
    assert consistency_from_tables(log_q, np.log(bad.transpose(2, 0, 1))).gap > 1e-4


@pytest.mark.parametrize("seed", range(3))
def test_m11_gap_for_constant_recogniser_is_lautum_information(seed):
    """With W = 0 the chain mixes in one step and the gap is sum_t q(t) KL(p_x || p(x|t)), p_x = sum_t q(t) p(x|t)."""
    rng = np.random.default_rng(seed)
    rec = SigmoidBeliefNet([np.zeros((2, 3))], [rng.standard_normal(2)])
    gen = SigmoidBeliefNet([2.0 * rng.standard_normal((3, 2))], [rng.standard_normal(3)])
    V, H = _states(3), _states(2)
    q_t = np.array([_bern(h, rec.biases[0]) for h in H])
    p_x_t = np.array([[_bern(v, gen.weights[0] @ h + gen.biases[0]) for v in V] for h in H])
    p_x = q_t @ p_x_t
    expected = sum(q_t[t] * np.sum(p_x * np.log(p_x / p_x_t[t])) for t in range(len(H)))
    res = stationary_consistency(rec, gen)
    assert_allclose(res.gap, expected, rtol=1e-10, atol=1e-14)
    assert_allclose(res.pi_top, q_t, rtol=1e-10, atol=0)


@pytest.mark.parametrize("sizes,tied", [((2, 2, 2), True), ((3, 2, 1), False), ((2, 2, 2), False)])
def test_m11_deep_gap_matches_the_full_state_chain(sizes, tied):
    """The reduction to the x-chain agrees with the alternating chain built on all (x, h1, h2) states:
    its stationary laws after the up and the down half-steps are pi_q and pi_p."""
    rec, gen = random_pair(sizes, np.random.default_rng(7), scale=1.5, tied=tied)
    d0, d1, d2 = sizes
    # C order over the axes (x, m, t), each layer's states in the package's order
    S = np.array([np.concatenate([x, m, t]) for x in _states(d0) for m in _states(d1) for t in _states(d2)])
    def split(s):
        return (s[:d0], s[d0:d0 + d1], s[d0 + d1:])
    n = len(S)
    up, down = np.zeros((n, n)), np.zeros((n, n))
    for i, s in enumerate(S):
        x, _, t = split(s)
        for j, s2 in enumerate(S):
            x2, m2, t2 = split(s2)
            if np.array_equal(x2, x):  # keep x, draw (h1, h2) ~ q(.|x)
                up[i, j] = (_bern(m2, rec.weights[0] @ x + rec.biases[0])
                            * _bern(t2, rec.weights[1] @ m2 + rec.biases[1]))
            if np.array_equal(t2, t):  # keep h2, draw (h1, x) ~ p(.|h2)
                down[i, j] = (_bern(m2, gen.weights[0] @ t + gen.biases[0])
                              * _bern(x2, gen.weights[1] @ m2 + gen.biases[1]))
    pi_after_up = _leading_left_eigvec(down @ up)
    pi_after_down = _leading_left_eigvec(up @ down)
    res = stationary_consistency(rec, gen)
    # package axes (x, m, t) flatten in the same order as the concatenated state (x, h1, h2)
    assert_allclose(res.joint_q.ravel(), pi_after_up, rtol=0, atol=1e-10)
    assert_allclose(res.joint_p.ravel(), pi_after_down, rtol=0, atol=1e-10)
    kl = np.sum(pi_after_up * np.log(pi_after_up / pi_after_down))
    assert_allclose(res.gap, kl, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("sizes", [(3, 2), (4, 3)])
def test_m11_tied_gap_is_zero_at_weights_50(sizes):
    """At weights of scale 50 the one-layer tied gap is still 0 to 1e-9, without warnings."""
    rec, gen = random_pair(sizes, np.random.default_rng(11), scale=50.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gap = consistency_gap(rec, gen)
    assert abs(gap) < 1e-9


def test_m11_logits_1e4_give_a_clear_error():
    """When conditionals underflow to 0 (weights 1e4) the chain is reducible in float64: a clear ValueError."""
    rec, gen = random_pair((3, 2), np.random.default_rng(1), scale=1e4)
    with pytest.raises(ValueError, match="reducible"):
        consistency_gap(rec, gen)


# ------------------------------------------------------- stationary laws
def test_stationary_distribution_two_state_closed_form():
    """For [[1-a, a], [b, 1-b]] the stationary law is (b, a) / (a + b)."""
    a, b = 0.137, 0.0042
    assert_allclose(stationary_distribution([[1 - a, a], [b, 1 - b]]), [b / (a + b), a / (a + b)],
                    rtol=1e-14, atol=0)


@pytest.mark.parametrize("n", [3, 8, 20])
def test_stationary_distribution_matches_eigenvector(n):
    """GTH agrees with numpy's leading left eigenvector on a random positive chain."""
    T = np.random.default_rng(n).random((n, n)) + 1e-3
    T /= T.sum(axis=1, keepdims=True)
    pi = stationary_distribution(T)
    assert_allclose(pi, _leading_left_eigvec(T), rtol=1e-10, atol=0)
    assert_allclose(pi @ T, pi, rtol=1e-12, atol=0)


# ----------------------------------------------------------------- M9
@pytest.mark.parametrize("sizes", [(6, 4, 3), (4, 3)])
def test_m9_transposed_generator_matches_coupled_pair(sizes):
    """transposed_generator(recogniser, c) has the same weights and biases as CoupledPair.generator,
    and a one-layer tied CoupledPair has gap 0."""
    from refimpl.coupled import CoupledPair

    rng = np.random.default_rng(2)
    pair = CoupledPair(sizes, tied=True, rng=rng, init_scale=1.0, dtype=np.float64)
    for k in range(len(sizes) - 1):
        pair.params[f"c{k}"][:] = rng.standard_normal(sizes[k])
    gen = transposed_generator(pair.recogniser, [pair.params[f"c{k}"] for k in range(len(sizes) - 1)])
    ref = pair.generator
    assert gen.sizes == ref.sizes == tuple(reversed(sizes))
    for a, b in zip(gen.weights + gen.biases, ref.weights + ref.biases, strict=True):
        assert_allclose(a, b, rtol=0, atol=0)
    for k in range(1, len(sizes)):  # written out: generator layer j uses (W^{n-j+1})^T
        assert_allclose(gen.weights[len(sizes) - 1 - k], pair.params[f"W{k}"].T, rtol=0, atol=0)
    gap = pair_consistency_gap(pair)
    if len(sizes) == 2:
        assert abs(gap) < 1e-10
    else:
        assert gap > 1e-4


# ------------------------------------------------------------- errors
def test_too_wide_network_is_rejected_with_the_limit():
    """A network whose joint state space exceeds 2**MAX_ENUMERATION_BITS is rejected, naming the limit."""
    rec, gen = random_pair((12, 10), np.random.default_rng(0))
    with pytest.raises(ValueError, match="MAX_ENUMERATION_BITS"):
        consistency_gap(rec, gen)
    with pytest.raises(ValueError, match=f"2\\*\\*{MAX_ENUMERATION_BITS}"):
        rbm_joint(np.zeros((11, 11)), np.zeros(11), np.zeros(11))


def test_entry_points_that_call_others_check_what_they_pass_on():
    """A checked call trusts the calls inside it, so each entry point checks what it hands on itself."""
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="MAX_ENUMERATION_BITS"):  # the pair's tables, checked inside
        pair_consistency_gap(CoupledPair((21, 2), rng=rng))
    for sizes in ((22, 2), (3, 30, 2)):  # would allocate gigabytes if the tables went unchecked
        with pytest.raises(ValueError, match="MAX_ENUMERATION_BITS"):
            gap_samples(sizes, rng, 1)
    with pytest.raises(ValueError, match=r"sizes\[1\] must be an integer >= 1; got 0"):
        random_pair((3, 0), rng)
    with pytest.raises(ValueError, match="scale must be a finite number >= 0"):
        gap_samples((3, 2), rng, 2, scale=-1.0)
    with pytest.raises(ValueError, match=r"output must be one of \['bernoulli', 'categorical'\]"):
        gap_samples((3, 2), rng, 2, output="gaussian")
    with pytest.raises(TypeError, match="tied must be a bool"):
        random_pair((3, 2), rng, tied="yes")


def test_bad_pairs_are_rejected():
    """Wrong types, unmirrored sizes and a categorical generator output raise, naming the argument."""
    rng = np.random.default_rng(0)
    rec, gen = random_pair((3, 2), rng)
    with pytest.raises(TypeError, match="recogniser"):
        consistency_gap("net", gen)
    with pytest.raises(TypeError, match="generator"):
        consistency_gap(rec, None)
    with pytest.raises(ValueError, match="generator must have the recogniser's sizes reversed"):
        consistency_gap(rec, SigmoidBeliefNet.random((2, 4), rng))
    with pytest.raises(ValueError, match="generator.output"):
        consistency_gap(rec, SigmoidBeliefNet.random((2, 3), rng, output="categorical"))
    with pytest.raises(TypeError, match="pair"):
        pair_consistency_gap(rec)
    with pytest.raises(ValueError, match="gen_biases"):
        transposed_generator(rec, [np.zeros(3), np.zeros(2)])
    with pytest.raises(ValueError, match=r"gen_biases\[0\]"):
        transposed_generator(rec, [np.zeros(2)])


def test_bad_tables_are_rejected():
    """Unnormalised or mis-shaped tables, bad RBM parameters and non-stochastic matrices raise ValueError."""
    log_q = np.log(np.full((2, 1, 2), 0.5))
    log_p = np.log(np.full((2, 2, 1), 0.5))
    with pytest.raises(ValueError, match="log_q"):
        consistency_from_tables(log_q + 1.0, log_p)
    with pytest.raises(ValueError, match="log_p"):
        consistency_from_tables(log_q, log_p[:, :, :, None])
    with pytest.raises(ValueError, match="log_p"):
        consistency_from_tables(log_q, np.log(np.full((3, 2, 1), 0.5)))
    with pytest.raises(ValueError, match="b must have shape"):
        rbm_joint(np.zeros((2, 3)), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="W must be finite"):
        rbm_joint(np.array([[np.nan]]), np.zeros(1), np.zeros(1))
    with pytest.raises(ValueError, match="transition"):
        stationary_distribution([[0.5, 0.6], [0.5, 0.5]])
    with pytest.raises(ValueError, match="transition"):
        stationary_distribution(np.ones((2, 3)) / 3)
    with pytest.raises(ValueError, match="joint"):
        joint_conditionals(np.array([[1.0, 0.0], [0.0, 0.0]]))
