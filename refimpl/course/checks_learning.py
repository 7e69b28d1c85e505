r"""Exercises of tutorial 4, learning the coupled pair: the L1 gradients and the L0 backward pass.

- 4.1 ``wake_grads(pair, x, hidden, y)``: gradient of the wake term G at fixed states (L1);
- 4.2 ``sleep_grads(pair, x_dream, hidden_dream, y)``: gradient of the sleep term R at fixed states (L1);
- 4.3 ``l1_tied_grads(pair, x, y, rng)``: one stochastic wake-sleep step of a tied pair, both roles
  of each shared :math:`W^k` summed (L1);
- 4.4 ``l0_grads(pair, x, y)``: the backward pass of the discriminative objective (L0).

Oracles: central finite differences of the log-probabilities written out in
:mod:`refimpl.course.oracles`; for the stochastic step, the exact expected gradient
(every hidden state and every dream enumerated, the sampling probabilities held fixed)
against the average of many steps, within five standard errors.
"""

from __future__ import annotations

import numpy as np

from .oracles import (
    central_differences,
    configurations,
    generator_log_p,
    gradient_dict,
    mean_pass_log_softmax,
    random_pair,
    recogniser_log_q,
    recogniser_log_q_hidden,
    theta_of,
    within_standard_errors,
)
from .registry import Check, CheckFailed, Exercise, compare, require

NOTEBOOK = "ex04_learning"
GRAD_FORBIDDEN = ("l1_step_grads", "l2_step_grads", "rws_step_grads", "central_differences", "max_discrepancy")
N_STEPS = 1000  # stochastic steps averaged in 4.3


def _case(seed: int, sizes, batch: int = 4):
    """A random float64 pair, binary images, labels and hidden states of the recogniser's layers."""
    pair = random_pair(sizes, seed, scale=0.8)
    rng = np.random.default_rng(seed + 1)
    x = rng.integers(0, 2, (batch, sizes[0])).astype(np.float64)
    hidden = [rng.integers(0, 2, (batch, d)).astype(np.float64) for d in sizes[1:-1]]
    return pair, x, hidden, rng.integers(0, sizes[-1], batch)


def _against_differences(got, pair, objective, what: str):
    theta = theta_of(pair)
    expected = central_differences(lambda: objective(theta), theta)
    got = gradient_dict(got, pair, what)
    for key in pair.params:
        compare(got[key], expected[key], f"{what}, entry {key!r}", atol=1e-6, rtol=1e-5)


def _shapes(func, make_args, what):
    pair, *args = make_args()
    gradient_dict(func(pair, *args), pair, what)


CASES = [(131, (6, 4, 3, 2)), (132, (4, 4, 4, 4))]  # rectangular, and square (a missing transpose keeps the shapes)


# ------------------------------------------------------------------ 4.1 wake (L1)
def _wake(func, case_index):
    seed, sizes = CASES[case_index]
    pair, x, hidden, y = _case(seed, sizes)
    n, onehot = len(sizes) - 1, np.eye(sizes[-1])[y]
    _against_differences(func(pair, x, [h.copy() for h in hidden], y), pair,
                         lambda th: float(np.mean(generator_log_p(th, n, x, hidden, onehot))),
                         f"the wake gradient on the {'-'.join(map(str, sizes))} pair")


# ----------------------------------------------------------------- 4.2 sleep (L1)
def _sleep(func, case_index):
    seed, sizes = CASES[case_index]
    pair, x, hidden, y = _case(seed + 5, sizes)
    n = len(sizes) - 1
    _against_differences(func(pair, x, [h.copy() for h in hidden], y), pair,
                         lambda th: float(np.mean(recogniser_log_q(th, n, x, hidden, y))),
                         f"the sleep gradient on the {'-'.join(map(str, sizes))} pair")


# ------------------------------------------------------ 4.3 the tied step (L1)
_STEP_CACHE: dict = {}


def _expected_step(pair, x, y) -> dict:
    r"""E over h ~ q(h|x) of grad G plus E over (h', x') ~ p(h', x'|y) of grad R, by enumeration.

    The expectation of a gradient with the sampling distribution held fixed is the gradient of the
    expected log-probability with the weights frozen at the current parameters.
    """
    sizes, n = pair.sizes, pair.n_layers
    theta0 = theta_of(pair)
    wake_h = configurations(sizes[1:-1])
    dream = configurations(list(sizes[1:-1]) + [sizes[0]])
    dream_h, dream_x = dream[:-1], dream[-1]
    C, B = sizes[-1], len(y)
    wake_terms, sleep_terms = [], []
    for xb, yb in zip(x, y, strict=True):
        xr = np.repeat(xb[None], len(wake_h[0]), axis=0)
        yr = np.repeat(np.eye(C)[yb][None], len(xr), axis=0)
        q = np.exp(recogniser_log_q_hidden(theta0, n, xr, wake_h))
        wake_terms.append((q, xr, yr))
        yd = np.repeat(np.eye(C)[yb][None], len(dream_x), axis=0)
        p = np.exp(generator_log_p(theta0, n, dream_x, dream_h, yd))
        sleep_terms.append((p, np.full(len(dream_x), yb)))

    def objective(th):
        total = 0.0
        for q, xr, yr in wake_terms:
            total += q @ generator_log_p(th, n, xr, wake_h, yr)
        for p, yl in sleep_terms:
            total += p @ recogniser_log_q(th, n, dream_x, dream_h, yl)
        return total / B

    theta = theta_of(pair)
    return central_differences(lambda: objective(theta), theta)


def _step_samples(func):
    """N_STEPS gradients of the student's step on one tied pair (cached for the exercise's checks)."""
    if _STEP_CACHE.get("func") is func:
        return _STEP_CACHE["result"]
    pair = random_pair((4, 3, 2), 141, scale=1.2)
    x = np.array([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0])
    before = theta_of(pair)
    samples = {key: [] for key in pair.params}
    for i in range(N_STEPS):
        grads = gradient_dict(func(pair, x.copy(), y.copy(), np.random.default_rng([142, i])), pair,
                              "the step's gradient")
        for key in samples:
            samples[key].append(grads[key])
    changed = [key for key in pair.params if not np.array_equal(pair.params[key], before[key])]
    require(not changed, f"l1_tied_grads changed the pair's parameters {changed}; it should only return gradients")
    result = ({key: np.array(v) for key, v in samples.items()}, _expected_step(pair, x, y))
    _STEP_CACHE.update(func=func, result=result)
    return result


def _step_shapes(func):
    pair = random_pair((4, 3, 2), 143, scale=1.2)
    x, y = np.array([[1, 0, 1, 1], [0, 1, 1, 0]], dtype=np.float64), np.array([0, 1])
    gradient_dict(func(pair, x, y, np.random.default_rng(144)), pair, "l1_tied_grads")


def _step_expectation(func, prefixes):
    samples, expected = _step_samples(func)
    for key in samples:
        if key[0] in prefixes:
            within_standard_errors(samples[key], expected[key], f"the gradient for {key!r}")


# ------------------------------------------------------------------ 4.4 L0 backward
def _l0(func, case_index):
    seed, sizes = CASES[case_index]
    pair, x, _, y = _case(seed + 7, sizes, batch=5)
    n = len(sizes) - 1
    _against_differences(func(pair, x.copy(), y.copy()), pair,
                         lambda th: float(np.mean(mean_pass_log_softmax(th, n, x)[np.arange(len(y)), y])),
                         f"the L0 gradient on the {'-'.join(map(str, sizes))} pair")


def _no_generator_part(func):
    pair, x, _, y = _case(133, (6, 4, 3, 2))
    grads = gradient_dict(func(pair, x, y), pair, "l0_grads")
    nonzero = [key for key in grads if key[0] == "c" and np.any(grads[key] != 0)]
    if nonzero:
        raise CheckFailed(f"L0 depends on the recogniser only, but the gradient for {nonzero} is not zero")


EXERCISES = [
    Exercise(
        id="4.1", notebook=NOTEBOOK, function="wake_grads", label="L1", title="the wake gradient",
        hint="L1: implement the gradient of the wake term G = mean log p(x, h | y), fixed states",
        checks=(
            Check("Check that wake_grads returns gradients shaped like the pair's parameters", 1,
                  lambda func: _shapes(func, lambda: _case(*CASES[0]), "wake_grads")),
            Check("Check that the wake gradient matches central differences of log p(x, h | y) (L1), "
                  "rectangular pair", 1, lambda func: _wake(func, 0)),
            Check("Check that the wake gradient matches central differences on a square pair, where a missing "
                  "transpose keeps the shapes", 1, lambda func: _wake(func, 1)),
        ),
        forbidden=("wake_value_and_grad",) + GRAD_FORBIDDEN,
    ),
    Exercise(
        id="4.2", notebook=NOTEBOOK, function="sleep_grads", label="L1", title="the sleep gradient",
        hint="L1: implement the gradient of the sleep term R = mean log q(h, y | x), fixed states",
        checks=(
            Check("Check that sleep_grads returns gradients shaped like the pair's parameters", 1,
                  lambda func: _shapes(func, lambda: _case(*CASES[0]), "sleep_grads")),
            Check("Check that the sleep gradient matches central differences of log q(h, y | x) (L1), "
                  "rectangular pair", 1, lambda func: _sleep(func, 0)),
            Check("Check that the sleep gradient matches central differences on a square pair", 1,
                  lambda func: _sleep(func, 1)),
        ),
        forbidden=("sleep_value_and_grad",) + GRAD_FORBIDDEN,
    ),
    Exercise(
        id="4.3", notebook=NOTEBOOK, function="l1_tied_grads", label="L1", title="one wake-sleep step, tied",
        hint="L1: implement one wake-sleep step of the tied pair, the two roles of W^k summed",
        checks=(
            Check("Check that l1_tied_grads returns gradients shaped like the pair's parameters", 1, _step_shapes),
            Check(f"Check that, averaged over {N_STEPS} steps, the gradient of each shared W^k matches the exact "
                  "expected wake plus sleep gradient (enumeration; 5 standard errors)", 2,
                  lambda func: _step_expectation(func, "W")),
            Check(f"Check that, averaged over {N_STEPS} steps, the gradients of the biases b and c match their exact "
                  "expectations (enumeration; 5 standard errors)", 1, lambda func: _step_expectation(func, "bc")),
        ),
        forbidden=GRAD_FORBIDDEN,
    ),
    Exercise(
        id="4.4", notebook=NOTEBOOK, function="l0_grads", label="L0", title="the L0 backward pass",
        hint="L0: implement backpropagation through the mean pass for mean log q~(y | x)",
        checks=(
            Check("Check that l0_grads returns gradients shaped like the pair's parameters, zero for the generator",
                  1, _no_generator_part),
            Check("Check that the L0 gradient matches central differences of the mean pass's log q~(y | x), "
                  "rectangular pair", 1, lambda func: _l0(func, 0)),
            Check("Check that the L0 gradient matches central differences on a square pair, where a missing "
                  "transpose keeps the shapes", 1, lambda func: _l0(func, 1)),
        ),
        forbidden=("l0_value_and_grad",) + GRAD_FORBIDDEN,
    ),
]
