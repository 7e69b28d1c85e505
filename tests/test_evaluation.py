"""Tests of refimpl.evaluation: MC class posteriors, importance-sampled log-likelihoods, cycle accuracy.

Ground truth is enumeration over every hidden configuration of a tiny float64
pair, written out in this file with plain logistic formulas.
"""

from itertools import product

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from refimpl.coupled import CoupledPair
from refimpl.evaluation import (
    _sample_layer_numba,
    _sample_layer_numpy,
    _target_log_prob_numba,
    _target_log_prob_numpy,
    cycle_accuracy,
    importance_log_likelihood,
    log_likelihood_curve,
    mc_class_probs,
    test_error,
)

SIZES = (5, 3, 2, 3)


# ------------------------------------------------------------ ground truth
def _bern(t, a):
    """sum_i [t_i a_i - log(1 + e^{a_i})] over the last axis."""
    return np.sum(t * a - np.logaddexp(0.0, a), axis=-1)


def _lse(v, axis=-1):
    m = np.max(v, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(v - m), axis=axis))


def _configs(d):
    return np.array(list(product([0.0, 1.0], repeat=d)))


def _tiny_pair(seed, tied=True, scale=1.0, sizes=SIZES):
    """A float64 pair with N(0, scale^2) weights, biases and prior logits."""
    rng = np.random.default_rng(seed)
    pair = CoupledPair(sizes, tied=tied, rng=rng, init_scale=scale, dtype=np.float64)
    for key, val in pair.params.items():
        if key[0] in "bcp":
            val[:] = scale * rng.standard_normal(val.shape)
    return pair


def _gen_matrix(pair, k):
    return pair.params[f"W{k}"] if pair.tied else pair.params[f"V{k}"]


def _joint_tables(pair, x):
    """log q(h | x) (recogniser, label excluded) and log p(x, h | y), every h = (h1, h2).

    Returns arrays of shape (H,) and (H, C) over the H = 2^(d1 + d2) hidden configurations.
    """
    P = pair.params
    d1, d2, C = pair.sizes[1], pair.sizes[2], pair.sizes[3]
    H1, H2 = _configs(d1), _configs(d2)
    log_q, log_p = [], []
    for h1 in H1:
        for h2 in H2:
            log_q.append(_bern(h1, P["W1"] @ x + P["b1"]) + _bern(h2, P["W2"] @ h1 + P["b2"]))
            rest = _bern(x, _gen_matrix(pair, 1).T @ h1 + P["c0"]) + _bern(h1, _gen_matrix(pair, 2).T @ h2 + P["c1"])
            top = [_bern(h2, _gen_matrix(pair, 3).T @ np.eye(C)[y] + P["c2"]) for y in range(C)]
            log_p.append(rest + np.array(top))
    return np.array(log_q), np.array(log_p)


def _exact_log_px_y(pair, x):
    """log p(x | y) = log sum_h p(x, h | y) by enumeration, shape (C,)."""
    return _lse(_joint_tables(pair, x)[1], axis=0)


def _exact_class_posterior(pair, x):
    """q(y | x) = sum_h q(h | x) softmax(W3 h2 + b3)_y by enumeration, shape (C,)."""
    P = pair.params
    out = 0.0
    for h1 in _configs(pair.sizes[1]):
        for h2 in _configs(pair.sizes[2]):
            lq = _bern(h1, P["W1"] @ x + P["b1"]) + _bern(h2, P["W2"] @ h1 + P["b2"])
            a = P["W3"] @ h2 + P["b3"]
            out = out + np.exp(lq + a - _lse(a))
    return out


def _images(seed, n, d=SIZES[0]):
    return np.random.default_rng(seed).integers(0, 2, (n, d)).astype(float)


# ---------------------------------------------------- importance sampling
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_is_converges_to_enumeration(seed, tied):
    """With large K the IS estimates of log p(x|y) and log p(x) match exact enumeration."""
    pair = _tiny_pair(seed, tied)
    x = _images(seed + 10, 3)
    K = 200_000
    res = importance_log_likelihood(pair, x, K, np.random.default_rng(seed + 100))
    log_prior = pair.log_prior()
    for i in range(x.shape[0]):
        log_q, log_p = _joint_tables(pair, x[i])
        exact = _lse(log_p, axis=0)
        exact_px = _lse(exact + log_prior)
        # Tolerance from the exact second moment of the weights w = p(x,h|y)/q(h|x):
        # the estimate's relative error has sd sqrt(cv2 / K) and bias about cv2 / (2K),
        # with cv2 = E_q[w^2] / p(x|y)^2 - 1. Allow 5 sd + the bias.
        cv2 = np.exp(_lse(2 * log_p - log_q[:, None], axis=0) - 2 * exact) - 1
        tol = 5 * np.sqrt(cv2 / K) + cv2 / K
        assert np.all(tol < 0.1), "the tolerance must stay meaningful"
        assert np.all(np.abs(res.log_px_y[i] - exact) <= tol)
        assert abs(res.log_px[i] - exact_px) <= tol.max()


def test_is_exact_without_hidden_layers():
    """With no hidden layer the estimate is exact for every K: log p(x|y) is a product of Bernoullis."""
    pair = _tiny_pair(3, sizes=(4, 3))
    x = _images(4, 5, 4)
    res = importance_log_likelihood(pair, x, 2, np.random.default_rng(0))
    V = pair.params["W1"]
    exact = np.array([[_bern(xi, V.T @ np.eye(3)[y] + pair.params["c0"]) for y in range(3)] for xi in x])
    assert_allclose(res.log_px_y, exact, rtol=0, atol=1e-12)


def test_is_k1_mean_is_below_exact_and_rises_with_k():
    """Averaged over many independent runs, the estimate lies below log p(x|y) (Jensen) and rises with K."""
    pair = _tiny_pair(5, scale=2.0)
    x = _images(6, 1)
    exact = _exact_log_px_y(pair, x[0])
    R = 4000  # independent replicates of the same image
    rng = np.random.default_rng(7)
    means, ses = [], []
    for K in (1, 10):
        est = importance_log_likelihood(pair, np.repeat(x, R, axis=0), K, rng).log_px_y
        means.append(est.mean(axis=0))
        ses.append(est.std(axis=0) / np.sqrt(R))
    # 4 standard errors: a false failure has probability < 1e-4 per comparison
    assert np.all(means[0] <= exact + 4 * ses[0])
    assert np.all(means[1] <= exact + 4 * ses[1])
    assert np.all(means[1] - means[0] > 4 * np.hypot(ses[0], ses[1]))


@pytest.mark.parametrize("tied", [True, False])
def test_is_class_shared_computation_equals_naive_per_class(tied):
    """The shared (K, C) table equals log-mean-exp of log p(x,h_k|y) - log q(h_k|x) computed per class."""
    pair = _tiny_pair(8, tied)
    x = _images(9, 4)
    K, seed = 50, 11
    res = importance_log_likelihood(pair, x, K, np.random.default_rng(seed), batch_size=x.shape[0])
    # replay the same rng stream: one uniform per unit, layer 1 for all (image, sample) rows, then layer 2
    P = pair.params
    rng = np.random.default_rng(seed)
    xr = np.repeat(x, K, axis=0)
    a1 = xr @ P["W1"].T + P["b1"]
    h1 = (rng.random(a1.shape) < 1 / (1 + np.exp(-a1))).astype(float)
    a2 = h1 @ P["W2"].T + P["b2"]
    h2 = (rng.random(a2.shape) < 1 / (1 + np.exp(-a2))).astype(float)
    log_q = _bern(h1, a1) + _bern(h2, a2)
    naive = np.empty((x.shape[0], pair.sizes[-1]))
    for y in range(pair.sizes[-1]):
        log_w = pair.log_p(xr, [h1, h2], np.full(xr.shape[0], y)) - log_q
        naive[:, y] = _lse(log_w.reshape(x.shape[0], K), axis=1) - np.log(K)
    assert_allclose(res.log_px_y, naive, rtol=0, atol=1e-10)
    assert_allclose(res.log_px, _lse(naive + pair.log_prior(), axis=1), rtol=0, atol=1e-10)


@pytest.mark.parametrize("scale", [1.0, 50.0])
def test_is_backends_agree(scale):
    """The Numba and NumPy backends give the same estimates from the same rng (weights up to +-50 included)."""
    pair = _tiny_pair(12, scale=scale)
    x = _images(13, 6)
    a = importance_log_likelihood(pair, x, 30, np.random.default_rng(1), backend="numba")
    b = importance_log_likelihood(pair, x, 30, np.random.default_rng(1), backend="numpy")
    assert np.all(np.isfinite(a.log_px_y))
    assert_allclose(a.log_px_y, b.log_px_y, rtol=1e-12, atol=1e-9)
    assert_allclose(a.log_px, b.log_px, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_is_kernels_agree_at_extreme_logits(dtype):
    """Both kernel twins give the same states and log-probabilities at logits of +-1e4 and moderate ones, silently."""
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.choice([-1e4, 1e4], (6, 7)), 3 * rng.standard_normal((6, 7))]).astype(dtype)
    bias = rng.standard_normal(7).astype(dtype)
    u = rng.random(a.shape, dtype=dtype)
    t = rng.integers(0, 2, (4, 7)).astype(dtype)
    h0, l0 = _sample_layer_numpy(a, bias, u)
    h1, l1 = _sample_layer_numba(a, bias, u)
    assert_array_equal(h0, h1)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert_allclose(l0, l1, rtol=rtol, atol=1e-9)
    # a sampled state has probability 1 at +-1e4: its log-probability is 0
    assert_allclose(l0[:6], 0.0, atol=1e-3 if dtype == np.float32 else 1e-12)
    g0 = _target_log_prob_numpy(a, bias, t, 3)
    g1 = _target_log_prob_numba(a, bias, t, 3)
    assert np.all(np.isfinite(g0))
    assert_allclose(g0, g1, rtol=rtol, atol=1e-9)
    # independent formula: sum_i [t_i z_i - softplus(z_i)] with t repeated over its group
    z = (a + bias).astype(np.float64)
    assert_allclose(g0, _bern(np.repeat(t, 3, axis=0).astype(np.float64), z), rtol=rtol, atol=1e-9)


def test_is_curve_is_finite_and_reports_k():
    """log_likelihood_curve returns one mean per K, for log p(x) and, with labels, log p(x|label)."""
    pair = _tiny_pair(14)
    x = _images(15, 20)
    out = log_likelihood_curve(pair, x, np.random.default_rng(0), Ks=(1, 10), labels=np.arange(20) % 3)
    assert_array_equal(out["K"], [1, 10])
    assert out["log_px"].shape == (2,) and out["log_px_y"].shape == (2,)
    assert np.all(np.isfinite(out["log_px"]))


# ------------------------------------------------------------- recognition
@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("seed", [0, 1])
def test_m4_mc_class_probs_match_enumeration(seed, backend):
    """The Rao-Blackwellised MC estimate of q(y|x) matches the exact sum over hidden states."""
    pair = _tiny_pair(seed + 20, scale=1.5)
    x = _images(seed + 30, 4)
    S = 20000
    est = mc_class_probs(pair, x, S, np.random.default_rng(seed), backend=backend)
    exact = np.array([_exact_class_posterior(pair, xi) for xi in x])
    assert_allclose(exact.sum(axis=1), 1.0, atol=1e-12)
    assert_allclose(est.sum(axis=1), 1.0, atol=1e-12)
    # each sample's softmax lies in [0, 1], so its variance is <= 1/4 and the
    # mean's sd <= 0.5 / sqrt(S) = 0.0035; 5 sd
    assert_allclose(est, exact, rtol=0, atol=5 * 0.5 / np.sqrt(S))


def test_m4_mc_class_probs_exact_without_hidden_layers():
    """With no hidden layer the estimate is the softmax itself for any S."""
    pair = _tiny_pair(2, sizes=(4, 3))
    x = _images(3, 5, 4)
    a = x @ pair.params["W1"].T + pair.params["b1"]
    est = mc_class_probs(pair, x, 3, np.random.default_rng(0))
    assert_allclose(est, np.exp(a - _lse(a)[:, None]), rtol=1e-12, atol=1e-15)


def test_test_error_equals_direct_count():
    """test_error is the fraction of rows whose argmax differs from the label."""
    probs = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert test_error(probs, [1, 1, 1, 0]) == 0.25
    assert test_error(probs, np.array([1.0, 0.0, 1.0, 0.0])) == 0.0


# ------------------------------------------------------------- consistency
def test_cycle_deterministic_pair_scores_one():
    """A pair whose generator draws one-hot images and whose recogniser reads them back has accuracy 1."""
    sizes, C = (3, 3, 3), 3
    pair = CoupledPair(sizes, tied=False, rng=np.random.default_rng(0), dtype=np.float64)
    code = 100 * np.eye(C) - 50  # logits +-50: every unit is (almost surely) deterministic
    for k in (1, 2):
        pair.params[f"W{k}"][:] = code
        pair.params[f"V{k}"][:] = code
    out = cycle_accuracy(pair, 40, np.random.default_rng(1))
    assert out.accuracy == 1.0
    assert_array_equal(out.per_class, np.ones(C))


def test_cycle_constant_recogniser_scores_one_over_c():
    """A recogniser that always answers class 0 gets per-class accuracy (1, 0, 0) and overall 1/3."""
    pair = _tiny_pair(4)
    pair.params["b3"][:] = [1e3, 0.0, 0.0]
    out = cycle_accuracy(pair, 25, np.random.default_rng(2))
    assert_array_equal(out.per_class, [1.0, 0.0, 0.0])
    assert_allclose(out.accuracy, 1 / 3, rtol=1e-15)


def test_cycle_equals_direct_count():
    """cycle_accuracy equals a count of generated images (same rng stream) classified as their label."""
    pair = _tiny_pair(5, scale=2.0)
    M, C = 200, 3
    out = cycle_accuracy(pair, M, np.random.default_rng(3))
    y = np.repeat(np.arange(C), M)
    _, x = pair.sample_generator(y, np.random.default_rng(3))
    hit = np.argmax(pair.recognise_mean(x), axis=1) == y
    assert_allclose(out.per_class, [hit[y == c].mean() for c in range(C)], rtol=0, atol=0)
    assert out.accuracy == hit.mean()


# --------------------------------------------------------------- bad inputs
@pytest.fixture
def pair():
    return _tiny_pair(0)


def test_bad_inputs_raise(pair):
    """Every validated argument is named in its error."""
    rng = np.random.default_rng(0)
    x = _images(0, 2)
    with pytest.raises(ValueError, match="K"):
        importance_log_likelihood(pair, x, 0, rng)
    with pytest.raises(TypeError, match="K"):
        importance_log_likelihood(pair, x, 2.5, rng)
    with pytest.raises(ValueError, match="x must be binary"):
        importance_log_likelihood(pair, x + 0.5, 2, rng)
    with pytest.raises(ValueError, match=r"x must have shape \(5,\)"):
        importance_log_likelihood(pair, np.zeros((2, 4)), 2, rng)
    with pytest.raises(TypeError, match="rng"):
        importance_log_likelihood(pair, x, 2, 0)
    with pytest.raises(TypeError, match="rng"):
        mc_class_probs(pair, x, 2, np.random.RandomState(0))
    with pytest.raises(ValueError, match="n_samples"):
        mc_class_probs(pair, x, 0, rng)
    with pytest.raises(ValueError, match="backend"):
        mc_class_probs(pair, x, 2, rng, backend="torch")
    with pytest.raises(ValueError, match="batch_size"):
        importance_log_likelihood(pair, x, 2, rng, batch_size=0)
    with pytest.raises(TypeError, match="pair"):
        importance_log_likelihood("pair", x, 2, rng)
    with pytest.raises(ValueError, match="n_per_class"):
        cycle_accuracy(pair, 0, rng)
    with pytest.raises(TypeError, match="rng"):
        cycle_accuracy(pair, 2, None)
    with pytest.raises(ValueError, match="Ks"):
        log_likelihood_curve(pair, x, rng, Ks=())
    with pytest.raises(ValueError, match="labels"):
        test_error(np.ones((2, 3)), [0, 3])
    with pytest.raises(ValueError, match="labels"):
        test_error(np.ones((2, 3)), [0, 1, 2])
    with pytest.raises(ValueError, match="probs"):
        test_error(np.ones(3), [0])
