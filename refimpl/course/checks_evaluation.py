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

from math import comb

import numpy as np

from .oracles import (
    configurations,
    generator_log_p,
    mean_pass_log_softmax,
    random_pair,
    random_sizes,
    recogniser_log_q_hidden,
    states,
    theta_of,
    within_standard_errors,
)
from .registry import Call, Check, CheckFailed, Exercise, as_array, require

NOTEBOOK = "ex05_experiment"
REPEATS = 1500  # independent estimates per image in 5.1
N_PER_CLASS = 2000  # generated images per class in 5.2's large run
SMALL_RUNS, SMALL_N = 400, 4  # 5.2's small runs: how many, and images per class in each
Z = 5.0  # standard errors a Monte Carlo average may be off


# ---------------------------------------------------------- 5.1 the IS log-likelihood
def _log_weights(pair, x, y) -> np.ndarray:
    """log p(x, h | y) - log q(h | x) for every hidden state h (columns) of every image (rows), and log q."""
    theta, n = theta_of(pair), pair.n_layers
    hidden = configurations(pair.sizes[1:-1])
    log_w, log_q = [], []
    for xb, yb in zip(x, y, strict=True):
        xr = np.repeat(xb[None], len(hidden[0]), axis=0)
        joint = generator_log_p(theta, n, xr, hidden, np.repeat(np.eye(pair.n_classes)[yb][None], len(xr), 0))
        lq = recogniser_log_q_hidden(theta, n, xr, hidden)
        log_w.append(joint - lq)
        log_q.append(lq)
    return np.array(log_w), np.array(log_q)


def _exact_estimates(pair, x, y, K: int):
    """Per image: p(x | y), and the exact mean of the K-sample estimate, E log mean_k w(h_k), by enumeration."""
    log_w, log_q = _log_weights(pair, x, y)
    p = np.sum(np.exp(log_w + log_q), axis=1)
    means = []
    for lw, lq in zip(log_w, log_q, strict=True):
        grids = np.meshgrid(*([np.arange(len(lw))] * K), indexing="ij")  # every K-tuple of hidden states
        log_prob = sum(lq[g] for g in grids)
        value = np.logaddexp.reduce(np.stack([lw[g] for g in grids]), axis=0) - np.log(K)
        means.append(float(np.sum(np.exp(log_prob) * value)))
    return p, np.array(means)


def _is_case(rng):
    """A pair with two or three hidden bits per layer (at most five in all) and three images of clearly different
    p(x | y), with their labels."""
    sizes = random_sizes(rng, depths=(2, 3), widths=(2, 3), top=3)
    while sum(sizes[1:-1]) > 5:
        sizes = random_sizes(rng, depths=(2, 3), widths=(2, 3), top=3)
    sizes = (int(rng.integers(4, 7)),) + sizes[1:]
    pair = random_pair(sizes, rng, scale=1.3)
    for _ in range(200):
        x = rng.integers(0, 2, (3, sizes[0])).astype(np.float64)
        y = rng.integers(0, 3, 3)
        p, _ = _exact_estimates(pair, x, y, 1)
        gaps = np.abs(np.subtract.outer(np.log(p), np.log(p)))[np.triu_indices(3, 1)]
        if np.all(gaps > 0.5):
            break
    return pair, x, y


def _estimates(out, count):
    est = as_array(out, f"is_log_likelihood for {count * REPEATS} images", (count * REPEATS,))
    return est.reshape(REPEATS, count)  # the images are tiled: row r holds every image once


def _repeated(pair, x, y, K: int, rng):
    """One call on REPEATS copies of the images, tiled (row r holds every image once), with a fresh generator."""
    return Call((pair, np.tile(x, (REPEATS, 1)), np.tile(y, REPEATS), K, np.random.default_rng(rng.integers(2**32))))


def _is_shape_and_rng(rng):
    pair, x, y = _is_case(rng)
    xs, ys = np.tile(x, (5, 1)), np.tile(y, 5)
    seed = int(rng.integers(2**32))
    first = as_array((yield Call((pair, xs, ys, 3, np.random.default_rng(seed)))), "is_log_likelihood for 15 images",
                     (15,))
    again = as_array((yield Call((pair, xs, ys, 3, np.random.default_rng(seed)))), "is_log_likelihood", (15,))
    other = as_array((yield Call((pair, xs, ys, 3, np.random.default_rng(seed + 1)))), "is_log_likelihood", (15,))
    require(np.array_equal(first, again), "two calls with generators of the same seed gave different estimates: "
                                          "draw every random number from the rng argument")
    require(not np.array_equal(first, other), "calls with generators of different seeds gave the same estimates: "
                                              "the samples must come from the rng argument")


def _is_elbo(rng):
    pair, x, y = _is_case(rng)
    _, elbo = _exact_estimates(pair, x, y, 1)
    out = yield _repeated(pair, x, y, 1, rng)
    within_standard_errors(_estimates(out, len(x)), elbo, "the estimate at K = 1 (its mean is the ELBO)", z=Z)


def _is_k_samples(rng):
    pair, x, y = _is_case(rng)
    p, mean3 = _exact_estimates(pair, x, y, 3)
    out = yield _repeated(pair, x, y, 3, rng)
    within_standard_errors(_estimates(out, len(x)), mean3,
                           "the estimate at K = 3 (its mean is E log of the mean of 3 independent weights)", z=Z)
    out = yield _repeated(pair, x, y, 4, rng)
    within_standard_errors(np.exp(_estimates(out, len(x))), p,
                           "exp of the estimate at K = 4 (an unbiased estimate of p(x | y))", z=Z)


# --------------------------------------------------------------- 5.2 cycle accuracy
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


def _cycle_case(rng):
    """A pair whose generator and recogniser agree class by class to very different degrees: class y turns hidden
    unit y on or off, which draws its own two pixels (random pairs classify nearly everything as one class, where no
    answer can be told from another). The per-class accuracies differ so much that the spread of the accuracy over
    runs of SMALL_N images of every class is at least 12 standard errors from that of images with random labels."""
    for _ in range(100):
        pair = random_pair((6, 3, 3), rng, scale=0.3)
        strength = rng.permutation(np.array([3.0, 0.6, -0.6])) * rng.uniform(0.8, 1.2, 3)
        pair.params["W2"][...] = strength[:, None] * (2 * np.eye(3) - 1) + 0.3 * rng.standard_normal((3, 3))
        own = np.kron(np.eye(3), np.ones((1, 2)))  # hidden unit j owns pixels 2j and 2j + 1
        pair.params["W1"][...] = 2.0 * (2 * own - 1) + 0.3 * rng.standard_normal((3, 6))
        per_class = _exact_cycle(pair)
        balanced = SMALL_N * np.sum(per_class * (1 - per_class))
        mixed = 3 * SMALL_N * per_class.mean() * (1 - per_class.mean())
        if mixed - balanced >= 12 * balanced * np.sqrt(2 / SMALL_RUNS):
            break
    return pair, per_class


def _count_distribution(per_class, n: int) -> np.ndarray:
    """The exact distribution of the number of hits among n images of every class (a convolution of binomials)."""
    dist = np.array([1.0])
    for a in per_class:
        dist = np.convolve(dist, [comb(n, k) * a**k * (1 - a) ** (n - k) for k in range(n + 1)])
    return dist


def _cycle_fraction_and_count(rng):
    pair, _ = _cycle_case(rng)
    n = int(rng.integers(5, 12))
    seed = int(rng.integers(2**32))
    value = float(as_array((yield Call((pair, n, np.random.default_rng(seed)))), "cycle_accuracy", ()))
    require(0.0 <= value <= 1.0, f"cycle_accuracy returned {value:.3g}, not a fraction in [0, 1]")
    hits = value * 3 * n
    require(abs(hits - round(hits)) < 1e-6, f"with {n} images per class, cycle_accuracy returned {value:.6g}, which is "
                                           f"not a whole number of hits out of {3 * n} images")
    values = []
    for i in range(1, 5):  # with 50 images per class, two independent runs rarely agree by chance
        first = float(as_array((yield Call((pair, 50, np.random.default_rng(seed + i)))), "cycle_accuracy", ()))
        again = float(as_array((yield Call((pair, 50, np.random.default_rng(seed + i)))), "cycle_accuracy", ()))
        require(again == first, "two calls with generators of the same seed gave different accuracies: draw every "
                                "random number from the rng argument")
        values.append(first)
    require(len(set(values)) > 1, "calls with generators of different seeds gave the same accuracy every time: the "
                                  "images must be drawn with the rng argument")


def _cycle_expectation(rng):
    pair, per_class = _cycle_case(rng)
    value = float(as_array((yield Call((pair, N_PER_CLASS, np.random.default_rng(rng.integers(2**32))))),
                           "cycle_accuracy", ()))
    exact = float(per_class.mean())
    se = float(np.sqrt(np.sum(per_class * (1 - per_class)) / N_PER_CLASS) / len(per_class))
    if abs(value - exact) > Z * se:
        raise CheckFailed(f"the cycle accuracy over {N_PER_CLASS} images per class is "
                          f"{abs(value - exact) / se:.1f} standard errors from the exact expectation (at most {Z:g})")
    # many small runs: the spread of the accuracy is that of n images of every class, each class exactly n times
    dist = _count_distribution(per_class, SMALL_N)
    support = np.arange(len(dist)) / (len(per_class) * SMALL_N)
    mean = float(dist @ support)
    var = float(dist @ (support - mean) ** 2)
    m4 = float(dist @ (support - mean) ** 4)
    base = int(rng.integers(2**32))
    runs = []
    for i in range(SMALL_RUNS):
        runs.append(float(as_array((yield Call((pair, SMALL_N, np.random.default_rng([base, i])))),
                                   "cycle_accuracy", ())))
    runs = np.array(runs)
    se_var = np.sqrt(max(m4 - var**2 * (SMALL_RUNS - 3) / (SMALL_RUNS - 1), 1e-300) / SMALL_RUNS)
    dev = abs(float(runs.var(ddof=1)) - var) / se_var
    if dev > Z:
        raise CheckFailed(f"over {SMALL_RUNS} runs of {SMALL_N} images per class, the variance of the accuracy is "
                          f"{dev:.1f} standard errors from that of exactly {SMALL_N} images of every class "
                          f"(at most {Z:g})")


EXERCISES = [
    Exercise(
        id="5.1", notebook=NOTEBOOK, function="is_log_likelihood", label="IS log-likelihood",
        title="the importance-sampled log-likelihood",
        hint="IS log-likelihood: implement log mean_k p(x, h_k | y) / q(h_k | x), h_k ~ q(h | x)",
        checks=(
            Check("Check that is_log_likelihood returns one finite number per image, drawn from its rng: the same seed "
                  "gives the same estimates, another seed others", 1, _is_shape_and_rng),
            Check(f"Check that at K = 1 the estimates average to the exact ELBO ({REPEATS} runs; enumeration; "
                  "5 standard errors)", 1, _is_elbo),
            Check(f"Check that at K = 3 the estimates average to the exact E log of the mean of three independent "
                  f"weights, and at K = 4 their exponential to the exact p(x | y) ({REPEATS} runs of three images "
                  "of clearly different p(x | y); enumeration; 5 standard errors)", 2, _is_k_samples),
        ),
        forbidden=("importance_log_likelihood", "log_likelihood_curve", "importance_log_px_y", "log_weights"),
    ),
    Exercise(
        id="5.2", notebook=NOTEBOOK, function="cycle_accuracy", label="cycle accuracy",
        title="cycle accuracy",
        hint="cycle accuracy: implement the fraction of generated images recognised as their class",
        checks=(
            Check("Check that cycle_accuracy returns a fraction in [0, 1], a whole number of hits out of n_per_class "
                  "images of every class, drawn from its rng", 1, _cycle_fraction_and_count),
            Check(f"Check that cycle_accuracy over {N_PER_CLASS} images per class is within 5 standard errors "
                  f"of the exact expectation, and that its spread over {SMALL_RUNS} runs of {SMALL_N} images per "
                  "class is that of exactly that many images of every class (enumeration of every generated "
                  "image)", 2, _cycle_expectation),
        ),
        forbidden=("cycle_accuracy",),
    ),
]
