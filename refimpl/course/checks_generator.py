r"""Exercises of tutorial 3, the generator by transposition: M9, M10 and M11.

- 3.1 ``transposed_generator(recogniser, gen_biases)``: the generator tied to a recogniser (M9);
- 3.2 ``generate_mean(pair, y)``: the generator's mean pass from the labels to the images (M10);
- 3.3 ``rbm_joint(W, b, c)``: the RBM joint whose two conditionals are the tied pair's layers (M11).

Oracles: the conditionals :math:`\prod_j \mathrm{Bern}(\sigma((W^k)^\top x^k + c^{k-1})_j)` written
out for every pair of states, the exact marginals of a one-layer generator by enumeration,
and the RBM table by a loop over every state in the package's bit order.
"""

from __future__ import annotations

import numpy as np

from refimpl.sbn import SigmoidBeliefNet

from .oracles import distinct_depths, random_pair, random_sizes, sigmoid, states
from .registry import Call, Check, CheckFailed, Exercise, as_array, compare, require

NOTEBOOK = "ex03_generator_by_transposition"


# -------------------------------------------------------- 3.1 transposed_generator (M9)
def _recogniser(rng, sizes):
    rec = SigmoidBeliefNet.random(list(sizes), rng, scale=1.5)
    return rec, [rng.standard_normal(d) for d in sizes[:-1]]


def _conditional_tables(weights, gen_biases, sizes):
    """Generator layer j maps x^k to x^{k-1}, k = n + 1 - j: log p(x^{k-1} | x^k) for every pair of states."""
    n = len(sizes) - 1
    queries, tables = [], []
    for j in range(1, n + 1):
        k = n + 1 - j
        W, c = weights[k - 1], gen_biases[k - 1]
        U, T = states(sizes[k]), states(sizes[k - 1])
        expected = np.empty((len(U), len(T)))
        for u_i, u in enumerate(U):
            p_on = sigmoid(W.T @ u + c)
            for t_i, t in enumerate(T):
                expected[u_i, t_i] = np.log(np.prod(np.where(t == 1, p_on, 1.0 - p_on)))
        queries.append((j, np.tile(T, (len(U), 1)), np.repeat(U, len(T), axis=0)))
        tables.append(expected)
    return queries, tables


def _generator_case(rng, depth):
    """A recogniser, generator biases, the probe's queries and deltas, and every table the check expects."""
    sizes = random_sizes(rng, depths=(depth,), widths=(2, 4))
    rec, c = _recogniser(rng, sizes)
    queries, before = _conditional_tables([np.array(w) for w in rec.weights], c, sizes)
    deltas = [rng.standard_normal(w.shape) for w in rec.weights]
    _, after = _conditional_tables([np.array(w) + d for w, d in zip(rec.weights, deltas, strict=True)], c, sizes)
    layers = [rng.integers(0, 2, (6, d)).astype(np.float64) for d in sizes]  # x^0 .. x^n
    joint = np.zeros(6)
    for k in range(len(sizes) - 1, 0, -1):
        joint += [np.log(np.prod(np.where(layers[k - 1][r] == 1, p, 1.0 - p)))
                  for r, p in enumerate(sigmoid(layers[k] @ rec.weights[k - 1] + c[k - 1]))]
    extra = (queries, (layers[-1], list(reversed(layers[:-1]))), deltas)
    return Call((rec, [b.copy() for b in c]), probe="generator", extra=extra), before, after, joint


def _generator_output(out, call):
    if not isinstance(out, dict) or "type" not in out:
        raise CheckFailed("transposed_generator must return a SigmoidBeliefNet")
    if "sizes" not in out:
        raise CheckFailed("transposed_generator must return a SigmoidBeliefNet; got something else")
    expected = list(reversed(call.args[0].sizes))
    got = [int(v) for v in np.ravel(as_array(out["sizes"], "the generator's sizes"))]
    require(got == expected, f"the generator has sizes {tuple(got)}; it should run from the top layer down, "
                             f"sizes {tuple(expected)}")
    return out


def _transposed_conditionals(rng):
    for depth in distinct_depths(rng, 2):
        call, before, _, _ = _generator_case(rng, depth)
        out = _generator_output((yield call), call)
        sizes = "-".join(map(str, call.args[0].sizes))
        for j, (got, expected) in enumerate(zip(out["layers"], before, strict=True), start=1):
            compare(np.reshape(as_array(got, f"generator layer {j}"), expected.shape), expected,
                    f"the {sizes} pair: log p(x^{len(before) - j} | x^{len(before) + 1 - j}) (generator layer {j})",
                    atol=1e-10, rtol=1e-9)


def _transposed_tied(rng):
    for depth in distinct_depths(rng, 2):
        call, _, after, _ = _generator_case(rng, depth)
        out = _generator_output((yield call), call)
        for j, (got, expected) in enumerate(zip(out["after"], after, strict=True), start=1):
            compare(np.reshape(as_array(got, f"generator layer {j}"), expected.shape), expected,
                    f"after changing W^k in place (the generator must share it): generator layer {j}",
                    atol=1e-10, rtol=1e-9)


def _transposed_joint(rng):
    call, _, _, joint = _generator_case(rng, int(rng.choice([2, 3, 4])))
    out = _generator_output((yield call), call)
    compare(out["joint"], joint, "log p(x^0..x^{n-1} | x^n) of the whole generator", atol=1e-10, rtol=1e-9)


# ------------------------------------------------------------- 3.2 generate_mean (M10)
def _labels(rng, n_classes, count):
    return rng.integers(0, n_classes, count)


def _mean_images(out, pair, y):
    return as_array(out, f"generate_mean for {len(y)} labels", (len(y), pair.sizes[0]))


def _generate_mean_shape(rng):
    pair = random_pair(random_sizes(rng), rng)
    y = _labels(rng, pair.n_classes, int(rng.integers(3, 8)))
    nu = _mean_images((yield Call((pair, y))), pair, y)
    require(np.all((nu > 0) & (nu < 1)), "a mean image has a value outside (0, 1)")


def _generate_mean_one_layer(rng):
    pair = random_pair(random_sizes(rng, depths=(1,), widths=(3, 5)), rng, scale=1.5)
    W, c0, X = pair.params["W1"], pair.params["c0"], states(pair.sizes[0])
    expected = []
    for y in range(pair.n_classes):  # p(x_i = 1 | y) by summing p(x | y) over every image, pixel i on
        p_on = sigmoid(W[y] + c0)
        expected.append(np.prod(np.where(X == 1, p_on, 1.0 - p_on), axis=1) @ X)
    y = np.arange(pair.n_classes)
    compare(_mean_images((yield Call((pair, y))), pair, y), np.array(expected),
            "the mean image of a one-layer generator (exact: one step from the label)", atol=1e-12)


def _generate_mean_recursion(rng):
    for depth in distinct_depths(rng, 3):
        pair = random_pair(random_sizes(rng, depths=(depth,)), rng, scale=1.5)
        y = _labels(rng, pair.n_classes, 5)
        nu = np.eye(pair.n_classes)[y]
        for k in range(pair.n_layers, 0, -1):
            nu = sigmoid(nu @ pair.params[f"W{k}"] + pair.params[f"c{k - 1}"])
        compare(_mean_images((yield Call((pair, y))), pair, y), nu,
                f"nu^0 of the {'-'.join(map(str, pair.sizes))} pair", atol=1e-12)


# ---------------------------------------------------------------- 3.3 rbm_joint (M11)
def _rbm_case(rng, d_v=None, d_h=None):
    d_v = d_v or int(rng.integers(2, 5))
    d_h = d_h or int(rng.integers(2, 5))
    return 1.5 * rng.standard_normal((d_h, d_v)), rng.standard_normal(d_h), rng.standard_normal(d_v)


def _rbm_table(out, W):
    return as_array(out, "rbm_joint(W, b, c)", (2 ** W.shape[1], 2 ** W.shape[0]))


def _rbm_normalised(rng):
    W, b, c = _rbm_case(rng)
    table = _rbm_table((yield Call((W, b, c))), W)
    require(np.all(table >= 0), "the table has a negative entry")
    require(abs(float(table.sum()) - 1.0) < 1e-9, f"the table sums to {float(table.sum()):.6g}, not 1")


def _rbm_entries(rng):
    for _ in range(2):
        W, b, c = _rbm_case(rng)
        d_h, d_v = W.shape
        energy = np.empty((2**d_v, 2**d_h))
        for i in range(2**d_v):
            v = np.array([(i >> u) & 1 for u in range(d_v)], dtype=np.float64)
            for j in range(2**d_h):
                h = np.array([(j >> u) & 1 for u in range(d_h)], dtype=np.float64)
                energy[i, j] = h @ W @ v + b @ h + c @ v
        expected = np.exp(energy) / np.exp(energy).sum()
        compare(_rbm_table((yield Call((W, b, c))), W), expected,
                f"p(v, h) of a {d_v}-visible, {d_h}-hidden RBM (rows: states of v, columns: states of h)",
                atol=1e-12)


def _rbm_conditionals(rng):
    W, b, c = _rbm_case(rng)
    d_h, d_v = W.shape
    V, H = states(d_v), states(d_h)
    h_given_v = np.array([[np.prod(np.where(h == 1, sigmoid(W @ v + b), sigmoid(-(W @ v + b)))) for h in H] for v in V])
    v_given_h = np.array([[np.prod(np.where(v == 1, sigmoid(W.T @ h + c), sigmoid(-(W.T @ h + c)))) for v in V]
                          for h in H])
    table = _rbm_table((yield Call((W, b, c))), W)
    require(np.all(table > 0), "the table has an entry that is not positive")
    compare(table / table.sum(axis=1, keepdims=True), h_given_v, "p(h | v) of the table against the recogniser's layer",
            atol=1e-10)
    compare((table / table.sum(axis=0, keepdims=True)).T, v_given_h,
            "p(v | h) of the table against the generator's layer", atol=1e-10)


EXERCISES = [
    Exercise(
        id="3.1", notebook=NOTEBOOK, function="transposed_generator", label="M9",
        title="the generator by transposition",
        hint="M9: implement the generator that uses the recogniser's W^k, transposed and tied",
        checks=(
            Check("Check that every generator layer has the conditional of M9, for every pair of states, "
                  "on pairs of different depths", 1, _transposed_conditionals),
            Check("Check that the generator is tied: a change made in place to the recogniser's W^k shows in it", 1,
                  _transposed_tied),
            Check("Check that the generator's log-probability of all its layers matches M9 written out", 1,
                  _transposed_joint),
        ),
        forbidden=("transposed_generator", "CoupledPair", "random_pair"),
    ),
    Exercise(
        id="3.2", notebook=NOTEBOOK, function="generate_mean", label="M10", title="the generator's mean pass",
        hint="M10: implement the generator's mean pass from the one-hot labels to the images",
        checks=(
            Check("Check that generate_mean returns one mean image in (0, 1) per label", 1, _generate_mean_shape),
            Check("Check that a one-layer generator's mean image is its exact marginal p(x_i = 1 | y), by enumeration",
                  1, _generate_mean_one_layer),
            Check("Check that every step of M10 is applied downwards, on pairs of two, three and four layers", 1,
                  _generate_mean_recursion),
        ),
        forbidden=("generate_mean", "mean_pass", "forward_marginals", "forward_logits"),
    ),
    Exercise(
        id="3.3", notebook=NOTEBOOK, function="rbm_joint", label="M11", title="the RBM joint of a tied layer",
        hint="M11: implement the RBM joint p(v, h) as a normalised table over all states",
        checks=(
            Check("Check that rbm_joint returns a table of shape (2**d_v, 2**d_h) that sums to 1", 1, _rbm_normalised),
            Check("Check that every entry of the table is the RBM probability, states in the package's bit order", 1,
                  _rbm_entries),
            Check("Check that the table's two conditionals are the recogniser's and the generator's layers (M11)", 1,
                  _rbm_conditionals),
        ),
        forbidden=("rbm_joint", "joint_conditionals", "stationary_consistency", "consistency_from_tables"),
    ),
]
