"""Tests for refimpl.learning: L0, L1 (wake G + sleep R), L1u and L2 gradients and steps.

Every gradient is checked against central finite differences in float64 of an
objective computed by refimpl.sbn's log-probability code (or a forward pass
written out in the test), never by the gradient code itself.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from refimpl.coupled import CoupledPair
from refimpl.gradcheck import central_differences
from refimpl.learning import (
    l0_value_and_grad,
    l1_step_grads,
    l2_step_grads,
    rws_step_grads,
    semi_step_grads,
    sleep_value_and_grad,
    wake_unlabelled_value_and_grad,
    wake_value_and_grad,
)
from refimpl.numerics import sigmoid
from refimpl.optim import Adam
from refimpl.sbn import categorical_log_prob, one_hot

SIZES = [(5, 3, 2), (6, 4, 3, 3), (4, 3)]


def _pair(sizes, tied, seed, scale=0.8):
    rng = np.random.default_rng(seed)
    pair = CoupledPair(sizes, tied=tied, rng=rng, init_scale=scale, dtype=np.float64)
    for key in pair.params:
        pair.params[key][...] = scale * rng.standard_normal(pair.params[key].shape)
    return pair


def _states(sizes, seed, B=5):
    rng = np.random.default_rng(seed)
    x = (rng.random((B, sizes[0])) < 0.5).astype(float)
    hidden = [(rng.random((B, d)) < 0.5).astype(float) for d in sizes[1:-1]]
    y = rng.integers(0, sizes[-1], B)
    return x, hidden, y


def _central_differences(f, pair, eps=1e-6):
    """d f / d params by central differences, every entry of every parameter (float64)."""
    return central_differences(lambda: f(pair), pair.params, eps)


def _wake_objective(x, hidden, y):
    """Mean log p(x, h | y) by the generator SBN's log_prob (M3), independent of the gradient code."""
    def f(pair):
        gen = pair.generator
        return np.mean(gen.log_prob(one_hot(y, pair.sizes[-1]), list(reversed(hidden)) + [x]))
    return f


def _sleep_objective(x, hidden, y):
    """Mean log q(h, y | x) by the recogniser SBN's log_prob (M3)."""
    def f(pair):
        return np.mean(pair.recogniser.log_prob(x, hidden + [one_hot(y, pair.sizes[-1])]))
    return f


def _l0_objective(x, y):
    """Mean log q~(y | x): the mean pass written out here, then categorical_log_prob."""
    def f(pair):
        n, mu = len(pair.sizes) - 1, x
        for k in range(1, n):
            mu = sigmoid(mu @ pair.params[f"W{k}"].T + pair.params[f"b{k}"])
        a = mu @ pair.params[f"W{n}"].T + pair.params[f"b{n}"]
        return np.mean(categorical_log_prob(one_hot(y, pair.sizes[-1]), a))
    return f


def _assert_grads_close(got, want, rtol=1e-5, atol=1e-7):
    assert sorted(got) == sorted(want)
    for key in want:
        assert got[key].shape == want[key].shape, key
        assert_allclose(got[key], want[key], rtol=rtol, atol=atol, err_msg=key)


# Central differences with eps=1e-6 in float64 have truncation error O(eps^2 f''') ~ 1e-12 and
# rounding error ~ 1e-16 * |f| / eps ~ 1e-9 for |f| ~ 10; atol 1e-7 leaves a wide margin.


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_l1_wake_gradient_matches_central_differences(sizes, tied, seed):
    """The G gradient (all keys, tied and untied) equals central differences of the generator SBN's log_prob."""
    pair = _pair(sizes, tied, seed)
    x, hidden, y = _states(sizes, seed + 100)
    f = _wake_objective(x, hidden, y)
    value, grads = wake_value_and_grad(pair, x, hidden, y)
    assert_allclose(value, f(pair), rtol=1e-12)
    _assert_grads_close(grads, _central_differences(f, pair))


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_l1_sleep_gradient_matches_central_differences(sizes, tied, seed):
    """The R gradient (Bernoulli and categorical layers) equals central differences of the recogniser's log_prob."""
    pair = _pair(sizes, tied, seed)
    x, hidden, y = _states(sizes, seed + 200)
    f = _sleep_objective(x, hidden, y)
    value, grads = sleep_value_and_grad(pair, x, hidden, y)
    assert_allclose(value, f(pair), rtol=1e-12)
    _assert_grads_close(grads, _central_differences(f, pair))


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_l0_gradient_matches_central_differences(sizes, tied, seed):
    """The hand-derived backpropagation of L0 equals central differences of the mean-pass log-likelihood."""
    pair = _pair(sizes, tied, seed)
    x, _, y = _states(sizes, seed + 300)
    f = _l0_objective(x, y)
    value, grads = l0_value_and_grad(pair, x, y)
    assert_allclose(value, f(pair), rtol=1e-12)
    _assert_grads_close(grads, _central_differences(f, pair))


@pytest.mark.parametrize("sizes", SIZES[:2])
@pytest.mark.parametrize("seed", [0, 1])
def test_l1_tied_gradient_is_sum_of_untied_w_and_v_gradients(sizes, seed):
    """Tied W-gradient == untied W-gradient + untied V-gradient at the same parameters with V = W (no overwrite)."""
    tied = _pair(sizes, True, seed)
    params = dict(tied.params)
    params.update({f"V{k}": tied.params[f"W{k}"] for k in range(1, len(sizes))})
    untied = CoupledPair.from_params(params, sizes, tied=False)
    _, g_tied = l1_step_grads(tied, *_states(sizes, seed)[::2], np.random.default_rng(seed))
    _, g_untied = l1_step_grads(untied, *_states(sizes, seed)[::2], np.random.default_rng(seed))
    for k in range(1, len(sizes)):
        assert_allclose(g_tied[f"W{k}"], g_untied[f"W{k}"] + g_untied[f"V{k}"], rtol=1e-12, atol=1e-14)
        # both contributions are non-trivial, so an overwrite would be caught
        assert np.abs(g_untied[f"W{k}"]).max() > 1e-3 and np.abs(g_untied[f"V{k}"]).max() > 1e-3
    for key in ("b1", "c0", "prior"):
        assert_allclose(g_tied[key], g_untied[key], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("tied", [True, False])
def test_l1_step_equals_wake_at_recogniser_samples_plus_sleep_at_dreams(tied):
    """l1_step_grads == wake(x, h ~ q(h|x)) + sleep(dreams ~ p(h,x|y)) replayed from the same rng stream."""
    sizes = (6, 4, 3, 3)
    pair = _pair(sizes, tied, 5)
    x, _, y = _states(sizes, 6, B=8)
    terms, grads = l1_step_grads(pair, x, y, np.random.default_rng(7))
    replay = np.random.default_rng(7)
    hidden = pair.sample_hidden(x, replay)  # drawn first: the recogniser on real images
    hidden_d, x_d = pair.sample_generator(y, replay)  # then: dreams for the same labels
    g, gw = wake_value_and_grad(pair, x, hidden, y)
    r, gs = sleep_value_and_grad(pair, x_d, hidden_d, y)
    assert_allclose(terms["G"], g, rtol=1e-12)
    assert_allclose(terms["R"], r, rtol=1e-12)
    for key in pair.params:
        assert_allclose(grads[key], gw[key] + gs[key], rtol=1e-12, atol=1e-14, err_msg=key)


def _disagreeing_pair():
    """Untied (3, 2, 2) pair whose two directions disagree on purpose.

    Recogniser: h^1 = 1 for real images (all ones), h^1 = 0 for dreams (all zeros),
    because a^1 = 20 * sum(x) - 10. Generator: V = 0 and c = -20, so dreams are
    x = 0 and h^1 = 0 with probability 1 - sigma(-20) ~ 1 - 2e-9.
    """
    pair = CoupledPair((3, 2, 2), tied=False, rng=np.random.default_rng(0), init_scale=0.0, dtype=np.float64)
    pair.params["W1"][...] = 20.0
    pair.params["b1"][...] = -10.0
    pair.params["c0"][...] = -20.0
    pair.params["c1"][...] = -20.0
    return pair


def test_l1_generator_term_uses_recogniser_samples_of_real_images():
    """dG/dc^1 ~ +1: the generator is taught the recogniser's h^1 = 1 of real images, not its own h^1 = 0.

    Fed the generator's own samples, the gradient h^1 - sigma(-20) would be ~0 instead.
    """
    pair = _disagreeing_pair()
    x = np.ones((50, 3))
    y = np.arange(50) % 2
    _, grads = l1_step_grads(pair, x, y, np.random.default_rng(1))
    # c^1 only receives the wake term; its value is 1 - sigma(-20) per unit, deterministic up to 2e-9
    assert_allclose(grads["c1"], [1.0, 1.0], atol=1e-6)


def test_l1_recogniser_term_uses_dreams_not_real_images():
    """dR/db^1 ~ 0: the recogniser inverts the dream x = 0 (sigma(-10) ~ 5e-5), not the real x = 1.

    Fed the real images with the dreamed h^1 = 0, the gradient would be 0 - sigma(50) ~ -1 instead.
    """
    pair = _disagreeing_pair()
    x = np.ones((50, 3))
    y = np.arange(50) % 2
    _, grads = l1_step_grads(pair, x, y, np.random.default_rng(2))
    assert_allclose(grads["b1"], -sigmoid(-10.0) * np.ones(2), atol=1e-6)


@pytest.mark.parametrize("normalise", ["none", "units"])
@pytest.mark.parametrize("lam", [0.0, 3.0])
def test_l2_equals_scaled_l1_terms_plus_lambda_l0(normalise, lam):
    """l2_step_grads == s_G * G-grad + s_R * R-grad + lam * L0-grad with s = 1 or 1/(units), replayed rng."""
    sizes = (6, 4, 3, 3)
    pair = _pair(sizes, True, 11)
    x, _, y = _states(sizes, 12, B=6)
    terms, grads = l2_step_grads(pair, x, y, np.random.default_rng(3), lam, normalise=normalise)
    replay = np.random.default_rng(3)
    hidden = pair.sample_hidden(x, replay)
    hidden_d, x_d = pair.sample_generator(y, replay)
    g, gw = wake_value_and_grad(pair, x, hidden, y)
    r, gs = sleep_value_and_grad(pair, x_d, hidden_d, y)
    l0, g0 = l0_value_and_grad(pair, x, y)
    s_g, s_r = (1.0, 1.0) if normalise == "none" else (1.0 / (6 + 4 + 3), 1.0 / (4 + 3 + 1))
    assert_allclose([terms["G"], terms["R"], terms["L0"]], [g, r, l0], rtol=1e-12)
    assert_allclose(terms["objective"], s_g * g + s_r * r + lam * l0, rtol=1e-12)
    for key in pair.params:
        assert_allclose(grads[key], s_g * gw[key] + s_r * gs[key] + lam * g0[key], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("tied", [True, False])
def test_l1_float32_grads_keep_dtype_and_full_structure(tied):
    """A float32 pair gets float32 gradients for every key of params (zeros for the prior), no upcast."""
    rng = np.random.default_rng(0)
    pair = CoupledPair((12, 6, 5, 4), tied=tied, rng=rng, init_scale=0.3)
    x = (rng.random((10, 12)) < 0.5).astype(np.float32)
    y = rng.integers(0, 4, 10)
    for _terms, grads in (l1_step_grads(pair, x, y, rng), l2_step_grads(pair, x, y, rng, 1.0, "units"),
                         l0_value_and_grad(pair, x, y)):
        assert sorted(grads) == sorted(pair.params)
        for key, g in grads.items():
            assert g.dtype == np.float32 and g.shape == pair.params[key].shape, key
        assert_array_equal(grads["prior"], 0.0)


def test_l1_extreme_weights_give_finite_gradients_without_warnings():
    """Weights of +-50 and biases of 1e4 give finite values and gradients (warnings are errors)."""
    pair = _pair((6, 4, 3, 3), True, 4, scale=50.0)
    pair.params["b1"] += 1e4
    pair.params["c0"] -= 1e4
    x, _, y = _states((6, 4, 3, 3), 5)
    for dtype in (np.float64, np.float32):
        p = CoupledPair.from_params({k: v.astype(dtype) for k, v in pair.params.items()}, pair.sizes, True)
        for terms, grads in (l1_step_grads(p, x, y, np.random.default_rng(0)),
                             l2_step_grads(p, x, y, np.random.default_rng(0), 1.0)):
            assert all(np.isfinite(v) for v in terms.values())
            assert all(np.all(np.isfinite(g)) for g in grads.values())


def _toy_data(rng, B):
    """Two classes of 8-pixel images: left half on (class 0) or right half on (class 1), 5% pixel flips."""
    y = rng.integers(0, 2, B)
    x = np.zeros((B, 8))
    x[y == 0, :4] = 1
    x[y == 1, 4:] = 1
    flip = rng.random(x.shape) < 0.05
    return np.abs(x - flip), y


@pytest.mark.parametrize("tied", [True, False])
def test_l1_a_few_hundred_steps_increase_the_objective(tied):
    """300 Adam ascent steps of L1 on a toy problem raise G + R (batch means, first vs last 30 steps)."""
    rng = np.random.default_rng(0)
    pair = CoupledPair((8, 6, 2), tied=tied, rng=rng, init_scale=0.1, dtype=np.float64)
    opt = Adam(0.05)
    history = []
    for _ in range(300):
        x, y = _toy_data(rng, 32)
        terms, grads = l1_step_grads(pair, x, y, rng)
        opt.step(pair.params, grads)
        history.append(terms["G"] + terms["R"])
    # at start G ~ -8 log 2 - 6 log 2 and R ~ -6 log 2 - log 2 ~ -14; a working rule gains several nats
    assert np.mean(history[-30:]) > np.mean(history[:30]) + 3.0
    # the learned generator's class means reproduce the two halves
    nu = pair.generate_mean([0, 1])
    assert nu[0, :4].mean() > 0.7 and nu[0, 4:].mean() < 0.3 and nu[1, 4:].mean() > 0.7


def test_l0_a_few_hundred_steps_increase_the_objective():
    """200 Adam ascent steps of L0 raise the mean log q~(y|x) to near 0 on a separable toy problem."""
    rng = np.random.default_rng(1)
    pair = CoupledPair((8, 6, 2), rng=rng, init_scale=0.1, dtype=np.float64)
    opt = Adam(0.05)
    history = []
    for _ in range(200):
        x, y = _toy_data(rng, 32)
        value, grads = l0_value_and_grad(pair, x, y)
        opt.step(pair.params, grads)
        history.append(value)
    assert np.mean(history[:10]) < -0.5 and np.mean(history[-20:]) > -0.1


def test_learning_functions_reject_bad_arguments():
    """Bad pair, rng, lam, normalise, labels and hidden lists raise errors naming the argument."""
    pair = _pair((5, 3, 2), True, 0)
    x, hidden, y = _states((5, 3, 2), 0, B=4)
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="pair"):
        l1_step_grads(object(), x, y, rng)
    with pytest.raises(TypeError, match="rng"):
        l1_step_grads(pair, x, y, 0)
    with pytest.raises(ValueError, match="lam"):
        l2_step_grads(pair, x, y, rng, -1.0)
    with pytest.raises(ValueError, match="normalise"):
        l2_step_grads(pair, x, y, rng, 1.0, normalise="pixels")
    with pytest.raises(ValueError, match=r"y must hold labels in \[0, 2\)"):
        l0_value_and_grad(pair, x, [0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"y must have shape \(4,\)"):
        l1_step_grads(pair, x, y[:3], rng)
    with pytest.raises(ValueError, match="x must be binary"):
        wake_value_and_grad(pair, x * 0.5, hidden, y)
    with pytest.raises(ValueError, match="x_dream must be binary"):
        sleep_value_and_grad(pair, x * 0.5, hidden, y)
    with pytest.raises(ValueError, match="hidden_dream must hold 1"):
        sleep_value_and_grad(pair, x, [], y)
    with pytest.raises(ValueError, match=r"hidden\[0\] must have shape"):
        wake_value_and_grad(pair, x, [np.zeros((4, 2))], y)


@pytest.mark.parametrize("sizes", SIZES[:2])
def test_l1u_untied_terms_update_separate_networks(sizes):
    """Untied: the wake term moves only V and c, the sleep term only W and b (two separate networks)."""
    pair = _pair(sizes, False, 9)
    x, hidden, y = _states(sizes, 10)
    _, gw = wake_value_and_grad(pair, x, hidden, y)
    _, gs = sleep_value_and_grad(pair, x, hidden, y)
    for key in pair.params:
        wake_only, sleep_only = key[0] in "Vc", key[0] in "Wb"
        assert (np.abs(gw[key]).max() > 0) == wake_only, key
        assert (np.abs(gs[key]).max() > 0) == sleep_only, key


@pytest.mark.parametrize("sizes", [(5, 3, 2), (6, 4, 3, 3)])
@pytest.mark.parametrize("tied", [True, False])
def test_rws_gradient_matches_central_differences_with_weights_held_fixed(sizes, tied):
    """Reweighted wake-sleep: the gradient equals central differences of sum_k w_k [log p + log q] / B + R.

    The samples are replayed from the same seed and the importance weights w_k are computed in the
    test from the SBN log-probabilities, then held fixed, as the method prescribes."""
    pair, K, B = _pair(sizes, tied, seed=11), 4, 3
    x, _, y = _states(sizes, seed=12, B=B)
    terms, grads = rws_step_grads(pair, x, y, np.random.default_rng(5), n_samples=K)
    replay = np.random.default_rng(5)
    xr, yr = np.repeat(x, K, axis=0), np.repeat(y, K)
    hidden = pair.sample_hidden(xr, replay)
    hidden_d, x_d = pair.sample_generator(y, replay)
    oh, ohr = one_hot(y, sizes[-1]), one_hot(yr, sizes[-1])

    def log_p(p):  # log p(x, h | y), generator SBN
        return p.generator.log_prob(ohr, list(reversed(hidden)) + [xr])

    def log_q_hy(p):  # log q(h, y | x), recogniser SBN
        return p.recogniser.log_prob(xr, hidden + [ohr])

    n = len(sizes) - 1
    top = hidden[-1] if hidden else xr
    log_q_y = categorical_log_prob(ohr, top @ pair.params[f"W{n}"].T + pair.params[f"b{n}"])
    log_w = (log_p(pair) - (log_q_hy(pair) - log_q_y)).reshape(B, K)
    w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    w = (w / w.sum(axis=1, keepdims=True)).reshape(-1)

    def objective(p):
        sleep = np.mean(p.recogniser.log_prob(x_d, hidden_d + [oh]))
        return float(np.sum(w * (log_p(p) + log_q_hy(p))) / B + sleep)

    _assert_grads_close(grads, _central_differences(objective, pair))
    assert_allclose(terms["G"], np.sum(w * log_p(pair)) / B, rtol=1e-12)
    bound = np.mean(np.log(np.mean(np.exp(log_w), axis=1)))
    assert_allclose(terms["bound"], bound, rtol=1e-10)


def test_rws_with_one_sample_is_wake_plus_wake_q_plus_sleep():
    """With K = 1 every weight is 1: G is the plain wake term at the recogniser's sample."""
    pair = _pair((5, 3, 2), True, seed=2)
    x, _, y = _states((5, 3, 2), seed=3)
    terms, _ = rws_step_grads(pair, x, y, np.random.default_rng(9), n_samples=1)
    hidden = pair.sample_hidden(x, np.random.default_rng(9))
    g, _ = wake_value_and_grad(pair, x, hidden, y)
    assert_allclose(terms["G"], g, rtol=1e-12)
    assert_allclose(terms["bound"], np.mean(pair.log_p(x, hidden, y) - (pair.log_q(x, hidden, y)
                    - categorical_log_prob(one_hot(y, 2), hidden[0] @ pair.params["W2"].T + pair.params["b2"]))),
                    rtol=1e-12)


@pytest.mark.parametrize("bad, error, message", [(0, ValueError, "n_samples must be an integer >= 1; got 0"),
                                                  (-1, ValueError, "n_samples must be an integer >= 1; got -1"),
                                                  (2.5, TypeError, "n_samples must be an integer; got float"),
                                                  (True, TypeError, "n_samples must be an integer; got bool")])
def test_rws_rejects_a_bad_number_of_samples(bad, error, message):
    """n_samples must be a positive integer; the message names it."""
    pair = _pair((5, 3, 2), True, seed=2)
    x, _, y = _states((5, 3, 2), seed=3)
    with pytest.raises(error, match=message):
        rws_step_grads(pair, x, y, np.random.default_rng(0), n_samples=bad)


@pytest.mark.parametrize("rule", ["L0", "L1", "L2", "RWS"])
def test_nan_parameter_is_reported_by_name_not_returned_as_a_nan_objective(rule):
    """A NaN put into a pair's weights makes every learning rule raise, naming the parameter."""
    rng = np.random.default_rng(0)
    pair = CoupledPair((6, 4, 3), rng=rng, dtype=np.float64)
    pair.params["W2"][1, 2] = np.nan
    x, y = rng.integers(0, 2, (5, 6)), rng.integers(0, 3, 5)
    call = {"L0": lambda: l0_value_and_grad(pair, x, y),
            "L1": lambda: l1_step_grads(pair, x, y, rng),
            "L2": lambda: l2_step_grads(pair, x, y, rng, lam=1.0),
            "RWS": lambda: rws_step_grads(pair, x, y, rng)}[rule]
    with pytest.raises(ValueError, match=r"the pair's params\['W2'\] must be finite; got an array containing NaN"):
        call()


def _softmax_rows(a):
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _unlabelled_wake_objective(x, hidden, w):
    """Sum over classes of w_y * log p(x, h | y), each term by the generator SBN's log_prob (M3)."""
    def f(pair):
        C = pair.sizes[-1]
        states = list(reversed(hidden)) + [x]
        return np.mean(sum(w[:, y] * pair.generator.log_prob(one_hot(np.full(len(x), y), C), states)
                           for y in range(C)))
    return f


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("tied", [True, False])
def test_s1_unlabelled_wake_gradient_matches_central_differences(sizes, tied):
    """S1: with the class weights held fixed, the gradient equals central differences of sum_y w_y log p(x, h | y)."""
    pair = _pair(sizes, tied, seed=21)
    x, hidden, _ = _states(sizes, seed=22)
    w = _softmax_rows(np.random.default_rng(23).standard_normal((len(x), sizes[-1])))
    f = _unlabelled_wake_objective(x, hidden, w)
    value, grads = wake_unlabelled_value_and_grad(pair, x, hidden, w)
    assert_allclose(value, f(pair), rtol=1e-12)
    _assert_grads_close(grads, _central_differences(f, pair))


def test_s1_one_hot_weights_give_the_labelled_wake_term():
    """S1 with w = onehot(y) is exactly the labelled generator term G (a second formula)."""
    sizes = (6, 4, 3, 3)
    pair = _pair(sizes, True, seed=24)
    x, hidden, y = _states(sizes, seed=25)
    v_s1, g_s1 = wake_unlabelled_value_and_grad(pair, x, hidden, one_hot(y, sizes[-1]))
    v_l1, g_l1 = wake_value_and_grad(pair, x, hidden, y)
    assert_allclose(v_s1, v_l1, rtol=1e-12)
    _assert_grads_close(g_s1, g_l1, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("normalise", ["none", "units"])
@pytest.mark.parametrize("w_l", [1.0, 0.3, 0.0])
def test_s2_gradient_matches_central_differences_with_samples_held_fixed(tied, normalise, w_l):
    """S2 = s_G (G_u + w_l G_l) + s_R R + lam L0: its gradient equals central differences of the objective
    written with the SBNs' log_prob at the replayed samples (class weights q(y | h^{n-1}) held fixed);
    G_l is the labelled images' wake term with their true classes, absent (and not drawn) at w_l = 0."""
    sizes, lam = (6, 4, 3, 3), 0.7
    pair = _pair(sizes, tied, seed=31)
    pair.params["prior"] = np.zeros(sizes[-1])  # a uniform p(y), so the dream labels are floor(C u)
    x_u, _, _ = _states(sizes, seed=32, B=6)
    x_l, _, y_l = _states(sizes, seed=33, B=3)
    terms, grads = semi_step_grads(pair, x_u, x_l, y_l, np.random.default_rng(34), lam=lam, normalise=normalise,
                                   labelled_weight=w_l)
    replay, C = np.random.default_rng(34), sizes[-1]
    hidden = pair.sample_hidden(x_u, replay)
    hidden_l = pair.sample_hidden(x_l, replay) if w_l > 0 else None
    y_dream = np.floor(replay.random(len(x_u)) * C).astype(int)  # the uniform prior p(y) at initialisation
    hidden_d, x_d = pair.sample_generator(y_dream, replay)
    w = _softmax_rows(hidden[-1] @ pair.params["W3"].T + pair.params["b3"])
    units = sum(sizes[:-1]), sum(sizes[1:-1]) + 1
    s_g, s_r = (1.0, 1.0) if normalise == "none" else (1.0 / units[0], 1.0 / units[1])
    wake, sleep = _unlabelled_wake_objective(x_u, hidden, w), _sleep_objective(x_d, hidden_d, y_dream)
    l0 = _l0_objective(x_l, y_l)
    wake_l = _wake_objective(x_l, hidden_l, y_l) if w_l > 0 else (lambda p: 0.0)

    def objective(p):
        return s_g * (wake(p) + w_l * wake_l(p)) + s_r * sleep(p) + lam * l0(p)

    assert_allclose(terms["objective"], objective(pair), rtol=1e-12)
    assert_allclose([terms["G"], terms["R"], terms["L0"]], [wake(pair), sleep(pair), l0(pair)], rtol=1e-12)
    assert ("G_l" in terms) == (w_l > 0)
    if w_l > 0:
        assert_allclose(terms["G_l"], wake_l(pair), rtol=1e-12)
    _assert_grads_close(grads, _central_differences(objective, pair))


def test_s2_rejects_bad_arguments_naming_them():
    """Unlabelled images of the wrong width, a negative lam and bad class weights are refused by name."""
    pair = _pair((6, 4, 3), True, seed=1)
    x, hidden, y = _states((6, 4, 3), seed=2)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"x_unlabelled must have shape \(6,\) or \(batch, 6\)"):
        semi_step_grads(pair, x[:, :5], x, y, rng, lam=1.0)
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        semi_step_grads(pair, x, x, y, rng, lam=-1.0)
    with pytest.raises(ValueError, match="labelled_weight must be a finite number >= 0"):
        semi_step_grads(pair, x, x, y, rng, lam=1.0, labelled_weight=-0.5)
    with pytest.raises(ValueError, match=r"class_weights must have shape \(5, 3\)"):
        wake_unlabelled_value_and_grad(pair, x, hidden, np.ones((5, 2)) / 2)
    with pytest.raises(ValueError, match="each row must sum to one"):
        wake_unlabelled_value_and_grad(pair, x, hidden, np.ones((5, 3)))


def test_rws_with_lam_adds_lambda_times_the_l0_gradient():
    """RWS2: the step with lam is the RWS step (same draws) plus lam times the L0 gradient, term by term."""
    pair = _pair((6, 4, 3, 3), True, seed=41)
    x, _, y = _states((6, 4, 3, 3), seed=42)
    terms, grads = rws_step_grads(pair, x, y, np.random.default_rng(7), n_samples=3, lam=2.5)
    base_terms, base = rws_step_grads(pair, x, y, np.random.default_rng(7), n_samples=3)
    l0, g0 = l0_value_and_grad(pair, x, y)
    assert terms["L0"] == l0 and all(terms[k] == base_terms[k] for k in base_terms)
    _assert_grads_close(grads, {k: base[k] + 2.5 * g0[k] for k in base}, rtol=1e-12, atol=1e-12)
