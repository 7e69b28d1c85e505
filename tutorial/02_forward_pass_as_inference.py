# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · The forward pass of a sigmoid DNN is approximate inference
#
# The paper's first claim:
#
# > First, we show that forward computation in DNNs with logistic sigmoid activations
# > corresponds to a simplified approximate Bayesian inference in a directed
# > probabilistic multi-layer model. This connection allows to interpret DNN as a
# > probabilistic model of the output and all hidden units given the input.
#
# The directed model is the sigmoid belief network (SBN) of tutorial 01: binary layers
# $x^0 \to x^1 \to \dots \to x^n$ with $q(x^k \mid x^{k-1}) = \prod_i \mathrm{Bern}(x^k_i; \sigma(W^k_i x^{k-1} + b^k_i))$
# (M1), optionally a softmax output (M2). The paper's full text is not available to this
# project; the derivation below (one identity, two approximations) is this project's
# reconstruction, built from the abstract and standard results and stated here in full. Then we
# *measure* how good the approximation is, against exact inference by enumeration (M4).
#
# | label | statement | computed by | checked by |
# |---|---|---|---|
# | M5 | exact identity $q(x^k_i{=}1 \mid x^0) = \mathbb{E}\,\sigma(a^k_i)$ | `refimpl.forward.marginals_from_parent_distribution` | `tests/test_forward.py::test_m5_*` |
# | A1 | factorisation of $q(x^{k-1} \mid x^0)$ | `refimpl.forward.preactivation_moments` | `tests/test_forward.py::test_a1_*` |
# | A2 | linearisation $\mathbb{E}\,\sigma(a) \approx \sigma(\mathbb{E}\,a)$ | `refimpl.forward.expected_sigmoid_logit` | `tests/test_forward.py::test_a2_*` |
# | M6 | the forward pass $\mu^k = \sigma(W^k\mu^{k-1} + b^k)$ | `refimpl.forward.mean_pass` | `tests/test_forward.py::test_m6_*` |
# | M7 | the DNN as a model of all units $\tilde q$ | `refimpl.forward.forward_log_prob` | `tests/test_forward.py::test_m7_*` |
# | M8 | probit correction (beyond the paper) | `refimpl.forward.forward_marginals(method="probit")` | `tests/test_forward.py::test_m8_*` |
# | — | Monte Carlo estimate | `refimpl.montecarlo.mc_marginals` | `tests/test_montecarlo.py` |

# %%
# long cell: the notebook's imports, sizes and seed, in one place
import matplotlib.pyplot as plt
import numpy as np

import refimpl
from refimpl.exact import exact_marginals, layer_state_distributions
from refimpl.forward import (
    expected_sigmoid_logit,
    forward_log_prob,
    forward_marginals,
    marginals_from_parent_distribution,
    mean_pass,
    preactivation_moments,
)
from refimpl.lab import plots
from refimpl.lab.display import show_source
from refimpl.lab.figures import save_figure
from refimpl.montecarlo import mc_marginals
from refimpl.numerics import sigmoid
from refimpl.sbn import SigmoidBeliefNet, binary_states

SEED = 0
SIZES = [5, 4, 4, 4, 3]        # d_0 .. d_n: small enough to enumerate exactly
N_NETS = 200                   # random networks per point of the measured curves
SCALES = np.array([0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0])
DEPTHS = [1, 2, 3, 4, 5, 6]
S_VALUES = np.array([100, 300, 1000, 3000, 10000])
rng = np.random.default_rng(SEED)
net = SigmoidBeliefNet.random(SIZES, rng, scale=1.5)
x0 = rng.integers(0, 2, SIZES[0])

# %% [markdown]
# ## (M5) The marginals are expectations: an exact identity
#
# A unit of layer $k$ depends on the input only through its parents, layer $k-1$. Summing
# the joint over every other layer leaves
# $q(x^k_i{=}1 \mid x^0) = \sum_{x^{k-1}} q(x^{k-1} \mid x^0)\, q(x^k_i{=}1 \mid x^{k-1})$, and the
# second factor is the sigmoid of M1:
#
# $$ q(x^k_i{=}1 \mid x^0) = \mathbb{E}_{q(x^{k-1} \mid x^0)}\,\sigma\big(W^k_i x^{k-1} + b^k_i\big). \tag{M5} $$
#
# Nothing is approximated yet. The difficulty is the expectation: $q(x^{k-1} \mid x^0)$ is a
# distribution over $2^{d_{k-1}}$ states, which for layers of hundreds of units no one can
# sum. One case is easy: **layer 1 is exact**, since $x^0$ is observed and the expectation
# has a single term, $q(x^1_i{=}1 \mid x^0) = \sigma(W^1_i x^0 + b^1_i)$.

# %%
show_source(refimpl.forward.marginals_from_parent_distribution)

# %%
dists = layer_state_distributions(net, x0)          # exact q(x^k | x^0) over all 2^{d_k} states (M4)
m5 = [marginals_from_parent_distribution(net, k, binary_states(SIZES[k - 1]), dists[k - 2])
      for k in range(2, net.n_layers + 1)]
m5[-1]

# %%
exact = exact_marginals(net, x0)                     # independent: the layer recursion of M4
gap = max(np.max(np.abs(a - b)) for a, b in zip(m5, exact[1:], strict=True))
print(f"max |M5 - exact marginals| over layers 2..n = {gap:.1e}")
assert gap < 1e-12

# %% [markdown]
# Computed by `refimpl.forward.marginals_from_parent_distribution` · checked by
# `tests/test_forward.py::test_m5_expectation_over_parents_equals_enumerated_marginal`

# %% [markdown]
# ## (A1) First approximation: the units of a layer are independent
#
# Replace the joint distribution of layer $k-1$ by the product of its marginals
# $\mu^{k-1}_j = q(x^{k-1}_j{=}1 \mid x^0)$:
#
# $$ q(x^{k-1} \mid x^0) \approx \prod_j \mathrm{Bern}\big(x^{k-1}_j; \mu^{k-1}_j\big). \tag{A1} $$
#
# The logit $a^k_i = \sum_j W^k_{ij} x^{k-1}_j + b^k_i$ is then a sum of independent terms, with
#
# $$ \mathbb{E}\,a^k_i = W^k_i \mu^{k-1} + b^k_i, \qquad
#    \mathrm{Var}\,a^k_i = \sum_j (W^k_{ij})^2\, \mu^{k-1}_j (1 - \mu^{k-1}_j). $$
#
# The mean is exact *whatever* the dependence (linearity of expectation); the variance
# drops the covariances $\sum_{j \ne l} W_{ij} W_{il} \mathrm{Cov}(x_j, x_l)$. A1 is exact for
# layer 1, whose units depend only on the observed $x^0$ and so are independent given it. From
# layer 2 on, the units of a layer share unobserved parents, so they are correlated and A1 is
# wrong in general.

# %%
show_source(refimpl.preactivation_moments)

# %%
k = 3
mean_a1, var_a1 = preactivation_moments(net, exact[k - 2], k)    # moments of a^3 under A1
states, probs = binary_states(SIZES[k - 1]), dists[k - 2]             # exact joint of layer 2
a = states @ net.weights[k - 1].T + net.biases[k - 1]
mean_true = probs @ a
var_true = probs @ (a - mean_true) ** 2
print("E a^3   under A1:", mean_a1.round(4), "  exact:", mean_true.round(4))
print("Var a^3 under A1:", var_a1.round(4), "  exact:", var_true.round(4))

# %%
gap_mean = np.max(np.abs(mean_a1 - mean_true))
print(f"max |E a (A1) - E a (exact)| = {gap_mean:.1e}   (the mean is exact)")
print(f"max |Var a (A1) - Var a (exact)| = {np.max(np.abs(var_a1 - var_true)):.3f}   (correlations dropped)")
assert gap_mean < 1e-12
# and A1's variance is exact where the joint does factorise: enumerate a product distribution
mu = exact[k - 2]
prod = np.prod(np.where(states == 1, mu, 1 - mu), axis=1)
var_prod = prod @ (a - prod @ a) ** 2
assert np.allclose(var_a1, var_prod, rtol=1e-10, atol=1e-12)

# %% [markdown]
# Computed by `refimpl.forward.preactivation_moments` · checked by
# `tests/test_forward.py::test_a1_moments_equal_enumeration_under_factorised_parents`

# %% [markdown]
# ## (A2) Second approximation: move the expectation inside the sigmoid
#
# Even a factorised expectation has $2^{d_{k-1}}$ terms. Expand $\sigma$ around $m = \mathbb{E}\,a$:
# $\sigma(a) = \sigma(m) + \sigma'(m)(a - m) + \tfrac12 \sigma''(m)(a-m)^2 + \dots$; the linear term
# averages to zero, so
#
# $$ \mathbb{E}\,\sigma(a) \approx \sigma(\mathbb{E}\,a), \qquad
#    \text{error} \approx \tfrac12\,\sigma''(\mathbb{E}\,a)\,\mathrm{Var}(a). \tag{A2} $$
#
# The error is governed by $\mathrm{Var}(a)$, of order (weight scale)$^2$; with
# $\sigma''(m) = \sigma(m)(1-\sigma(m))(1 - 2\sigma(m)) \approx -m/8$ near 0 it is smaller still
# when the logits are small too.

# %%
show_source(refimpl.expected_sigmoid_logit)

# %%
m = mean_a1
lin = sigmoid(expected_sigmoid_logit(m, var_a1, method="mean"))       # sigma(E a), A2
true_prod = prod @ sigmoid(a)                                          # E sigma(a) under A1, enumerated
s = sigmoid(m)
taylor = 0.5 * s * (1 - s) * (1 - 2 * s) * var_a1
print("E sigma(a) (enumerated under A1):", true_prod.round(4))
print("sigma(E a) (A2):                 ", lin.round(4))
print("error  vs  sigma''(m) Var / 2:   ", (true_prod - lin).round(4), taylor.round(4))

# %%
# The Taylor estimate is only an estimate; with small weights it becomes accurate.
small = SigmoidBeliefNet([0.2 * w for w in net.weights], [0.2 * b for b in net.biases])
mu_s = mean_pass(small, x0)[k - 2]
m_s, v_s = preactivation_moments(small, mu_s, k)
a_s = states @ small.weights[k - 1].T + small.biases[k - 1]
p_s = np.prod(np.where(states == 1, mu_s, 1 - mu_s), axis=1)
err_s = p_s @ sigmoid(a_s) - sigmoid(m_s)
sg = sigmoid(m_s)
pred_s = 0.5 * sg * (1 - sg) * (1 - 2 * sg) * v_s
print(f"weights x0.2: A2 error {np.abs(err_s).max():.2e}, Taylor prediction off by {np.abs(err_s - pred_s).max():.1e}")
assert np.abs(err_s - pred_s).max() < 0.05 * np.abs(err_s).max()

# %% [markdown]
# Computed by `refimpl.forward.expected_sigmoid_logit` · checked by
# `tests/test_forward.py::test_a2_mean_pass_error_falls_with_weight_scale`

# %% [markdown]
# ## (M6) Together: the forward pass of a sigmoid DNN
#
# A2 applied to M5, with the moments of A1, gives the marginals of layer $k$ from those of
# layer $k-1$ alone; starting from the observed input,
#
# $$ \mu^0 = x^0, \qquad \mu^k = \sigma\big(W^k \mu^{k-1} + b^k\big),\quad k = 1, \dots, n. \tag{M6} $$
#
# This is exactly the forward computation of a DNN with logistic sigmoid activations, its
# activations read as marginal probabilities of the SBN's binary units. For a softmax
# output the same step reads $\mathbb{E}\,\mathrm{softmax}(a) \approx \mathrm{softmax}(\mathbb{E}\,a)$.
# Layer 1 is exact. Layer 2 carries only the error of A2: its parents, layer 1, have exact
# marginals and are independent given $x^0$, so A1 holds there. From layer 3 on, A1 errs too,
# and each layer inherits the errors of the layers below. (This project requires
# $x^0$ binary, since it is the observed input of a binary model, although the arithmetic
# would accept any input in $[0,1]$.)
#
# In code: `mean_pass` is `forward_marginals` with the mean step, and the layer loop works on logits.

# %%
show_source(refimpl.mean_pass)

# %%
show_source(refimpl.forward_marginals)

# %%
show_source(refimpl.forward.forward_logits)

# %%
mu_fw = mean_pass(net, x0)
for kk, (f, e) in enumerate(zip(mu_fw, exact, strict=True), start=1):
    print(f"layer {kk}: forward {f.round(3)}   exact {e.round(3)}")

# %%
h = x0.astype(float)                                    # a sigmoid MLP, written out
for w, b in zip(net.weights, net.biases, strict=True):
    h = 1.0 / (1.0 + np.exp(-(h @ w.T + b)))
print(f"|mean pass - sigmoid MLP| = {np.max(np.abs(mu_fw[-1] - h)):.1e}")
print(f"|layer 1 - exact| = {np.max(np.abs(mu_fw[0] - exact[0])):.1e}")
assert np.allclose(mu_fw[-1], h, rtol=1e-12, atol=1e-15)
assert np.max(np.abs(mu_fw[0] - exact[0])) < 1e-12

# %% [markdown]
# Computed by `refimpl.forward.mean_pass` (and `forward_marginals`) · checked by
# `tests/test_forward.py::test_m6_mean_pass_exact_at_first_layer` and
# `tests/test_forward.py::test_m6_mean_pass_equals_plain_sigmoid_mlp`

# %% [markdown]
# ## (M7) The DNN is a probabilistic model of the output *and every hidden unit*
#
# Read the other way round: the numbers $\mu^k_i$ computed by the forward pass define a
# distribution over all layers, every unit independent,
#
# $$ \tilde q(x^1, \dots, x^n \mid x^0) = \prod_{k=1}^{n} \prod_i \mathrm{Bern}\big(x^k_i; \mu^k_i\big). \tag{M7} $$
#
# Its output marginal is the DNN's usual prediction, and it also says how probable any
# configuration of the hidden units is. It is a different distribution from the SBN's
# $q$ (M3): in $q$ a unit depends on the *sampled* state of the layer below, in $\tilde q$
# only on $x^0$. `forward_log_prob` evaluates $\log\tilde q$ from logits, so it stays finite
# where $\mu$ rounds to 0 or 1.

# %%
show_source(refimpl.forward_log_prob)

# %%
samples = net.sample(x0, 5, rng)
print("log q~ (M7):", forward_log_prob(net, x0, samples).round(3))
print("log q  (M3):", net.log_prob(x0, samples).round(3))

# %%
# Check: q~ is a normalised distribution, enumerated over all 2^(4+4+4+3) = 32768 configurations.
grids = np.meshgrid(*[np.arange(2**d) for d in SIZES[1:]], indexing="ij")
layers = [binary_states(d)[g.ravel()] for d, g in zip(SIZES[1:], grids, strict=True)]
total = np.exp(forward_log_prob(net, x0, layers)).sum()
print(f"sum over all configurations of q~ = {total:.15f}")
assert abs(total - 1.0) < 1e-12

# %% [markdown]
# Computed by `refimpl.forward.forward_log_prob` · checked by
# `tests/test_forward.py::test_m7_log_prob_equals_product_of_bernoulli_pmfs` and
# `tests/test_forward.py::test_m7_forward_model_is_normalised`

# %% [markdown]
# ## (M8) Beyond the paper: a second-order correction
#
# A2 ignores $\mathrm{Var}(a)$, which A1 gives us for free. If $a$ were Gaussian and $\sigma$ were
# the probit $\Phi(\lambda a)$ with $\lambda^2 = \pi/8$ (same value and slope at 0), the
# expectation would be exact: $\mathbb{E}\,\Phi(\lambda a) = \Phi\big(\lambda m/\sqrt{1+\lambda^2 v}\big)$.
# Carrying this back to $\sigma$ gives MacKay's approximation
#
# $$ \mathbb{E}\,\sigma(a) \approx \sigma\!\Big(\frac{\mathbb{E}\,a}{\sqrt{1 + \pi\,\mathrm{Var}(a)/8}}\Big). \tag{M8} $$
#
# This is **not** in the paper. The same group developed this direction later, propagating
# means *and* variances through belief and neural networks (Shekhovtsov, Flach and Busta,
# "Feed-forward uncertainty propagation in belief and neural networks", arXiv:1803.10590).
# For a softmax output we divide each logit by its own factor before the softmax, a
# heuristic chosen here for simplicity (M8 is derived for one sigmoid).

# %%
mu_pr = forward_marginals(net, x0, method="probit")
for kk, (f, p_, e) in enumerate(zip(mu_fw, mu_pr, exact, strict=True), start=1):
    print(f"layer {kk}: |mean - exact| {np.abs(f - e).max():.4f}   |probit - exact| {np.abs(p_ - e).max():.4f}")

# %%
# Check: for Gaussian a, M8 is within 0.02 of E sigma(a) (Gauss-Hermite quadrature, 200 nodes).
nodes, wts = np.polynomial.hermite_e.hermegauss(200)
wts = wts / wts.sum()
worst = 0.0
for mm in np.linspace(-6, 6, 25):
    for vv in np.linspace(0, 30, 25):
        quad = wts @ sigmoid(mm + np.sqrt(vv) * nodes)
        worst = max(worst, abs(sigmoid(expected_sigmoid_logit(mm, vv, method="probit")) - quad))
print(f"max |M8 - E sigma(a)| for Gaussian a, m in [-6,6], Var in [0,30]: {worst:.4f}")
assert worst < 0.02

# %% [markdown]
# Computed by `refimpl.forward.forward_marginals` with `method="probit"` · checked by
# `tests/test_forward.py::test_m8_probit_formula_exact_for_gaussian_probit` and
# `tests/test_forward.py::test_m8_probit_pass_closer_than_mean_pass`

# %% [markdown]
# ## Measured: error against exact inference as the weights grow
#
# Take $N$ random networks of widths 5-4-4-4-3, draw weights and biases from
# $\mathcal N(0, 1)$, then multiply them all by a scale $s$. For each, compare the
# forward marginals of layers 2..n with exact inference (layer 1 is exact) and average the
# absolute error. A2 predicts an error of order $\sigma''(\mathbb{E}a)\,\mathrm{Var}(a) \sim s \cdot s^2$
# for small $s$ (the biases scale too, so $\mathbb{E}\,a \sim s$); the correlations A1 drops also
# enter only through $\mathrm{Var}(a)$.

# %%
bases = []                                               # N_NETS random networks and inputs, at scale 1
for i in range(N_NETS):
    r = np.random.default_rng(SEED + 1 + i)
    bases.append((SigmoidBeliefNet.random(SIZES, r, scale=1.0), r.integers(0, 2, SIZES[0])))

# %% [markdown]
# Each network is scaled by every $s$, and at each scale the forward marginals of layers 2..n
# (mean pass and probit pass) are compared with the exact ones; the error is averaged over the
# networks.

# %%
err = {"mean": np.zeros(len(SCALES)), "probit": np.zeros(len(SCALES))}
for base, xb in bases:
    for i, s_ in enumerate(SCALES):
        nn_ = SigmoidBeliefNet([s_ * w for w in base.weights], [s_ * b for b in base.biases], output=base.output)
        ex = exact_marginals(nn_, xb, backend="numpy")   # tiny layers: the NumPy steps have less call overhead
        for method, e_ in err.items():
            e_[i] += np.mean(np.abs(np.concatenate(forward_marginals(nn_, xb, method=method)[1:])
                                    - np.concatenate(ex[1:]))) / N_NETS
print({m_: e_.round(5).tolist() for m_, e_ in err.items()})

# %% [markdown]
# The slope of $\log(\text{error})$ against $\log s$ over the small scales ($s \le 1$) is the
# order of the error; the figure shows it beside the $s^3$ and $s^2$ guides.

# %%
small_scales = SCALES <= 1.0
slopes = {m_: np.polyfit(np.log(SCALES[small_scales]), np.log(e_[small_scales]), 1)[0] for m_, e_ in err.items()}
fig = plots.error_vs_scale(SCALES, err, slopes, f"{N_NETS} random networks {'-'.join(map(str, SIZES))}")
save_figure(fig, "02_error_vs_weight_scale")
plt.show()

# %%
print(f"log-log slopes over s in [0.05, 1]: mean {slopes['mean']:.2f}, probit {slopes['probit']:.2f}")
assert slopes["mean"] > 2.0          # error falls faster than s^2: second order and beyond
assert np.all(err["probit"][SCALES >= 1] < err["mean"][SCALES >= 1])

# %% [markdown]
# For small weights the error falls like $s^3$, as A2 predicts (the dotted line): the
# approximation is exact in the limit of small weights. The curve bends as $s$ approaches 1,
# so the slope fitted over all of $[0.05, 1]$ (printed above) is below 3, though still above 2.
# At initialisation-size weights ($s \approx 1$) it is off by
# about 0.02 in probability. The probit pass is several times closer at every scale. For
# large weights the mean pass saturates: units become nearly deterministic, and the
# error comes from the few that are not.

# %% [markdown]
# ## Measured: error as the network gets deeper
#
# Layer 1 is exact; layer 2 carries only the error of A2 (A1 holds for layer 1, whose units
# are independent given $x^0$); from layer 3 on, A1 is violated too, because the units of layer 2
# and above share unobserved parents, and each layer inherits the errors of the layers below.
# Fix the width at 4 and the scale at
# $s = 1$, and grow the number of hidden layers, measuring the error at the **last** layer.

# %%
depth_err = {"mean": [], "probit": []}
for depth in DEPTHS:
    acc = {"mean": 0.0, "probit": 0.0}
    for i in range(N_NETS):
        r = np.random.default_rng(10_000 * depth + i)
        nd = SigmoidBeliefNet.random([5] + [4] * depth, r, scale=1.0)
        xd = r.integers(0, 2, 5)
        ex = exact_marginals(nd, xd, backend="numpy")[-1]
        for method in acc:
            acc[method] += np.mean(np.abs(forward_marginals(nd, xd, method=method)[-1] - ex)) / N_NETS
    for method, a_ in acc.items():
        depth_err[method].append(a_)

# %%
fig = plots.error_vs_depth(DEPTHS, depth_err, f"{N_NETS} random networks, width 4, scale 1")
save_figure(fig, "02_error_vs_depth")
plt.show()
print({m_: np.round(v_, 5).tolist() for m_, v_ in depth_err.items()})

# %%
print(f"layer 1 error (exact by construction): {depth_err['mean'][0]:.1e}")
assert depth_err["mean"][0] < 1e-12 and depth_err["probit"][0] < 1e-12
assert min(depth_err["mean"][1:]) > 1e-3     # from layer 2 on the approximation is visibly off

# %% [markdown]
# The error appears at layer 2 and then grows only slowly with depth rather than blowing
# up. The layer map $\mu \mapsto \sigma(W\mu + b)$ has Jacobian $\mathrm{diag}(\sigma'(a))\,W$
# with $\sigma' \le 1/4$, so it stretches differences by at most $\|W\|/4$ ($\|W\|$ the
# operator norm, the largest singular value). For these $4 \times 4$ layers at scale 1,
# $\|W\|$ is about 3 on average and usually below 4: the map then contracts, which damps
# the errors inherited from below while every layer adds its own. With larger weights (try
# `scale=3`) the bound exceeds 1 and no longer guarantees damping: the errors are about twice
# as large and keep growing over these depths.

# %% [markdown]
# ## Monte Carlo: the unbiased alternative, and its price
#
# Ancestral sampling (M1 layer by layer, `SigmoidBeliefNet.sample`) and averaging the
# sampled states is an unbiased estimate of the marginals; its standard error is
# $\sqrt{\mu(1-\mu)/S}$, falling as $1/\sqrt{S}$. Averaging $\sigma(W^k x^{k-1}_s + b^k)$ over
# the sampled parents instead (M5 applied to samples: Rao-Blackwellisation) is unbiased
# too and of lower variance, and exact at layer 1. Either way, one more decimal digit costs
# a hundred times more samples, while the forward pass costs one evaluation. The samples are drawn
# at once when they fit (`refimpl.montecarlo.MAX_ELEMENTS` numbers per layer), else in blocks whose
# means are combined exactly (`refimpl.kernels.moments_in_blocks`).

# %%
show_source(refimpl.montecarlo.sample_moments)

# %%
show_source(refimpl.mc_marginals)

# %%
exact_net = np.concatenate(exact[1:])
rms = {False: [], True: []}
for rb, curve in rms.items():
    for S in S_VALUES:
        sq = [(np.concatenate(mc_marginals(net, x0, int(S), np.random.default_rng(SEED + t), rao_blackwell=rb)[1:])
               - exact_net) ** 2 for t in range(20)]
        curve.append(np.sqrt(np.mean(sq)))
mc_slopes = {rb: np.polyfit(np.log(S_VALUES), np.log(v_), 1)[0] for rb, v_ in rms.items()}

# %%
rms_mean = np.sqrt(np.mean((np.concatenate(mu_fw[1:]) - exact_net) ** 2))
rms_probit = np.sqrt(np.mean((np.concatenate(mu_pr[1:]) - exact_net) ** 2))
fig = plots.monte_carlo_error(S_VALUES, rms, mc_slopes, rms_mean, rms_probit)
save_figure(fig, "02_monte_carlo_error")
plt.show()

# %% [markdown]
# On this network the mean pass is about as accurate as a sample average of a hundred or so
# samples, and the probit pass as accurate as thousands; the Rao-Blackwellised estimator
# needs several times fewer samples than the plain average for the same error.

# %%
print(f"fitted slopes: plain {mc_slopes[False]:.3f}, Rao-Blackwellised {mc_slopes[True]:.3f} (theory -0.5)")
assert all(abs(v_ + 0.5) < 0.1 for v_ in mc_slopes.values())
mc, se = mc_marginals(net, x0, 20000, rng, return_stderr=True)
z = max(np.max(np.abs(m_ - e_) / s_) for m_, s_, e_ in zip(mc, se, exact, strict=True))
print(f"S = 20000: largest |MC - exact| / stderr = {z:.2f}")
assert z < 5

# %% [markdown]
# Computed by `refimpl.montecarlo.mc_marginals` · checked by
# `tests/test_montecarlo.py::test_m4_mc_error_falls_as_inverse_sqrt_samples` and
# `tests/test_montecarlo.py::test_m4_mc_within_standard_errors_of_exact`

# %% [markdown]
# ## Summary
#
# - (M5) The marginals of the SBN are exact expectations of sigmoids over the layer below; layer 1 is exact.
# - (A1) Treating the units of a layer as independent keeps the mean of the logits exact and drops their correlations from the variance.
# - (A2) Moving the expectation inside the sigmoid drops a term $\tfrac12\sigma''\,\mathrm{Var}(a)$.
# - (M6) Together these give the sigmoid DNN forward pass: the paper's first claim. Its error vanishes as the
#   weights shrink (measured: as $s^3$ for small $s$, more slowly towards $s = 1$) and is a few hundredths in
#   probability at unit scale.
# - (M7) The forward pass therefore defines a factorised model $\tilde q$ of the output and all hidden units.
# - (M8, beyond the paper) Using the variance A1 provides, the probit correction is several times more accurate.
# - Monte Carlo is unbiased but converges only as $1/\sqrt{S}$.
#
# ## Exercises
#
# 1. Derive $\sigma''(m) = \sigma(m)(1-\sigma(m))(1-2\sigma(m))$. In the scale experiment the biases are
#    scaled with the weights. Predict the log-log slope when only the weights are scaled and the biases stay
#    $\mathcal N(0,1)$, then measure it (hint: $\mathbb{E}\,a$ no longer vanishes with $s$).
# 2. Where does the softmax output differ? Repeat the scale experiment with `output="categorical"` and explain why the
#    slope drops to about 2 (hint: the second derivative of the softmax at equal logits).
# 3. Construct a three-layer network in which A1 fails badly: one unit of layer 1 that is on with probability 1/2,
#    two units of layer 2 that copy it (large equal weights), and a unit of layer 3 that fires when exactly one
#    of them is on (which never happens). Compare `mean_pass` with `exact_marginals`, and explain the gap with
#    the covariance term that `preactivation_moments` drops.
# 4. For which inputs in MNIST-sized networks would you trust the forward pass as a marginal? Propose a check
#    with `mc_marginals` and its standard errors.
