# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · The sigmoid belief network and exact inference
#
# > First, we show that forward computation in DNNs with logistic sigmoid activations corresponds to a
# > simplified approximate Bayesian inference in a directed probabilistic multi-layer model.
# > — Flach, Shekhovtsov and Fikar, *Generative learning for deep networks* (arXiv:1709.08524)
#
# Before we can see *what* the forward pass approximates, we need the model itself and its exact
# answer. This notebook builds the directed multi-layer model — the **sigmoid belief network** (SBN,
# Neal 1992) — samples from it, writes down the probability of a complete configuration, and computes
# the exact distribution of every unit given the input: first by the definition (enumerating every
# hidden configuration), then by a recursion over whole layers that is exponentially cheaper. Later
# notebooks compare the DNN forward pass against these exact answers.
#
# The paper's full text is not available to this project; the equations below (labels M1–M4) are
# this project's reconstruction of the method from the paper's abstract and the literature it builds
# on, and this notebook states them in full. The SBN itself is standard.

# %%
# long cell: the notebook's imports, sizes and seed, in one place
import itertools
import time

import matplotlib.pyplot as plt
import numpy as np

import refimpl
from refimpl.exact import brute_force_marginals, exact_marginals, layer_state_distributions
from refimpl.lab import plots
from refimpl.lab.display import show_source
from refimpl.lab.figures import save_figure
from refimpl.sbn import SigmoidBeliefNet, binary_states, categorical_log_prob

SEED = 0
SIZES = [6, 3, 4, 2]  # d_0 (input), d_1, d_2 (hidden), d_3 (output): small enough to enumerate
N_SAMPLES = 50_000  # ancestral samples for the frequency check
rng = np.random.default_rng(SEED)

# %% [markdown]
# ## (M1) The model: a chain of binary layers
#
# Layers $x^0$ (the input, observed), $x^1, \dots, x^{n-1}$ (hidden) and $x^n$ (the output), of widths
# $d_0, \dots, d_n$; every unit is binary, $x^k_i \in \{0, 1\}$. Arrows go only from one layer to the
# next, $x^0 \to x^1 \to \dots \to x^n$, and given its parent layer each unit switches on independently
# with probability $\sigma(a^k_i)$, where the **logit** $a^k = W^k x^{k-1} + b^k$ is exactly what a
# sigmoid DNN layer computes from its input:
#
# $$ q(x^k \mid x^{k-1}) = \prod_{i=1}^{d_k} \sigma(a^k_i)^{x^k_i}\,\big(1-\sigma(a^k_i)\big)^{1-x^k_i},
# \qquad a^k = W^k x^{k-1} + b^k. \tag{M1} $$
#
# In code, `weights[k]` has shape $(d_{k+1}, d_k)$ and maps layer $k$ to layer $k+1$ (so `weights[0]` is
# $W^1$). Taking logs and using $\log\sigma(a) = a - \mathrm{softplus}(a)$,
# $\log(1-\sigma(a)) = -\mathrm{softplus}(a)$ gives the form the code evaluates, which never overflows:
# $\log q(x^k \mid x^{k-1}) = \sum_i [x^k_i a^k_i - \mathrm{softplus}(a^k_i)]$.
#
# The code: a layer's logits, its log-probability, and the Bernoulli term it sums.

# %%
show_source(refimpl.SigmoidBeliefNet.logits)

# %%
show_source(refimpl.SigmoidBeliefNet.layer_log_prob)

# %%
show_source(refimpl.sbn.bernoulli_log_prob)

# %%
net = SigmoidBeliefNet.random(SIZES, rng, scale=1.5)
x0 = rng.integers(0, 2, SIZES[0]).astype(float)
h1 = np.array([1.0, 0.0, 1.0])
print(net, "input x0 =", x0)
print("log q(x^1 | x^0) =", net.layer_log_prob(1, h1, x0))

# %% [markdown]
# Check against the product (M1) written out with $\sigma(a) = 1/(1+e^{-a})$:

# %%
a1 = net.weights[0] @ x0 + net.biases[0]
s1 = 1 / (1 + np.exp(-a1))
by_hand = np.log(np.prod(np.where(h1 == 1, s1, 1 - s1)))
gap = abs(net.layer_log_prob(1, h1, x0) - by_hand)
print(f"|difference| = {gap:.1e}")
assert gap < 1e-12

# %% [markdown]
# Computed by `refimpl.sbn.bernoulli_log_prob` (via `SigmoidBeliefNet.layer_log_prob`) ·
# checked by `tests/test_sbn.py::test_m1_bernoulli_log_prob_equals_log_of_written_out_bernoulli`

# %% [markdown]
# ## (M2) A categorical output layer
#
# For classification the last layer is one categorical variable $y \in \{1..C\}$ (stored one-hot) with
# the DNN's softmax as its conditional:
#
# $$ q(y \mid x^{n-1}) = \mathrm{softmax}(W^n x^{n-1} + b^n)_y
#   = \frac{e^{a^n_y}}{\sum_c e^{a^n_c}}. \tag{M2} $$

# %%
show_source(refimpl.sbn.categorical_log_prob)

# %%
a = np.array([[2.0, -1.0, 0.5]])
y = np.array([[0.0, 0.0, 1.0]])  # class 2, one-hot
print("log q(y=2 | .) =", categorical_log_prob(y, a))

# %%
by_hand = np.log(np.exp(0.5) / np.exp(a).sum())
gap = abs(categorical_log_prob(y, a)[0] - by_hand)
print(f"|difference| = {gap:.1e}")
assert gap < 1e-12

# %% [markdown]
# Computed by `refimpl.sbn.categorical_log_prob` ·
# checked by `tests/test_sbn.py::test_m2_categorical_log_prob_equals_log_softmax_written_out`

# %% [markdown]
# ## Ancestral sampling
#
# Because every arrow points forward, drawing from the model is easy: draw $x^1$ from (M1) given
# $x^0$, then $x^2$ given that $x^1$, and so on — *ancestral sampling*. Each layer costs one
# matrix product, like a forward pass, except that the units are set to random 0/1 values instead of
# being passed on as probabilities.
#
# The line above a public function, `@boundary(...)`, names the check of each argument (in
# `refimpl/_validation.py`). The checks run once, when you call the function, and the body trusts
# what it gets: a call from inside another checked function skips them.

# %%
show_source(refimpl.SigmoidBeliefNet.sample)

# %%
samples = net.sample(x0, N_SAMPLES, rng)
for k, s in enumerate(samples, start=1):
    print(f"x^{k}: shape {s.shape}, first sample {s[0]}")

# %% [markdown]
# ## (M3) Complete-data log-probability
#
# A complete configuration $(x^1, \dots, x^n)$ has probability equal to the product of the layer
# conditionals along the chain; in logs, a sum of per-unit terms, each in the stable form of (M1):
#
# $$ \log q(x^1..x^n \mid x^0) = \sum_{k=1}^{n} \sum_i \big[x^k_i a^k_i - \mathrm{softplus}(a^k_i)\big]. \tag{M3} $$
#
# (With a categorical output, the last layer's term is $a^n_y - \log\sum_c e^{a^n_c}$ instead.)

# %%
show_source(refimpl.SigmoidBeliefNet.log_prob)

# %%
first = [s[:5] for s in samples]
log_p = net.log_prob(x0, first)
print("log q of the first five samples:", np.round(log_p, 4))

# %% [markdown]
# Check: the same five numbers as logs of products of the conditionals, each factor written out:

# %%
def product_of_conditionals(x0, config):
    prob, prev = 1.0, x0
    for k, state in enumerate(config):
        s = 1 / (1 + np.exp(-(net.weights[k] @ prev + net.biases[k])))
        prob *= np.prod(np.where(state == 1, s, 1 - s))
        prev = state
    return prob


by_hand = np.log([product_of_conditionals(x0, [s[j] for s in first]) for j in range(5)])
gap = np.max(np.abs(log_p - by_hand))
print(f"max |difference| = {gap:.1e}")
assert gap < 1e-12

# %% [markdown]
# Computed by `refimpl.sbn.SigmoidBeliefNet.log_prob` ·
# checked by `tests/test_sbn.py::test_m3_log_prob_equals_product_of_conditionals`

# %% [markdown]
# ## (M4) Exact inference by brute force
#
# The DNN reports, for each output unit, a probability *given the input only*. In the model this is a
# marginal: every hidden configuration that could have led to the output must be summed over,
#
# $$ q(x^n \mid x^0) = \sum_{x^1..x^{n-1}} \prod_{k=1}^{n} q(x^k \mid x^{k-1}), \tag{M4} $$
#
# and likewise the marginal $q(x^k_i = 1 \mid x^0)$ of any hidden unit sums the joint over all
# configurations in which that unit is on. The definition can be computed literally: list all
# $2^{d_1 + \dots + d_{n-1}}$ hidden configurations (and the output's states), evaluate (M3) on each,
# and add up. Here that is $2^{3+4} \cdot 2^2 = 512$ configurations.

# %%
show_source(refimpl.brute_force_marginals)

# %%
brute = brute_force_marginals(net, x0)
for k, m in enumerate(brute, start=1):
    print(f"q(x^{k}_i = 1 | x^0) =", np.round(m, 4))

# %% [markdown]
# Check: the probabilities of all 512 configurations, each a product of conditionals written out
# above, add up to 1, and summing them where unit $i$ of the output is on gives the same marginal.

# %%
configs = list(itertools.product(*(itertools.product([0.0, 1.0], repeat=d) for d in SIZES[1:])))
probs = np.array([product_of_conditionals(x0, [np.array(v) for v in c]) for c in configs])
out_marg = sum(p * np.array(c[-1]) for p, c in zip(probs, configs, strict=True))
print(f"sum of all joint probabilities - 1 = {probs.sum() - 1:.1e}")
print(f"max |output marginal difference| = {np.max(np.abs(out_marg - brute[-1])):.1e}")
assert abs(probs.sum() - 1) < 1e-12 and np.max(np.abs(out_marg - brute[-1])) < 1e-12

# %% [markdown]
# Computed by `refimpl.exact.brute_force_marginals` ·
# checked by `tests/test_exact.py::test_m4_brute_force_equals_written_out_enumeration`

# %% [markdown]
# ## Why brute force explodes, and the layer recursion
#
# The number of terms in (M4) is $2^{d_1 + \dots + d_{n-1}}$: exponential in the *total* number of
# hidden units. Three hidden layers of 12 units already give $2^{36} \approx 7\cdot 10^{10}$
# configurations; a 500-unit layer is out of reach for any method.
#
# But the sum has structure. The chain $x^0 \to x^1 \to \dots \to x^n$ is a **Markov chain whose states
# are whole layers**: given $x^k$, layer $x^{k+1}$ does not depend on anything earlier. Push the sums
# in (M4) inside the product, innermost first:
#
# $$ q(x^n \mid x^0) = \sum_{x^{n-1}} q(x^n \mid x^{n-1}) \cdots \sum_{x^2} q(x^3 \mid x^2)
#    \underbrace{\sum_{x^1} q(x^2 \mid x^1)\, q(x^1 \mid x^0)}_{q(x^2 \mid x^0)}, $$
#
# so the distribution of each layer follows from the previous one by one matrix–vector product with
# the $2^{d_{k+1}} \times 2^{d_k}$ transition matrix $q(x^{k+1} \mid x^k)$:
#
# $$ q(x^{k+1} \mid x^0) = \sum_{x^k} q(x^k \mid x^0)\, q(x^{k+1} \mid x^k). $$
#
# This is (M4) rewritten, not an approximation. Its cost is $\sum_k 2^{d_k + d_{k+1}}$: exponential only
# in the widths of *two neighbouring* layers. Layer 1 is a product of independent Bernoullis, because
# its parent $x^0$ is observed; the output needs only its per-unit marginals
# $\sum_{x^{n-1}} q(x^{n-1} \mid x^0)\, \sigma(W^n x^{n-1} + b^n)$. The input's width never matters.
#
# With only two hidden layers the two counts coincide ($2^{d_1+d_2}$ either way; the recursion still
# stores only $2^{d_k}$ numbers per layer); from three hidden layers on, brute force grows with the
# *sum* of all widths and the recursion only with the *number* of layers (figure, right).

# %%
fig = plots.exact_inference_cost()
save_figure(fig, "01_exact_inference_cost")
plt.show()

# %% [markdown]
# ### The recursion computes the same marginals
#
# The recursion, one layer at a time. `backend="numpy"` runs the steps as written in `refimpl.exact`: each
# step between hidden layers forms its whole table of $2^{d_k + d_{k+1}}$ transition probabilities (so
# $d_k + d_{k+1} \le 22$), the last one a table of $2^{d_{n-1}} \times d_n$. `backend="numba"`, the default,
# runs their fast forms in `refimpl.kernels`: a compiled step that never stores its table, and the last step
# over blocks of states:

# %%
show_source(refimpl.exact_marginals)

# %%
recursion = exact_marginals(net, x0)  # backend="numba"; backend="numpy" runs the steps as written
for k, (r, b) in enumerate(zip(recursion, brute, strict=True), start=1):
    print(f"layer {k}: recursion {np.round(r, 4)}, max |recursion - brute force| = {np.max(np.abs(r - b)):.1e}")

# %%
gap = max(np.max(np.abs(r - b)) for r, b in zip(recursion, brute, strict=True))
twin = exact_marginals(net, x0, backend="numpy")
gap_twin = max(np.max(np.abs(r - t)) for r, t in zip(recursion, twin, strict=True))
print(f"max |recursion - brute force| = {gap:.1e}, max |numba - numpy steps| = {gap_twin:.1e}")
assert gap < 1e-12 and gap_twin < 1e-12

# %% [markdown]
# Computed by `refimpl.exact.exact_marginals` ·
# checked by `tests/test_exact.py::test_m4_recursion_equals_brute_force` and
# `tests/test_exact.py::test_m4_numba_step_equals_numpy_step`
#
# The recursion carries the full distribution over each layer's $2^{d_k}$ states; state $s$ is the
# binary number whose bit $i$ is unit $i$, $s = \sum_i x_i 2^i$. Those distributions are not products of
# their marginals: units of one layer become correlated through their shared parents. The figure
# compares layer 2's exact distribution with the product of its own marginals, the *factorisation*
# that the DNN forward pass will assume (approximation A1 in notebook 02).

# %%
show_source(refimpl.layer_state_distributions)

# %%
dists = layer_state_distributions(net, x0)
p2, m2 = dists[1], recursion[1]
states = np.arange(2 ** SIZES[2])
bits = binary_states(SIZES[2])  # row s: the units of state s (unit i = bit i)
product = np.prod(np.where(bits == 1, m2, 1 - m2), axis=1)
print("sum of layer-state probabilities per layer:", [float(np.round(d.sum(), 15)) for d in dists])
print(f"largest |exact - product of marginals| in layer 2: {np.max(np.abs(p2 - product)):.3f}")

# %%
gap = max(abs(d.sum() - 1) for d in dists)
gap_marg = np.max(np.abs(bits.T @ p2 - m2))  # marginals recovered from the state distribution
print(f"max |sum - 1| = {gap:.1e}, max |marginals from states - exact_marginals| = {gap_marg:.1e}")
assert gap < 1e-12 and gap_marg < 1e-12

# %% [markdown]
# Computed by `refimpl.exact.layer_state_distributions` ·
# checked by `tests/test_exact.py::test_m4_layer_state_distributions_equal_enumeration` and
# `tests/test_exact.py::test_m4_layer_state_distributions_sum_to_one`

# %%
# the same distribution estimated from the ancestral samples above: state s counts the samples with x^2 = s
sampled = np.bincount((samples[1] @ 2 ** np.arange(SIZES[2])).astype(int), minlength=states.size) / N_SAMPLES
sampled_se = np.sqrt(sampled * (1 - sampled) / N_SAMPLES)  # binomial standard error of each frequency
fig = plots.layer_state_distribution(p2, product, sampled, sampled_se, N_SAMPLES)
save_figure(fig, "01_layer_state_distribution")
plt.show()

# %% [markdown]
# ## Sampled frequencies against the exact marginals
#
# Ancestral samples are draws from the very distribution (M4) sums over, so the fraction of samples
# in which a unit is on must approach its exact marginal, with binomial standard error
# $\sqrt{p(1-p)/N}$. With $N = 50\,000$ that is at most $0.0022$; we accept deviations up to five
# standard errors (a chance failure among these 9 units has probability below $10^{-5}$).

# %%
freq = np.concatenate([s.mean(axis=0) for s in samples])
exact = np.concatenate(recursion)
z = (freq - exact) / np.sqrt(exact * (1 - exact) / N_SAMPLES)
print("frequencies:", np.round(freq, 4))
print("exact      :", np.round(exact, 4))
print(f"largest deviation in standard errors: {np.max(np.abs(z)):.2f}")
assert np.max(np.abs(z)) < 5

# %% [markdown]
# Sampled by `refimpl.sbn.SigmoidBeliefNet.sample`, exact values by `refimpl.exact.exact_marginals` ·
# checked by `tests/test_sbn.py::test_m1_sampled_frequencies_match_exact_marginals`

# %%
fig, ax = plt.subplots(figsize=(5, 4.8))
ax.plot([0, 1], [0, 1], color="gray", lw=0.8)
ax.errorbar(exact, freq, yerr=5 * np.sqrt(exact * (1 - exact) / N_SAMPLES), fmt="o", ms=4)
ax.set(xlabel="exact marginal (recursion)", ylabel=f"frequency in {N_SAMPLES} samples",
       title="sampling agrees with exact inference")
fig.tight_layout()
save_figure(fig, "01_sampled_vs_exact")
plt.show()

# %% [markdown]
# ## A network brute force cannot touch
#
# Three hidden layers of 12 units: brute force would list $2^{36} \approx 6.9 \cdot 10^{10}$
# configurations; the recursion needs $2 \cdot 2^{24} \approx 3.4 \cdot 10^7$ terms. (Timings depend on
# the machine; `benchmarks/bench_exact.py` compares the two backends and a general-purpose
# variable-elimination library.)

# %%
big = SigmoidBeliefNet.random([10, 12, 12, 12, 2], rng)
x_big = rng.integers(0, 2, 10).astype(float)
start = time.perf_counter()
marg_big = exact_marginals(big, x_big)
print(f"exact marginals of 38 units in {time.perf_counter() - start:.2f} s; output: {np.round(marg_big[-1], 4)}")
try:
    brute_force_marginals(big, x_big)
except ValueError as err:
    print("brute force refuses:", err)

# %% [markdown]
# Check: an independent estimate, the frequencies of ancestral samples, agrees within five standard errors.

# %%
n_big = 20_000
freq_big = np.concatenate([s.mean(axis=0) for s in big.sample(x_big, n_big, rng)])
exact_big = np.concatenate(marg_big)
z_big = np.abs(freq_big - exact_big) / np.sqrt(exact_big * (1 - exact_big) / n_big + 1e-300)
print(f"largest deviation in standard errors over {exact_big.size} units: {np.max(z_big):.2f}")
assert np.max(z_big) < 5.5  # 38 units: a chance failure at 5.5 sigma has probability < 2e-6

# %% [markdown]
# ## Summary
#
# - The sigmoid belief network is a chain of binary layers; each unit is on with probability
#   $\sigma(W^k_i x^{k-1} + b^k_i)$ (M1), and a classifier's last layer is a softmax (M2).
# - Sampling is ancestral; the log-probability of a complete configuration is a sum of per-unit
#   logistic terms, evaluated from logits so that it never overflows (M3).
# - The exact marginal of a unit given the input sums over every hidden configuration (M4):
#   $2^{d_1+\dots+d_{n-1}}$ terms by the definition, but only $\sum_k 2^{d_k + d_{k+1}}$ by the layer
#   recursion, because the layers form a Markov chain over whole-layer states.
# - Exact inference is still exponential in the layer width. Realistic networks (hundreds of units
#   per layer) need approximations — and the DNN forward pass is one, as notebook 02 shows.
#
# ## Exercises
#
# 1. Show that $\sum_{x^{k+1}} q(x^{k+1} \mid x^k) = 1$ for (M1) and conclude, by induction over the
#    recursion, that every layer's state probabilities sum to 1.
# 2. The recursion costs $\sum_k 2^{d_k + d_{k+1}}$. For a budget of $10^9$ terms, what is the widest
#    network of four hidden layers of equal width you can treat exactly? With brute force?
# 3. Set all weights to zero. What are the exact marginals? Check with `exact_marginals` and explain why
#    every layer's state distribution is then a product.
# 4. Scale the weights of `net` by 0.1, 1 and 10 and plot the largest gap between layer 2's exact
#    distribution and the product of its marginals. When are the hidden units nearly independent?
# 5. Why does the width of the input layer $d_0$ not enter the cost of exact inference, and why does the
#    output layer only add $2^{d_{n-1}} d_n$ terms when we want its marginals?
