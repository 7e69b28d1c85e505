# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercises 05 · The experiment's measurements
#
# Companion of tutorial `05_experiment`. You write the two measurements of a trained pair that
# the experiment's table reports besides the test error: the importance-sampled log-likelihood
# $\log p(x \mid y)$ and the cycle accuracy.
#
# **How it works.** Replace each `raise NotImplementedError(...)` by your code and run the
# shown check below it. Both answers are random; the grader's hidden checks average many of
# your estimates on a tiny pair and compare them, within five standard errors, with exact
# values found by enumerating every hidden state and every image:
#
# ```bash
# .venv/bin/python -m refimpl.course.grade tutorial/exercises/ex05_experiment.ipynb
# ```
#
# The grader runs only the imports, the `def`s, classes, lambdas and constants of this
# notebook, on inputs of its own; keep each function's name and arguments, leave the
# arguments unchanged, and do not call `refimpl`'s own implementation of the exercise.
# Draw every random number from the `rng` you are given.

# %%
import numpy as np

import refimpl
from refimpl.consistency import log_conditional_table
from refimpl.numerics import logsumexp

SEED = 0

# %%
rng = np.random.default_rng(SEED)
pair = refimpl.CoupledPair((6, 4, 3, 3), rng=rng, init_scale=0.5, dtype=np.float64)
for key in ("b1", "b2", "b3", "c0", "c1", "c2"):
    pair.params[key][:] = 0.5 * rng.standard_normal(pair.params[key].shape)
x = rng.integers(0, 2, (6, 6)).astype(float)  # six binary images
y = rng.integers(0, 3, 6)  # and labels

# %% [markdown]
# ## Exercise 5.1 The importance-sampled log-likelihood · 4 points
#
# Write `is_log_likelihood(pair, x, y, K, rng)`: for each image $x_b$ and its label $y_b$, draw
# $K$ hidden states $h_k \sim q(h \mid x_b)$ from the recogniser and return
#
# $$ \log \frac1K \sum_{k=1}^{K} \frac{p(x_b, h_k \mid y_b)}{q(h_k \mid x_b)}, $$
#
# one number per image (shape $(B,)$). Useful: `pair.sample_hidden(x, rng)` draws one $h$ per row,
# `pair.log_p(x, hidden, y)` is $\log p(x, h \mid y)$ per row, and
# `pair.recogniser.log_prob(x, hidden)` is $\log q(h \mid x)$ per row (the label excluded).
# Work in the log domain.

# %%
def is_log_likelihood(pair, x, y, K, rng):
    """Importance-sampled log p(x | y) per image, K samples h ~ q(h | x) each: shape (B,)."""
    raise NotImplementedError("IS log-likelihood: implement log mean_k p(x, h_k | y) / q(h_k | x), h_k ~ q(h | x)")


# %% [markdown]
# The pair is small enough to enumerate: `log_conditional_table(pair.generator, np.eye(3))` holds
# $\log p(h^2, h^1, x \mid y)$ for every label and every configuration, so the exact
# $\log p(x \mid y)$ is a log-sum-exp over the hidden states. With $K = 5000$ your estimates
# should be within a few hundredths of it.

# %%
# Check that the estimates are close to the exact log p(x | y), found by enumeration.
table = log_conditional_table(pair.generator, np.eye(3))  # axes: y, h^2, h^1, x
exact = logsumexp(table.reshape(3, -1, 2**6), axis=1)[y, (x @ 2 ** np.arange(6)).astype(int)]
mine = is_log_likelihood(pair, x, y, 5000, np.random.default_rng(1))
print("log p(x | y), exact:", np.round(exact, 3))
print("log p(x | y), mine: ", np.round(mine, 3))
assert np.max(np.abs(mine - exact)) < 0.2  # the error is about 0.03 with K = 5000

# %% [markdown]
# ## Exercise 5.2 Cycle accuracy · 3 points
#
# Write `cycle_accuracy(pair, n_per_class, rng)`: generate `n_per_class` images for every class
# $y$ by ancestral sampling from the generator (M10, `pair.sample_generator`), classify each with
# the recogniser's mean pass (M6, `pair.recognise_mean`), and return the fraction (a float) that
# is assigned to the class it was generated from.

# %%
def cycle_accuracy(pair, n_per_class, rng):
    """Fraction of images x ~ p(x | y), n_per_class per class, whose mean-pass class is y."""
    raise NotImplementedError("cycle accuracy: implement the fraction of generated images recognised as their class")


# %% [markdown]
# This pair is random, not trained: its recogniser puts almost every image into one class, so the
# cycle accuracy sits near chance, 1/3. The experiment's trained pairs reach 60 to 95 %.

# %%
# Check that cycle_accuracy agrees with refimpl.cycle_accuracy within sampling error.
mine = cycle_accuracy(pair, 3000, np.random.default_rng(3))
reference = refimpl.cycle_accuracy(pair, 3000, np.random.default_rng(4)).accuracy
print(f"cycle accuracy: mine {mine:.3f}, refimpl {reference:.3f}")
assert abs(mine - reference) < 0.04  # two independent estimates of 9000 images each

# %% [markdown]
# ## Open question · Why a lower bound?
#
# The estimate of Exercise 5.1 is random. Why is its *expectation* below $\log p(x \mid y)$, and why
# does it rise towards $\log p(x \mid y)$ as $K$ grows? What would happen, for every $K$, if the
# recogniser's $q(h \mid x)$ were exactly the generator's posterior $p(h \mid x, y)$?
#
# *Your answer:*

# %% [markdown]
# ## Grade yourself
#
# ```bash
# .venv/bin/python -m refimpl.course.grade tutorial/exercises/ex05_experiment.ipynb
# ```
