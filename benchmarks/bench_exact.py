"""Benchmark of exact inference (M4): the Numba recursion, its NumPy twin and pgmpy's variable elimination.

All three compute the same thing: every unit's exact marginal q(x^k_i = 1 | x^0) in
a sigmoid belief network, for one binary input x^0. Networks: input d_0 = 10,
hidden layers as listed, output 2 Bernoulli units, weights and biases ~ N(0, 1).

- numba: ``exact_marginals(net, x0, backend="numba")`` after one warm-up call;
  best of at least 7 repeats (more for fast sizes, until 1 s is spent) (the machine may be shared, so the minimum is the
  fairest estimate of the cost).
- numpy: the same with ``backend="numpy"``, the steps as written, each forming its
  whole table of 2**(d_k + d_{k+1}) terms; skipped beyond ``MAX_NUMPY_PAIR_BITS``
  (where that backend refuses) or where the previous size predicts more than
  about 60 s (the time is extrapolated by the number of terms).
- pgmpy: ``VariableElimination(model).query(all units, joint=False)`` on a
  ``DiscreteBayesianNetwork`` with one binary node per unit and the full
  conditional table of each unit given all units of the layer below (M1).
  The observed input is folded into layer 1's priors (a node per input unit
  with evidence gives the same answer; folding only saves pgmpy work). Run in
  a child process with a time limit; its marginals are checked against ours.
  Optional: ``pip install pgmpy``; without it the column is skipped.

Usage::

    python benchmarks/bench_exact.py            # all sizes
    python benchmarks/bench_exact.py --quick    # 8+8 and 10+10 only
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue as queue_module
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from refimpl.exact import MAX_NUMPY_PAIR_BITS, exact_marginals
from refimpl.numerics import sigmoid
from refimpl.sbn import SigmoidBeliefNet

D0, D_OUT, SEED = 10, 2, 0
HIDDEN = [(8, 8), (10, 10), (12, 12), (14, 14), (12, 12, 12)]
NUMPY_BUDGET = 60.0  # seconds
PGMPY_TIMEOUT = 600.0  # seconds per size


def best_time(fn, repeats, min_total=1.0, max_repeats=200):
    """Best of at least ``repeats`` runs, more (up to ``max_repeats``) until ``min_total`` seconds were spent."""
    times = []
    while len(times) < repeats or (sum(times) < min_total and len(times) < max_repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def _pgmpy_marginals(weights, biases, x0, queue):
    """Build the SBN as a pgmpy Bayesian network and run variable elimination; put (seconds, marginals) on queue."""
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.inference import VariableElimination

    try:
        from pgmpy.models import DiscreteBayesianNetwork as BN
    except ImportError:  # older pgmpy
        from pgmpy.models import BayesianNetwork as BN

    start = time.perf_counter()
    names = [[f"x{k}_{i}" for i in range(w.shape[0])] for k, w in enumerate(weights, start=1)]
    edges = [(p, c) for k in range(1, len(names)) for p in names[k - 1] for c in names[k]]
    model = BN(edges)
    model.add_nodes_from(names[0])
    on1 = sigmoid(weights[0] @ x0 + biases[0])  # layer 1: x^0 observed, so independent priors
    cpds = [TabularCPD(v, 2, [[1 - p], [p]]) for v, p in zip(names[0], on1, strict=True)]
    for k in range(1, len(weights)):
        d_prev = weights[k].shape[1]
        # pgmpy's columns enumerate the parents' states with the first parent slowest
        cols = np.arange(2**d_prev)
        parents = ((cols[:, None] >> np.arange(d_prev - 1, -1, -1)) & 1).astype(float)
        on = sigmoid(parents @ weights[k].T + biases[k])  # (2**d_prev, d_k)
        for j, v in enumerate(names[k]):
            cpds.append(TabularCPD(v, 2, np.stack([1 - on[:, j], on[:, j]]), evidence=names[k - 1],
                                   evidence_card=[2] * d_prev))
    model.add_cpds(*cpds)
    build = time.perf_counter() - start
    start = time.perf_counter()
    try:
        result = VariableElimination(model).query([v for layer in names for v in layer], joint=False,
                                                  show_progress=False)
    except MemoryError as err:  # numpy's _ArrayMemoryError is a MemoryError
        queue.put(f"failed: {err}")
        return
    seconds = time.perf_counter() - start
    marg = [np.array([result[v].values[1] for v in layer]) for layer in names]
    queue.put((seconds, build, marg))


def run_pgmpy(net, x0, timeout):
    """(seconds, build seconds, marginals) from pgmpy in a child process, or a string saying why not."""
    try:
        import pgmpy  # noqa: F401
    except ImportError:
        return "pgmpy not importable (pip install pgmpy): skipped"
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_pgmpy_marginals, args=(net.weights, net.biases, x0, queue))
    proc.start()
    start, out = time.perf_counter(), None
    while out is None:
        try:
            out = queue.get(timeout=1.0)
        except queue_module.Empty:
            if not proc.is_alive():
                out = f"failed: the pgmpy process ended with exit code {proc.exitcode}"
            elif time.perf_counter() - start > timeout:
                out = f"> {timeout:.0f} s (stopped)"
    proc.join(timeout=5)
    if proc.is_alive():
        proc.kill()
        proc.join()
    return out


def main(argv):
    sizes_list = HIDDEN[:2] if "--quick" in argv else HIDDEN
    rng = np.random.default_rng(SEED)
    print(f"exact marginals of every unit, input d_0 = {D0}, output {D_OUT} Bernoulli units, weights ~ N(0, 1)")
    header = (f"{'hidden':>10} {'terms':>9} {'numba s':>9} {'numpy s':>9} {'pgmpy s':>10} "
              f"{'numpy/numba':>11} {'pgmpy/numba':>11} {'|np-nb|':>8} {'|pg-nb|':>8}")
    print(header)
    print("-" * len(header))
    numpy_seconds_per_term = 0.0
    for hidden in sizes_list:
        sizes = [D0, *hidden, D_OUT]
        net = SigmoidBeliefNet.random(sizes, rng)
        x0 = rng.integers(0, 2, D0).astype(float)
        terms = sum(2 ** (hidden[k] + hidden[k + 1]) for k in range(len(hidden) - 1))
        for _ in range(3):  # warm-up: compilation or cache load, then the thread pool
            exact_marginals(net, x0, backend="numba")
        t_numba, ours = best_time(lambda net=net, x0=x0: exact_marginals(net, x0, backend="numba"), repeats=7)
        fits = (all(hidden[k] + hidden[k + 1] <= MAX_NUMPY_PAIR_BITS for k in range(len(hidden) - 1))
                and 2 ** hidden[-1] * D_OUT <= 2**MAX_NUMPY_PAIR_BITS)  # where backend="numpy" refuses
        if fits and numpy_seconds_per_term * terms <= NUMPY_BUDGET:  # predicted from the previous size
            t_numpy, theirs = best_time(lambda net=net, x0=x0: exact_marginals(net, x0, backend="numpy"),
                                        repeats=1, min_total=0)
            diff = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs, strict=True))
            numpy_col, ratio_np = f"{t_numpy:9.3f}", f"{t_numpy / t_numba:11.1f}"
            numpy_seconds_per_term = t_numpy / terms
        else:
            diff, numpy_col, ratio_np = float("nan"), f"{'skipped':>9}", f"{'-':>11}"
        pg = run_pgmpy(net, x0, PGMPY_TIMEOUT)
        diff_pg = float("nan")
        if isinstance(pg, tuple):
            t_pg, _, marg = pg
            diff_pg = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, marg, strict=True))
            pg_col, ratio_pg = f"{t_pg:10.3f}", f"{t_pg / t_numba:11.1f}"
        elif pg.startswith(">"):  # timed out: a lower bound
            pg_col, ratio_pg = f"{pg.split(' s')[0]:>10}", f"{'>' + format(PGMPY_TIMEOUT / t_numba, '.0f'):>11}"
        else:
            pg_col, ratio_pg = f"{'failed' if pg.startswith('failed') else 'skipped':>10}", f"{'-':>11}"
            print(f"  (pgmpy: {pg})")
        print(f"{'+'.join(map(str, hidden)):>10} {terms:9.2e} {t_numba:9.4f} {numpy_col} {pg_col} "
              f"{ratio_np} {ratio_pg} {diff:8.1e} {diff_pg:8.1e}", flush=True)
    print("terms = sum_k 2**(d_k + d_{k+1}) over consecutive hidden layers; times in seconds, best of >= 7 for "
          "numba, one run for numpy and pgmpy (whose model building is not counted).")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
