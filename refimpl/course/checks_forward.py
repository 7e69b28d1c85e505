r"""Exercises of tutorial 2, the forward pass as approximate inference: M6, A1 and M8.

- 2.1 ``mean_pass(net, x0)``: the sigmoid DNN forward pass (M6);
- 2.2 ``logit_moments(weight, bias, mu)``: mean and variance of one layer's logits under A1
  (the library's ``preactivation_moments(net, mu, k)`` does the same for layer ``k`` of a network);
- 2.3 ``probit_pass(net, x0)``: the forward pass with the probit correction (M8).

Oracles: the exact marginals of layer 1 and the moments of a factorised layer by
enumeration of its states, the recursions written out, and, for M8, a logit that is a
sum of 40 independent binary terms, whose :math:`\mathbb{E}\,\sigma(a)` is an exact
binomial sum (M5). The networks are drawn from the check's generator: depths two to four,
widths two to five.
"""

from __future__ import annotations

from math import comb

import numpy as np

from refimpl.sbn import SigmoidBeliefNet

from .oracles import distinct_depths, random_sizes, sigmoid, states
from .registry import Call, Check, CheckFailed, Exercise, as_array, compare

NOTEBOOK = "ex02_forward_pass_as_inference"
M8_TOLERANCE = 0.02  # M8's accuracy for a Gaussian logit, measured by quadrature in tutorial 2


def _case(rng, sizes, scale: float = 1.5):
    net = SigmoidBeliefNet.random(list(sizes), rng, scale=scale)
    return net, rng.integers(0, 2, (int(rng.integers(2, 6)), sizes[0])).astype(np.float64)


def _layers(out, net, x0, what: str) -> list:
    if not isinstance(out, list) or len(out) != net.n_layers:
        raise CheckFailed(f"{what} must return a list of {net.n_layers} arrays, one per layer; "
                          f"got {'a list of length ' + str(len(out)) if isinstance(out, list) else 'something else'}")
    return [as_array(m, f"{what}: layer {k}", (x0.shape[0], net.sizes[k])) for k, m in enumerate(out, start=1)]


def _moments_by_enumeration(weight, bias, mu):
    """Mean and variance of a = W x + b with x ~ prod_j Bern(mu_j), summing over all 2**d states of x."""
    S = states(weight.shape[1])
    means, variances = [], []
    for row in np.atleast_2d(mu):
        prob = np.prod(np.where(S == 1, row, 1.0 - row), axis=1)
        a = S @ weight.T + bias
        mean = prob @ a
        means.append(mean)
        variances.append(prob @ (a - mean) ** 2)
    return np.array(means), np.array(variances)


def _first_layer_exact(rng, what: str):
    net, x0 = _case(rng, random_sizes(rng))
    S = states(net.sizes[1])
    expected = []
    for x in x0:  # q(x^1_i = 1 | x^0) = sum of q(x^1 | x^0) over the states with unit i on
        p_on = sigmoid(net.weights[0] @ x + net.biases[0])
        prob = np.prod(np.where(S == 1, p_on, 1.0 - p_on), axis=1)
        expected.append(prob @ S)
    got = yield Call((net, x0))
    compare(_layers(got, net, x0, what)[0], np.array(expected), "layer 1", atol=1e-12)


# ----------------------------------------------------------------- 2.1 mean_pass (M6)
def _mean_pass_shapes(rng):
    for depth in distinct_depths(rng, 3):
        net, x0 = _case(rng, random_sizes(rng, depths=(depth,)))
        _layers((yield Call((net, x0))), net, x0, "mean_pass")


def _mean_pass_recursion(rng):
    for depth in distinct_depths(rng, 3):
        net, x0 = _case(rng, random_sizes(rng, depths=(depth,)))
        expected, mu = [], x0
        for w, b in zip(net.weights, net.biases, strict=True):
            mu = sigmoid(mu @ w.T + b)
            expected.append(mu)
        got = _layers((yield Call((net, x0))), net, x0, "mean_pass")
        for k, (g, e) in enumerate(zip(got, expected, strict=True), start=1):
            compare(g, e, f"layer {k} of the {'-'.join(map(str, net.sizes))} network", atol=1e-12)


# ------------------------------------------------------------- 2.2 logit_moments (A1)
def _moments_cases(rng):
    for _ in range(2):
        d_out, d_in = int(rng.integers(2, 5)), int(rng.integers(3, 7))
        weight, bias = 1.5 * rng.standard_normal((d_out, d_in)), rng.standard_normal(d_out)
        mu = np.vstack([rng.random((int(rng.integers(2, 5)), d_in)), rng.integers(0, 2, (1, d_in))])
        yield weight, bias, mu, _moments_by_enumeration(weight, bias, mu)


def _moments(out, shape):
    if not isinstance(out, list) or len(out) != 2:
        raise CheckFailed("logit_moments must return (mean, var)")
    return [as_array(v, name, shape) for v, name in zip(out, ("mean", "var"), strict=True)]


def _moments_mean(rng):
    for weight, bias, mu, (expected, _) in _moments_cases(rng):
        mean, _ = _moments((yield Call((weight, bias, mu))), expected.shape)
        compare(mean, expected, f"E a under the factorised layer (enumerated over its {2 ** mu.shape[1]} states)",
                atol=1e-12)


def _moments_var(rng):
    for weight, bias, mu, (_, expected) in _moments_cases(rng):
        _, var = _moments((yield Call((weight, bias, mu))), expected.shape)
        compare(var, expected, f"Var a under the factorised layer (enumerated over its {2 ** mu.shape[1]} states)",
                atol=1e-12)


# ---------------------------------------------------------------- 2.3 probit_pass (M8)
def _probit_recursion(rng):
    for depth in distinct_depths(rng, 3):
        net, x0 = _case(rng, random_sizes(rng, depths=(depth,)))
        expected, mu = [], x0
        for w, b in zip(net.weights, net.biases, strict=True):
            mean, var = _moments_by_enumeration(w, b, mu)
            mu = sigmoid(mean / np.sqrt(1.0 + np.pi * var / 8.0))
            expected.append(mu)
        got = _layers((yield Call((net, x0))), net, x0, "probit_pass")
        for k, (g, e) in enumerate(zip(got, expected, strict=True), start=1):
            compare(g, e, f"layer {k} of the {'-'.join(map(str, net.sizes))} network", atol=1e-10)


def _probit_nearly_gaussian(rng):
    # layer 1: 40 units, each on with probability 1/2 independently; layer 2: a = w * (number on) + beta
    w_scale = rng.uniform(0.4, 0.9, 2)
    betas = -20.0 * w_scale + rng.uniform(-2.0, 2.0, 2)
    weights = [np.zeros((40, 1)), np.repeat(w_scale[:, None], 40, axis=1)]
    biases = [np.zeros(40), betas]
    net = SigmoidBeliefNet(weights, biases)
    counts = np.arange(41)
    binomial = np.array([comb(40, int(c)) for c in counts]) / 2.0**40
    exact = np.array([binomial @ sigmoid(w * counts + beta) for w, beta in zip(w_scale, betas, strict=True)])
    got = _layers((yield Call((net, np.ones((1, 1))))), net, np.ones((1, 1)), "probit_pass")[1][0]
    err = float(np.max(np.abs(got - exact)))
    if err > M8_TOLERANCE:
        raise CheckFailed(f"layer 2 is {err:.3f} from the exact E sigma(a) of a nearly Gaussian logit; "
                          f"M8 comes within {M8_TOLERANCE}")


EXERCISES = [
    Exercise(
        id="2.1", notebook=NOTEBOOK, function="mean_pass", label="M6", title="the mean pass",
        hint="M6: implement the mean pass, the sigmoid DNN forward pass from mu^0 = x^0",
        checks=(
            Check("Check that mean_pass returns one array of shape (B, d_k) per layer k = 1..n", 1, _mean_pass_shapes),
            Check("Check that layer 1 is the exact marginal q(x^1_i = 1 | x^0), by enumerating layer 1's states", 1,
                  lambda rng: _first_layer_exact(rng, "mean_pass")),
            Check("Check that every layer follows from the means of the layer below by M6, "
                  "on networks of two, three and four layers", 1, _mean_pass_recursion),
        ),
        forbidden=("mean_pass", "forward_marginals", "forward_logits", "recognise_mean"),
    ),
    Exercise(
        id="2.2", notebook=NOTEBOOK, function="logit_moments", label="A1",
        title="the moments of the logits under A1",
        hint="A1: implement the mean and variance of the logits when x has independent units",
        checks=(
            Check("Check that the mean of the logits matches enumeration of the factorised layer (A1)", 1,
                  _moments_mean),
            Check("Check that the variance of the logits matches enumeration of the factorised layer (A1)", 1,
                  _moments_var),
        ),
        forbidden=("preactivation_moments",),
    ),
    Exercise(
        id="2.3", notebook=NOTEBOOK, function="probit_pass", label="M8", title="the probit-corrected pass",
        hint="M8: implement the forward pass with the probit correction of each logit",
        checks=(
            Check("Check that layer 1 is the exact marginal (its logits have no variance)", 1,
                  lambda rng: _first_layer_exact(rng, "probit_pass")),
            Check("Check that every layer applies M8 with the A1 moments of the layer below (moments by enumeration)",
                  1, _probit_recursion),
            Check(f"Check that M8 comes within {M8_TOLERANCE} of the exact E sigma(a) for a logit that is a sum of "
                  "40 independent binary terms (nearly Gaussian)", 1, _probit_nearly_gaussian),
        ),
        forbidden=("forward_marginals", "forward_logits", "expected_sigmoid_logit"),
    ),
]
