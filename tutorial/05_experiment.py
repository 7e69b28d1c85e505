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
# # 05 · The experiment: does one tied pair recognise and generate well at once?
#
# The paper's last sentence is an empirical claim:
#
# > We demonstrate in a tentative experiment that such a coupled pair can be learned
# > generatively, modelling the full distribution of the data, and has enough capacity to
# > perform well in both recognition and generation.
#
# This notebook measures it. It does not retrain anything: the tables were produced by
# `python -m refimpl.lab.experiment` and `python -m refimpl.lab.studies` on the full MNIST files
# (the exact commands and their wall times are in `results/README.md`) and committed to
# `results/`; the notebook reads them, draws them and states what they show, and runs three
# of the trained pairs, which ship with the package. The first table took 27 minutes on two
# cores (both binarisations side by side); to see the pipeline work in a minute, run
# `python -m refimpl.lab.experiment --quick`.
#
# **What is reconstructed here.** The paper's full text is not available to this project, and
# its abstract names no dataset, architecture or learning rule. Everything below is this
# project's choice, made to be the most natural reading of the abstract:
#
# - the data (MNIST), the architecture (784-500-500-10: two hidden layers of 500 binary
#   units and a categorical label layer), the optimiser (Adam), epochs and step sizes;
# - the learning rule L1: wake-sleep with tied weights (notebook 4). The recogniser samples
#   hidden states for real images and the generator learns to produce them (G, "wake");
#   the generator dreams hidden states and images for real labels and the recogniser learns
#   to invert them (R, "sleep"). With tied weights both terms add onto the one $W^k$, and
#   the sum is the gradient of no single objective;
# - the hybrid L2 = L1 + λ·L0 and its λ; the prior $p(y)$, kept uniform (not learned);
# - the evaluation: importance-sampled log-likelihoods with the recogniser as proposal,
#   and *cycle accuracy*, the fraction of generated images that the recogniser assigns to
#   the class they were generated from.

# %%
# long cell: the notebook's imports, sizes and seed, in one place
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, Markdown, display

from refimpl import cycle_accuracy, importance_log_likelihood
from refimpl.lab import plots
from refimpl.lab.data import binarize, load_embedded
from refimpl.lab.figures import save_figure
from refimpl.lab.pretrained import available_pretrained, load_pretrained

SEED = 2017

ROOT = Path.cwd().parent if Path.cwd().name == "tutorial" else Path.cwd()
RESULTS = ROOT / "results"
FIGURES = ROOT / "results" / "figures"  # the figures the experiment wrote with the committed table
table = json.loads((RESULTS / "table.json").read_text())
rows = {(r["protocol"], r["row"]): r for r in table}
settings = table[0]["settings"]
print(f"{len(table)} rows; data: {settings['data']}")
print("command:", (RESULTS / "command.txt").read_text())

# %% [markdown]
# ## The protocol
#
# Every row trains the same architecture for the same number of epochs with the same
# optimiser, batch size and seed, then is evaluated on the 10,000 test images:
#
# | row | learning rule | weights |
# |---|---|---|
# | L0 | discriminative: maximise $\log \tilde q(y \mid x)$ of the mean pass (M6) | recogniser only |
# | L1 | generative: $G + R$ (wake-sleep) | tied: generator uses $(W^k)^\top$ |
# | L1u | the same | untied: the generator has matrices of its own |
# | L2 | $G + R + \lambda L_0$ | tied |
# | L2u | the same | untied |
#
# Columns: the test error of the mean pass and of the Monte Carlo estimate of $q(y \mid x)$
# with $S$ samples (how far the deterministic pass is from the model it approximates: claim 1
# on real data); $\log p(x \mid y)$ at the true label and $\log p(x) = \log \sum_y p(y)\,p(x \mid y)$
# in nats per test image, by importance sampling with $K$ samples from the recogniser (a
# stochastic lower bound that rises with $K$); cycle accuracy over 1,000 generated images per
# class. L0 trains no generator, so its generative columns are empty.
#
# Two binarisations. **Threshold** (pixel > 0.5) is the experiment's main protocol; its
# log-likelihoods are far higher than any published MNIST figure because thresholded images
# have much lower entropy. **Stochastic** (each pixel drawn as Bernoulli of its grey level,
# training images re-drawn every epoch, the test set drawn once with a fixed seed) is the
# protocol of published MNIST log-likelihoods.

# %%
display(Markdown((RESULTS / "table.md").read_text()))

# %% [markdown]
# ## Error bars: the table over three seeds
#
# One run per row cannot tell a real difference from the luck of one initialisation and one
# order of the batches. The study below trains the threshold table again with seeds 0, 1
# and 2 (`python -m refimpl.lab.studies seeds`, `results/seeds/`) and gives every cell as
# mean ± sample standard deviation over the three seeds, then the **paired differences** the
# verdict rests on: computed seed by seed (same seed, same data order), then averaged. A
# difference is read as a finding only when it is larger than its spread; with three seeds
# the standard error of a mean is the standard deviation divided by $\sqrt 3$.
# (The seed-0 rows here were retrained by the current code; they differ from the first table
# above in the last digits of float32 rounding, which moves single runs by a few tenths.)

# %%
seeds = json.loads((RESULTS / "seeds" / "table.json").read_text())
display(Markdown((RESULTS / "seeds" / "table.md").read_text()))


def stat(row, column, scale=100.0):
    """Mean and standard deviation over the seeds of one cell, scaled (100: per cent)."""
    cell = seeds["rows"][row][column]
    return scale * cell["mean"], scale * cell["sd"]


def diff(name, scale=100.0):
    d = seeds["differences"][name]
    return scale * d["mean"], scale * d["sd"], d["n"]

# %% [markdown]
# ## Recognition against generation
#
# One point per row: the test error of the recogniser (left is better) against the
# generator's $\log p(x)$ (up is better). The paper's claim is that a *tied* pair lands near
# the top left corner: as accurate as the discriminative network and as good a generator as
# the untied pair.

# %%
fig = plots.recognition_vs_generation(rows, settings["K"])
save_figure(fig, "05_recognition_vs_generation")
plt.show()

# %% [markdown]
# ## Claim 1 on real data: the mean pass against Monte Carlo
#
# The mean pass (M6) is the deterministic approximation of $q(y \mid x)$; the Monte Carlo
# estimate with $S$ samples approximates the model itself. Where the two test errors agree,
# the network's forward pass is a faithful summary of the stochastic model it defines.

# %%
for (protocol, row), r in rows.items():
    print(f"{protocol:10s} {row:4s} mean pass {100 * r['test_error_mean_pass']:6.2f} %   "
          f"Monte Carlo (S={settings['S']}) {100 * r['test_error_mc']:6.2f} %")
# The two estimates of the same classifier disagree by at most a few points on every row.
gaps = [abs(r["test_error_mean_pass"] - r["test_error_mc"]) for r in table]
print(f"largest |mean pass - MC| gap: {100 * max(gaps):.2f} points")

# %% [markdown]
# ## Samples and mean images
#
# Each figure shows, per class (columns), ten images sampled from the generator and, in the
# last row, the generator's deterministic mean pass $\nu^0$ (M10).

# %%
for protocol in ("threshold",):
    for row in ("L1", "L1u", "L2", "L2u"):
        display(Image(filename=str(FIGURES / f"05_{protocol}_{row}_samples.png"), width=520))

# %% [markdown]
# ## Learning curves and the importance-sampling bound

# %%
display(Image(filename=str(FIGURES / "05_learning_curves_and_K.png")))

# %% [markdown]
# ## The verdict
#
# The target for a tied pair that "performs well in both recognition and generation": within
# 0.5 points of L0's test error, within 5 nats of the best untied $\log p(x)$, and cycle
# accuracy above 90 %. The numbers the verdict rests on, from the three seeds:

# %%
l0, l0_sd = stat("L0", "test_error_mean_pass")
best_untied_row = max(("L1u", "L2u"), key=lambda r: seeds["rows"][r]["log_px"]["mean"])
best_untied, _ = stat(best_untied_row, "log_px", 1.0)
verdict = {}
for row in ("L1", "L2"):
    error, error_sd = stat(row, "test_error_mean_pass")
    log_px, log_px_sd = stat(row, "log_px", 1.0)
    cycle, cycle_sd = stat(row, "cycle_accuracy")
    verdict[row] = {"error_gap": error - l0, "log_px_gap": best_untied - log_px, "cycle": cycle}
    print(f"{row} tied: test error {error:.2f} ± {error_sd:.2f} % (L0 {l0:.2f} ± {l0_sd:.2f} %), "
          f"log p(x) {log_px:.1f} ± {log_px_sd:.1f} ({best_untied - log_px:.1f} nats below {best_untied_row}), "
          f"cycle accuracy {cycle:.1f} ± {cycle_sd:.1f} %")
target = {row: v["error_gap"] <= 0.5 and v["log_px_gap"] <= 5 and v["cycle"] > 90 for row, v in verdict.items()}
print("meets the target (<= 0.5 points of L0, <= 5 nats of the best untied, cycle > 90 %):", target)

# %% [markdown]
# The paired differences over the seeds (each computed seed by seed, then averaged):

# %%
for name in seeds["differences"]:
    m, sd, n = diff(name, 1.0 if "nats" in name else 100.0)
    print(f"{name:34s} {m:+7.2f} ± {sd:.2f} over {n} seeds (standard error {sd / np.sqrt(n):.2f})")

# %% [markdown]
# ## Trying to make the tied pair work
#
# The issue behind this experiment asks not only for a verdict but for an honest attempt to
# make one tied pair good at both. Each attempt below changes one setting of the tied rows and
# is measured in the same table format (threshold binarisation, same architecture, 20 epochs
# unless the attempt is "more epochs"); each was produced by the command in
# `results/README.md` with the option named by its folder.

# %%
NAMES = {  # each attempt's folder in results/sweeps and what it changed
    "lam10": "λ = 10", "lam1000": "λ = 1000", "units_lam1": "per-unit normalisation, λ = 1",
    "epochs40": "40 epochs", "RWS": "reweighted wake-sleep (K = 5)", "RWSu": "reweighted wake-sleep, untied",
    "RWS2": "reweighted wake-sleep + 100 L0", "units1000_L2": "L2 with 1000-1000 hidden units",
}

# %%
sweeps = {}
for folder in sorted((RESULTS / "sweeps").glob("*/table.json")):
    for r in json.loads(folder.read_text()):
        sweeps[folder.parent.name] = r
print(f"{'attempt':34s} {'row':5s} {'error':>8s} {'log p(x)':>9s} {'cycle':>7s}")
for name, r in sorted(sweeps.items(), key=lambda item: item[1]["test_error_mean_pass"]):
    print(f"{NAMES[name]:34s} {r['row']:5s} {100 * r['test_error_mean_pass']:7.2f}% {r['log_px']:9.2f} "
          f"{100 * r['cycle_accuracy']:6.1f}%")
for row in ("L1", "L2", "L2u"):
    e, _ = stat(row, "test_error_mean_pass")
    print(f"{'main table, mean of 3 seeds':34s} {row:5s} {e:7.2f}% {stat(row, 'log_px', 1.0)[0]:9.2f} "
          f"{stat(row, 'cycle_accuracy')[0]:6.1f}%")

# %%
main_rows = {row: (stat(row, "test_error_mean_pass"), stat(row, "log_px", 1.0), row in ("L1", "L2"))
             for row in ("L1", "L1u", "L2", "L2u")}  # the main table: mean ± sd over the seeds; tied or not
fig = plots.tied_attempts(main_rows, sweeps, NAMES, l0)
save_figure(fig, "05_tied_attempts")
plt.show()

# %% [markdown]
# ## Scarce labels: does generative learning pay when labels are few?
#
# The abstract's case for learning "taking into account the full distribution of the data" is
# strongest when images are many and labels few. `python -m refimpl.lab.studies scarce`
# (`results/scarce/`) keeps the labels of 100 or 1,000 training images (class-balanced, chosen
# by the seed) and compares, on the same 784-500-500-10 network and schedule, over seeds 0, 1
# and 2 at both label counts:
#
# - **L0** on the labelled images alone (as many steps as the others take);
# - **S2**, the tied pair learning from all 60,000 images (tutorial 4, S1 and S2): an
#   unlabelled image contributes the wake term of its marginal $\log p(x)$, its class summed
#   over the recogniser's belief (S1); a labelled image contributes the wake term of its
#   *joint* likelihood $\log p(x, h \mid y)$ with its true class, plus λ·L0 (λ = 100 as in the
#   main table); the sleep term draws classes from the prior. Each step takes a batch of 100
#   unlabelled images and a batch of $\min(100, N)$ labelled ones, each term averaged over its
#   own batch;
# - **S2u**, the same with an untied pair;
# - at 100 labels, the ablations **S2noLW** and **S2noLWu**: S2 and S2u *without* the labelled
#   images' wake term, so the generator's class-conditional top layer learns only from the
#   recogniser's guesses.

# %%
scarce = json.loads((RESULTS / "scarce" / "table.json").read_text())
display(Markdown((RESULTS / "scarce" / "table.md").read_text()))

# %% [markdown]
# What the three seeds show (a difference is read only when it has the same sign in every
# seed and is larger than its standard deviation over the seeds; the check is in
# `tests/test_results_scarce.py`, which fails if a sentence here and the table disagree):
#
# - **With 100 labels, learning from the unlabelled images pays, tied or untied.** S2 is
#   3.11 ± 1.41 points better than L0 (23.13 ± 2.61 % against 26.24 ± 1.21 % test error), S2u
#   2.70 ± 1.85 points better, each in every seed.
# - **At 100 labels tying costs no recognition that three seeds can resolve:** S2 − S2u is
#   −0.41 ± 1.98 points (−2.68, +0.49, +0.97 per seed). It costs generation quality:
#   $\log p(x)$ 21.08 ± 0.46 nats lower. And it buys consistency: cycle accuracy
#   99.3 ± 0.3 % against 95.7 ± 0.4 %, 3.53 ± 0.14 points higher in every seed.
# - **The labelled wake term is what makes the tied pair work:** without it (S2noLW) the tied
#   pair is 5.81 ± 0.78 points worse than S2 in every seed, and worse than L0. The untied pair
#   does not need it: S2u − S2noLWu is +1.46 ± 1.25 points (+2.22, +2.15, +0.02), not
#   resolved.
# - **With 1,000 labels the tied pair's gain is gone:** S2 is 0.93 ± 0.42 points *worse* than
#   L0 in every seed (12.49 ± 0.26 % against 11.56 ± 0.59 %), while S2u is 1.38 ± 0.75 points
#   better in every seed (10.18 ± 0.21 %); S2 − S2u is 2.31 ± 0.47 points.
#
# So the tied pair profits from unlabelled images when labels are very few, as much as the
# untied one does, and stops profiting as they become more: at 1,000 labels its generative
# term pulls the shared weights away from what the labels alone would give.

# %%
for labelled, summary in scarce.items():
    for name, d in summary["differences"].items():
        scale = 1.0 if "nats" in name else 100.0
        per_seed = ", ".join(f"{scale * v:+.2f}" for v in d["values"])
        print(f"{labelled:>5s} labels: {name:36s} {scale * d['mean']:+7.2f} ± {scale * d['sd']:.2f}  ({per_seed})")
display(Image(RESULTS / "scarce" / "figures" / "scarce_error_vs_labels.png", width=520))

# %% [markdown]
# ### Pushing the tied pair at 100 labels
#
# The target set for the tied S2 was at most 20 % test error at 100 labels over three seeds,
# with cycle accuracy above 90 % (L0 there: 26.24 %). Each lever was tried on seed 0 first
# (`results/scarce/attempts/<name>/`, each with its `command.txt`), the most promising then on
# three seeds; the figure below puts every run on the plane of test error against cycle
# accuracy.
#
# - **The labelled images' weight** (`--labelled-weight 10`: their wake term counted ten times,
#   λ·L0 unchanged): 19.92 % on seed 0, then 21.52 ± 2.38 % over three seeds (19.92,
#   24.25, 20.38), 1.62 ± 0.23 points better than S2 in every seed, at cycle accuracy 99.9 %
#   but $\log p(x)$ 21 nats lower (−143.22 ± 0.60): the generator gives up modelling the
#   unlabelled images for the labelled ones.
# - **Twice the epochs, the step size decaying more slowly** (`--epochs 40 --lr-decay 0.92`,
#   with the labelled weight 10, so that the last step size is about the one at 20 epochs;
#   seed 0): 20.07 % test error against 19.92 % at 20 epochs, cycle accuracy 99.9 %,
#   $\log p(x)$ −137.89, 5 nats better: longer training does not lower the error.
# - **λ = 1000** (seed 0): 20.83 % test error, cycle accuracy 97.3 %, $\log p(x)$ −123.99.
# - **Stochastic binarisation of the unlabelled images, re-drawn every epoch** (seed 0):
#   20.67 % test error, cycle accuracy 99.0 %, $\log p(x)$ −122.60.
#
# Against S2's 21.33 % on seed 0, the single-seed gains of λ = 1000 and augmentation (0.50 and
# 0.66 points) are within two standard errors of the difference of two runs on 10,000 test
# images (about 0.58 points) and far below the seed-to-seed spread (2.61 points): one seed
# cannot tell them from noise. **The target is not reached:** the best three-seed result, 21.52 ± 2.38 %, has one
# seed under 20 % and a mean above it. Cycle accuracy is never the problem: every tied run
# keeps it above 97 %.

# %%
display(Image(RESULTS / "scarce" / "figures" / "scarce_tied_frontier.png", width=760))
for s in range(3):
    base = json.loads((RESULTS / "scarce" / f"labelled100/seed{s}/rows/threshold_S2.json").read_text())
    lw10 = json.loads((RESULTS / "scarce" / "attempts" / "labelled_weight10_3seeds" /
                       f"labelled100/seed{s}/rows/threshold_S2.json").read_text())
    print(f"seed {s}: S2 {100 * base['test_error_mean_pass']:.2f} %, labelled weight 10 "
          f"{100 * lw10['test_error_mean_pass']:.2f} % "
          f"({100 * (lw10['test_error_mean_pass'] - base['test_error_mean_pass']):+.2f} points)")

# %% [markdown]
# ### Erratum
#
# An earlier version of this notebook and of the README concluded: "with 100 labels the tied
# semi-supervised pair is 2.70 ± 0.72 points worse than L0 […] learning from the unlabelled
# images pays, but only untied; tying costs 6.9 ± 0.8 points." That S2 gave a labelled image
# only λ·L0, not the wake term of its joint likelihood $\log p(x, h \mid y)$ with its true class,
# which the standard semi-supervised generative objective (the "M2" objective of Kingma et al.,
# arXiv:1406.5298) includes. Its generator's class-conditional top layer then never learned from
# a single true (image, label) pair. Those runs are the rows S2noLW and S2noLWu now (their
# training was checked bit-identical). With the term, the tied pair gains 5.81 ± 0.78 points
# and the verdict changes: at 100 labels tying costs no resolved recognition, and the cost of
# tying shows at 1,000 labels instead.

# %% [markdown]
# ## The trained pairs, live
#
# Three of the pairs behind the table ship with the package in float16 (`load_pretrained`;
# `refimpl/lab/pretrained/manifest.json` records each file's SHA-256, the command that made it,
# and that float16 storage moved the test error by less than 0.1 point and $\log p(x)$ by
# less than 0.1 nat). They are seed 1's L1 (tied wake-sleep), L2 (tied hybrid) and L2u
# (untied hybrid). Here they run on the embedded test images: samples per class, cycle
# accuracy, and the importance-sampling bound as $K$ grows.

# %%
pairs = {name: load_pretrained(name) for name in ("L1", "L2", "L2u")}
for name, entry in available_pretrained().items():
    check = entry["float16_check"]
    print(f"{name}: {entry['bytes'] / 2**20:.1f} MB, test error {100 * check['float16']['test_error']:.2f} % "
          f"on all 10,000 test images (float32: {100 * check['float32']['test_error']:.2f} %)")

# %%
rng = np.random.default_rng(SEED)
samples = {name: pair.sample_generator(np.arange(10), rng)[1] for name, pair in pairs.items()}
fig = plots.image_grid(samples, "one sample per class from each shipped generator (M10)", column_title=str,
                       figsize=(10, 3.6), fontsize=(11, 11, 12), tight=False)
save_figure(fig, "05_pretrained_samples")
plt.show()

# %%
test = load_embedded()
x_test = binarize(test.test_images[:300], "threshold")
Ks = (1, 10, 100, 500)
curves = {}
for name, pair in pairs.items():
    cycle = cycle_accuracy(pair, 100, rng).accuracy
    curves[name] = [float(np.mean(importance_log_likelihood(pair, x_test, K, rng).log_px)) for K in Ks]
    print(f"{name}: cycle accuracy {100 * cycle:.1f} % (1,000 generated images); mean log p(x) on 300 test "
          f"images for K = {Ks}: {np.round(curves[name], 1)}")

# %%
fig = plots.log_likelihood_against_k(Ks, curves, len(x_test))
save_figure(fig, "05_pretrained_K_curve")
plt.show()

# %% [markdown]
# ## What the numbers say
#
# **The verdict on the paper's claim, in this reconstruction: not confirmed.** No tied pair is
# good at recognition *and* generation at once. `tests/test_results.py` recomputes each
# sentence from the committed tables, so the prose cannot drift from the results. Numbers
# are mean ± standard deviation over three seeds where the row was run three times; single
# runs are marked as such, and a difference from a single run is read only when it is larger
# than the seed-to-seed spread of the same row of the main table.
#
# - **With every label, a tied pair trades recognition for generation along one frontier.**
#   Pure generative learning (L1 tied) gives a consistent generator (cycle accuracy
#   93.1 ± 0.2 %) but a poor recogniser (16.7 ± 0.2 % test error, against 1.97 ± 0.04 % for
#   L0). Adding the discriminative term (L2, λ = 100) buys recognition with generation:
#   2.61 ± 0.08 % test error, 0.63 ± 0.09 points behind L0 in every seed (0.57, 0.74, 0.59),
#   at $\log p(x)$ 39.2 ± 0.7 nats below the untied L2u and 61 ± 1 % cycle accuracy. The
#   single-run attempts (`results/sweeps/`) all lie on the same frontier, from reweighted
#   wake-sleep (95.1 % cycle, 11.75 % error) and L1 at 40 epochs (93.1 %, 17.05 %) through
#   λ = 10 (86 %, 5.2 %) to λ = 1000 (41 %, 1.87 %) and per-unit normalisation (40 %,
#   1.84 %, −150 nats, the lowest $\log p(x)$).
# - **Neither more capacity nor the natural hybrid moves the frontier to the goal.** The tied
#   L2 with 1000-1000 hidden units recognises as well as with 500-500 (2.59 % against
#   2.61 ± 0.08 %) but its $\log p(x)$ is 9.6 nats lower and its cycle accuracy 3 points lower.
#   Reweighted wake-sleep plus 100·L0 (RWS2) keeps L2's test error (2.71 %) and cycle
#   accuracy (57 %) and gains 12.7 nats of $\log p(x)$ over L2, still 26.5 nats below L2u:
#   the one attempt that moves toward the goal, in one of its three coordinates. These are
#   single runs; their $\log p(x)$ differences are more than twenty times the seed spread of L2
#   (0.46 nats); their test-error differences (−0.02 and +0.10 points) are the size of its
#   spread (0.08 points), so they show no change in recognition.
# - **The untied hybrid does what the claim asks of the tied pair:** L2u is 0.42 ± 0.02
#   points from L0 (under half a point in every seed), has the best $\log p(x)$ of the main
#   table and 88.6 ± 0.3 % cycle accuracy, at twice the weight matrices.
# - **Tying buys consistency without the discriminative term, and costs it with it.** The
#   purely generative tied pair agrees with its own generator far more often than the untied
#   one (cycle accuracy 35.2 ± 1.1 points higher) and recognises better (16.7 against
#   23.3 %), at 14 nats of $\log p(x)$; with λ·L0 the tied pair's cycle accuracy is 27.7 ± 0.6
#   points *below* the untied pair's.
# - **λ = 1000 does not classify better than L0 by any measure this study can resolve:** its
#   single run (1.87 %) is 0.10 points below L0's mean (1.97 ± 0.04 %), less than the binomial
#   standard error of one run's error on 10,000 test images (0.14 points).
# - **Claim 1 holds on real data:** the mean pass and the Monte Carlo estimate of
#   $q(y \mid x)$ agree to within a fraction of a point on every row (table above).
#
# Read these with their limits: three seeds for the main table and one for each attempt, one
# architecture (two widths), 20 epochs, Adam with one step-size schedule for every row,
# uniform prior $p(y)$ (the training classes' frequencies lie between 9.0 % and 11.2 %, so
# learning $p(y)$ would move $\log p(x)$ by at most 0.12 nats per image), the plain wake-sleep
# of tutorial 4 (L1) and one reweighted variant (K = 5). The paper's own experiment is
# described as tentative, and its text is not available: a different learning rule may well
# change the picture.

# %% [markdown]
# ## Published context
#
# Set beside published figures only with their differences in mind; none of them is directly
# comparable with ours.
#
# *Log-likelihoods.* Gu, Levine, Sutskever and Mnih, "MuProp: unbiased backpropagation for
# stochastic neural networks" (arXiv:1511.05176), Table 3, read in a text copy of the paper:
# the **negative variational lower bound** on the MNIST test images of unconditional sigmoid
# belief networks ("SBN 200-784": one layer of 200 binary units above the 784 pixels), for the
# authors' implementation of NVIL (Mnih and Gregor 2014) and for MuProp: SBN 200-784 113.5
# (NVIL) and 113.6 (MuProp); SBN 200-200-784 99.7 and 100.4; SBN 200-200-200-784 97.5 and
# 101.1 nats. The paper says "the binarized MNIST dataset" without naming the binarisation,
# and picks the learning rate by "the best test score". Against ours: theirs are *bounds*
# (an importance-sampled estimate is higher, and ours at K = 100 is higher still than our K = 1
# bound), of $p(x)$ without labels (ours: $\log p(x) = \log\sum_y p(y)\,p(x \mid y)$ of a
# class-conditional generator), on a binarisation they do not state (our stochastic rows are
# the closest protocol: −108.5 to −142.8 nats at K = 100), with other architectures.
# This project could not read the tables of the NVIL, VIMCO or reweighted wake-sleep papers
# in its sources, so it prints no number from them.
#
# *Scarce labels.* Pezeshki et al., "Deconstructing the ladder
# network architecture" (arXiv:1511.06430), abstract, read at ar5iv.org/html/1511.06430:
# test error "0.97% and 1.0% for semi-supervised settings with 1000 and 100 labeled
# examples" on permutation-invariant MNIST. That is a deterministic ladder network with
# noise-based denoising costs and grey-level images, trained to that end; ours are binary
# stochastic networks on thresholded images, with a learning rule chosen to test the tied
# pair, not to win. Kingma, Rezende, Mohamed and Welling (arXiv:1406.5298) report the same
# protocol for their deep generative models; their table could not be read here, only a
# second-hand copy: the README of a third-party reimplementation
# (github.com/tijiang13/Semi-supervised-VAE) quotes as the paper's results with 100 labels
# "M2: 11.97(delta = 1.71)" and "M1+M2: 3.33(delta = 0.14)" (test error in %). M2 is the
# generative semi-supervised objective whose labelled term S2 now follows, with Gaussian
# latent variables trained by reparameterised variational inference, on grey-level images;
# M1+M2 adds a separately trained feature model below it. Treat these as context, not as
# checked numbers: the same README reports its own M2 at "12 ~ 13" and its classifier
# trained on the 100 labels alone at "arround 76% accuracy", close to our L0.

# %% [markdown]
# ## Summary
#
# - The experiment command trains and evaluates one table (L0, L1, L1u, L2, L2u) with the
#   same architecture, epochs and seed, under two binarisations; the seeds study repeats the
#   threshold table over three seeds and gives every cell with its spread.
# - In this reconstruction a pair tied by transposition is either a good recogniser or a
#   consistent generator, not both, over three seeds and every attempt tried (λ, per-unit
#   normalisation, more epochs, wider layers, reweighted wake-sleep with and without L0); the
#   untied hybrid is both. The paper's claim is not confirmed here, with the caveats above.
# - With 100 labels (three seeds), learning generatively from the unlabelled images helps
#   the tied pair as much as the untied one (S2 3.1 ± 1.4, S2u 2.7 ± 1.9 points better than
#   L0), once a labelled image contributes its joint likelihood; with 1,000 labels the tied
#   pair falls 0.9 ± 0.4 points behind L0 while the untied one stays ahead. The target of
#   20 % for the tied pair at 100 labels was not reached (best: 21.5 ± 2.4 %).
# - The deterministic forward pass is as good a classifier as Monte Carlo inference in the
#   stochastic model it approximates (claim 1), on every row.
#
# ## Exercises
#
# 1. Run `python -m refimpl.lab.experiment --quick` and read `runs/quick/results/table.md`. Which
#    numbers are meaningful after one epoch of a 784-40-10 network, and which are not?
# 2. The K curve of the shipped pairs rises by about 14 to 21 nats from K = 1 to K = 500, most
#    for the tied hybrid L2. What does that say about the recogniser as a proposal for the
#    generator's posterior, and why might tying with a discriminative term make it worse?
# 3. Add a row with `--lam 30`. Where on the tied frontier do you expect it, and does it land there?
# 4. A single run at λ = 1000 gave 1.87 % test error against L0's 1.97 ± 0.04 % over three
#    seeds. How many seeds of the λ = 1000 row would you need to tell a difference of 0.1 point
#    from noise, and what would you compare?
