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
# # 03 · The generator by transposition (M9–M11)
#
# The first two notebooks read a sigmoid network as a *recogniser*: a directed model
# $q(x^1..x^n \mid x^0)$ of every hidden unit and the output given the input. This notebook
# runs the chain the other way, from the label down to an image, and asks which weights
# that *generator* should have. The paper's answer:
#
# > Second, we propose that in order for the recognition and generation networks to be more
# > consistent with the joint model of the data, weights of the recognition and generator
# > network should be related by transposition.
#
# The full text of the paper (Flach, Shekhovtsov, Fikar, arXiv:1709.08524) is not available
# to this project: what follows reconstructs the argument from the abstract and standard
# results on restricted Boltzmann machines (RBMs). In particular the *measure* of consistency
# used in the second half (the stationary law of an alternating chain and a KL divergence)
# is this project's choice, not the paper's.
#
# Plan: the generator (M9); generation by ancestral sampling and by the mean pass (M10); why
# transposition, the RBM argument (M11); then how far tied and untied pairs, one and two
# layers deep, are from agreeing with one joint distribution — measured exactly by
# enumeration on tiny networks.

# %%
# long cell: the notebook's imports, sizes and seed, in one place
import matplotlib.pyplot as plt
import numpy as np

import refimpl
from refimpl import CoupledPair, consistency_gap, rbm_joint, transposed_generator
from refimpl.consistency import (
    gap_samples,
    joint_conditionals,
    log_conditional_table,
    random_pair,
    stationary_consistency,
)
from refimpl.lab import plots
from refimpl.lab.display import show_source
from refimpl.lab.figures import save_figure
from refimpl.sbn import binary_states

SEED = 2017
SIZES = (6, 4, 3)          # a tiny coupled pair: 6 pixels, 4 hidden units, 3 classes
ONE_LAYER = (4, 3)         # pairs for the consistency study: 4 visible, 3 hidden
TWO_LAYER = (4, 3, 2)      # 4 visible, 3 + 2 hidden
N_PAIRS = 50               # random pairs per kind and weight scale
SCALES = (1.0, 2.0)        # standard deviation of random weights and biases
N_SAMPLES = 20_000         # ancestral samples for the M10 check
rng = np.random.default_rng(SEED)

# %% [markdown]
# ## (M9) The generator: the same weights, transposed
#
# The recogniser has layers $x^0 \to x^1 \to \dots \to x^n$ with
# $q(x^k \mid x^{k-1}) = \prod_i \mathrm{Bern}(x^k_i; \sigma(W^k x^{k-1} + b^k)_i)$ (M1) and a
# categorical top layer $y = x^n$ (M2). The generator runs the same chain downwards. It
# starts from a prior $p(y)$ (uniform, or the class frequencies) and has one logistic layer
# per step. The reconstruction's choice, following the abstract, is that step $k$ uses the
# **same** matrix $W^k \in \mathbb{R}^{d_k \times d_{k-1}}$, transposed so that it maps layer
# $k$ back to layer $k-1$, with a bias vector $c^{k-1}$ of its own:
#
# $$ p(x^{k-1} \mid x^k) = \prod_j \mathrm{Bern}\big(x^{k-1}_j;\ \sigma((W^k)^\top x^k + c^{k-1})_j\big),
#    \qquad p(x, h \mid y) = \prod_{k=1}^{n} p(x^{k-1} \mid x^k),\ x^n = \mathrm{onehot}(y). \tag{M9} $$
#
# A tied pair has no more weight matrices than the recogniser alone; the generator adds only
# the biases $c^0, \dots, c^{n-1}$ and the prior. A `CoupledPair` is two ordinary
# `SigmoidBeliefNet`s: `pair.recogniser`, and `pair.generator`, whose input is the one-hot
# label. M9 is one line of `refimpl.coupled.transposed_generator`:
# `weights = [w.T for w in reversed(recogniser.weights)]`, views of the recogniser's arrays,
# not copies, so one step on $W^k$ moves both directions.

# %%
show_source(refimpl.transposed_generator)

# %%
pair = CoupledPair(SIZES, tied=True, rng=rng, init_scale=1.5, dtype=np.float64)
for k in range(len(SIZES) - 1):                      # give the generator biases some values
    pair.params[f"c{k}"][:] = rng.standard_normal(SIZES[k])
generator = pair.generator
print(pair)
print("generator:", generator, " weight shapes:", [w.shape for w in generator.weights])

# %% [markdown]
# Check: the generator's matrices are the recogniser's, transposed and in reverse order, and
# its conditional is the logistic formula (M9) written out here for one label and one hidden state.

# %%
W1, W2 = pair.params["W1"], pair.params["W2"]
c0, c1 = pair.params["c0"], pair.params["c1"]
same = np.array_equal(generator.weights[0], W2.T) and np.array_equal(generator.weights[1], W1.T)
y = np.eye(SIZES[-1])[1]                              # label 1, one-hot
h1 = np.array([1.0, 0.0, 1.0, 1.0])
s = 1.0 / (1.0 + np.exp(-(W2.T @ y + c1)))            # p(h1_j = 1 | y), by hand
by_hand = np.log(np.prod(np.where(h1 == 1, s, 1 - s)))
err = abs(generator.layer_log_prob(1, h1, y) - by_hand)
print(f"weights are W2^T, W1^T: {same};  |log p(h1|y) - by hand| = {err:.1e}")
assert same and err < 1e-12
tied_again = transposed_generator(pair.recogniser, [c0, c1])   # the same from a plain SBN
assert all(np.array_equal(a, b) for a, b in zip(tied_again.weights, generator.weights, strict=True))
assert np.shares_memory(generator.weights[0], W2)              # a view of W^2, not a copy

# %% [markdown]
# Computed by `refimpl.coupled.transposed_generator` (inside `CoupledPair`) ·
# checked by `tests/test_consistency.py::test_m9_transposed_generator_matches_coupled_pair`,
# `tests/test_coupled.py::test_m9_generator_weights_are_recogniser_transposed` and
# `tests/test_coupled.py::test_m9_tied_generator_weights_are_views_of_the_recogniser_weights`

# %% [markdown]
# ## (M10) Generation: ancestral sampling and the mean pass
#
# To generate, draw $y \sim p(y)$ (or fix it), then each layer from the one above, down to the
# image $x^0$. The deterministic analogue of the recogniser's forward pass (M6) replaces every
# sample by its mean under the factorisation and linearisation approximations (A1, A2), run downwards:
#
# $$ x^{k-1} \sim p(x^{k-1} \mid x^k),\ k = n, \dots, 1; \qquad
#    \nu^n = \mathrm{onehot}(y),\quad \nu^{k-1} = \sigma\big((W^k)^\top \nu^k + c^{k-1}\big). \tag{M10} $$
#
# As with the forward pass, the first step is exact ($y$ is given, so $\nu^{n-1}$ is the true
# marginal of $x^{n-1}$), and every later step is approximate.

# %%
show_source(refimpl.CoupledPair.sample_generator)

# %%
show_source(refimpl.CoupledPair.generate_mean)

# %%
labels = np.repeat(np.arange(SIZES[-1]), N_SAMPLES)
hidden, x_samples = pair.sample_generator(labels, rng)
nu0, nu1 = pair.generate_mean(np.arange(SIZES[-1]), all_layers=True)
sample_means = x_samples.reshape(SIZES[-1], N_SAMPLES, SIZES[0]).mean(axis=1)
print("nu^0 (mean pass), one row per class:\n", np.round(nu0, 3))

# %% [markdown]
# Check against exact marginals $p(x^0_i = 1 \mid y)$, by enumerating every configuration of the
# generator (`log_conditional_table`): the sample means must agree within their Monte Carlo
# error, the mean pass is exact at the first step and only approximately right at the image.

# %%
table = np.exp(log_conditional_table(generator, np.eye(SIZES[-1])))   # (y, h1, x)
exact_x = table.sum(axis=1) @ binary_states(SIZES[0])                  # p(x_i = 1 | y)
exact_h1 = table.sum(axis=2) @ binary_states(SIZES[1])
se = np.sqrt(exact_x * (1 - exact_x) / N_SAMPLES)
z = np.max(np.abs(sample_means - exact_x) / se)
print(f"samples vs exact: max |z| = {z:.2f}   (5 standard errors allowed over {exact_x.size} means)")
print(f"mean pass, top step:  max |nu^1 - exact| = {np.max(np.abs(nu1 - exact_h1)):.1e}")
print(f"mean pass, image:     max |nu^0 - exact| = {np.max(np.abs(nu0 - exact_x)):.3f}  (approximation)")
assert z < 5 and np.allclose(nu1, exact_h1, atol=1e-12)

# %% [markdown]
# Per class and pixel, the three values side by side:

# %%
fig = plots.generation_marginals(exact_x, sample_means, nu0, N_SAMPLES)
save_figure(fig, "03_generation_marginals")
plt.show()

# %% [markdown]
# Computed by `refimpl.coupled.CoupledPair.sample_generator` and `CoupledPair.generate_mean` ·
# checked by `tests/test_coupled.py::test_m10_sample_generator_frequencies_match_exact_joint` and
# `tests/test_coupled.py::test_m10_generate_mean_equals_plain_sigmoid_pass`

# %% [markdown]
# ## (M11) Why transposition: the RBM
#
# Take one layer: visible $v = x^0$, hidden $h = x^1$, and the energy-based joint of a restricted
# Boltzmann machine
#
# $$ p(v, h) = \frac{1}{Z} \exp\big(h^\top W v + b^\top h + c^\top v\big). $$
#
# Fix $v$. Everything that does not involve $h$ cancels between numerator and denominator,
# and the exponent $h^\top (W v + b) = \sum_i h_i (Wv + b)_i$ is a sum of one term per hidden unit, so
#
# $$ p(h \mid v) = \frac{\exp(h^\top (Wv + b))}{\sum_{h'} \exp(h'^\top (Wv + b))}
#    = \prod_i \frac{e^{h_i a_i}}{1 + e^{a_i}} = \prod_i \mathrm{Bern}(h_i; \sigma(a_i)),\quad a = Wv + b. $$
#
# That is the recogniser's layer (M1) with weights $W$. Fix $h$ instead: $h^\top W v = v^\top (W^\top h)$,
# and the same computation gives $p(v \mid h) = \prod_j \mathrm{Bern}(v_j; \sigma(W^\top h + c)_j)$: the
# generator's layer (M9) with the **transposed** matrix. So
#
# $$ q(h \mid v) = \prod_i \sigma(Wv + b)_i^{h_i}(1-\sigma(Wv + b)_i)^{1-h_i}, \quad
#    p(v \mid h) = \prod_j \sigma(W^\top h + c)_j^{v_j}(1-\sigma(W^\top h + c)_j)^{1-v_j}
#    \ \text{are the two conditionals of}\ \ p(v,h) \propto e^{h^\top W v + b^\top h + c^\top v}. \tag{M11} $$
#
# A tied one-layer pair therefore agrees exactly with one joint distribution, whatever $W$, $b$
# and $c$ are. With a one-hot $y$ in place of $h$ the same argument gives softmax for
# $q(y \mid v)$ and sigmoids for $p(v \mid y)$: the categorical top of a one-layer pair is covered too.
# An untied pair, $p(v \mid h) = \prod \sigma(V^\top h + c)$ with $V \ne W$, has no such joint in
# general; nor, as measured below, does a tied pair with more than one layer.
#
# The joint table of a small RBM, and its two conditionals read off the table:

# %%
show_source(refimpl.rbm_joint)

# %%
show_source(refimpl.consistency.joint_conditionals)

# %%
d_v, d_h = 4, 3
W, b, c = 2.0 * rng.standard_normal((d_h, d_v)), rng.standard_normal(d_h), rng.standard_normal(d_v)
joint = rbm_joint(W, b, c)                    # (2^4, 2^3), sums to 1
h_given_v, v_given_h = joint_conditionals(joint)
print("joint table", joint.shape, " sum =", joint.sum())

# %% [markdown]
# Check: the logistic formulas, written out with $W$ and with $W^\top$, against the joint's conditionals.

# %%
V, H = binary_states(d_v), binary_states(d_h)
s_h = 1.0 / (1.0 + np.exp(-(V @ W.T + b)))[:, None]    # sigma(Wv + b), written out, one row per v
s_v = 1.0 / (1.0 + np.exp(-(H @ W + c)))[:, None]      # sigma(W^T h + c), one row per h
q_formula = np.prod(np.where(H[None] == 1, s_h, 1 - s_h), axis=-1)
p_formula = np.prod(np.where(V[None] == 1, s_v, 1 - s_v), axis=-1)
err_q, err_p = np.max(np.abs(q_formula - h_given_v)), np.max(np.abs(p_formula - v_given_h))
print(f"max |sigma(Wv+b) product - p(h|v)| = {err_q:.1e};  max |sigma(W^T h+c) product - p(v|h)| = {err_p:.1e}")
assert err_q < 1e-12 and err_p < 1e-12

# %% [markdown]
# Computed by `refimpl.consistency.rbm_joint` and `refimpl.consistency.joint_conditionals` ·
# checked by `tests/test_consistency.py::test_m11_tied_conditionals_are_the_rbm_conditionals`

# %% [markdown]
# ## (M11) Consistency measured
#
# When do a recogniser $q(h \mid x)$ and a generator $p(x \mid h)$ agree with *some* joint? Write
# $t = x^n$ for the top layer and $m = (x^1..x^{n-1})$ for the layers between. Run the alternating chain
#
# $$ x \to (m, t) \sim q(\cdot \mid x) \to (x', m') \sim p(\cdot \mid t) \to \dots $$
#
# (upwards through all hidden layers with the recogniser, downwards through all layers below
# the top with the generator). Its stationary law, looked at right after an upward step, is
# $\pi_q(x,m,t) = \pi_x(x)\, q(m,t \mid x)$, and right after a downward step
# $\pi_p(x,m,t) = \pi_t(t)\, p(x,m \mid t)$, where $\pi_x$ is the stationary law of the x-chain
# $x \to x'$ and $\pi_t$ that of the top layer. This project's **consistency gap** is
#
# $$ \mathrm{gap} = \mathrm{KL}(\pi_q \,\|\, \pi_p) \ \text{nats}. $$
#
# With strictly positive conditionals it is zero exactly when one joint distribution has both
# conditionals (compatible conditionals, in the sense of Arnold and Press). Such a joint is left
# unchanged by both half-steps, so it is the unique stationary law and $\pi_q = \pi_p$. Conversely,
# if $\pi_q = \pi_p$, that table is itself such a joint. For tiny networks everything is exact:
# the conditional tables are enumerated, the stationary law of the smaller of the x-chain and the
# top chain comes from the Grassmann–Taksar–Heyman algorithm, and the KL divergence is taken in the
# log domain. One difference from a Gibbs sampler: for $n > 1$ the downward step redraws the middle layers too.
#
# The code, from the conditional tables to the gap:

# %%
show_source(refimpl.consistency.log_conditional_table)

# %%
show_source(refimpl.consistency.consistency_from_tables)

# %%
show_source(refimpl.consistency.stationary_consistency)

# %%
show_source(refimpl.consistency_gap)

# %%
rec1, gen1 = random_pair(ONE_LAYER, rng, scale=2.0, tied=True)
res = stationary_consistency(rec1, gen1)
print(f"one-layer tied pair {ONE_LAYER}: gap = {res.gap:.1e}, reverse = {res.reverse_gap:.1e}")
rec2, gen2 = random_pair(TWO_LAYER, rng, scale=2.0, tied=True)
res2 = stationary_consistency(rec2, gen2)
print(f"two-layer tied pair {TWO_LAYER}: gap = {res2.gap:.3f} nats, reverse = {res2.reverse_gap:.3f} nats")

# %% [markdown]
# Check: for the one-layer tied pair both factorisations must be the RBM joint of $(W^1, b^1, c^0)$
# — the table from the first half of this section, not from the chain.

# %%
rbm = rbm_joint(rec1.weights[0], rec1.biases[0], gen1.biases[0])
err = max(np.max(np.abs(res.joint_q[:, 0, :] - rbm)), np.max(np.abs(res.joint_p[:, 0, :] - rbm)))
print(f"max |pi_q - RBM|, |pi_p - RBM| = {err:.1e}")
assert err < 1e-12 and abs(res.gap) < 1e-10

# %% [markdown]
# Now many random pairs. Four kinds: (i) one-layer tied, (ii) one-layer untied (generator matrix
# $V$ drawn independently of $W$), (iii) two-layer tied ($x \to h^1 \to h^2$, generator
# $h^2 \to h^1 \to x$ with $W$'s transposed and its own biases), (iv) two-layer untied.
# For each kind, `N_PAIRS` random pairs per weight scale, with every weight and bias drawn from $N(0, s^2)$.

# %%
KINDS = {
    "(i) 1 layer, tied": (ONE_LAYER, True),
    "(ii) 1 layer, untied": (ONE_LAYER, False),
    "(iii) 2 layers, tied": (TWO_LAYER, True),
    "(iv) 2 layers, untied": (TWO_LAYER, False),
}
gaps = {(kind, s): gap_samples(sizes, rng, N_PAIRS, scale=s, tied=tied)
        for kind, (sizes, tied) in KINDS.items() for s in SCALES}

# %%
print(f"consistency gap KL(pi_q || pi_p) in nats, {N_PAIRS} random pairs each")
print(f"{'kind':24s}" + "".join(f"| scale {s:g}: median [q10, q90]          " for s in SCALES))
for kind in KINDS:
    row = f"{kind:24s}"
    for s in SCALES:
        g = gaps[kind, s]
        row += f"| {np.median(g):9.2e} [{np.quantile(g, 0.1):9.2e}, {np.quantile(g, 0.9):9.2e}] "
    print(row)

# %%
fig = plots.consistency_gaps(gaps, KINDS, SCALES, rng)  # |gap| below 1e-17 (rounding noise) drawn at 1e-17
save_figure(fig, "03_consistency_gap", tolerance=0.01)  # its tied gaps are rounding noise: dots move by machine
plt.show()

# %% [markdown]
# Check: kind (i) is consistent to rounding for every pair; every other pair has a strictly
# positive gap (random continuous weights are compatible with probability zero).

# %%
worst_tied = max(np.max(np.abs(gaps["(i) 1 layer, tied", s])) for s in SCALES)
smallest_other = min(np.min(gaps[k, s]) for k in list(KINDS)[1:] for s in SCALES)
print(f"(i): max |gap| = {worst_tied:.1e};   (ii)-(iv): min gap = {smallest_other:.2e} nats")
assert worst_tied < 1e-10 and smallest_other > 1e-4

# %% [markdown]
# Computed by `refimpl.consistency.consistency_gap` · checked by
# `tests/test_consistency.py::test_m11_one_layer_tied_gap_is_zero`,
# `tests/test_consistency.py::test_m11_untied_and_deep_tied_gaps_are_positive`,
# `tests/test_consistency.py::test_m11_gap_is_zero_for_the_bayes_inverse_generator` and
# `tests/test_consistency.py::test_m11_deep_gap_matches_the_full_state_chain`

# %% [markdown]
# ### What the numbers say, and what they do not
#
# - **One layer:** tying is exactly what makes the two directions consistent. The gap of (i) is
#   rounding noise, about $10^{-16}$, while every untied pair (ii) is off by a fraction of a nat or more.
# - **Two layers:** the tied pair (iii) does **not** agree with one joint; tying only reduces the
#   gap (its median is roughly half that of (iv) in this experiment). The reason is visible in
#   the algebra. A consistent two-layer pair would need the middle layer $h^1$ to have one marginal
#   that is at the same time the hidden marginal of the lower RBM $(x, h^1; W^1)$ and the visible
#   marginal of the upper RBM $(h^1, h^2; W^2)$. Random weights do not arrange that. This is the
#   deep-belief-network situation: in a DBN (Hinton, Osindero, Teh 2006) weights are tied while one
#   layer is trained as an RBM, and untied for fine-tuning. Shekhovtsov, Schlesinger and Flach
#   ("VAE approximation error: ELBO and exponential families", ICLR 2022) show that
#   encoder/decoder pairs consistent with one joint are RBM-like, and that depth does not enlarge
#   that set. So the paper's claim, as reconstructed here, is that transposition makes the pair
#   *more* consistent, not exactly consistent beyond one layer.
# - The gap is a property of the conditionals only; the generator's prior $p(y)$ does not enter it.
#   The stationary top law $\pi_t$ is the top marginal of $\pi_q$, so among all priors $r(t)$ it
#   minimises $\mathrm{KL}(\pi_q \,\|\, r(t)\, p(x,m \mid t))$: the gap is measured with the prior
#   most favourable to the pair. It is also the law of $t$ that generating and then recognising
#   reproduces ($t \sim \pi_t$, $x \sim p(x \mid t)$, $t' \sim q(t' \mid x)$ gives $t' \sim \pi_t$).
# - With the tiny `CoupledPair` of the first section (categorical top, 3 classes), the same measure reads:

# %%
one_layer = CoupledPair((SIZES[0], SIZES[-1]), tied=True, rng=rng, init_scale=1.5, dtype=np.float64)
one_layer.params["c0"][:] = rng.standard_normal(SIZES[0])
gap_one = consistency_gap(one_layer.recogniser, one_layer.generator)
gap_deep = consistency_gap(pair.recogniser, pair.generator)
print(f"CoupledPair{(SIZES[0], SIZES[-1])} tied: gap = {gap_one:.1e};  CoupledPair{SIZES} tied: gap = {gap_deep:.3f} nats")
assert abs(gap_one) < 1e-10 and gap_deep > 0

# %% [markdown]
# ## Summary
#
# - (M9) The generator runs the recogniser's chain downwards with the same $W^k$ transposed,
#   its own biases $c^{k-1}$ and a prior $p(y)$. `CoupledPair.generator` is an ordinary sigmoid belief net.
# - (M10) Generation is ancestral sampling from the one-hot label; the mean pass $\nu$ is the generator's
#   forward pass, exact at its first step and approximate below.
# - (M11) For one layer, $\sigma(Wv+b)$ and $\sigma(W^\top h + c)$ are exactly the two conditionals of the
#   RBM $\exp(h^\top W v + b^\top h + c^\top v)$. This is why the weights are transposed.
# - Measured with the stationary law of the alternating chain, the gap
#   $\mathrm{KL}(\pi_q \| \pi_p)$ is zero (to $10^{-16}$) for one tied layer, and positive for untied
#   pairs and for tied pairs two layers deep. Tying roughly halves the deep gap but does not remove it.
# - Reconstruction: the paper's full text is unavailable; the generator's form follows the abstract,
#   and the measure is this project's.
#
# ## Exercises
#
# 1. Show that a one-hot top layer keeps M11 exact: derive $q(y \mid v) = \mathrm{softmax}(Wv + b)$ and
#    $p(v \mid y) = \prod_j \sigma(W^\top y + c)_j$ from $\exp(y^\top W v + b^\top y + c^\top v)$, then confirm
#    with `random_pair(..., output="categorical")` and `consistency_gap`.
# 2. For a two-layer tied pair, hold the weights fixed and minimise the gap over the generator's middle bias
#    $c^1$ (finite differences and gradient descent are enough at these sizes). How much of the deep gap do
#    biases alone remove? Why can they never remove all of it for generic $W^1, W^2$?
# 3. Scale all weights by $\alpha \in [0.1, 10]$ and plot the gap of kinds (ii)–(iv) against $\alpha$.
#    Explain both limits: near-independent units at small $\alpha$, near-deterministic chains at large $\alpha$.
# 4. The gap uses $\mathrm{KL}(\pi_q \| \pi_p)$. Compare it with the reverse direction (`reverse_gap`) and with
#    the total-variation distance between `joint_q` and `joint_p`. Do the three rank the four kinds the same way?
# 5. Build a generator that is the exact Bayes inverse $r(x)\,q(h \mid x) / \sum_{x'} r(x')\,q(h \mid x')$ of a
#    one-layer recogniser for a prior $r$ of your choice (with `consistency_from_tables`). Why is it not a
#    sigmoid belief net, and what does that say about the untied pairs (ii)?
