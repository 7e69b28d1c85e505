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
# # Exercises 02 · The forward pass as approximate inference
#
# Companion of tutorial `02_forward_pass_as_inference`. You write three functions: the mean
# pass (M6), the moments of the logits under the factorisation A1, and the forward pass with
# the probit correction (M8).
#
# **How it works.** Replace each `raise NotImplementedError(...)` by your code and run the
# shown check below it. The grader's hidden checks compare your functions with exact
# inference by enumeration and with the recursions written out:
#
# ```bash
# .venv/bin/python -m refimpl.course.grade tutorial/exercises/ex02_forward_pass_as_inference.ipynb
# ```
#
# The grader runs only the imports, the `def`s, classes, lambdas and constants of this
# notebook, on inputs of its own; keep each function's name and arguments, leave the
# arguments unchanged, and do not call `refimpl`'s own implementation of the exercise.
#
# Conventions: `net.weights[k - 1]` is $W^k$ of shape $(d_k, d_{k-1})$, `net.biases[k - 1]` is
# $b^k$; batches are rows, so $W^k \mu^{k-1}$ is `mu @ W.T` for `mu` of shape $(B, d_{k-1})$.
# All layers are Bernoulli.

# %%
import numpy as np

import refimpl
from refimpl.numerics import sigmoid  # noqa: F401 (a tool for your solutions)
from refimpl.sbn import SigmoidBeliefNet

SEED = 0

# %%
rng = np.random.default_rng(SEED)
net = SigmoidBeliefNet.random([5, 4, 4, 3], rng, scale=1.5)
x0 = rng.integers(0, 2, (4, 5)).astype(float)  # four binary inputs, one per row
print(net)

# %% [markdown]
# ## Exercise 2.1 (M6) The mean pass · 3 points
#
# Write `mean_pass(net, x0)` for inputs `x0` of shape $(B, d_0)$: return the list
# $[\mu^1, \dots, \mu^n]$, each of shape $(B, d_k)$, of
#
# $$ \mu^0 = x^0, \qquad \mu^k = \sigma\big(W^k \mu^{k-1} + b^k\big),\quad k = 1, \dots, n. $$

# %%
def mean_pass(net, x0):
    """The sigmoid DNN forward pass: [mu^1, ..., mu^n], each of shape (B, d_k) (M6)."""
    ### BEGIN SOLUTION
    mu, means = np.asarray(x0, dtype=float), []
    for w, b in zip(net.weights, net.biases, strict=True):
        mu = sigmoid(mu @ w.T + b)
        means.append(mu)
    return means
    ### END SOLUTION


# %%
# Check that mean_pass agrees with refimpl.mean_pass (and see how far both are from exact inference).
mine = mean_pass(net, x0)
gap = max(np.max(np.abs(m - r)) for m, r in zip(mine, refimpl.mean_pass(net, x0), strict=True))
exact = refimpl.exact_marginals(net, x0, backend="numpy")
print(f"max |mine - refimpl.mean_pass| = {gap:.1e}")
errors = [round(float(np.abs(m - e).max()), 4) for m, e in zip(mine, exact, strict=True)]
print("|mean pass - exact| per layer:", errors)
assert gap < 1e-10

# %% [markdown]
# ## Exercise 2.2 (A1) The moments of the logits · 2 points
#
# Write `logit_moments(weight, bias, mu)`, the moments of one layer's logits (the library's
# `refimpl.preactivation_moments(net, mu, k)` computes the same for layer $k$ of a network). If the
# units of the layer below are independent, $x_j \sim \mathrm{Bern}(\mu_j)$ (A1), the logits $a = W x + b$ have
#
# $$ \mathbb{E}\,a_i = W_i \mu + b_i, \qquad \mathrm{Var}\,a_i = \sum_j W_{ij}^2\, \mu_j (1 - \mu_j). $$
#
# `mu` has shape $(B, d_{in})$, `weight` $(d_{out}, d_{in})$; return `(mean, var)`, each $(B, d_{out})$.

# %%
def logit_moments(weight, bias, mu):
    """Mean and variance of a = W x + b when x has independent Bernoulli(mu) units (A1): two (B, d_out) arrays."""
    ### BEGIN SOLUTION
    mean = mu @ weight.T + bias
    var = (mu * (1.0 - mu)) @ (weight**2).T
    return mean, var
    ### END SOLUTION


# %%
# Check that the moments of layer 2's logits agree with refimpl.preactivation_moments.
mu1 = refimpl.mean_pass(net, x0)[0]
mine = logit_moments(net.weights[1], net.biases[1], mu1)
reference = refimpl.preactivation_moments(net, mu1, 2)
gap = max(np.max(np.abs(m - r)) for m, r in zip(mine, reference, strict=True))
print(f"max |mine - refimpl.preactivation_moments| = {gap:.1e}")
assert gap < 1e-10

# %% [markdown]
# ## Exercise 2.3 (M8) The probit-corrected pass · 3 points
#
# Write `probit_pass(net, x0)`: the forward pass in which each layer uses the variance of its
# logits (A1, with the layer below's $\mu$) to correct the sigmoid,
#
# $$ \mu^k = \sigma\!\Big(\frac{\mathbb{E}\,a^k}{\sqrt{1 + \pi\,\mathrm{Var}(a^k)/8}}\Big), \qquad \mu^0 = x^0 . $$
#
# Same input and output as `mean_pass`. You may take the moments from
# `refimpl.preactivation_moments(net, mu, k)` or from your own `logit_moments`.

# %%
def probit_pass(net, x0):
    """The forward pass with the probit correction of M8: [mu^1, ..., mu^n], each of shape (B, d_k)."""
    ### BEGIN SOLUTION
    mu, means = np.asarray(x0, dtype=float), []
    for k in range(1, net.n_layers + 1):
        mean, var = refimpl.preactivation_moments(net, mu, k)
        mu = sigmoid(mean / np.sqrt(1.0 + np.pi * var / 8.0))
        means.append(mu)
    return means
    ### END SOLUTION


# %%
# Check that probit_pass agrees with refimpl.forward_marginals(method="probit").
mine = probit_pass(net, x0)
reference = refimpl.forward_marginals(net, x0, method="probit")
gap = max(np.max(np.abs(m - r)) for m, r in zip(mine, reference, strict=True))
print(f"max |mine - refimpl.forward_marginals(method='probit')| = {gap:.1e}")
errors = [round(float(np.abs(m - e).max()), 4) for m, e in zip(mine, exact, strict=True)]
print("|probit pass - exact| per layer:", errors)
assert gap < 1e-10

# %% [markdown]
# ## Open question · Small weights, large weights
#
# Multiply every weight and bias of a network by $s$. What happens to the error of the mean pass
# against exact inference as $s \to 0$, and as $s$ grows large? Explain both limits with A1 and A2
# (tutorial 02), and say in which regime the probit correction helps most.
#
# *Your answer:*

# %% [markdown]
# ## Grade yourself
#
# ```bash
# .venv/bin/python -m refimpl.course.grade tutorial/exercises/ex02_forward_pass_as_inference.ipynb
# ```
