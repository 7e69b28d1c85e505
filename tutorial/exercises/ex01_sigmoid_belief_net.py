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
# # Exercises 01 · The sigmoid belief network and exact inference
#
# Companion of tutorial `01_sigmoid_belief_net`. You write three functions, each one piece of
# the tutorial's method: the complete-data log-probability (M3), one step of the layer
# recursion of exact inference (M4), and the per-unit marginals of a layer's state
# distribution. Everything else comes from `refimpl`.
#
# **How it works.** Replace each `raise NotImplementedError(...)` by your code; the cell
# below each exercise runs a *shown check* that compares your function with `refimpl` on a
# small network. The grader runs *hidden checks* against independent oracles (enumeration of
# every state, the conditionals written out) and gives points per check:
#
# ```bash
# .venv/bin/python -m refimpl.course.grade tutorial/exercises/ex01_sigmoid_belief_net.ipynb
# ```
#
# The grader runs only the imports, the `def`s, classes, lambdas and constants (`SEED = 0`,
# `PI_OVER_8 = np.pi / 8`) of this notebook, on inputs of its own (networks of other sizes
# and depths than the example's): keep your function self-contained (helper functions of
# your own are fine), keep its name and arguments, leave the arguments unchanged, and do
# not call `refimpl`'s own implementation of the same thing (the grader scores that zero
# and says so).
#
# Conventions (tutorial 01): `net.weights[k - 1]` is $W^k$ of shape $(d_k, d_{k-1})$,
# `net.biases[k - 1]` is $b^k$; the state $s$ of a layer of $d$ units has unit $i$ equal to
# bit $i$ of $s$ (`refimpl.sbn.binary_states(d)` lists them in that order).

# %%
import numpy as np

import refimpl
from refimpl.numerics import log_sigmoid, softplus  # noqa: F401 (tools for your solutions)
from refimpl.sbn import SigmoidBeliefNet, binary_states  # noqa: F401

SEED = 0

# %%
rng = np.random.default_rng(SEED)
net = SigmoidBeliefNet.random([6, 3, 4, 2], rng, scale=1.5)
x0 = rng.integers(0, 2, 6).astype(float)
layers = net.sample(x0, 5, rng)  # five configurations of layers 1..3, shapes (5, d_k)
print(net, "x0 =", x0)

# %% [markdown]
# ## Exercise 1.1 (M3) The complete-data log-probability · 3 points
#
# Write `log_prob(net, x0, layers)`. The input `x0` has shape $(d_0,)$; `layers[k - 1]` has
# shape $(S, d_k)$ and holds $S$ configurations of layer $k$. Return the $S$ numbers
#
# $$ \log q(x^1..x^n \mid x^0) = \sum_{k=1}^{n} \sum_i \big[x^k_i a^k_i - \mathrm{softplus}(a^k_i)\big],
#    \qquad a^k = W^k x^{k-1} + b^k . $$
#
# Every layer is Bernoulli. Work from the logits: the grader evaluates your function at
# logits of $\pm 1000$, where `np.log(sigmoid(a))` gives $-\infty$.

# %%
def log_prob(net, x0, layers):
    """log q(x^1..x^n | x^0) of S configurations, one number per row of the layers (M3)."""
    raise NotImplementedError("M3: implement the complete-data log-probability, per-unit terms from the logits")


# %%
# Check that log_prob agrees with refimpl's SigmoidBeliefNet.log_prob on five configurations.
mine = log_prob(net, x0, layers)
gap = np.max(np.abs(mine - net.log_prob(x0, layers)))
print("log q of the five configurations:", np.round(mine, 4))
print(f"max |mine - refimpl| = {gap:.1e}")
assert gap < 1e-10

# %% [markdown]
# ## Exercise 1.2 (M4) One step of the layer recursion · 3 points
#
# Write `layer_step(p_prev, weight, bias)`: given the distribution of layer $k$ over its
# $2^{d_k}$ states, one row per input (`p_prev`, shape $(B, 2^{d_k})$), return the distribution
# of layer $k + 1$, shape $(B, 2^{d_{k+1}})$:
#
# $$ q(x^{k+1} \mid x^0) = \sum_{x^k} q(x^k \mid x^0)\, q(x^{k+1} \mid x^k), \qquad
#    q(t \mid s) = \prod_j \sigma(a_j)^{t_j}\big(1 - \sigma(a_j)\big)^{1 - t_j},\ a = W s + b . $$
#
# `weight` is $W^{k+1}$ of shape $(d_{k+1}, d_k)$. Index the states in the package's order (unit
# $i$ of state $s$ is bit $i$ of $s$). NumPy only: no Numba, no `refimpl.exact`.

# %%
def layer_step(p_prev, weight, bias):
    """The distribution of layer k + 1 from that of layer k, over all states: (B, 2**d_k) -> (B, 2**d_{k+1}) (M4)."""
    raise NotImplementedError("M4: implement one step of the layer recursion, q(x^{k+1} | x^0) from q(x^k | x^0)")


# %% [markdown]
# Start from a point mass on the input (the input is a layer too: state `s0` of its $2^{d_0}$
# states) and step through the network; compare with `refimpl.layer_state_distributions`.

# %%
# Check that stepping from the input reproduces refimpl.layer_state_distributions, layer by layer.
s0 = int(x0 @ 2 ** np.arange(len(x0)))  # the index of the state x0 (unit i is bit i)
p = np.eye(2 ** len(x0))[[s0]]  # a point mass on x0, shape (1, 2**d_0)
dists = []
for w, b in zip(net.weights, net.biases, strict=True):
    p = layer_step(p, w, b)
    dists.append(p[0])
reference = refimpl.layer_state_distributions(net, x0, backend="numpy")
gap = max(np.max(np.abs(mine - ref)) for mine, ref in zip(dists, reference, strict=True))
print(f"max |mine - refimpl| over the three layers = {gap:.1e}")
assert gap < 1e-10

# %% [markdown]
# ## Exercise 1.3 (M4) Per-unit marginals · 2 points
#
# Write `unit_marginals(p, d)`: from distributions over the $2^d$ states of a layer (`p`, shape
# $(B, 2^d)$) return the marginals $q(x_i = 1) = \sum_{s:\ \text{bit } i \text{ of } s = 1} p(s)$,
# shape $(B, d)$.

# %%
def unit_marginals(p, d):
    """Per-unit marginals q(x_i = 1) of distributions over the 2**d states of a layer: (B, 2**d) -> (B, d)."""
    raise NotImplementedError("M4: implement the per-unit marginals of a distribution over a layer's states")


# %%
# Check that the marginals of those distributions are refimpl.exact_marginals.
mine = [unit_marginals(dist[None], d)[0] for dist, d in zip(dists, net.sizes[1:], strict=True)]
exact = refimpl.exact_marginals(net, x0, backend="numpy")
gap = max(np.max(np.abs(m - e)) for m, e in zip(mine, exact, strict=True))
print("marginals of layer 3:", np.round(mine[-1], 4))
print(f"max |mine - refimpl.exact_marginals| = {gap:.1e}")
assert gap < 1e-10

# %% [markdown]
# ## Open question · Why is layer 2 not a product?
#
# Given layer 1, each unit of layer 2 is drawn independently (M1). Yet the distribution of layer
# 2 given $x^0$ is not the product of its marginals (tutorial 01 draws it). Why not? Under which
# conditions on $W^2$, or on layer 1, would it be a product? Write your answer below; the
# teacher's notes discuss it.
#
# *Your answer:*

# %% [markdown]
# ## Grade yourself
#
# From the project root:
#
# ```bash
# .venv/bin/python -m refimpl.course.grade tutorial/exercises/ex01_sigmoid_belief_net.ipynb
# ```
