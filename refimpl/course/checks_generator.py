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

from .oracles import random_pair, sigmoid, states
from .registry import Check, CheckFailed, Exercise, as_array, compare, require

NOTEBOOK = "ex03_generator_by_transposition"


# -------------------------------------------------------- 3.1 transposed_generator (M9)
def _recogniser(seed: int, sizes):
    rng = np.random.default_rng(seed)
    rec = SigmoidBeliefNet.random(list(sizes), rng, scale=1.5)
    return rec, [rng.standard_normal(d) for d in sizes[:-1]]


def _generator(func, rec, gen_biases):
    gen = func(rec, [c.copy() for c in gen_biases])
    if not isinstance(gen, SigmoidBeliefNet):
        raise CheckFailed(f"transposed_generator must return a SigmoidBeliefNet; got {type(gen).__name__}")
    expected = tuple(reversed(rec.sizes))
    require(gen.sizes == expected, f"the generator has sizes {gen.sizes}; it should run from the top layer down, "
                                   f"sizes {expected}")
    return gen


def _check_conditionals(gen, rec, gen_biases, what: str):
    """Generator layer j maps x^k to x^{k-1}, k = n + 1 - j: compare its log-probability for every state pair."""
    n = rec.n_layers
    for j in range(1, n + 1):
        k = n + 1 - j
        W, c = rec.weights[k - 1], gen_biases[k - 1]
        U, T = states(rec.sizes[k]), states(rec.sizes[k - 1])
        expected = np.empty((len(U), len(T)))
        for u_i, u in enumerate(U):
            p_on = sigmoid(W.T @ u + c)
            for t_i, t in enumerate(T):
                expected[u_i, t_i] = np.log(np.prod(np.where(t == 1, p_on, 1.0 - p_on)))
        got = gen.layer_log_prob(j, np.tile(T, (len(U), 1)), np.repeat(U, len(T), axis=0))
        compare(np.reshape(got, expected.shape), expected, f"{what}: log p(x^{k - 1} | x^{k}) (generator layer {j})",
                atol=1e-10, rtol=1e-9)


def _transposed_conditionals(func):
    for seed, sizes in [(101, (5, 3, 2)), (102, (3, 3, 3))]:
        rec, c = _recogniser(seed, sizes)
        _check_conditionals(_generator(func, rec, c), rec, c, f"the {'-'.join(map(str, sizes))} pair")


def _transposed_tied(func):
    for seed, sizes in [(103, (5, 3, 2)), (104, (3, 3, 3))]:
        rec, c = _recogniser(seed, sizes)
        gen = _generator(func, rec, c)
        rng = np.random.default_rng(seed + 10)
        for w in rec.weights:  # one step of learning on the recogniser's matrices, in place
            w += rng.standard_normal(w.shape)
        _check_conditionals(gen, rec, c, "after changing W^k in place (the generator must share it)")


def _transposed_joint(func):
    rec, c = _recogniser(105, (4, 3, 2))
    gen = _generator(func, rec, c)
    rng = np.random.default_rng(106)
    layers = [rng.integers(0, 2, (6, d)).astype(np.float64) for d in rec.sizes]  # x^0 .. x^n
    expected = np.zeros(6)
    for k in range(rec.n_layers, 0, -1):
        expected += [np.log(np.prod(np.where(layers[k - 1][r] == 1, p, 1.0 - p)))
                     for r, p in enumerate(sigmoid(layers[k] @ rec.weights[k - 1] + c[k - 1]))]
    got = gen.log_prob(layers[-1], list(reversed(layers[:-1])))
    compare(got, expected, "log p(x^0..x^{n-1} | x^n) of the whole generator", atol=1e-10, rtol=1e-9)


# ------------------------------------------------------------- 3.2 generate_mean (M10)
def _mean_images(func, pair, y):
    return as_array(func(pair, y), f"generate_mean for {len(y)} labels", (len(y), pair.sizes[0]))


def _generate_mean_shape(func):
    pair = random_pair((6, 4, 3), 111)
    nu = _mean_images(func, pair, np.array([0, 2, 1, 2]))
    require(np.all((nu > 0) & (nu < 1)), "a mean image has a value outside (0, 1)")


def _generate_mean_one_layer(func):
    pair = random_pair((4, 3), 112, scale=1.5)
    W, c0, X = pair.params["W1"], pair.params["c0"], states(4)
    expected = []
    for y in range(3):  # p(x_i = 1 | y) by summing p(x | y) over the 16 images with pixel i on
        p_on = sigmoid(W[y] + c0)
        expected.append(np.prod(np.where(X == 1, p_on, 1.0 - p_on), axis=1) @ X)
    compare(_mean_images(func, pair, np.arange(3)), np.array(expected),
            "the mean image of a one-layer generator (exact: one step from the label)", atol=1e-12)


def _generate_mean_recursion(func):
    for seed, sizes in [(113, (6, 4, 3)), (114, (4, 4, 4, 4))]:
        pair = random_pair(sizes, seed, scale=1.5)
        y = np.array([0, 1, 2, 1])
        nu = np.eye(sizes[-1])[y]
        for k in range(len(sizes) - 1, 0, -1):
            nu = sigmoid(nu @ pair.params[f"W{k}"] + pair.params[f"c{k - 1}"])
        compare(_mean_images(func, pair, y), nu, f"nu^0 of the {'-'.join(map(str, sizes))} pair", atol=1e-12)


# ---------------------------------------------------------------- 3.3 rbm_joint (M11)
def _rbm_case(seed: int, d_v: int = 4, d_h: int = 3):
    rng = np.random.default_rng(seed)
    return 1.5 * rng.standard_normal((d_h, d_v)), rng.standard_normal(d_h), rng.standard_normal(d_v)


def _rbm_table(func, W, b, c):
    return as_array(func(W.copy(), b.copy(), c.copy()), "rbm_joint(W, b, c)", (2 ** W.shape[1], 2 ** W.shape[0]))


def _rbm_normalised(func):
    table = _rbm_table(func, *_rbm_case(121))
    require(np.all(table >= 0), "the table has a negative entry")
    require(abs(float(table.sum()) - 1.0) < 1e-9, f"the table sums to {float(table.sum()):.6g}, not 1")


def _rbm_entries(func):
    W, b, c = _rbm_case(122)
    d_h, d_v = W.shape
    energy = np.empty((2**d_v, 2**d_h))
    for i in range(2**d_v):
        v = np.array([(i >> u) & 1 for u in range(d_v)], dtype=np.float64)
        for j in range(2**d_h):
            h = np.array([(j >> u) & 1 for u in range(d_h)], dtype=np.float64)
            energy[i, j] = h @ W @ v + b @ h + c @ v
    expected = np.exp(energy) / np.exp(energy).sum()
    compare(_rbm_table(func, W, b, c), expected, "p(v, h) (rows: states of v, columns: states of h)", atol=1e-12)


def _rbm_conditionals(func):
    W, b, c = _rbm_case(123, d_v=3, d_h=3)
    table = _rbm_table(func, W, b, c)
    V, H = states(3), states(3)
    h_given_v = np.array([[np.prod(np.where(h == 1, sigmoid(W @ v + b), sigmoid(-(W @ v + b)))) for h in H] for v in V])
    v_given_h = np.array([[np.prod(np.where(v == 1, sigmoid(W.T @ h + c), sigmoid(-(W.T @ h + c)))) for v in V]
                          for h in H])
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
                  "on a rectangular and a square pair", 1, _transposed_conditionals),
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
            Check("Check that every step of M10 is applied downwards, on a rectangular and a square pair", 1,
                  _generate_mean_recursion),
        ),
        forbidden=("generate_mean", "mean_pass", "forward_marginals", "forward_pass", "forward_logits"),
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
