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
# # Exercises 03 · The generator by transposition
#
# Companion of tutorial `03_generator_by_transposition`. You write three functions: the
# generator tied to a recogniser (M9), the generator's mean pass (M10), and the joint of a
# restricted Boltzmann machine whose two conditionals are a tied layer's two directions (M11).
#
# **How it works.** Replace each `raise NotImplementedError(...)` by your code and run the
# shown check below it. The grader's hidden checks write the conditionals out for every pair
# of states and enumerate the RBM table:
#
# ```bash
# .venv/bin/python -m refimpl.course.grade tutorial/exercises/ex03_generator_by_transposition.ipynb
# ```
#
# The grader runs only the imports, the `def`s, classes, lambdas and constants of this
# notebook, on inputs of its own; keep each function's name and arguments, leave the
# arguments unchanged, and do not call `refimpl`'s own implementation of the exercise.
#
# Conventions: the recogniser's `weights[k - 1]` is $W^k$ of shape $(d_k, d_{k-1})$; a
# `CoupledPair` keeps its parameters in `pair.params` (`"W1"`, ..., `"b1"`, ..., and the
# generator's biases `"c0"`, ..., `"c{n-1}"`); states are listed with unit $i$ = bit $i$.

# %%
import numpy as np

import refimpl
from refimpl.numerics import logsumexp, sigmoid  # noqa: F401 (tools for your solutions)
from refimpl.sbn import SigmoidBeliefNet, binary_states  # noqa: F401

SEED = 0

# %%
rng = np.random.default_rng(SEED)
recogniser = SigmoidBeliefNet.random([6, 4, 3], rng, scale=1.5)
gen_biases = [rng.standard_normal(6), rng.standard_normal(4)]  # c^0, c^1
pair = refimpl.CoupledPair((6, 4, 3), rng=rng, init_scale=1.5, dtype=np.float64)
pair.params["c0"][:] = rng.standard_normal(6)
pair.params["c1"][:] = rng.standard_normal(4)

# %% [markdown]
# ## Exercise 3.1 (M9) The generator by transposition · 3 points
#
# Write `transposed_generator(recogniser, gen_biases)`: a `SigmoidBeliefNet` that runs the
# recogniser's chain downwards, from the top layer $x^n$ to $x^0$, with
#
# $$ p(x^{k-1} \mid x^k) = \prod_j \mathrm{Bern}\big(x^{k-1}_j;\ \sigma((W^k)^\top x^k + c^{k-1})_j\big) . $$
#
# `gen_biases` is $[c^0, \dots, c^{n-1}]$. The generator must be **tied**: it uses the
# recogniser's own arrays (transposed views, not copies), so that learning $W^k$ moves both
# directions. `SigmoidBeliefNet(weights, biases)` copies its arrays unless you pass `copy=False`.

# %%
def transposed_generator(recogniser, gen_biases):
    """The SigmoidBeliefNet x^n -> ... -> x^0: weights (W^n)^T, ..., (W^1)^T (views), biases c^{n-1}, ..., c^0 (M9)."""
    ### BEGIN SOLUTION
    weights = [w.T for w in reversed(recogniser.weights)]  # the same matrices, transposed: views
    return SigmoidBeliefNet(weights, list(reversed(gen_biases)), copy=False)
    ### END SOLUTION


# %%
# Check that the generator has refimpl's parameters and shares the recogniser's arrays.
mine = transposed_generator(recogniser, gen_biases)
reference = refimpl.transposed_generator(recogniser, gen_biases)
pairs = zip(mine.weights + mine.biases, reference.weights + reference.biases, strict=True)
same = all(np.array_equal(a, b) for a, b in pairs)
tied = all(np.shares_memory(g, w) for g, w in zip(mine.weights, reversed(recogniser.weights), strict=True))
print(mine, "| same parameters as refimpl:", same, "| tied:", tied)
assert same and tied

# %% [markdown]
# ## Exercise 3.2 (M10) The generator's mean pass · 3 points
#
# Write `generate_mean(pair, y)` for integer labels `y` of shape $(B,)$: return the mean images
# $\nu^0$, shape $(B, d_0)$, of
#
# $$ \nu^n = \mathrm{onehot}(y), \qquad \nu^{k-1} = \sigma\big((W^k)^\top \nu^k + c^{k-1}\big),\quad k = n, \dots, 1 . $$
#
# Use the pair's parameters `pair.params[f"W{k}"]` and `pair.params[f"c{k - 1}"]` (`pair.one_hot(y)`
# gives the one-hot labels).

# %%
def generate_mean(pair, y):
    """The generator's mean pass from the one-hot labels down to the mean images nu^0, shape (B, d_0) (M10)."""
    ### BEGIN SOLUTION
    nu = pair.one_hot(y).astype(float)
    for k in range(pair.n_layers, 0, -1):
        nu = sigmoid(nu @ pair.params[f"W{k}"] + pair.params[f"c{k - 1}"])  # rows: (W^k)^T nu^k + c^{k-1}
    return nu
    ### END SOLUTION


# %%
# Check that generate_mean agrees with CoupledPair.generate_mean.
labels = np.array([0, 1, 2])
gap = np.max(np.abs(generate_mean(pair, labels) - pair.generate_mean(labels)))
print(f"max |mine - pair.generate_mean| = {gap:.1e}")
assert gap < 1e-10

# %% [markdown]
# ## Exercise 3.3 (M11) The RBM joint · 3 points
#
# Write `rbm_joint(W, b, c)` for `W` of shape $(d_h, d_v)$: the table of
#
# $$ p(v, h) = \frac1Z \exp\big(h^\top W v + b^\top h + c^\top v\big) $$
#
# of shape $(2^{d_v}, 2^{d_h})$, row $i$ the $i$-th state of $v$, column $j$ the $j$-th state of
# $h$ (unit $u$ of state $s$ is bit $u$ of $s$). Its conditionals are $\sigma(Wv + b)$ and
# $\sigma(W^\top h + c)$: the recogniser's and the generator's layers (tutorial 03).

# %%
def rbm_joint(W, b, c):
    """The normalised table p(v, h) of the RBM exp(h^T W v + b^T h + c^T v), shape (2**d_v, 2**d_h) (M11)."""
    ### BEGIN SOLUTION
    V, H = binary_states(W.shape[1]), binary_states(W.shape[0])
    energy = (V @ W.T) @ H.T + (V @ c)[:, None] + (H @ b)[None, :]  # h^T W v + b^T h + c^T v
    return np.exp(energy - logsumexp(energy.ravel()))
    ### END SOLUTION


# %%
# Check that rbm_joint agrees with refimpl.rbm_joint.
W, b, c = 2.0 * rng.standard_normal((3, 4)), rng.standard_normal(3), rng.standard_normal(4)
gap = np.max(np.abs(rbm_joint(W, b, c) - refimpl.rbm_joint(W, b, c)))
print(f"max |mine - refimpl.rbm_joint| = {gap:.1e}")
assert gap < 1e-10

# %% [markdown]
# ## Open question · One layer, two layers
#
# A tied one-layer pair agrees exactly with one joint distribution (the RBM of Exercise 3.3),
# whatever its weights. Tutorial 03 measures that a tied pair two layers deep does not. Why does
# the argument of M11 not carry over to two layers? What would the middle layer have to satisfy?
#
# *Your answer:*

# %% [markdown]
# ## Grade yourself
#
# ```bash
# .venv/bin/python -m refimpl.course.grade tutorial/exercises/ex03_generator_by_transposition.ipynb
# ```
