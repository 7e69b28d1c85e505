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
