"""Tests for refimpl.optim: SGD with momentum and Adam, both for gradient ASCENT."""

from __future__ import annotations

import io

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from refimpl.optim import SGD, Adam


def _problem(seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = {"W": rng.standard_normal((3, 2)).astype(dtype), "b": rng.standard_normal(3).astype(dtype)}
    grads = [{k: rng.standard_normal(v.shape).astype(dtype) for k, v in params.items()} for _ in range(4)]
    return params, grads


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("seed", [0, 1])
def test_sgd_momentum_matches_update_equations(momentum, seed):
    """Four SGD steps equal m <- beta m + g, theta <- theta + lr m, computed by hand (ascent)."""
    params, grads = _problem(seed)
    want = {k: v.copy() for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in params.items()}
    opt = SGD(lr=0.1, momentum=momentum)
    for g in grads:
        opt.step(params, g)
        for k, w in want.items():
            m[k] = momentum * m[k] + g[k]
            want[k] = w + 0.1 * m[k]
    for k, w in want.items():
        assert_allclose(params[k], w, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("seed", [0, 1])
def test_adam_matches_update_equations_with_bias_correction(seed):
    """Four Adam steps equal the bias-corrected update written out by hand (ascent)."""
    params, grads = _problem(seed)
    want = {k: v.copy() for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    lr, b1, b2, eps = 0.01, 0.8, 0.99, 1e-7
    opt = Adam(lr, beta1=b1, beta2=b2, eps=eps)
    for t, g in enumerate(grads, start=1):
        opt.step(params, g)
        for k, w in want.items():
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
            m_hat, v_hat = m[k] / (1 - b1**t), v[k] / (1 - b2**t)
            want[k] = w + lr * m_hat / (np.sqrt(v_hat) + eps)
    for k, w in want.items():
        assert_allclose(params[k], w, rtol=1e-12, atol=1e-14)


def test_adam_first_step_has_length_lr_in_the_gradient_direction():
    """The first Adam step moves each parameter by lr * sign(g) (up to eps): ascent, not descent."""
    params = {"w": np.zeros(3)}
    Adam(0.1).step(params, {"w": np.array([2.0, -0.5, 1e-3])})
    assert_allclose(params["w"], [0.1, -0.1, 0.1], rtol=1e-4)


@pytest.mark.parametrize("make", [lambda: SGD(0.05, momentum=0.7), lambda: Adam(0.02)])
def test_state_dict_round_trip_continues_identically(make):
    """After 2 steps, an optimiser restored from an npz-saved state_dict continues exactly as the original."""
    params, grads = _problem(3, np.float32)
    opt = make()
    for g in grads[:2]:
        opt.step(params, g)
    state = opt.state_dict()
    assert all(isinstance(v, (int, float, np.ndarray)) for v in state.values())
    buf = io.BytesIO()
    np.savez(buf, **state)
    buf.seek(0)
    loaded = dict(np.load(buf))
    clone, clone_params = make(), {k: v.copy() for k, v in params.items()}
    clone.load_state_dict(loaded)
    for g in grads[2:]:
        opt.step(params, g)
        clone.step(clone_params, g)
    for k in params:
        assert_array_equal(clone_params[k], params[k])
        assert params[k].dtype == np.float32


def test_step_updates_in_place_and_leaves_grads_alone():
    """step modifies the very arrays in params (a pair sees it) and never the gradients."""
    params, grads = _problem(4)
    arrays = {k: v for k, v in params.items()}
    g_copy = {k: v.copy() for k, v in grads[0].items()}
    for opt in (SGD(0.1), Adam(0.1)):
        opt.step(params, grads[0])
    for k in params:
        assert params[k] is arrays[k]
        assert_array_equal(grads[0][k], g_copy[k])


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: SGD(0.0), "lr"),
        (lambda: SGD(-1.0), "lr"),
        (lambda: SGD(0.1, momentum=1.0), "momentum"),
        (lambda: Adam(float("nan")), "lr"),
        (lambda: Adam(0.1, beta1=1.0), "beta1"),
        (lambda: Adam(0.1, beta2=-0.1), "beta2"),
        (lambda: Adam(0.1, eps=0.0), "eps"),
    ],
)
def test_optimisers_reject_bad_hyperparameters(make, match):
    """Hyper-parameters out of range raise ValueError naming them."""
    with pytest.raises(ValueError, match=match):
        make()


def test_step_rejects_mismatched_grads():
    """Missing keys, wrong shapes and non-finite gradients raise ValueError naming grads."""
    params, grads = _problem(5)
    opt = Adam(0.1)
    with pytest.raises(ValueError, match="grads must have exactly the keys"):
        opt.step(params, {"W": grads[0]["W"]})
    with pytest.raises(ValueError, match=r"grads\['b'\] must have shape"):
        opt.step(params, dict(grads[0], b=np.zeros(2)))
    with pytest.raises(ValueError, match=r"grads\['W'\] must be finite"):
        opt.step(params, dict(grads[0], W=np.full((3, 2), np.inf)))


@pytest.mark.parametrize(
    "make",
    [lambda: SGD(0.1), lambda: SGD(0.1, momentum=0.0), lambda: Adam(0.1)],
    ids=["sgd-momentum", "sgd-plain", "adam"],
)
@pytest.mark.parametrize(
    "value, got",
    [(np.zeros(2, np.int64), "int64"), (np.zeros(2, np.float16), "float16"),
     (np.zeros(2, bool), "bool"), ([0.0, 0.0], "list")],
    ids=["int64", "float16", "bool", "list"],
)
def test_step_rejects_parameters_it_cannot_update_in_place(make, value, got):
    """Non-float (or float16, or non-array) parameters raise TypeError naming the key; nothing moves."""
    opt = make()
    params = {"b": np.zeros(3), "w": value}
    grads = {"b": np.ones(3), "w": np.ones(2)}
    pattern = rf"^params\['w'\] must be a float array \(float32 or float64\) to be updated in place; got {got}\.$"
    with pytest.raises(TypeError, match=pattern):
        opt.step(params, grads)
    assert_array_equal(params["b"], np.zeros(3))
    assert opt.t == 0
