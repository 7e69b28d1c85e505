"""The tutorials' figures: axes, ticks and legends, kept out of the notebooks' cells.

Each function takes the numbers a tutorial computed and returns a matplotlib figure; the
tutorial saves it with :func:`refimpl.lab.figures.save_figure`. Nothing here computes the
method: the data come in, the drawing goes out.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FormatStrFormatter

__all__ = [
    "exact_inference_cost", "layer_state_distribution", "error_vs_scale", "error_vs_depth", "monte_carlo_error",
    "generation_marginals", "consistency_gaps", "learning_curves", "image_grid", "recognition_vs_generation",
    "tied_attempts", "log_likelihood_against_k",
]


# ----------------------------------------------------------------------------- tutorial 1
def exact_inference_cost(widths=None, depths=None):
    """Terms summed by brute force and by the layer recursion, against width (left, default widths 1..24) and
    depth (right, default 2..10 hidden layers of 12 units)."""
    widths = np.arange(1, 25) if widths is None else np.asarray(widths)
    depths = np.arange(2, 11) if depths is None else np.asarray(depths)
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.4))
    for n_hidden, style, (m_brute, m_rec), offset in [(2, "-", "os", 0), (3, "--", "^v", 1), (4, ":", "DP", 2)]:
        marks = {"markevery": (offset, 3), "ms": 6}
        axes[0].semilogy(widths, 2.0 ** (n_hidden * widths), color="C0", ls=style, marker=m_brute, **marks,
                         label=f"brute force, {n_hidden} hidden layers")
        axes[0].semilogy(widths, (n_hidden - 1) * 2.0 ** (2 * widths), color="C1", ls=style, marker=m_rec,
                         mfc="white", **marks, label=f"recursion, {n_hidden} hidden layers")
    axes[0].set(xlabel="width of every hidden layer (units)", ylabel="terms summed (count)",
                title="cost of exact inference against width")
    axes[0].axhline(1e9, color="gray", lw=0.8)
    axes[0].text(24, 3e9, "~1 s of work", color="gray", fontsize=10, ha="right")
    axes[0].legend(fontsize=9.5, loc="upper left")
    axes[1].semilogy(depths, 2.0 ** (12 * depths), "C0o-", label="brute force $2^{12 L}$")
    axes[1].semilogy(depths, (depths - 1) * 2.0 ** 24, "C1s--", mfc="white", label="recursion $(L-1)\\,2^{24}$")
    axes[1].set(xlabel="number $L$ of hidden layers (12 units each)", ylabel="terms summed (count)",
                title="cost against depth")
    axes[1].legend(fontsize=10, loc="upper left")
    fig.tight_layout()
    return fig


def layer_state_distribution(exact, product, sampled, sampled_se, n_samples: int):
    """A layer's exact state distribution beside the product of its marginals (top), and their difference
    with the sampled frequencies' difference and its 2-standard-error bars (bottom)."""
    states = np.arange(exact.size)
    width = int(np.log2(exact.size))
    fig, (ax, ax_d) = plt.subplots(2, 1, figsize=(10, 6.4), sharex=True, height_ratios=(1, 1.2))
    ax.bar(states - 0.2, exact, width=0.4, label="exact $q(x^2 \\mid x^0)$ (recursion)")
    ax.bar(states + 0.2, product, width=0.4, hatch="//", edgecolor="white", label="product of its marginals")
    ax.set(ylabel="probability", title="layer 2 is not a product of independent units")
    ax.legend(fontsize=10)
    ax_d.axhline(0, color="gray", lw=0.8)
    ax_d.bar(states, exact - product, width=0.6, color="C2", label="exact $-$ product of marginals")
    ax_d.errorbar(states, sampled - product, yerr=2 * sampled_se, fmt="ko", ms=4, capsize=3,
                  label=f"{n_samples} samples $-$ product, $\\pm 2$ binomial s.e.")
    ax_d.set_xticks(states, [format(s, f"0{width}b")[::-1] for s in states], fontsize=10, family="monospace")
    ax_d.set(xlabel="state of layer 2 (units $x_1 x_2 x_3 x_4$)", ylabel="difference in probability",
             title="exact minus product: the difference the bars above cannot show")
    ax_d.legend(fontsize=10, loc="upper right")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- tutorial 2
def error_vs_scale(scales, err: dict, slopes: dict, title: str):
    """Mean absolute error of the forward marginals against the weight scale, log-log, with s^3 and s^2 guides."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for method, marker in [("mean", "o"), ("probit", "s")]:
        ax.loglog(scales, err[method], marker=marker, label=f"{method} pass (slope {slopes[method]:.2f} for s ≤ 1)")
    ax.loglog(scales[:5], err["mean"][0] * (scales[:5] / scales[0]) ** 3, "k:", label="$\\propto s^3$")
    ax.loglog(scales[:5], err["mean"][0] * (scales[:5] / scales[0]) ** 2, "k--", lw=0.8, label="$\\propto s^2$")
    ax.set_xlabel("weight scale $s$")
    ax.set_ylabel("mean |forward - exact|, layers 2..n")
    ax.set_title(title)
    ax.legend(fontsize=10, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return fig


def error_vs_depth(depths, depth_err: dict, title: str):
    """Mean absolute error of the forward marginals at the last layer against the number of layers."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for method, marker in [("mean", "o"), ("probit", "s")]:
        ax.plot(depths, depth_err[method], marker=marker, label=f"{method} pass")
    ax.set_xlabel("number of layers $n$ (the last one is measured)")
    ax.set_ylabel("mean |forward - exact| at layer $n$")
    ax.set_title(title)
    ax.legend()
    return fig


def monte_carlo_error(s_values, rms: dict, slopes: dict, mean_pass_rms: float, probit_pass_rms: float):
    """RMS error of the plain and the Rao-Blackwellised Monte Carlo estimates against the number of samples,
    with the mean and probit passes as horizontal lines."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.loglog(s_values, rms[False], "o-", label=f"sample average (slope {slopes[False]:.2f})")
    ax.loglog(s_values, rms[True], "s-", label=f"Rao-Blackwellised (slope {slopes[True]:.2f})")
    ax.loglog(s_values, rms[False][0] * np.sqrt(s_values[0] / s_values), "k:", label="$\\propto 1/\\sqrt{S}$")
    ax.axhline(mean_pass_rms, color="C3", ls="--", label="mean pass (M6)")
    ax.axhline(probit_pass_rms, color="C4", ls="-.", label="probit pass (M8)")
    ax.set_xlabel("samples $S$")
    ax.set_ylabel("RMS error, layers 2..n (20 seeds)")
    ax.legend(fontsize=10, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return fig


# ----------------------------------------------------------------------------- tutorial 3
def generation_marginals(exact_x, sample_means, nu0, n_samples: int):
    """Per class, p(x_i = 1 | y) by enumeration, by sample means and by the mean pass, one panel per class."""
    n_classes, n_pixels = exact_x.shape
    fig, axes = plt.subplots(1, n_classes, figsize=(10, 3.0), sharey=True)
    for c, ax in enumerate(axes):
        i = np.arange(n_pixels)
        ax.bar(i - 0.25, exact_x[c], 0.25, label="exact (enumeration)")
        ax.bar(i, sample_means[c], 0.25, label=f"{n_samples} samples")
        ax.bar(i + 0.25, nu0[c], 0.25, label=r"mean pass $\nu^0$")
        ax.set_title(f"y = {c}")
        ax.set_xlabel("pixel i")
    axes[0].set_ylabel(r"$p(x_i = 1 \mid y)$")
    fig.tight_layout()
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=10, ncol=3, loc="upper center",
               bbox_to_anchor=(0.5, 0.0))
    return fig


def consistency_gaps(gaps: dict, kinds, scales, rng, floor: float = 1e-17):
    """The gaps of each kind of pair, one jittered point per pair (jitter drawn from ``rng``) and the median,
    one panel per weight scale; gaps below ``floor`` (rounding noise) are drawn at it."""
    fig, axes = plt.subplots(1, len(scales), figsize=(10, 3.4), sharey=True)
    for ax, s in zip(axes, scales, strict=True):
        for j, kind in enumerate(kinds):
            g = np.maximum(np.abs(gaps[kind, s]), floor)
            ax.scatter(j + 0.12 * rng.standard_normal(g.size), g, s=8, alpha=0.6)
            ax.hlines(np.median(g), j - 0.3, j + 0.3, color="k")
        ax.set_yscale("log")
        ax.set_xticks(range(len(kinds)), [k.replace(") ", ")\n").replace(", ", "\n") for k in kinds])
        ax.set_title(f"weights and biases ~ N(0, {s:g}²)")
    axes[0].set_ylabel(r"gap KL$(\pi_q \| \pi_p)$, nats")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- tutorial 4
_RULE_STYLE = {"L0": ("C0", "o", "-"), "L1": ("C1", "s", "--"), "L1u": ("C2", "^", "-."), "L2": ("C3", "D", ":")}


def learning_curves(logs: dict):
    """G, R and L0 per epoch and the test error (log scale), one line per rule; ``logs`` maps rule -> fit's log."""
    fig, axes = plt.subplots(2, 2, figsize=(10.5, 7.2), sharex=True)
    for rule, log in logs.items():
        epochs = [r["epoch"] for r in log]
        colour, marker, ls = _RULE_STYLE[rule]
        line = {"color": colour, "marker": marker, "ls": ls, "ms": 6, "label": rule}
        for ax, key in zip(axes.flat[:3], ("G", "R", "L0"), strict=True):
            if key in log[0]["terms"]:
                ax.plot(epochs, [r["terms"][key] for r in log], **line)
        axes[1, 1].plot(epochs, [100 * r["test_error"] for r in log], **line)
    titles = (r"G: $\log p(x, h \mid y)$ at wake samples", r"R: $\log q(h, y \mid x)$ at dreams",
              r"L0: $\log \tilde q(y \mid x)$", "test error of the mean pass")
    for ax, title in zip(axes.flat, titles, strict=True):
        ax.set_title(title, fontsize=12)
        ax.tick_params(labelsize=10)
    for ax in axes[1]:
        ax.set_xlabel("epoch", fontsize=11)
    for ax in axes.flat[:3]:
        ax.set_ylabel("nats per image (epoch mean)", fontsize=11)
    axes[1, 1].set_ylabel("test error (%, log scale)", fontsize=11)
    axes[1, 1].set_yscale("log")
    axes[1, 1].yaxis.set_major_locator(plt.LogLocator(subs=(1, 2, 5)))
    axes[1, 1].yaxis.set_major_formatter(plt.FormatStrFormatter("%g"))
    axes[1, 1].yaxis.set_minor_formatter(plt.NullFormatter())
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    fig.legend(*axes[1, 1].get_legend_handles_labels(), title="learning rule", fontsize=11, title_fontsize=11,
               ncol=len(logs), loc="upper center", bbox_to_anchor=(0.5, 1.0))
    return fig


def image_grid(images: dict, title: str, *, column_title=lambda c: f"y = {c}", figsize=None,
               fontsize=(12, 13, 13), tight=True):
    """One row of 28x28 images per entry of ``images`` (name -> array of shape (columns, 784)), named on the left.

    ``fontsize`` is (column titles, row names, title); ``tight`` packs the panels with tight_layout.
    """
    n_rows, n_cols = len(images), len(next(iter(images.values())))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=figsize or (10, 1.0 * n_rows + 0.8))
    axes = np.asarray(axes).reshape(n_rows, n_cols)
    for row, (name, rows_images) in enumerate(images.items()):
        for c in range(n_cols):
            axes[row, c].imshow(rows_images[c].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
            axes[row, c].set_xticks([]), axes[row, c].set_yticks([])
            if row == 0:
                axes[row, c].set_title(column_title(c), fontsize=fontsize[0])
        axes[row, 0].set_ylabel(name, fontsize=fontsize[1], rotation=0, ha="right", va="center")
    fig.suptitle(title, fontsize=fontsize[2])
    if tight:
        fig.tight_layout(h_pad=0.3, w_pad=0.3)
    return fig


# ----------------------------------------------------------------------------- tutorial 5
def _percent_log_axis(ax) -> None:
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(FormatStrFormatter("%g"))


def recognition_vs_generation(rows: dict, K: int):
    """Test error against log p(x), one point per generative row, one panel per binarisation;
    ``rows`` maps (protocol, row) -> row record, L0's error is the dashed reference."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, protocol in zip(axes, ("threshold", "stochastic"), strict=True):
        for (p, row), r in rows.items():
            if p != protocol or "log_px" not in r:
                continue
            marker = "o" if r["tied"] else "s"
            ax.plot(100 * r["test_error_mean_pass"], r["log_px"], marker, ms=9,
                    label=f"{row} ({'tied' if r['tied'] else 'untied'})")
            ax.annotate(row, (100 * r["test_error_mean_pass"], r["log_px"]), textcoords="offset points",
                        xytext=(6, 4))
        # L0 is trained on thresholded images only; its error is the reference in both panels
        ax.axvline(100 * rows[("threshold", "L0")]["test_error_mean_pass"], color="gray", ls="--",
                   label="L0 test error (threshold)")
        ax.set(xlabel="test error of the mean pass (%)", ylabel=f"log p(x), nats (K = {K})",
               title=f"{protocol} binarisation", xscale="log")
        _percent_log_axis(ax)
        ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def tied_attempts(main: dict, attempts: dict, names: dict, l0: float):
    """The attempts (colour) and the main table's rows (grey, mean ± sd over seeds) on error against log p(x).

    ``main`` maps row -> ((error %, sd), (log p(x), sd), tied); ``attempts`` maps folder -> row record;
    ``names`` maps folder -> label; ``l0`` is L0's mean test error in %.
    """
    fig, ax = plt.subplots(figsize=(9, 6))
    for row, ((e, e_sd), (lp, lp_sd), tied) in main.items():
        ax.errorbar(e, lp, xerr=e_sd, yerr=lp_sd, fmt="o" if tied else "s", ms=13, mfc="none", mec="0.35",
                    mew=1.5, color="0.35", capsize=3)  # hollow, so an attempt on the same spot stays visible
        ax.annotate(f"{row} (3 seeds)", (e, lp), textcoords="offset points", xytext=(9, -15), fontsize=10,
                    color="0.3")
    offsets = {"lam1000": (9, 2), "units_lam1": (9, 4), "epochs40": (9, 8), "RWS": (9, -15), "RWSu": (9, 4)}
    colours = [plt.get_cmap("tab10")(i) for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)]  # no grey: grey is the main table
    for colour, (name, r) in zip(colours, attempts.items(), strict=False):
        ax.plot(100 * r["test_error_mean_pass"], r["log_px"], "o" if r["tied"] else "s", ms=8, color=colour)
        ax.annotate(names[name], (100 * r["test_error_mean_pass"], r["log_px"]), textcoords="offset points",
                    xytext=offsets.get(name, (9, 4)), fontsize=10, color=colour)
    ax.axvline(l0, color="0.3", ls="--", label=f"L0 test error ({l0:.2f} %, 3 seeds)")
    ax.set(xscale="log", xlabel="test error of the mean pass (%)", ylabel="log p(x), nats per test image (K = 100)",
           title="Attempts (colour) and the main table (grey); circles tied, squares untied")
    _percent_log_axis(ax)
    ax.legend(loc="lower right", fontsize=10)
    fig.tight_layout()
    return fig


def log_likelihood_against_k(Ks, curves: dict, n_images: int):
    """Mean log p(x) against the number K of importance samples, one line per pair."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for name, curve in curves.items():
        ax.plot(Ks, curve, "o-", label=name)
    ax.set(xscale="log", xlabel="K, importance samples per image", ylabel="mean log p(x), nats",
           title=f"the bound rises with K ({n_images} embedded test images)")
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.legend(fontsize=10)
    fig.tight_layout()
    return fig
