"""Speed of refimpl against a PyTorch CPU twin doing the same arithmetic, side by side in one run.

Two workloads, with a tied 784-500-500-10 pair in float32:

1. one training epoch of L1 (wake-sleep with tied weights), batch 100:
   ``refimpl.learning.l1_step_grads`` + ``refimpl.optim.Adam.step`` against the same
   sampling, local gradients and Adam update written in torch (no autograd);
2. the importance-sampled log-likelihood (K importance samples per image, all
   classes from one set of samples): ``refimpl.evaluation.importance_log_likelihood``
   against the same estimator written in torch.

Both columns use the same number of threads (the BLAS thread count numpy uses;
torch.set_num_threads is set to it). MNIST is read from ``--data DIR``, a folder
holding the four MNIST files (default: ``$REFIMPL_MNIST_DIR`` or the cache that
``python -m refimpl.lab.experiment --data download`` fills, ``~/.cache/refimpl/mnist``),
and binarised at 0.5; without the files, random binary images of the same shape
are used. PyTorch is optional: without it only the refimpl column is printed.

Usage: ``python benchmarks/bench_learning.py [--data DIR] [--quick] [--repeat N] [--profile]``

Each workload runs ``--repeat`` times (default 2) with the two columns interleaved; the best
time of each column is printed, with the ratio refimpl / torch.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import pstats
import time

import numpy as np

from refimpl.coupled import CoupledPair
from refimpl.evaluation import importance_log_likelihood
from refimpl.learning import l1_step_grads
from refimpl.optim import Adam

SIZES = (784, 500, 500, 10)
BATCH = 100
LR = 1e-3


# ----------------------------------------------------------------- data
def load_data(directory, n_train, n_test, rng):
    """Binarised MNIST (threshold 0.5) if present, else random binary images of the same shape."""
    try:
        from refimpl.lab.data import binarize, find_mnist, load_mnist

        directory = directory or find_mnist()
        if directory is None:
            raise FileNotFoundError("no MNIST files in $REFIMPL_MNIST_DIR or the download cache; "
                                    "pass --data DIR")
        ds = load_mnist(directory)
        xtr = binarize(ds.train_images[:n_train]).astype(np.float32)
        xte = binarize(ds.test_images[:n_test]).astype(np.float32)
        return xtr, ds.train_labels[:n_train], xte, ds.test_labels[:n_test], "MNIST (SHA-256 verified files)"
    except (OSError, ValueError) as exc:  # no files, or damaged ones: fall back to random data
        xtr = (rng.random((n_train, 784)) < 0.13).astype(np.float32)
        xte = (rng.random((n_test, 784)) < 0.13).astype(np.float32)
        ytr, yte = rng.integers(0, 10, n_train), rng.integers(0, 10, n_test)
        return xtr, ytr, xte, yte, f"random binary data ({type(exc).__name__}: {exc})"


def numpy_threads() -> int:
    try:
        from threadpoolctl import threadpool_info

        counts = [d["num_threads"] for d in threadpool_info() if d.get("user_api") == "blas"]
        if counts:
            return int(max(counts))
    except ImportError:
        pass
    import os

    return os.cpu_count() or 1


# -------------------------------------------------------------- refimpl
def refimpl_epoch(pair, x, y, rng):
    opt = Adam(LR)
    for i in range(0, x.shape[0], BATCH):
        _, grads = l1_step_grads(pair, x[i : i + BATCH], y[i : i + BATCH], rng)
        opt.step(pair.params, grads)


# ---------------------------------------------------------------- torch
def torch_epoch(torch, params, x, y, gen):
    """L1 with tied weights, the same math as refimpl.learning.l1_step_grads + Adam, float32, no autograd."""
    F = torch.nn.functional
    n = len(SIZES) - 1
    keys = list(params)
    m = {k: torch.zeros_like(params[k]) for k in keys}
    v = {k: torch.zeros_like(params[k]) for k in keys}
    b1, b2, eps = 0.9, 0.999, 1e-8
    eye = torch.eye(SIZES[-1])
    W = [None] + [params[f"W{k}"] for k in range(1, n + 1)]
    with torch.inference_mode():
        for t, i in enumerate(range(0, x.shape[0], BATCH), start=1):
            xb, yb = x[i : i + BATCH], y[i : i + BATCH]
            B = xb.shape[0]
            oh = eye[yb]
            g = {k: torch.zeros_like(params[k]) for k in keys}
            # wake: recogniser samples for real images; generator learns to produce them
            states, u = [xb], xb
            for k in range(1, n):
                u = torch.bernoulli(torch.sigmoid(u @ W[k].T + params[f"b{k}"]), generator=gen)
                states.append(u)
            states.append(oh)
            G = torch.zeros(B, dtype=torch.float64)
            for k in range(n, 0, -1):
                u, tt = states[k], states[k - 1]
                a = u @ W[k] + params[f"c{k - 1}"]
                G += (tt * a - F.softplus(a)).sum(1, dtype=torch.float64)
                delta = (tt - torch.sigmoid(a)) / B
                g[f"W{k}"] += u.T @ delta
                g[f"c{k - 1}"] += delta.sum(0)
            # sleep: generator dreams for the same labels; recogniser learns to invert them
            u, dream = oh, [None] * n
            for k in range(n, 0, -1):
                u = torch.bernoulli(torch.sigmoid(u @ W[k] + params[f"c{k - 1}"]), generator=gen)
                dream[k - 1] = u
            R = torch.zeros(B, dtype=torch.float64)
            for k in range(1, n + 1):
                u = dream[k - 1]
                a = u @ W[k].T + params[f"b{k}"]
                if k < n:
                    tt = dream[k]
                    R += (tt * a - F.softplus(a)).sum(1, dtype=torch.float64)
                    delta = tt - torch.sigmoid(a)
                else:
                    logp = torch.log_softmax(a, 1)
                    R += logp[torch.arange(B), yb].double()
                    delta = oh - logp.exp()
                delta /= B
                g[f"W{k}"] += delta.T @ u
                g[f"b{k}"] += delta.sum(0)
            # Adam, ascending
            c1, c2 = 1 - b1**t, 1 - b2**t
            for k in keys:
                m[k].mul_(b1).add_(g[k], alpha=1 - b1)
                v[k].mul_(b2).addcmul_(g[k], g[k], value=1 - b2)
                params[k].add_((LR / c1) * m[k] / ((v[k] / c2).sqrt_() + eps))


def torch_importance(torch, params, log_prior, x, K, gen, block_images):
    """refimpl.evaluation.importance_log_likelihood's estimator in torch (float32 products, float64 sums)."""
    F = torch.nn.functional
    n = len(SIZES) - 1
    W = [None] + [params[f"W{k}"] for k in range(1, n + 1)]
    out = []
    with torch.inference_mode():
        logits_y = (W[n] + params[f"c{n - 1}"])  # (C, d_{n-1}): generator logits of h^{n-1} given y
        sp_y = F.softplus(logits_y.double()).sum(1)
        for i in range(0, x.shape[0], block_images):
            xb = x[i : i + block_images]
            B = xb.shape[0]
            a = torch.repeat_interleave(xb @ W[1].T, K, dim=0) + params["b1"]
            hidden, logq = [], torch.zeros(B * K, dtype=torch.float64)
            for k in range(1, n):
                h = (torch.rand(a.shape, generator=gen) < torch.sigmoid(a)).float()
                logq += (h * a - F.softplus(a)).sum(1, dtype=torch.float64)
                hidden.append(h)
                if k < n - 1:
                    a = h @ W[k + 1].T + params[f"b{k + 1}"]
            rest = torch.zeros(B * K, dtype=torch.float64)
            for k in range(n - 1, 0, -1):  # generator layer h^k -> h^{k-1} (h^0 = x)
                a = hidden[k - 1] @ W[k] + params[f"c{k - 1}"]
                if k > 1:
                    tt = hidden[k - 2]
                    rest += (tt * a - F.softplus(a)).sum(1, dtype=torch.float64)
                else:
                    a3 = a.view(B, K, -1)
                    rest += (xb[:, None, :] * a3 - F.softplus(a3)).sum(2, dtype=torch.float64).reshape(-1)
            cls = (hidden[-1] @ logits_y.T).double() - sp_y
            logw = (rest - logq)[:, None] + cls
            out.append(torch.logsumexp(logw.view(B, K, -1), dim=1) - math.log(K))
        log_px_y = torch.cat(out)
        return torch.logsumexp(log_px_y + log_prior, dim=1)


# ----------------------------------------------------------------- main
def timed(f, *args):
    """(seconds, result) of ``f(*args)``."""
    t = time.perf_counter()
    out = f(*args)
    return time.perf_counter() - t, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="folder holding the four MNIST files; default $REFIMPL_MNIST_DIR or the "
                    "download cache, else random binary images")
    ap.add_argument("--quick", action="store_true", help="6,000 training and 1,000 test images")
    ap.add_argument("--K", type=int, default=100)
    ap.add_argument("--profile", action="store_true", help="cProfile refimpl's IS estimate on 500 images")
    ap.add_argument("--repeat", type=int, default=2, help="interleaved repeats; the best time is reported")
    args = ap.parse_args()
    n_train, n_test = (6000, 1000) if args.quick else (60000, 10000)
    rng = np.random.default_rng(0)
    xtr, ytr, xte, _, source = load_data(args.data, n_train, n_test, rng)
    threads = numpy_threads()
    try:
        import torch

        torch.set_num_threads(threads)
        torch_version = torch.__version__
    except ImportError as exc:
        torch = None
        torch_version = f"not available ({exc}); torch column skipped"
    print(f"data: {source}; train {xtr.shape}, test {xte.shape}; binarised at 0.5")
    print(f"threads: {threads} (numpy BLAS; torch.set_num_threads({threads})); torch {torch_version}")

    pair = CoupledPair(SIZES, tied=True, rng=np.random.default_rng(1), init_scale=0.01)
    init = {k: v.copy() for k, v in pair.params.items()}
    # warm up (Numba compilation, BLAS buffers) outside the timings
    refimpl_epoch(pair.copy(), xtr[:BATCH], ytr[:BATCH], np.random.default_rng(0))  # one step, like torch
    importance_log_likelihood(pair, xte[:10], 2, np.random.default_rng(0))

    # Each workload runs `--repeat` times, the two columns interleaved, and the best time of each
    # column is reported: the shared machine's noise then hits both columns alike.
    rows = []
    t_ref = t_tor = None
    for _ in range(args.repeat):
        trained = CoupledPair.from_params({k: v.copy() for k, v in init.items()}, SIZES, tied=True)
        t, _ = timed(refimpl_epoch, trained, xtr, ytr, np.random.default_rng(2))
        t_ref = t if t_ref is None else min(t_ref, t)
        if torch is not None:
            tparams = {k: torch.from_numpy(v.copy()) for k, v in init.items()}
            gen = torch.Generator().manual_seed(2)
            xt, yt = torch.from_numpy(xtr), torch.from_numpy(np.asarray(ytr, dtype=np.int64))
            if t_tor is None:  # warm-up
                torch_epoch(torch, {k: v.clone() for k, v in tparams.items()}, xt[:BATCH], yt[:BATCH], gen)
            t, _ = timed(torch_epoch, torch, tparams, xt, yt, gen)
            t_tor = t if t_tor is None else min(t_tor, t)
    pair = trained
    rows.append((f"L1 epoch, {n_train} images, batch {BATCH}", t_ref, t_tor))

    # IS on the pair trained for one epoch by refimpl (same parameters in both columns)
    K = args.K
    t_ref = t_tor = None
    lp_torch = None
    for _ in range(args.repeat):
        t, res = timed(importance_log_likelihood, pair, xte, K, np.random.default_rng(3))
        t_ref = t if t_ref is None else min(t_ref, t)
        if torch is not None:
            tp = {k: torch.from_numpy(v.copy()) for k, v in pair.params.items()}
            gen = torch.Generator().manual_seed(3)
            lprior = torch.from_numpy(pair.log_prior())
            xt = torch.from_numpy(xte)
            if t_tor is None:  # warm-up
                torch_importance(torch, tp, lprior, xt[:10], 2, gen, 81)
            t, lp_torch = timed(torch_importance, torch, tp, lprior, xt, K, gen, max(1, 8192 // K))
            t_tor = t if t_tor is None else min(t_tor, t)
    rows.append((f"IS log-lik, {n_test} images, K={K}, 10 classes", t_ref, t_tor))

    print(f"\n{'workload':<44} {'refimpl s':>10} {'torch s':>10} {'refimpl/torch':>14}")
    for name, a, b in rows:
        bs = f"{b:10.2f}" if b is not None else f"{'-':>10}"
        ratio = f"{a / b:14.2f}" if b is not None else f"{'-':>14}"
        print(f"{name:<44} {a:10.2f} {bs} {ratio}")
    print(f"\nmean log p(x) after one epoch (nats/image, K={K}): refimpl {res.log_px.mean():.2f}", end="")
    if lp_torch is not None:
        print(f", torch {float(lp_torch.mean()):.2f} (independent samples: agree up to MC noise)")
    else:
        print()

    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        importance_log_likelihood(pair, xte[:500], K, np.random.default_rng(4))
        prof.disable()
        print("\nrefimpl IS profile (500 images), by own time:")
        pstats.Stats(prof).sort_stats("tottime").print_stats(8)


if __name__ == "__main__":
    main()
