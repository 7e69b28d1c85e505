"""Tests of refimpl.evaluation: MC class posteriors, importance-sampled log-likelihoods, cycle accuracy.

Ground truth is written out in this file with plain logistic formulas: either
enumeration over every hidden (and, for cycle accuracy, every visible)
configuration of a tiny float64 pair, or a pair whose answer is known in
closed form (forced hidden states, one-hot codes). Stochastic estimates are
compared with it within a few standard errors, each derived in its test.
"""

from itertools import product

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from refimpl.coupled import CoupledPair
from refimpl.evaluation import (
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


def _tiny_pair(seed, tied=True, scale=1.0, sizes=SIZES, dtype=np.float64):
    """A pair (float64 unless told) with N(0, scale^2) weights, biases and prior logits."""
    rng = np.random.default_rng(seed)
    pair = CoupledPair(sizes, tied=tied, rng=rng, init_scale=scale, dtype=dtype)
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


def _log_prior(pair):
    """log p(y): log-softmax of the prior logits."""
    logits = pair.params["prior"].astype(np.float64)
    return logits - _lse(logits)


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _deterministic_pair(seed, tied, dtype):
    """A pair whose recogniser has weights and biases of order 1e4, so that h = (h^1, h^2) is a function of x.

    Every other parameter (the generator's own, the top layer, the prior) is N(0, 1);
    a tied generator shares the recogniser's matrices of order 1e4.
    """
    rng = np.random.default_rng(seed)
    pair = CoupledPair(SIZES, tied=tied, rng=rng, dtype=dtype)
    for key, val in pair.params.items():
        val[:] = (1e4 if key in ("W1", "W2", "b1", "b2") else 1.0) * rng.standard_normal(val.shape)
    return pair


def _forced_states(pair, x):
    """Parameters in float64 and the recogniser's forced states with their logits: (h^1, z^1), (h^2, z^2)."""
    P = {k: v.astype(np.float64) for k, v in pair.params.items()}
    z1 = x @ P["W1"].T + P["b1"]
    h1 = (z1 > 0).astype(float)
    z2 = h1 @ P["W2"].T + P["b2"]
    h2 = (z2 > 0).astype(float)
    # |z| > 100: the other state has probability sigma(-100) ~ 4e-44, below any uniform draw but 0
    assert min(np.abs(z1).min(), np.abs(z2).min()) > 100, "every hidden state must be forced"
    return P, (h1, z1), (h2, z2)


# ---------------------------------------------------- importance sampling
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_is_converges_to_enumeration(seed, tied):
    """With large K the IS estimates of log p(x|y) and log p(x) match exact enumeration."""
    pair = _tiny_pair(seed, tied)
    x = _images(seed + 10, 3)
    K = 200_000
    res = importance_log_likelihood(pair, x, K, np.random.default_rng(seed + 100))
    log_prior = _log_prior(pair)
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


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("tied", [True, False])
def test_is_exact_for_a_deterministic_proposal(tied, dtype, backend):
    """If q(h|x) is certain of one h*, the estimate is log p(x,h*|y) - log q(h*|x) for every K and class.

    Every sample is h*, whatever the rng stream, so the expected value is exact: written out
    here with the logistic formula for every class (the shared (K, C) class table checked
    class by class) and for log p(x). The recogniser's logits are of order 1e4, and so are a
    tied generator's: both kernels at extreme logits, silently (warnings are errors here).
    """
    pair = _deterministic_pair(3, tied, dtype)
    x = _images(4, 6)
    P, (h1, z1), (h2, z2) = _forced_states(pair, x)
    G = {k: P[f"W{k}"] if tied else P[f"V{k}"] for k in (1, 2, 3)}  # generator layer k uses G[k] transposed
    log_q = _bern(h1, z1) + _bern(h2, z2)  # ~0: the proposal is certain
    rest = _bern(x, h1 @ G[1] + P["c0"]) + _bern(h1, h2 @ G[2] + P["c1"])
    top = np.stack([_bern(h2, G[3][y] + P["c2"]) for y in range(SIZES[-1])], axis=1)  # log p(h2 | y)
    expected = rest[:, None] + top - log_q[:, None]
    # float32: each logit of order 1e4 is rounded once (relative error ~6e-8 per unit)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    for K in (1, 7):
        res = importance_log_likelihood(pair, x, K, np.random.default_rng(K), backend=backend)
        assert res.n_samples == K
        assert_allclose(res.log_px_y, expected, rtol=rtol, atol=1e-9)
        assert_allclose(res.log_px, _lse(expected + _log_prior(pair)), rtol=rtol, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale", [1.0, 50.0])
def test_is_backends_agree(scale, dtype):
    """The Numba kernels and their NumPy twins give the same estimates from the same rng (weights up to +-50)."""
    pair = _tiny_pair(12, scale=scale, dtype=dtype)
    x = _images(13, 6)
    a = importance_log_likelihood(pair, x, 30, np.random.default_rng(1), backend="numba")
    b = importance_log_likelihood(pair, x, 30, np.random.default_rng(1), backend="numpy")
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert_allclose(a.log_px_y, b.log_px_y, rtol=rtol, atol=1e-9)
    assert_allclose(a.log_px, b.log_px, rtol=rtol, atol=1e-9)
    p = mc_class_probs(pair, x, 30, np.random.default_rng(2), backend="numba")
    q = mc_class_probs(pair, x, 30, np.random.default_rng(2), backend="numpy")
    assert_allclose(p, q, rtol=rtol, atol=1e-12)


def _log_weight_moments(log_q, log_joint):
    """Exact moments of log w(h) = log_joint(h) - log q(h|x) for h ~ q, by enumeration over h.

    Returns log p = log sum_h joint(h); E[log w], the mean of the K = 1 estimate (the ELBO);
    Var[log w], its variance; and cv2 = Var[w] / p^2 (E[w] = p), which sets the spread of the
    estimate for large K.
    """
    q = np.exp(log_q)
    log_w = log_joint - log_q
    exact = _lse(log_joint)
    elbo = np.sum(q * log_w)
    var = np.sum(q * log_w**2) - elbo**2
    cv2 = np.exp(_lse(2 * log_joint - log_q) - 2 * exact) - 1
    return exact, elbo, var, cv2


def test_log_likelihood_curve_rises_from_the_elbo_to_the_exact_value():
    """The curve's mean is the ELBO at K = 1 and approaches log p from below: log p(x) and log p(x|label).

    All targets by enumeration over the hidden states. Tolerances are 4 standard errors of a
    mean over the N independent rows: at K = 1 from the exact variance of log w; at K = 2000
    from the delta method, sd sqrt(cv2 / K) and bias -cv2 / (2K) per row, valid as cv2 / K < 0.01.
    """
    pair = _tiny_pair(14)
    pair.params["W3"] *= 3  # p(h2 | y) depends on y strongly: a label given to the wrong image shows
    # image i is most likely under class i, by 0.9, 0.1 and 0.2 nats over the least likely class
    images, labels, R = np.array([[0, 0, 0, 0, 0], [1, 0, 0, 1, 1], [1, 0, 1, 1, 1]]), np.array([0, 1, 2]), 200
    x, N = np.repeat(images, R, axis=0), 3 * R  # each image R times: N independent estimates
    Ks = (1, 2000)
    out = log_likelihood_curve(pair, x, np.random.default_rng(0), Ks=Ks, labels=np.repeat(labels, R))
    assert_array_equal(out["K"], Ks)
    moments = {"log_px": [], "log_px_y": []}
    for xi, yi in zip(images, labels, strict=True):
        log_q, log_p = _joint_tables(pair, xi)
        moments["log_px"].append(_log_weight_moments(log_q, _lse(log_p + _log_prior(pair), axis=1)))
        moments["log_px_y"].append(_log_weight_moments(log_q, log_p[:, yi]))
    for key, rows in moments.items():
        exact, elbo, var, cv2 = np.array(rows).T  # per image; every image has R rows
        se1 = np.sqrt(var.mean() / N)
        assert exact.mean() - elbo.mean() > 8 * se1, "the K = 1 mean must lie clearly below log p"
        assert abs(out[key][0] - elbo.mean()) <= 4 * se1
        K = Ks[-1]
        assert cv2.max() / K < 0.01, "the delta method must hold"
        sd, bias = np.sqrt(cv2.mean() / (K * N)), cv2.mean() / (2 * K)
        assert -(bias + 4 * sd) <= out[key][1] - exact.mean() <= 4 * sd


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


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_m4_mc_class_probs_exact_for_forced_hidden_states(dtype, backend):
    """With h forced by logits of order 1e4, q(y|x) = softmax(W3 h2* + b3) for any S, silently."""
    pair = _deterministic_pair(3, True, dtype)
    x = _images(4, 6)
    P, _, (h2, _) = _forced_states(pair, x)
    a = h2 @ P["W3"].T + P["b3"]
    est = mc_class_probs(pair, x, 5, np.random.default_rng(0), backend=backend)
    if dtype == np.float64:
        assert_allclose(est, np.exp(a - _lse(a)[:, None]), rtol=1e-12, atol=1e-15)
    else:
        assert_allclose(est, np.exp(a - _lse(a)[:, None]), rtol=1e-6, atol=1e-7)


def test_test_error_equals_direct_count():
    """test_error is the fraction of rows whose argmax differs from the label."""
    probs = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert test_error(probs, [1, 1, 1, 0]) == 0.25
    assert test_error(probs, np.array([1.0, 0.0, 1.0, 0.0])) == 0.0


# ------------------------------------------------------------- consistency
def _one_hot_code_pair():
    """An untied (3, 3, 3) pair whose generator draws x = onehot(y) and whose recogniser reads x back as y.

    Every matrix is 100 I - 50: logits of +-50, so every unit is (almost surely) deterministic.
    """
    pair = CoupledPair((3, 3, 3), tied=False, rng=np.random.default_rng(0), dtype=np.float64)
    code = 100 * np.eye(3) - 50
    for k in (1, 2):
        pair.params[f"W{k}"][:] = code
        pair.params[f"V{k}"][:] = code
    return pair


def test_cycle_deterministic_pair_scores_one():
    """A pair whose generator draws one-hot images and whose recogniser reads them back has accuracy 1."""
    out = cycle_accuracy(_one_hot_code_pair(), 40, np.random.default_rng(1))
    assert out.accuracy == 1.0
    assert_array_equal(out.per_class, np.ones(3))


def test_cycle_class_swapped_recogniser_scores_zero():
    """The same pair with the recogniser's top rows rolled reads every image of class y as y + 1: accuracy 0."""
    pair = _one_hot_code_pair()
    pair.params["W2"][:] = np.roll(100 * np.eye(3) - 50, 1, axis=0)  # row y + 1 now matches onehot(y)
    out = cycle_accuracy(pair, 40, np.random.default_rng(1))
    assert out.accuracy == 0.0
    assert_array_equal(out.per_class, np.zeros(3))


def test_cycle_constant_recogniser_scores_one_over_c():
    """A recogniser that always answers class 0 gets per-class accuracy (1, 0, 0) and overall 1/3."""
    pair = _tiny_pair(4)
    pair.params["b3"][:] = [1e3, 0.0, 0.0]
    out = cycle_accuracy(pair, 25, np.random.default_rng(2))
    assert_array_equal(out.per_class, [1.0, 0.0, 0.0])
    assert_allclose(out.accuracy, 1 / 3, rtol=1e-15)


def _noisy_code_pair(seed, tied, sizes=(4, 3, 3, 3)):
    """Matrices 2 (2I - 1) + N(0, 0.25) (unit k of each layer stands for class k), biases N(0, 0.25).

    Generator and recogniser agree with the label often, but far from always.
    """
    rng = np.random.default_rng(seed)
    pair = CoupledPair(sizes, tied=tied, rng=rng, dtype=np.float64)
    for key, val in pair.params.items():
        if key[0] in "WV":
            k = int(key[1:])
            val[:] = 2 * (2 * np.eye(sizes[k], sizes[k - 1]) - 1) + 0.5 * rng.standard_normal(val.shape)
        elif key != "prior":
            val[:] = 0.5 * rng.standard_normal(val.shape)
    return pair


def _exact_cycle_accuracy(pair):
    """Per class y, sum over every image x of p(x|y) [the recogniser's mean pass at x answers y].

    p(x|y) sums p(x, h|y) over every hidden state; the mean pass is mu1 = sigma(W1 x + b1),
    mu2 = sigma(W2 mu1 + b2), class scores W3 mu2 + b3 (the softmax keeps the argmax).
    """
    P = pair.params
    X = _configs(pair.sizes[0])
    px_y = np.exp([_exact_log_px_y(pair, xi) for xi in X])  # (2^d0, C)
    assert_allclose(px_y.sum(axis=0), 1.0, rtol=1e-12)  # p(x|y) sums to one over all images
    mu2 = _sigmoid(_sigmoid(X @ P["W1"].T + P["b1"]) @ P["W2"].T + P["b2"])
    pred = np.argmax(mu2 @ P["W3"].T + P["b3"], axis=1)
    return np.array([px_y[pred == y, y].sum() for y in range(pair.sizes[-1])])


@pytest.mark.parametrize("tied", [True, False])
def test_cycle_accuracy_matches_enumeration(tied):
    """Per-class and overall cycle accuracy match their exact expectations within 4 standard errors.

    Each per-class accuracy is a mean of M independent indicators with success probability
    acc_y (the enumerated value): standard error sqrt(acc_y (1 - acc_y) / M).
    """
    pair = _noisy_code_pair(1, tied)
    exact = _exact_cycle_accuracy(pair)
    assert np.all((exact > 0.2) & (exact < 0.8)), "the check is sharp only away from 0 and 1"
    M = 4000
    out = cycle_accuracy(pair, M, np.random.default_rng(5))
    se = np.sqrt(exact * (1 - exact) / M)
    assert np.all(np.abs(out.per_class - exact) <= 4 * se)
    assert abs(out.accuracy - exact.mean()) <= 4 * np.sqrt(np.sum(se**2)) / exact.size


# --------------------------------------------------------------- bad inputs
@pytest.fixture
def pair():
    return _tiny_pair(0)


def test_bad_inputs_raise(pair):
    """Every validated argument is named in its error."""
    rng = np.random.default_rng(0)
    x = _images(0, 2)
    with pytest.raises(ValueError, match=r"K must be an integer >= 1; got 0\."):
        importance_log_likelihood(pair, x, 0, rng)
    with pytest.raises(TypeError, match=r"K must be an integer; got float\."):
        importance_log_likelihood(pair, x, 2.5, rng)
    with pytest.raises(ValueError, match="x must be binary"):
        importance_log_likelihood(pair, x + 0.5, 2, rng)
    with pytest.raises(ValueError, match=r"x must have shape \(5,\)"):
        importance_log_likelihood(pair, np.zeros((2, 4)), 2, rng)
    rng_message = r"rng must be a numpy\.random\.Generator, e\.g\. np\.random\.default_rng\(0\); got "
    with pytest.raises(TypeError, match=rng_message + r"int\."):
        importance_log_likelihood(pair, x, 2, 0)
    with pytest.raises(TypeError, match=rng_message + r"RandomState\."):
        mc_class_probs(pair, x, 2, np.random.RandomState(0))
    with pytest.raises(ValueError, match=r"n_samples must be an integer >= 1; got 0\."):
        mc_class_probs(pair, x, 0, rng)
    with pytest.raises(ValueError, match=r"backend must be one of \['numba', 'numpy'\]; got 'torch'\."):
        mc_class_probs(pair, x, 2, rng, backend="torch")
    with pytest.raises(ValueError, match=r"batch_size must be an integer >= 1; got 0\."):
        importance_log_likelihood(pair, x, 2, rng, batch_size=0)
    with pytest.raises(TypeError, match=r"pair must be a refimpl\.coupled\.CoupledPair; got str\."):
        importance_log_likelihood("pair", x, 2, rng)
    with pytest.raises(ValueError, match=r"n_per_class must be an integer >= 1; got 0\."):
        cycle_accuracy(pair, 0, rng)
    with pytest.raises(TypeError, match=rng_message + r"NoneType\."):
        cycle_accuracy(pair, 2, None)
    with pytest.raises(ValueError, match=r"Ks must list at least one number of samples"):
        log_likelihood_curve(pair, x, rng, Ks=())
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\) to match x; got shape \(3,\)\."):
        log_likelihood_curve(pair, x, rng, Ks=(1,), labels=[0, 1, 2])
    with pytest.raises(ValueError, match=r"labels must hold labels in \[0, 3\); got values in \[0, 3\]\."):
        test_error(np.ones((2, 3)), [0, 3])
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\) to match probs; got shape \(3,\)\."):
        test_error(np.ones((2, 3)), [0, 1, 2])
    with pytest.raises(ValueError, match=r"probs must have shape \(N, C\); got shape \(3,\)\."):
        test_error(np.ones(3), [0])
