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
# # 04 · Learning the coupled pair (L0, L1, L1u, L2)
#
# Notebook 3 built the generator from the recogniser's weights, transposed (M9). This
# notebook learns such a pair from data. The paper's claim:
#
# > We demonstrate in a tentative experiment that such a coupled pair can be learned
# > generatively, modelling the full distribution of the data, and has enough capacity to
# > perform well in both recognition and generation.
#
# The paper's full text is not available to this project, so the learning rule below is a
# **reconstruction**: wake-sleep (Hinton, Dayan, Frey, Neal 1995) with tied weights. The
# per-term normalisation of the hybrid L2 and every hyper-parameter are this project's choices.
#
# Plan: the discriminative baseline (L0); the generative rule, its two terms and their local
# gradients (L1); the untied baseline (L1u); the hybrid (L2); a short run of all four on the
# MNIST subset shipped with the package. Convention throughout: every objective is a
# log-likelihood to **maximise**, summed over units and averaged over the batch, and the
# optimisers of `refimpl.optim` ascend.

# %%
# long cell: the notebook's imports, sizes, seed and its one helper (a tiny random pair), in one place
import matplotlib.pyplot as plt
import numpy as np

import refimpl
from refimpl import (
    Adam,
    CoupledPair,
    cycle_accuracy,
    gradcheck,
    importance_log_likelihood,
    l0_value_and_grad,
    l1_step_grads,
    l2_step_grads,
    mc_class_probs,
    one_hot,
    sleep_value_and_grad,
    wake_value_and_grad,
)
from refimpl.lab import plots
from refimpl.lab.data import binarize, load_embedded
from refimpl.lab.display import show_source
from refimpl.lab.figures import save_figure
from refimpl.lab.train import TrainConfig, fit
from refimpl.learning import semi_step_grads, wake_unlabelled_value_and_grad

SEED = 2017
TINY = (6, 4, 3, 3)          # a tiny pair for the gradient checks (float64)
SIZES = (784, 100, 100, 10)  # the short MNIST run (the experiment uses 784-500-500-10)
EPOCHS, LR, LR_DECAY = 10, 3e-3, 0.85  # the experiment's optimiser settings
LAM = 1.0                    # weight of L0 in L2 (with per-unit normalisation of G and R)

rng = np.random.default_rng(SEED)


def tiny_pair(tied, seed):
    """A float64 pair with every parameter random (plotting/checking helper)."""
    r = np.random.default_rng(seed)
    pair = CoupledPair(TINY, tied=tied, rng=r, init_scale=0.8, dtype=np.float64)
    for p in pair.params.values():
        p[...] = 0.8 * r.standard_normal(p.shape)
    return pair


# %% [markdown]
# ## (L0) Discriminative learning: backpropagation by hand
#
# The recogniser's forward pass is the mean pass $\mu^k = \sigma(W^k\mu^{k-1} + b^k)$,
# $\mu^0 = x$ (M6), with a softmax on top: $\tilde q(y \mid x) = \mathrm{softmax}(a^n)_y$,
# $a^n = W^n\mu^{n-1} + b^n$. For the log-likelihood $\log \tilde q(y\mid x) = a^n_y - \log\sum_c e^{a^n_c}$,
# the derivative with respect to the top logits is $\delta^n = \mathrm{onehot}(y) - \mathrm{softmax}(a^n)$.
# Going down one layer, $a^{k+1} = W^{k+1}\mu^k + b^{k+1}$ gives $(W^{k+1})^\top\delta^{k+1}$ with respect
# to $\mu^k$, and $\sigma'(a) = \sigma(a)(1-\sigma(a))$ turns it into the derivative with respect to $a^k$:
#
# $$
# \max\ \frac1B \sum_b \log \tilde q(y_b \mid x_b),\qquad
# \delta^k = \big((W^{k+1})^\top \delta^{k+1}\big) \odot \mu^k(1-\mu^k),\qquad
# \frac{\partial}{\partial W^k} = \delta^k (\mu^{k-1})^\top,\quad \frac{\partial}{\partial b^k} = \delta^k
# \tag{L0}
# $$

# %%
show_source(refimpl.l0_value_and_grad)

# %%
pair = tiny_pair(tied=True, seed=1)
x = (rng.random((5, TINY[0])) < 0.5).astype(float)
y = rng.integers(0, TINY[-1], 5)
value, grads = l0_value_and_grad(pair, x, y)
print(f"L0 = {value:.4f} nats per label; gradient keys: {sorted(grads)}")

# %%
# check: central differences of the objective evaluated by the mean pass itself
def l0_objective(p):
    return np.mean(np.log(p.recognise_mean(x)[np.arange(len(y)), y]))


gap = gradcheck.max_discrepancy(grads, gradcheck.central_differences(lambda: l0_objective(pair), pair.params))
print(f"max |backprop - central differences| = {gap:.2e}")
assert gap < 1e-7

# %% [markdown]
# Computed by `refimpl.learning.l0_value_and_grad` ·
# checked by `tests/test_learning.py::test_l0_gradient_matches_central_differences`

# %% [markdown]
# Every objective here is maximised: an optimiser *ascends* its gradient. Twenty Adam steps on
# this one batch raise L0 (on a copy of the pair, which the sections below keep using).

# %%
ascending, opt = pair.copy(), Adam(lr=0.05)
start = l0_value_and_grad(ascending, x, y)[0]
for _ in range(20):
    opt.step(ascending.params, l0_value_and_grad(ascending, x, y)[1])
print(f"L0 before {start:.4f}, after 20 Adam steps {l0_value_and_grad(ascending, x, y)[0]:.4f}")
assert l0_value_and_grad(ascending, x, y)[0] > start

# %% [markdown]
# ## (L1) Generative learning: a wake term and a sleep term
#
# Two sampled utilities, both log-likelihoods of one network at states produced by the other:
#
# - **G (wake)**: for a real pair $(x, y)$ the recogniser samples $h \sim q(h\mid x)$, and the
#   generator learns to produce them: $\log p(x, h \mid y)$;
# - **R (sleep)**: for the same real label $y$ the generator dreams $(h, x) \sim p(h, x \mid y)$,
#   and the recogniser learns to invert the dream: $\log q(h, y \mid x)$.
#
# With the samples held fixed, each is a sum of per-layer logistic log-likelihoods (M3). For
# logits $a = Wu + b$ and binary target $t$, $\frac{\partial}{\partial a}[t a - \mathrm{softplus}(a)] = t - \sigma(a)$,
# so every gradient is local: $(t - \sigma(a))\,u^\top$ for the recogniser, the same form transposed
# for the generator, whose logits are $g^{k-1} = (W^k)^\top h^k + c^{k-1}$, and
# $(\mathrm{onehot}(y) - \mathrm{softmax}(a))\,u^\top$ at the categorical top:
#
# $$
# G = \mathbb{E}_{h\sim q(h\mid x)}\log p(x,h\mid y),\quad
# R = \mathbb{E}_{(h,x)\sim p(h,x\mid y)}\log q(h,y\mid x),\quad
# \frac{\partial}{\partial W^k} = \underbrace{h^k\,(h^{k-1} - \sigma(g^{k-1}))^\top}_{\text{from }G}
# + \underbrace{(h'^k - \sigma(a'^k))\,(h'^{k-1})^\top}_{\text{from }R}
# \tag{L1}
# $$
#
# (primes mark the dreamed states). With tied weights both contributions **add** onto the one
# $W^k$. The sleep term is not the gradient of any bound on $\log p(x)$, so the tied $W^k$ ascends
# no single objective: L1 is a pair of coupled updates, not the gradient of one function.
#
# The two terms, each a log-probability of one network at the other's samples with its local
# gradient, and the step that samples and adds them:

# %%
show_source(refimpl.wake_value_and_grad)

# %%
show_source(refimpl.sleep_value_and_grad)

# %%
show_source(refimpl.l1_step_grads)

# %%
terms, grads = l1_step_grads(pair, x, y, np.random.default_rng(SEED))
print({k: round(v, 3) for k, v in terms.items()})

# %%
# check: replay the same random stream, and differentiate the SBN log-probabilities (M3) numerically
replay = np.random.default_rng(SEED)
hidden = pair.sample_hidden(x, replay)          # wake: the recogniser on the real images
hidden_d, x_d = pair.sample_generator(y, replay)  # sleep: dreams for the same labels


def g_objective(p):
    return np.mean(p.generator.log_prob(one_hot(y, TINY[-1]), list(reversed(hidden)) + [x]))


def r_objective(p):
    return np.mean(p.recogniser.log_prob(x_d, hidden_d + [one_hot(y, TINY[-1])]))


fd_g = gradcheck.central_differences(lambda: g_objective(pair), pair.params)
fd_r = gradcheck.central_differences(lambda: r_objective(pair), pair.params)
gap = gradcheck.max_discrepancy(grads, {k: fd_g[k] + fd_r[k] for k in grads})
print(f"G = {terms['G']:.4f} vs {g_objective(pair):.4f};  R = {terms['R']:.4f} vs {r_objective(pair):.4f}")
print(f"max |L1 gradient - central differences of G + R| = {gap:.2e}")
assert gap < 1e-7 and abs(terms["G"] - g_objective(pair)) < 1e-10

# %%
# and the step is the wake term at the recogniser's samples plus the sleep term at the dreams
_, g_wake = wake_value_and_grad(pair, x, hidden, y)
_, g_sleep = sleep_value_and_grad(pair, x_d, hidden_d, y)
assert gradcheck.max_discrepancy(grads, {k: g_wake[k] + g_sleep[k] for k in grads}) < 1e-12

# %% [markdown]
# Computed by `refimpl.learning.l1_step_grads` (wake and sleep terms: `wake_value_and_grad`,
# `sleep_value_and_grad`) ·
# checked by `tests/test_learning.py::test_l1_wake_gradient_matches_central_differences`,
# `tests/test_learning.py::test_l1_step_equals_wake_at_recogniser_samples_plus_sleep_at_dreams`

# %% [markdown]
# ## (L1u) The untied baseline: two separate networks
#
# The abstract argues against learning "two separate networks". L1u is L1 for a pair with its
# own generator matrices $V^k$ (`tied=False`): G moves only $V$ and $c$, R only $W$ and $b$:
#
# $$
# \frac{\partial}{\partial V^k} = h^k\,(h^{k-1} - \sigma((V^k)^\top h^k + c^{k-1}))^\top,\qquad
# \frac{\partial}{\partial W^k} = (h'^k - \sigma(a'^k))\,(h'^{k-1})^\top
# \tag{L1u}
# $$
#
# At $V = W$ the two pairs sample identically, so the tied gradient must equal the untied
# $W$-gradient plus the untied $V$-gradient: a check that neither term overwrites the other.

# %%
params = dict(pair.params, **{f"V{k}": pair.params[f"W{k}"] for k in range(1, len(TINY))})
untied = CoupledPair.from_params(params, TINY, tied=False)
_, g_tied = l1_step_grads(pair, x, y, np.random.default_rng(3))
_, g_untied = l1_step_grads(untied, x, y, np.random.default_rng(3))
gap = max(float(np.max(np.abs(g_tied[f"W{k}"] - g_untied[f"W{k}"] - g_untied[f"V{k}"]))) for k in (1, 2, 3))
print(f"max |tied W-grad - (untied W-grad + untied V-grad)| = {gap:.2e}")
assert gap < 1e-12

# %% [markdown]
# Computed by `refimpl.learning.l1_step_grads` on a `CoupledPair(tied=False)` ·
# checked by `tests/test_learning.py::test_l1u_untied_terms_update_separate_networks`,
# `tests/test_learning.py::test_l1_tied_gradient_is_sum_of_untied_w_and_v_gradients`

# %% [markdown]
# ## (L2) The hybrid
#
# G is hundreds of nats per image (784 pixels and the hidden units), R tens to hundreds, L0 a
# fraction of a nat per label. Adding them raw lets L0 vanish. `l2_step_grads` makes the
# weighting explicit: with `normalise="units"` G is divided by the number of units the
# generator produces ($d_0 + d_1 + \dots + d_{n-1}$) and R by the number the recogniser
# produces ($d_1 + \dots + d_{n-1} + 1$); $\lambda$ weights L0. Both are this project's choices:
#
# $$
# L2 = s_G\,G + s_R\,R + \lambda\,L0,\qquad s_G = \frac{1}{d_0 + \dots + d_{n-1}},\quad
# s_R = \frac{1}{d_1 + \dots + d_{n-1} + 1}\quad(\text{or } s_G = s_R = 1)
# \tag{L2}
# $$

# %%
show_source(refimpl.l2_step_grads)

# %%
terms2, grads2 = l2_step_grads(pair, x, y, np.random.default_rng(4), lam=LAM, normalise="units")
print({k: round(v, 4) for k, v in terms2.items()})

# %%
# check: the objective is the weighted sum written out here
s_g, s_r = 1 / (6 + 4 + 3), 1 / (4 + 3 + 1)
expected = s_g * terms2["G"] + s_r * terms2["R"] + LAM * terms2["L0"]
print(f"|objective - (s_G G + s_R R + lam L0)| = {abs(terms2['objective'] - expected):.2e}")
assert abs(terms2["objective"] - expected) < 1e-12

# %% [markdown]
# Computed by `refimpl.learning.l2_step_grads` ·
# checked by `tests/test_learning.py::test_l2_equals_scaled_l1_terms_plus_lambda_l0`

# %% [markdown]
# ## (S1, S2) Images without labels
#
# *Beyond the paper's labelled setting; this project's derivation.* The abstract's case for
# generative learning, "taking into account the full distribution of the data", is strongest
# when labels are scarce and images are not. An unlabelled image has no $y$ for the wake
# term's $\log p(x, h \mid y)$. The recogniser has a belief about it: with $h \sim q(h \mid x)$
# drawn, its top layer gives $q(y \mid h^{n-1})$. Drawing $y$ from that belief and using the
# labelled wake term is one unbiased choice; summing over the classes with the belief as
# weights is the same in expectation with less variance (Rao-Blackwellisation), and costs
# little because only the top generator layer $p(h^{n-1} \mid y)$ depends on $y$:
#
# $$
# G_u = \sum_y w_y \log p(x, h \mid y),\quad w_y = q(y \mid h^{n-1})\ \text{held fixed},\qquad
# \frac{\partial G_u}{\partial W^n_{y\cdot}} = w_y\,\big(h^{n-1} - \sigma(W^n_{y\cdot} + c^{n-1})\big)
# \tag{S1}
# $$
#
# The layers below the top give the labelled wake gradients of (L1) unchanged. With one-hot
# weights S1 is the labelled term G. In the sleep phase nothing is missing: the generator
# dreams for classes drawn from its own prior $p(y)$.
#
# Which term each kind of image contributes follows the generative model, as in the
# semi-supervised objective of Kingma, Rezende, Mohamed and Welling (arXiv:1406.5298, their
# "M2"): an unlabelled image is evidence for the marginal $p(x) = \sum_y p(y)\,p(x \mid y)$,
# so it enters with its class summed out (S1); a labelled pair $(x, y)$ is evidence for the
# joint $p(x, y)$, so it enters with the wake term of (L1) at its true class,
# $\log p(x, h \mid y)$ at $h \sim q(h \mid x)$. That labelled wake term is the only place
# where the generator's class-conditional top layer $p(h^{n-1} \mid y)$ meets a true label;
# without it that layer learns only from the recogniser's guesses. On the labelled images the
# recogniser also gets the discriminative term $\lambda$ L0:
#
# $$
# S2 = s_G\,\mathbb{E}_x\,\mathbb{E}_{h \sim q(h \mid x)} G_u
# + s_G\,w_l\,\mathbb{E}_{(x, y)\ \text{labelled}}\,\mathbb{E}_{h \sim q(h \mid x)} \log p(x, h \mid y)
# + s_R\,\mathbb{E}_{y \sim p(y)}\,\mathbb{E}_{(h, x) \sim p(h, x \mid y)} \log q(h, y \mid x)
# + \lambda\,\mathbb{E}_{(x, y)\ \text{labelled}} \log \tilde q(y \mid x)
# \tag{S2}
# $$
#
# With the samples and the class weights held fixed, its gradient is the sum of gradients
# already derived: S1's for the first term, the wake gradient of (L1) at the true classes for
# the second, the sleep gradient of (L1) for the third, the backpropagation of (L0) for the
# fourth; with tied weights all four add onto the one $W^k$.
#
# *The batches, a choice of this project.* Each step takes a batch of $B = 100$ images as
# unlabelled (a shuffled pass over every training image per epoch, the labelled ones
# included) and a labelled batch of $\min(100, N)$ images drawn afresh from the $N$ labelled
# ones, so with $N = 100$ all of them every step. Both wake terms are batch means with the
# same weight $s_G$ ($w_l = 1$ unless `--labelled-weight` says otherwise): every step gives the
# labelled and the unlabelled batch the same say. A sum over the training set would weigh
# each image once, and with 100 labels among 60,000 images the labelled term would carry
# 1/600 of the weight, too little to teach the class-conditional layer anything. The rule
# without the labelled wake term, $w_l = 0$, is kept as the ablation `S2noLW`; tutorial 5
# shows what the term does.

# %%
show_source(refimpl.learning.wake_unlabelled_value_and_grad)

# %%
show_source(refimpl.learning.semi_step_grads)

# %%
w = np.random.default_rng(5).dirichlet(np.ones(TINY[-1]), size=len(x))  # any fixed class weights
value_u, grads_u = wake_unlabelled_value_and_grad(pair, x, hidden, w)


def gu_objective(p):  # sum_y w_y log p(x, h | y), each term from the generator SBN (M3)
    return np.mean(sum(w[:, c] * p.generator.log_prob(one_hot(np.full(len(x), c), TINY[-1]),
                                                        list(reversed(hidden)) + [x]) for c in range(TINY[-1])))


gap = gradcheck.max_discrepancy(grads_u, gradcheck.central_differences(lambda: gu_objective(pair), pair.params))
print(f"G_u = {value_u:.4f} vs {gu_objective(pair):.4f};  max |S1 gradient - central differences| = {gap:.2e}")
assert gap < 1e-7 and abs(value_u - gu_objective(pair)) < 1e-10

# %% [markdown]
# Check of S2: at fixed samples its gradient is the sum of its pieces, each computed by its own
# function (a second formula), the draws replayed in S2's order.

# %%
# S2 at fixed samples is the sum of its pieces, each computed by its own function (a second formula)
pair.params["prior"][...] = 0.0  # a uniform p(y), so that a dream label is floor(C u) for u ~ U(0, 1)
terms_s, grads_s = semi_step_grads(pair, x, x[:2], y[:2], np.random.default_rng(6), lam=LAM)
replay = np.random.default_rng(6)  # the draws in S2's order: h for x, h for the labelled x, dream labels, dreams
h_u, h_l = pair.sample_hidden(x, replay), pair.sample_hidden(x[:2], replay)
y_dream = np.floor(replay.random(len(x)) * TINY[-1]).astype(int)  # dream labels from the uniform p(y)
a_top = h_u[-1] @ pair.recogniser.weights[-1].T + pair.recogniser.biases[-1]
w_u = np.exp(a_top - a_top.max(axis=1, keepdims=True))
w_u /= w_u.sum(axis=1, keepdims=True)  # the class weights q(y | h^{n-1}), held fixed
pieces = [wake_unlabelled_value_and_grad(pair, x, h_u, w_u),
          wake_value_and_grad(pair, x[:2], h_l, y[:2]),
          sleep_value_and_grad(pair, *pair.sample_generator(y_dream, replay)[::-1], y_dream),
          l0_value_and_grad(pair, x[:2], y[:2])]

# %%
total = {k: sum(g[k] for _, g in pieces[:3]) + LAM * pieces[3][1][k] for k in grads_s}
gap = gradcheck.max_discrepancy(grads_s, total)
print({k: round(v, 4) for k, v in terms_s.items()}, f" max |S2 gradient - sum of its pieces| = {gap:.1e}")
assert gap < 1e-12 and abs(terms_s["G_l"] - pieces[1][0]) < 1e-12

# %% [markdown]
# Computed by `refimpl.learning.wake_unlabelled_value_and_grad` and `refimpl.learning.semi_step_grads` ·
# checked by `tests/test_learning.py::test_s1_unlabelled_wake_gradient_matches_central_differences`
# (S2 at several labelled-term weights, 0 being the ablation S2noLW),
# `tests/test_learning.py::test_s1_one_hot_weights_give_the_labelled_wake_term`,
# `tests/test_learning.py::test_s2_gradient_matches_central_differences_with_samples_held_fixed`

# %% [markdown]
# ## A short run on MNIST
#
# The package ships 10,000 training and 2,000 test MNIST images (binarised at 0.5 here).
# `refimpl.lab.train.fit` runs the loop that the update equations above imply: shuffle, take a
# batch, compute the rule's gradient, let the optimiser ascend, and after each epoch measure
# the test error of the mean pass. It is the same function that `python -m refimpl.lab.train`
# and the experiment call. The smaller network (784-100-100-10) and ten epochs keep this to
# seconds; the optimiser settings are the experiment's (Adam, step size 3e-3 shrinking by
# 0.85 per epoch). Every rule starts from the same seed. The test error is the mean pass's, on
# all 2,000 embedded test images, thresholded at 0.5:

# %%
show_source(refimpl.lab.train.recognition_error)

# %% [markdown]
# After training, each generative rule's *cycle accuracy* (tutorial 5): the fraction of 1,000
# images its generator makes (100 per class) that its recogniser assigns to the class they were
# made for. L0 trains no generator (its generator biases keep their initial values), so it has
# no cycle accuracy.

# %%
data = load_embedded()
runs = {}
for rule in ("L0", "L1", "L1u", "L2"):
    config = TrainConfig(method=rule, sizes=SIZES, epochs=EPOCHS, lr=LR, lr_decay=LR_DECAY,
                         lam=LAM, normalise="units", seed=SEED)
    pair, log = fit(None, data, config, progress=False)
    runs[rule] = {"pair": pair, "log": log, "test_error": log[-1]["test_error"],
                  "cycle": None if rule == "L0" else cycle_accuracy(pair, 100, rng).accuracy}
    cycle = "–  (no generator trained)" if rule == "L0" else f"{runs[rule]['cycle']:.3f}"
    print(f"{rule:4s} test error {runs[rule]['test_error']:.3f}   cycle accuracy {cycle}")

# %%
fig = plots.learning_curves({rule: run["log"] for rule, run in runs.items()})
save_figure(fig, "04_learning_curves")
plt.show()

# %%
generative = [rule for rule in runs if rule != "L0"]  # L0 trains no generator
means = {rule: runs[rule]["pair"].generate_mean(np.arange(10)) for rule in generative}
fig = plots.image_grid(means, r"generator mean images $\nu^0$ per class $y$ (M10) after the short run, one row per rule")
save_figure(fig, "04_generator_means")
plt.show()

# %%
# checks: the discriminative rule recognises; the generative rules raise their own terms
for rule in generative:
    first, last = runs[rule]["log"][0]["terms"], runs[rule]["log"][-1]["terms"]
    print(f"{rule}: G {first['G']:.1f} -> {last['G']:.1f},  R {first['R']:.1f} -> {last['R']:.1f}")
assert runs["L0"]["test_error"] < 0.1 and runs["L2"]["test_error"] < 0.2
assert all(runs[r]["log"][-1]["terms"]["G"] > runs[r]["log"][0]["terms"]["G"] + 50 for r in generative)

# %% [markdown]
# The mean pass is an approximation (M6): the model's own class posterior, estimated by Monte
# Carlo through the recogniser's stochastic hidden units (`mc_class_probs`), is close to it.
# The generator's $\log p(x)$ is estimated by importance sampling with the recogniser as
# proposal (`importance_log_likelihood`, tutorial 5), in nats per test image. All three are
# measured on the same 2,000 test images as above, so the mean-pass errors repeat the last
# epoch's test errors printed after training.

# %%
show_source(refimpl.mc_class_probs)

# %%
x_test = binarize(data.test_images, "threshold")
y_test = data.test_labels
for rule in generative:
    pair = runs[rule]["pair"]
    mc_error = np.mean(mc_class_probs(pair, x_test, 20, rng).argmax(axis=1) != y_test)
    mean_error = np.mean(pair.recognise_mean(x_test).argmax(axis=1) != y_test)
    log_px = importance_log_likelihood(pair, x_test, 20, rng).log_px.mean()
    print(f"{rule:4s} error: mean pass {mean_error:.3f}, Monte Carlo (S = 20) {mc_error:.3f};  "
          f"log p(x) ~ {log_px:.1f} nats (K = 20)")

# %% [markdown]
# Computed by `refimpl.lab.train.fit` with `refimpl.learning.l1_step_grads`, `l2_step_grads`,
# `l0_value_and_grad` and `refimpl.optim.Adam` · checked by
# `tests/test_learning.py::test_l1_a_few_hundred_steps_increase_the_objective`,
# `tests/test_learning.py::test_l0_a_few_hundred_steps_increase_the_objective`,
# `tests/test_train.py::test_l0_reaches_stated_test_error_on_embedded`
#
# What the short run shows, and what it cannot: read the printed numbers above. The
# discriminative rule classifies well after a few epochs; the generative rules raise G and R,
# and how well their recognisers classify, and whether the generator's mean images differ by
# class, is what ten epochs on 10,000 images can only hint at. Whether one tied pair becomes
# good at recognition *and* generation is the question of the full experiment (notebook 5).

# %% [markdown]
# ## Summary
#
# - (L0) backpropagation through the mean pass is a handful of matrix products with local
#   $\delta$'s; it matches central differences.
# - (L1) wake-sleep with tied weights: G teaches the generator the recogniser's samples of real
#   images, R teaches the recogniser to invert the generator's dreams; every gradient is a local
#   $(t - \sigma(a))u^\top$, and with tied weights the two contributions add onto one $W^k$.
# - (L1u) the untied baseline updates two separate networks.
# - (L2) the hybrid needs an explicit weighting, because G, R and L0 differ in scale by orders
#   of magnitude; $\lambda$ and the normalisation are part of the method.
#
# ## Exercises
#
# 1. Feed the wake term the generator's own samples instead of the recogniser's. Which test in
#    `tests/test_learning.py` fails, and what does G converge to?
# 2. Replace the sum of the two tied contributions with only the last one written. Which check
#    above catches it?
# 3. Run L2 with `normalise="none"` and `lam=1`: how does the test error compare, and why?
# 4. Initialise the generator's visible biases `c0` to the log-odds of the training pixels'
#    means. How much faster does G rise?
