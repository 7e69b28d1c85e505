r"""Exercises of tutorial 5, the experiment's measurements: the IS log-likelihood and cycle accuracy.

- 5.1 ``is_log_likelihood(pair, x, y, K, rng)``: the importance-sampled
  :math:`\log \frac1K \sum_k p(x, h_k \mid y) / q(h_k \mid x)`, :math:`h_k \sim q(h \mid x)`;
- 5.2 ``cycle_accuracy(pair, n_per_class, rng)``: the fraction of generated images that the
  recogniser's mean pass assigns to the class they were generated from.

Oracles, by enumeration of every hidden state and image of a tiny pair: the exact
:math:`p(x \mid y)` (the estimate's exponential is unbiased for it), the exact ELBO (the
estimate's mean at :math:`K = 1`), and the exact expected cycle accuracy. A student's
estimates are averaged and accepted within five standard errors.
"""

from __future__ import annotations

import numpy as np

from .oracles import (
    configurations,
    generator_log_p,
    mean_pass_log_softmax,
    random_pair,
    recogniser_log_q_hidden,
    states,
    theta_of,
    within_standard_errors,
)
from .registry import Check, CheckFailed, Exercise, as_array, require

NOTEBOOK = "ex05_experiment"
REPEATS = 1500  # independent estimates per image in 5.1
N_PER_CLASS = 2000  # generated images per class in 5.2


# ---------------------------------------------------------- 5.1 the IS log-likelihood
def _is_case():
    pair = random_pair((5, 3, 2, 3), 151, scale=1.0)
    x = np.array([[1, 0, 1, 1, 0], [0, 1, 1, 0, 0], [1, 1, 0, 0, 1]], dtype=np.float64)
    return pair, x, np.array([0, 2, 1])


def _exact_likelihood(pair, x, y):
    """p(x | y) and the ELBO E_q[log p(x, h | y) - log q(h | x)] per image, summing over every hidden state."""
    theta, n = theta_of(pair), pair.n_layers
    hidden = configurations(pair.sizes[1:-1])
    p, elbo = [], []
    for xb, yb in zip(x, y, strict=True):
        xr = np.repeat(xb[None], len(hidden[0]), axis=0)
        log_joint = generator_log_p(theta, n, xr, hidden, np.repeat(np.eye(pair.n_classes)[yb][None], len(xr), 0))
        log_q = recogniser_log_q_hidden(theta, n, xr, hidden)
        p.append(np.exp(log_joint).sum())
        elbo.append(np.exp(log_q) @ (log_joint - log_q))
    return np.array(p), np.array(elbo)


def _estimates(func, K: int, seed: int):
    pair, x, y = _is_case()
    out = func(pair, np.repeat(x, REPEATS, axis=0), np.repeat(y, REPEATS), K, np.random.default_rng(seed))
    est = as_array(out, f"is_log_likelihood for {len(x) * REPEATS} images", (len(x) * REPEATS,))
    return est.reshape(len(x), REPEATS).T, _exact_likelihood(pair, x, y)


def _is_shape(func):
    pair, x, y = _is_case()
    as_array(func(pair, x, y, 3, np.random.default_rng(152)), "is_log_likelihood for 3 images", (3,))


def _is_elbo(func):
    est, (_, elbo) = _estimates(func, 1, 153)
    within_standard_errors(est, elbo, "the estimate at K = 1 (its mean is the ELBO)")


def _is_unbiased(func):
    est, (p, _) = _estimates(func, 4, 154)
    within_standard_errors(np.exp(est), p, "exp of the estimate at K = 4 (an unbiased estimate of p(x | y))")


# --------------------------------------------------------------- 5.2 cycle accuracy
def _cycle_case():
    """A pair whose generator and recogniser roughly agree: class y turns hidden unit y on, which draws its own two
    pixels (random pairs classify nearly everything as one class, where no answer can be told from another)."""
    pair = random_pair((6, 3, 3), 161, scale=0.3)
    rng = np.random.default_rng(161)
    pair.params["W2"][...] = 2.5 * (2 * np.eye(3) - 1) + 0.3 * rng.standard_normal((3, 3))
    own = np.kron(np.eye(3), np.ones((1, 2)))  # hidden unit j owns pixels 2j and 2j + 1
    pair.params["W1"][...] = 2.0 * (2 * own - 1) + 0.3 * rng.standard_normal((3, 6))
    return pair


def _exact_cycle(pair) -> np.ndarray:
    """Per class, the probability that x ~ p(x | y) is classified as y by the mean pass, over every image."""
    theta, C = theta_of(pair), pair.n_classes
    *h, x = configurations(list(pair.sizes[1:-1]) + [pair.sizes[0]])
    pred = np.argmax(mean_pass_log_softmax(theta, pair.n_layers, states(pair.sizes[0])), axis=1)
    x_index = (x @ (2.0 ** np.arange(pair.sizes[0]))).astype(int)
    acc = []
    for y in range(C):
        p = np.exp(generator_log_p(theta, pair.n_layers, x, h, np.repeat(np.eye(C)[y][None], len(x), 0)))
        acc.append(p @ (pred[x_index] == y))
    return np.array(acc)


def _cycle_fraction(func):
    value = as_array(func(_cycle_case(), 10, np.random.default_rng(162)), "cycle_accuracy", ())
    require(0.0 <= value <= 1.0, f"cycle_accuracy returned {float(value):.3g}, not a fraction in [0, 1]")


def _cycle_expectation(func):
    pair = _cycle_case()
    value = float(as_array(func(pair, N_PER_CLASS, np.random.default_rng(163)), "cycle_accuracy", ()))
    per_class = _exact_cycle(pair)
    exact = float(per_class.mean())
    se = float(np.sqrt(np.sum(per_class * (1 - per_class)) / N_PER_CLASS) / len(per_class))
    if abs(value - exact) > 5 * se:
        raise CheckFailed(f"the cycle accuracy over {N_PER_CLASS} images per class is "
                          f"{abs(value - exact) / se:.1f} standard errors from the exact expectation (at most 5)")


EXERCISES = [
    Exercise(
        id="5.1", notebook=NOTEBOOK, function="is_log_likelihood", label="IS log-likelihood",
        title="the importance-sampled log-likelihood",
        hint="IS log-likelihood: implement log mean_k p(x, h_k | y) / q(h_k | x), h_k ~ q(h | x)",
        checks=(
            Check("Check that is_log_likelihood returns one finite number per image", 1, _is_shape),
            Check(f"Check that at K = 1 the estimates average to the exact ELBO ({REPEATS} runs; enumeration; "
                  "5 standard errors)", 1, _is_elbo),
            Check(f"Check that at K = 4 the exponential of the estimate averages to the exact p(x | y) "
                  f"({REPEATS} runs; enumeration; 5 standard errors)", 2, _is_unbiased),
        ),
        forbidden=("importance_log_likelihood", "log_likelihood_curve"),
    ),
    Exercise(
        id="5.2", notebook=NOTEBOOK, function="cycle_accuracy", label="cycle accuracy",
        title="cycle accuracy",
        hint="cycle accuracy: implement the fraction of generated images recognised as their class",
        checks=(
            Check("Check that cycle_accuracy returns a fraction in [0, 1]", 1, _cycle_fraction),
            Check(f"Check that cycle_accuracy over {N_PER_CLASS} images per class is within 5 standard errors "
                  "of the exact expectation (enumeration of every generated image)", 2, _cycle_expectation),
        ),
        forbidden=("cycle_accuracy",),
    ),
]
