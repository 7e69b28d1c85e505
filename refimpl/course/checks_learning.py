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
    random_sizes,
    recogniser_log_q,
    recogniser_log_q_hidden,
    theta_of,
    within_standard_errors,
)
from .registry import Call, Check, CheckFailed, Exercise, compare, require

NOTEBOOK = "ex04_learning"
GRAD_FORBIDDEN = ("l1_step_grads", "l2_step_grads", "rws_step_grads", "semi_step_grads",
                  "wake_unlabelled_value_and_grad", "central_differences", "max_discrepancy")
N_STEPS = 1000  # stochastic steps averaged in 4.3
Z = 5.0  # standard errors a Monte Carlo average may be off


def _case(rng, sizes, batch: int = 4):
    """A random float64 pair, binary images, labels and hidden states of the recogniser's layers."""
    pair = random_pair(sizes, rng, scale=0.8, prior_scale=1.0)
    x = rng.integers(0, 2, (batch, sizes[0])).astype(np.float64)
    hidden = [rng.integers(0, 2, (batch, d)).astype(np.float64) for d in sizes[1:-1]]
    return pair, x, hidden, rng.integers(0, sizes[-1], batch)


def _sizes(rng, square: bool):
    """A pair of two to four layers: rectangular, or square (where a missing transpose keeps the shapes)."""
    if square:
        return (int(rng.integers(3, 5)),) * (int(rng.choice([3, 4])) + 1)
    sizes = random_sizes(rng, widths=(2, 5))
    while len(set(sizes)) < 3:
        sizes = random_sizes(rng, widths=(2, 5))
    return sizes


def _name(pair) -> str:
    return "-".join(map(str, pair.sizes))


def _against_differences(got, pair, expected, what: str):
    got = gradient_dict(got, pair, what)
    for key in pair.params:
        compare(got[key], expected[key], f"{what}, entry {key!r}", atol=1e-6, rtol=1e-5)


def _differences(pair, objective):
    theta = theta_of(pair)
    return central_differences(lambda: objective(theta), theta)


# ------------------------------------------------------------------ 4.1 wake (L1)
def _wake(rng, square):
    pair, x, hidden, y = _case(rng, _sizes(rng, square))
    n, onehot = pair.n_layers, np.eye(pair.n_classes)[y]
    expected = _differences(pair, lambda th: float(np.mean(generator_log_p(th, n, x, hidden, onehot))))
    _against_differences((yield Call((pair, x, hidden, y))), pair, expected,
                         f"the wake gradient on the {_name(pair)} pair")


def _shapes(rng, what):
    pair, x, hidden, y = _case(rng, _sizes(rng, False))
    gradient_dict((yield Call((pair, x, hidden, y))), pair, what)


# ----------------------------------------------------------------- 4.2 sleep (L1)
def _sleep(rng, square):
    pair, x, hidden, y = _case(rng, _sizes(rng, square))
    n = pair.n_layers
    expected = _differences(pair, lambda th: float(np.mean(recogniser_log_q(th, n, x, hidden, y))))
    _against_differences((yield Call((pair, x, hidden, y))), pair, expected,
                         f"the sleep gradient on the {_name(pair)} pair")


# ------------------------------------------------------ 4.3 the tied step (L1)
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


def _step_case(rng, batch: int = 5):
    """A tied pair of two or three layers with a prior far from uniform, and labels far from it and from any one class.

    The labels are the classes by rising prior probability, in shares 2 : 2 : 1 (shuffled): dreams drawn
    from the prior, or for one label repeated, or for any other labels than the batch's, change the
    expected sleep gradient by a large part of its size.
    """
    sizes = random_sizes(rng, depths=(2, 3), widths=(2, 3), top=3)
    pair = random_pair(sizes, rng, scale=1.2, prior_scale=1.5)
    x = rng.integers(0, 2, (batch, sizes[0])).astype(np.float64)
    rising = np.argsort(pair.params["prior"])
    y = rng.permutation(rising[np.arange(batch) * pair.n_classes // batch])
    return pair, x, y


def _step_shapes_and_rng(rng):
    pair, x, y = _step_case(rng, batch=40)
    seed = int(rng.integers(2**32))
    first = gradient_dict((yield Call((pair, x, y, np.random.default_rng(seed)))), pair, "l1_tied_grads")
    again = gradient_dict((yield Call((pair, x, y, np.random.default_rng(seed)))), pair, "l1_tied_grads")
    other = gradient_dict((yield Call((pair, x, y, np.random.default_rng(seed + 1)))), pair, "l1_tied_grads")
    require(all(np.array_equal(first[k], again[k]) for k in first),
            "two calls with generators of the same seed gave different gradients: draw every random number from "
            "the rng argument")
    require(any(not np.array_equal(first[k], other[k]) for k in first),
            "calls with generators of different seeds gave the same gradient: the samples must come from the rng "
            "argument")


def _step_expectation(rng, prefixes):
    pair, x, y = _step_case(rng)
    expected = _expected_step(pair, x, y)
    base = int(rng.integers(2**32))
    samples = {key: [] for key in pair.params}
    for i in range(N_STEPS):
        grads = gradient_dict((yield Call((pair, x, y, np.random.default_rng([base, i])))), pair,
                              "the step's gradient")
        for key in samples:
            samples[key].append(grads[key])
    for key in samples:
        if key[0] in prefixes:
            within_standard_errors(np.array(samples[key]), expected[key], f"the gradient for {key!r}", z=Z)


# ------------------------------------------------------------------ 4.4 L0 backward
def _l0(rng, square):
    pair, x, _, y = _case(rng, _sizes(rng, square), batch=5)
    n = pair.n_layers
    expected = _differences(pair, lambda th: float(np.mean(mean_pass_log_softmax(th, n, x)[np.arange(len(y)), y])))
    _against_differences((yield Call((pair, x, y))), pair, expected, f"the L0 gradient on the {_name(pair)} pair")


def _no_generator_part(rng):
    pair, x, _, y = _case(rng, _sizes(rng, False))
    grads = gradient_dict((yield Call((pair, x, y))), pair, "l0_grads")
    nonzero = [key for key in grads if key[0] == "c" and np.any(grads[key] != 0)]
    if nonzero:
        raise CheckFailed(f"L0 depends on the recogniser only, but the gradient for {nonzero} is not zero")


EXERCISES = [
    Exercise(
        id="4.1", notebook=NOTEBOOK, function="wake_grads", label="L1", title="the wake gradient",
        hint="L1: implement the gradient of the wake term G = mean log p(x, h | y), fixed states",
        checks=(
            Check("Check that wake_grads returns gradients shaped like the pair's parameters", 1,
                  lambda rng: _shapes(rng, "wake_grads")),
            Check("Check that the wake gradient matches central differences of log p(x, h | y) (L1), "
                  "rectangular pair of two to four layers", 1, lambda rng: _wake(rng, False)),
            Check("Check that the wake gradient matches central differences on a square pair, where a missing "
                  "transpose keeps the shapes", 1, lambda rng: _wake(rng, True)),
        ),
        forbidden=("wake_value_and_grad",) + GRAD_FORBIDDEN,
    ),
    Exercise(
        id="4.2", notebook=NOTEBOOK, function="sleep_grads", label="L1", title="the sleep gradient",
        hint="L1: implement the gradient of the sleep term R = mean log q(h, y | x), fixed states",
        checks=(
            Check("Check that sleep_grads returns gradients shaped like the pair's parameters", 1,
                  lambda rng: _shapes(rng, "sleep_grads")),
            Check("Check that the sleep gradient matches central differences of log q(h, y | x) (L1), "
                  "rectangular pair of two to four layers", 1, lambda rng: _sleep(rng, False)),
            Check("Check that the sleep gradient matches central differences on a square pair", 1,
                  lambda rng: _sleep(rng, True)),
        ),
        forbidden=("sleep_value_and_grad",) + GRAD_FORBIDDEN,
    ),
    Exercise(
        id="4.3", notebook=NOTEBOOK, function="l1_tied_grads", label="L1", title="one wake-sleep step, tied",
        hint="L1: implement one wake-sleep step of the tied pair, the two roles of W^k summed",
        checks=(
            Check("Check that l1_tied_grads returns gradients shaped like the pair's parameters, drawn from its rng: "
                  "the same seed gives the same gradient, another seed another", 1, _step_shapes_and_rng),
            Check(f"Check that, averaged over {N_STEPS} steps, the gradient of each shared W^k matches the exact "
                  "expected wake plus sleep gradient (enumeration; 5 standard errors)", 2,
                  lambda rng: _step_expectation(rng, "W")),
            Check(f"Check that, averaged over {N_STEPS} steps, the gradients of the biases b and c match their exact "
                  "expectations (enumeration; 5 standard errors)", 1, lambda rng: _step_expectation(rng, "bc")),
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
                  "rectangular pair of two to four layers", 1, lambda rng: _l0(rng, False)),
            Check("Check that the L0 gradient matches central differences on a square pair, where a missing "
                  "transpose keeps the shapes", 1, lambda rng: _l0(rng, True)),
        ),
        forbidden=("l0_value_and_grad",) + GRAD_FORBIDDEN,
    ),
]
