"""The boundary of the lesson: each entry point's checks run once, at the outermost call, and inner calls trust."""

import inspect
import threading

import numpy as np
import pytest

import refimpl
from refimpl._validation import boundary


def _counting_spec(seen):
    def spec(value, name, args):
        seen.append(name)
        if value < 0:
            raise ValueError(f"{name} must be >= 0; got {value}.")
        return float(value)
    return spec


def _pair_of_functions():
    seen = []

    @boundary(v=_counting_spec(seen))
    def inner(v):
        return v

    @boundary(u=_counting_spec(seen))
    def outer(u, inner_value):
        return inner(inner_value)

    return seen, inner, outer


def test_boundary_checks_the_outermost_call_and_hands_the_body_the_checked_value():
    seen, inner, _ = _pair_of_functions()
    value = inner(3)
    assert value == 3.0 and isinstance(value, float)
    with pytest.raises(ValueError, match="v must be >= 0; got -1"):
        inner(-1)
    assert seen == ["v", "v"]


def test_boundary_trusts_a_call_made_from_inside_a_checked_function():
    seen, inner, outer = _pair_of_functions()
    assert outer(1, -5) == -5  # the inner check does not run: the outer function vouches for its calls
    assert seen == ["u"]


def test_boundary_checks_again_after_a_checked_call_raised():
    seen, inner, outer = _pair_of_functions()

    @boundary(u=_counting_spec(seen))
    def failing(u):
        raise RuntimeError("the body failed")

    with pytest.raises(RuntimeError):
        failing(1)
    with pytest.raises(ValueError, match="v must be >= 0"):
        inner(-1)  # the trust ended with the call that raised


def test_boundary_does_not_pass_its_trust_to_another_thread():
    seen, inner, _ = _pair_of_functions()
    errors = []

    @boundary(u=_counting_spec(seen))
    def spawning(u):
        def run():
            try:
                inner(-1)
            except ValueError as exc:
                errors.append(str(exc))
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()

    spawning(1)
    assert errors == ["v must be >= 0; got -1."]


def test_boundary_library_entry_point_rejects_bad_input_but_a_step_checks_its_batch_only_once(monkeypatch):
    """A tied L1 step checks x and y at its boundary; the functions inside it do not check them again."""
    pair = refimpl.CoupledPair((6, 4, 3, 2), rng=np.random.default_rng(0))
    x = (np.random.default_rng(1).random((5, 6)) < 0.5).astype(np.float32)
    with pytest.raises(ValueError, match="x must be binary"):
        refimpl.l1_step_grads(pair, x + 0.5, np.zeros(5, int), np.random.default_rng(2))
    from refimpl import _validation

    calls = []
    original = _validation.as_batch
    monkeypatch.setattr(_validation, "as_batch", lambda *a, **k: calls.append(a[1]) or original(*a, **k))
    refimpl.l1_step_grads(pair, x, np.zeros(5, int), np.random.default_rng(2))
    assert calls == ["x"]  # before the boundary: x, then again in sample_hidden, wake, sleep and their hidden states


def _entry_points_taking_a_model():
    """(qualified name, function, argument) of every public lesson function whose first argument is a model."""
    out = []
    for module_name in ("consistency", "coupled", "evaluation", "exact", "forward", "learning", "montecarlo", "sbn"):
        module = getattr(refimpl, module_name)
        for name in module.__all__:
            fn = getattr(module, name)
            if inspect.isfunction(fn):
                first = next(iter(inspect.signature(fn).parameters), None)
                if first in ("net", "pair", "recogniser"):
                    out.append((f"{module_name}.{name}", fn, first))
    return out


@pytest.mark.parametrize("qualname, fn, argument", _entry_points_taking_a_model(),
                         ids=[q for q, _, _ in _entry_points_taking_a_model()])
def test_every_entry_point_rejects_a_model_of_the_wrong_type_by_name(qualname, fn, argument):
    """A string where a network or pair belongs raises TypeError naming the argument, not an AttributeError."""
    params = inspect.signature(fn).parameters
    args = ["not a model"] + [None] * sum(p.default is inspect.Parameter.empty for p in list(params.values())[1:])
    with pytest.raises(TypeError, match=rf"^{argument} must be a refimpl\."):
        fn(*args)


def _bad_calls():
    """(id, call, error, message) of inputs that once gave an obscure error or none: each now names its argument."""
    from refimpl import consistency, coupled, evaluation, forward, gradcheck, layers, learning, montecarlo, optim, sbn

    rng = np.random.default_rng(0)
    net = refimpl.SigmoidBeliefNet.random([4, 3, 2], rng)
    pair = refimpl.CoupledPair((4, 3, 2), rng=rng, dtype=np.float64)
    x, y, h = np.ones((2, 4)), np.array([0, 1]), [np.ones((2, 3))]
    adam = {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8}
    return [
        ("scale-str", lambda: learning.l0_value_and_grad(pair, x, y, "a"), TypeError, "scale must be a real number"),
        ("scale-nan", lambda: learning.wake_value_and_grad(pair, x, h, y, np.nan), ValueError,
         "scale must be a finite"),
        ("scale-rows", lambda: learning.sleep_value_and_grad(pair, x, h, y, np.ones(2)), ValueError,
         r"scale must have shape \(2, 1\) \(one per row of x_dream\)"),
        ("n_layers", lambda: net.sample(np.ones(4), None, rng, n_layers=5), ValueError,
         "n_layers must be a layer index"),
        ("batches", lambda: net.log_prob(x, [np.ones((3, 3))]), ValueError, "must broadcast together"),
        ("var-shape", lambda: forward.expected_sigmoid_logit(np.zeros(3), np.zeros(2), "probit"), ValueError,
         r"var and mean must broadcast together; got shapes \(2,\), \(3,\)\."),
        ("gen_biases", lambda: coupled.transposed_generator(net, 5), TypeError, "gen_biases must be a list"),
        ("Ks", lambda: evaluation.log_likelihood_curve(pair, x, rng, Ks=5), TypeError, "Ks must be a list"),
        ("one_hot-str", lambda: layers.one_hot(["a"], 2), TypeError, "y must be an array of integer class labels"),
        ("one_hot-bool", lambda: layers.one_hot(np.array([True]), 2), TypeError, "got dtype bool"),
        ("states-bool", lambda: sbn.binary_states(2, start=True), ValueError, "start and stop must be integers"),
        ("states-many", lambda: sbn.binary_states(40), ValueError, "at most 2\\*\\*MAX_LAYER_BITS"),
        ("table-empty", lambda: consistency.log_conditional_table(net, np.zeros((0, 4))), ValueError,
         "input_states must hold at least one state"),
        ("tables-empty", lambda: consistency.consistency_from_tables(np.zeros((0, 1, 2)), np.zeros((2, 0, 1))),
         ValueError, "log_q must be a non-empty 3-d table"),
        ("parents-empty", lambda: forward.marginals_from_parent_distribution(net, 2, np.ones((0, 3)), []),
         ValueError, "probs must sum to 1"),
        ("logits-k", lambda: net.logits(0, np.ones(4)), ValueError, "k must be a layer index in 1..2; got 0"),
        ("logits-width", lambda: net.logits(1, np.ones(5)), ValueError, r"x_prev must have shape \(\.\.\., 4\)"),
        ("layer-binary", lambda: net.layer_log_prob(1, np.full(3, 0.5), np.ones(4)), ValueError,
         "x_k must be binary"),
        ("sample-rng", lambda: layers.bernoulli_sample(np.zeros(2), None), TypeError, "rng must be a numpy"),
        ("eps", lambda: gradcheck.central_differences(lambda: 0.0, {"w": np.zeros(1)}, eps=0), ValueError,
         "eps must be a finite number > 0"),
        ("grads-shape", lambda: gradcheck.max_discrepancy({"w": np.zeros(2)}, {"w": np.zeros(3)}), ValueError,
         r"a\['w'\] and b\['w'\] must have the same shape"),
        ("grads-empty", lambda: gradcheck.max_discrepancy({}, {}), ValueError, "at least one"),
        ("adam-t", lambda: optim.Adam(0.1).load_state_dict(adam | {"t": -1}), ValueError, "t must be an integer >= 0"),
        ("adam-keys", lambda: optim.Adam(0.1).load_state_dict({"lr": 0.1, "t": 1}), ValueError,
         r"missing \['beta1', 'beta2', 'eps'\]"),
        ("flag", lambda: montecarlo.mc_marginals(net, np.ones(4), 10, rng, return_stderr="no"), TypeError,
         "return_stderr must be a bool"),
        ("all_layers", lambda: pair.recognise_mean(x, all_layers="no"), TypeError, "all_layers must be a bool"),
        ("probs", lambda: evaluation.test_error([[-5, 1]], [0]), ValueError, r"probs must hold values in \[0, 1\]"),
        ("gap-tables", lambda: consistency.gap_samples([22, 2], rng, 1), ValueError, "MAX_ENUMERATION_BITS"),
        ("numpy-output", lambda: refimpl.exact_marginals(refimpl.SigmoidBeliefNet.random((3, 21, 4), rng),
                                                         np.zeros(3), backend="numpy"),
         ValueError, r"2\*\*d_1 \* d_2 = 8,388,608 entries"),
        ("var-broadcast", lambda: forward.expected_sigmoid_logit(np.zeros((2, 3)), np.ones(2), "probit"),
         ValueError, r"var and mean must broadcast together; got shapes \(2,\), \(2, 3\)\."),
        ("one-hot-top", lambda: refimpl.SigmoidBeliefNet.random((3, 4, 3), rng, output="categorical")
         .layer_log_prob(2, [1, 0, 1], [1, 0, 1, 0]), ValueError, "x_k is the categorical output"),
        ("layer-batches", lambda: net.layer_log_prob(1, np.ones((2, 3)), np.ones((3, 4))), ValueError,
         "must broadcast together"),
        ("one-class", lambda: consistency.random_pair((3, 2, 1), rng, output="categorical"), ValueError,
         "needs at least 2 classes"),
    ]


@pytest.mark.parametrize("call, error, message", [c[1:] for c in _bad_calls()], ids=[c[0] for c in _bad_calls()])
def test_bad_inputs_get_an_error_naming_the_argument(call, error, message):
    """Each bad input raises the error type and message of its argument's check, before any arithmetic."""
    with pytest.raises(error, match=message):
        call()


def test_optimiser_state_of_another_model_is_refused_at_the_step():
    """Moments loaded for parameters of another shape are refused by name instead of broadcasting silently."""
    adam = refimpl.Adam(0.1)
    adam.load_state_dict({"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "t": 1, "m/w": np.zeros(1),
                                "v/w": np.zeros(1)})
    with pytest.raises(ValueError, match="the optimiser's state for 'w' has shape"):
        adam.step({"w": np.zeros(2)}, {"w": np.ones(2)})


def test_the_checks_let_valid_inputs_through():
    """Inputs the checks must accept: a wide last layer on the numpy backend, a var broadcasting against mean,
    a 0-d scale, one hidden state for a batch of one, a stale key refused by name at the optimiser's step."""
    rng = np.random.default_rng(1)
    net = refimpl.SigmoidBeliefNet.random((3, 12, 12), rng)
    a, b = (refimpl.exact_marginals(net, np.zeros(3), backend=be) for be in ("numpy", "numba"))
    assert max(float(np.max(np.abs(u - v))) for u, v in zip(a, b, strict=True)) < 1e-12
    eff = refimpl.expected_sigmoid_logit(np.zeros((2, 3)), 1.0, "probit")
    assert eff.shape == (2, 3)
    pair = refimpl.CoupledPair((4, 3, 2), rng=rng, dtype=np.float64)
    x, h = np.ones((1, 4)), [np.array([1.0, 0.0, 1.0])]
    v0, g0 = refimpl.wake_value_and_grad(pair, x, h, [0], scale=np.array(0.5))
    v1, g1 = refimpl.wake_value_and_grad(pair, x, [h[0][None, :]], [0], scale=0.5)
    assert v0 == v1 and all(np.array_equal(g0[k], g1[k]) for k in g0)
    adam = refimpl.Adam(0.1)
    adam.step({"w": np.zeros(2), "b": np.zeros(1)}, {"w": np.ones(2), "b": np.ones(1)})
    with pytest.raises(ValueError, match="a state for 'b', which params lacks"):
        adam.step({"w": np.zeros(2)}, {"w": np.ones(2)})

