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
# # Exercises 04 · Learning the coupled pair
#
# Companion of tutorial `04_learning`. You write four functions: the gradients of the wake
# term and of the sleep term of L1 at fixed states, one stochastic wake-sleep step of a tied
# pair, and the backward pass of the discriminative objective L0.
#
# **How it works.** Replace each `raise NotImplementedError(...)` by your code and run the
# shown check below it. The grader's hidden checks compare your gradients with central finite
# differences of the log-probabilities written out, and the average of many stochastic steps
# with the exact expected gradient:
#
# ```bash
# .venv/bin/python -m refimpl.course.grade tutorial/exercises/ex04_learning.ipynb
# ```
#
# The grader runs only the imports, the `def`s, classes, lambdas and constants of this
# notebook, on inputs of its own; keep each function's name and arguments, leave the
# arguments unchanged, and do not call `refimpl`'s own implementation of the exercise.
#
# Conventions (tutorial 04): every objective is a log-likelihood to maximise, summed over
# units and **averaged over the batch**; a gradient is a dict keyed like `pair.params`
# (`"W1"`, ..., `"b1"`, ..., `"c0"`, ...; an entry may be left out where it is zero). Besides the
# weights and biases, `pair.params["prior"]` holds the logits of the generator's prior $p(y)$
# (`pair.log_prior()` is $\log p(y)$); no gradient here has a `"prior"` entry: every term of these
# exercises is conditioned on the label $y$, and the dreams use the batch's labels. The
# recogniser's logits are $a^k = W^k x^{k-1} + b^k$, the generator's
# $g^{k-1} = (W^k)^\top x^k + c^{k-1}$, with $x^0 = x$ and $x^n = \mathrm{onehot}(y)$; with
# binary targets $t$ and inputs $u$ every layer's gradient is $(t - \sigma(\text{logits}))$
# times $u$, and $\mathrm{onehot}(y) - \mathrm{softmax}(a^n)$ at the categorical top.

# %%
import numpy as np

import refimpl
from refimpl.numerics import sigmoid, softmax  # noqa: F401 (tools for your solutions)

SEED = 0

# %%
rng = np.random.default_rng(SEED)
pair = refimpl.CoupledPair((6, 4, 3, 3), rng=rng, init_scale=0.8, dtype=np.float64)
for key in ("b1", "b2", "b3", "c0", "c1", "c2"):
    pair.params[key][:] = 0.8 * rng.standard_normal(pair.params[key].shape)
x = rng.integers(0, 2, (5, 6)).astype(float)  # five binary images
y = rng.integers(0, 3, 5)  # and their labels
hidden = pair.sample_hidden(x, rng)  # h ~ q(h | x): [h^1, h^2]
hidden_d, x_d = pair.sample_generator(y, rng)  # dreams (h', x') ~ p(h, x | y)


def max_gap(mine, reference):
    """Largest difference between two gradient dicts (entries missing from mine count as zero)."""
    return max(float(np.max(np.abs(mine.get(k, 0.0) - v))) for k, v in reference.items())


# %% [markdown]
# ## Exercise 4.1 (L1) The wake gradient · 3 points
#
# Write `wake_grads(pair, x, hidden, y)`: the gradient of
# $G = \frac1B \sum_b \log p(x_b, h_b \mid y_b)$ at the given states, where `hidden` is
# $[h^1, \dots, h^{n-1}]$ (each of shape $(B, d_k)$). The generator uses $W^k$ transposed, so
#
# $$ \frac{\partial G}{\partial W^k} = \frac1B \sum_b x^k_b \big(x^{k-1}_b - \sigma(g^{k-1}_b)\big)^\top, \qquad
#    \frac{\partial G}{\partial c^{k-1}} = \frac1B \sum_b \big(x^{k-1}_b - \sigma(g^{k-1}_b)\big) . $$
#
# The pair is tied; return the entries `"W1".."Wn"` and `"c0".."c{n-1}"`.

# %%
def wake_grads(pair, x, hidden, y):
    """Gradient of the wake term G = mean log p(x, h | y) at fixed states: entries W1..Wn and c0..c{n-1} (L1)."""
    raise NotImplementedError("L1: implement the gradient of the wake term G = mean log p(x, h | y), fixed states")


# %%
# Check that wake_grads agrees with refimpl.wake_value_and_grad.
gap = max_gap(wake_grads(pair, x, hidden, y), refimpl.wake_value_and_grad(pair, x, hidden, y)[1])
print(f"max |mine - refimpl.wake_value_and_grad| = {gap:.1e}")
assert gap < 1e-10

# %% [markdown]
# ## Exercise 4.2 (L1) The sleep gradient · 3 points
#
# Write `sleep_grads(pair, x_dream, hidden_dream, y)`: the gradient of
# $R = \frac1B \sum_b \log q(h_b, y_b \mid x_b)$ at the given (dreamed) states:
#
# $$ \frac{\partial R}{\partial W^k} = \frac1B \sum_b \big(x^k_b - \sigma(a^k_b)\big)\,(x^{k-1}_b)^\top, \qquad
#    \frac{\partial R}{\partial b^k} = \frac1B \sum_b \big(x^k_b - \sigma(a^k_b)\big), $$
#
# with $\mathrm{onehot}(y) - \mathrm{softmax}(a^n)$ in place of $x^n - \sigma(a^n)$ at the top.
# Return the entries `"W1".."Wn"` and `"b1".."bn"`.

# %%
def sleep_grads(pair, x_dream, hidden_dream, y):
    """Gradient of the sleep term R = mean log q(h, y | x) at fixed states: entries W1..Wn and b1..bn (L1)."""
    raise NotImplementedError("L1: implement the gradient of the sleep term R = mean log q(h, y | x), fixed states")


# %%
# Check that sleep_grads agrees with refimpl.sleep_value_and_grad.
gap = max_gap(sleep_grads(pair, x_d, hidden_d, y), refimpl.sleep_value_and_grad(pair, x_d, hidden_d, y)[1])
print(f"max |mine - refimpl.sleep_value_and_grad| = {gap:.1e}")
assert gap < 1e-10

# %% [markdown]
# ## Exercise 4.3 (L1) One wake-sleep step of the tied pair · 4 points
#
# Write `l1_tied_grads(pair, x, y, rng)`: draw $h \sim q(h \mid x)$ for the real images
# (`pair.sample_hidden(x, rng)`), then dreams $(h', x') \sim p(h, x \mid y)$ for the same labels
# (`pair.sample_generator(y, rng)`), and return the gradient of $G + R$: the wake gradient at
# $(x, h)$ plus the sleep gradient at $(x', h')$. In a tied pair each $W^k$ has two roles, in the
# generator (wake) and in the recogniser (sleep): its gradient is the **sum** of both.
#
# You may use `refimpl.wake_value_and_grad` and `refimpl.sleep_value_and_grad` (or your functions
# above). Draw in the order given, and your step equals `refimpl.l1_step_grads` for the same
# generator state (the shown check); the grader accepts any order.

# %%
def l1_tied_grads(pair, x, y, rng):
    """One stochastic L1 step of a tied pair: wake at h ~ q(h | x), sleep at dreams for y, gradients summed (L1)."""
    raise NotImplementedError("L1: implement one wake-sleep step of the tied pair, the two roles of W^k summed")


# %%
# Check that, drawing in the same order from the same generator, the step equals refimpl.l1_step_grads.
mine = l1_tied_grads(pair, x, y, np.random.default_rng(1))
gap = max_gap(mine, refimpl.l1_step_grads(pair, x, y, np.random.default_rng(1))[1])
print(f"max |mine - refimpl.l1_step_grads| (same draws) = {gap:.1e}")
assert gap < 1e-10

# %% [markdown]
# ## Exercise 4.4 (L0) The backward pass · 3 points
#
# Write `l0_grads(pair, x, y)`: the gradient of $\frac1B \sum_b \log \tilde q(y_b \mid x_b)$, where
# $\tilde q(y \mid x) = \mathrm{softmax}(a^n)_y$ comes from the mean pass $\mu^k = \sigma(W^k \mu^{k-1} + b^k)$,
# $\mu^0 = x$, $a^n = W^n \mu^{n-1} + b^n$:
#
# $$ \delta^n = \mathrm{onehot}(y) - \mathrm{softmax}(a^n),\quad
#    \delta^{k} = \big((W^{k+1})^\top \delta^{k+1}\big) \odot \mu^k (1 - \mu^k),\quad
#    \frac{\partial}{\partial W^k} = \delta^k (\mu^{k-1})^\top,\quad \frac{\partial}{\partial b^k} = \delta^k, $$
#
# averaged over the batch. Return the entries `"W1".."Wn"` and `"b1".."bn"`.

# %%
def l0_grads(pair, x, y):
    """Backpropagation through the mean pass: gradient of mean log q~(y | x), entries W1..Wn and b1..bn (L0)."""
    raise NotImplementedError("L0: implement backpropagation through the mean pass for mean log q~(y | x)")


# %%
# Check that l0_grads agrees with refimpl.l0_value_and_grad.
gap = max_gap(l0_grads(pair, x, y), refimpl.l0_value_and_grad(pair, x, y)[1])
print(f"max |mine - refimpl.l0_value_and_grad| = {gap:.1e}")
assert gap < 1e-10

# %% [markdown]
# ## Open question · Means instead of samples
#
# What if the wake phase used the recogniser's mean pass $\mu^1, \dots, \mu^{n-1}$ in place of the
# sampled $h^1, \dots, h^{n-1}$? The formulas of Exercise 4.1 still compute a number. What does the
# generator then learn, and why is that not the wake-sleep update?
#
# *Your answer:*

# %% [markdown]
# ## Grade yourself
#
# ```bash
# .venv/bin/python -m refimpl.course.grade tutorial/exercises/ex04_learning.ipynb
# ```
