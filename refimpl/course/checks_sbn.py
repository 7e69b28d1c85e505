r"""Exercises of tutorial 1, the sigmoid belief network: M3 and the layer recursion of M4.

- 1.1 ``log_prob(net, x0, layers)``: the complete-data log-probability (M3);
- 1.2 ``layer_step(p_prev, weight, bias)``: one step of the layer recursion (M4, NumPy);
- 1.3 ``unit_marginals(p, d)``: per-unit marginals of a layer's state distribution.

Oracles: the product of the M1 conditionals written out as probabilities, and brute-force
enumeration of every joint configuration in the package's bit order (unit ``i`` of state
``s`` is bit ``i`` of ``s``). The networks are drawn from the check's generator: depths two
to four, widths two to five.
"""

from __future__ import annotations

import numpy as np

from refimpl.sbn import SigmoidBeliefNet

from .oracles import distinct_depths, log_bernoulli, random_sizes, sigmoid, states
from .registry import Call, Check, Exercise, as_array, compare, require

NOTEBOOK = "ex01_sigmoid_belief_net"


# ----------------------------------------------------------------- 1.1 log_prob (M3)
def _net(rng, sizes, scale: float = 1.5) -> SigmoidBeliefNet:
    return SigmoidBeliefNet.random(list(sizes), rng, scale=scale)


def _random_layers(rng, net, n_samples: int):
    x0 = rng.integers(0, 2, net.sizes[0]).astype(np.float64)
    return x0, [rng.integers(0, 2, (n_samples, d)).astype(np.float64) for d in net.sizes[1:]]


def _product_of_conditionals(net, x0, layers) -> np.ndarray:
    """log of prod_k prod_i sigma(a)^x (1 - sigma(a))^(1 - x), multiplied out as probabilities."""
    out = []
    for s in range(layers[0].shape[0]):
        prob, prev = 1.0, x0
        for w, b, state in zip(net.weights, net.biases, layers, strict=True):
            p_on = sigmoid(w @ prev + b)
            prob *= np.prod(np.where(state[s] == 1, p_on, 1.0 - p_on))
            prev = state[s]
        out.append(np.log(prob))
    return np.array(out)


def _log_prob_shape(rng):
    net = _net(rng, random_sizes(rng))
    n = int(rng.integers(5, 12))
    x0, layers = _random_layers(rng, net, n)
    as_array((yield Call((net, x0, layers))), f"log_prob(net, x0, layers) for {n} samples", (n,))


def _log_prob_value(rng):
    for depth in distinct_depths(rng, 3):
        net = _net(rng, random_sizes(rng, depths=(depth,)))
        x0, layers = _random_layers(rng, net, 20)
        expected = _product_of_conditionals(net, x0, layers)
        got = yield Call((net, x0, layers))
        compare(got, expected, f"log q(x^1..x^n | x^0) on a {'-'.join(map(str, net.sizes))} network",
                atol=1e-9, rtol=1e-9)


def _log_prob_extreme(rng):
    base = _net(rng, random_sizes(rng))
    net = SigmoidBeliefNet([200.0 * w for w in base.weights], [200.0 * b for b in base.biases])
    x0, layers = _random_layers(rng, net, 20)
    expected = sum(log_bernoulli(state, prev @ w.T + b)
                   for w, b, state, prev in zip(net.weights, net.biases, layers, [x0] + layers[:-1], strict=True))
    compare((yield Call((net, x0, layers))), expected, "log q at logits of about +-1000", atol=1e-6, rtol=1e-9)


# ------------------------------------------------------------ 1.2 layer_step (M4)
def _transition(weight, bias) -> np.ndarray:
    """q(t | s) for every state s of the lower layer (rows) and t of the upper (columns), written out."""
    d_next, d_prev = weight.shape
    table = np.empty((2**d_prev, 2**d_next))
    for s in range(2**d_prev):
        x = np.array([(s >> i) & 1 for i in range(d_prev)], dtype=np.float64)
        p_on = sigmoid(weight @ x + bias)
        for t in range(2**d_next):
            table[s, t] = np.prod([p_on[j] if (t >> j) & 1 else 1.0 - p_on[j] for j in range(d_next)])
    return table


def _layer_step_point_masses(rng):
    d = int(rng.integers(2, 5))
    for shape in [(int(rng.integers(2, 5)), d), (d + 1, d), (d, d)]:
        weight, bias = 2.0 * rng.standard_normal(shape), rng.standard_normal(shape[0])
        p_prev = np.eye(2 ** shape[1])
        expected = _transition(weight, bias)
        compare((yield Call((p_prev, weight, bias))), expected,
                f"one step from each point mass, weight of shape {shape}", atol=1e-12, rtol=1e-9)


def _brute_force_top(net, x0) -> np.ndarray:
    """q(x^n | x^0) over the 2**d_n states of the last layer, by enumerating every joint configuration."""
    sizes = net.sizes
    out = np.zeros(2 ** sizes[-1])
    for config in np.ndindex(*[2**d for d in sizes[1:]]):
        prob, prev = 1.0, x0
        for w, b, s, d in zip(net.weights, net.biases, config, sizes[1:], strict=True):
            state = np.array([(s >> i) & 1 for i in range(d)], dtype=np.float64)
            p_on = sigmoid(w @ prev + b)
            prob *= np.prod(np.where(state == 1, p_on, 1.0 - p_on))
            prev = state
        out[config[-1]] += prob
    return out


def _layer_step_chain(rng):
    n = int(rng.choice([3, 4]))
    net = _net(rng, random_sizes(rng, depths=(n,), widths=(2, 3)), scale=2.0)
    x0s = rng.integers(0, 2, (2, net.sizes[0])).astype(np.float64)
    for row, x0 in enumerate(x0s):
        expected = _brute_force_top(net, x0)
        p_on = sigmoid(net.weights[0] @ x0 + net.biases[0])
        p = np.array([[np.prod(np.where(s == 1, p_on, 1.0 - p_on)) for s in states(net.sizes[1])]])
        for k in range(1, n):
            p = as_array((yield Call((p, net.weights[k], net.biases[k]))), f"the distribution of layer {k + 1}",
                         (1, 2 ** net.sizes[k + 1]))
        compare(p[0], expected, f"q(x^{n} | x^0) after {n - 1} steps, input {row}", atol=1e-12, rtol=1e-9)


# -------------------------------------------------------- 1.3 unit_marginals (M4)
def _unit_marginals_point_masses(rng):
    for d in (1, int(rng.integers(2, 5))):
        expected = np.array([[float((s >> i) & 1) for i in range(d)] for s in range(2**d)])
        compare((yield Call((np.eye(2**d), d))), expected, f"the marginals of each point mass, d = {d}", atol=1e-12)


def _unit_marginals_random(rng):
    d = int(rng.integers(3, 6))
    p = rng.dirichlet(0.5 * np.ones(2**d), size=int(rng.integers(3, 7)))
    expected = np.array([[sum(row[s] for s in range(2**d) if (s >> i) & 1) for i in range(d)] for row in p])
    got = yield Call((p, d))
    compare(got, expected, f"the marginals of random distributions over {d} units", atol=1e-12)
    require(np.all(np.asarray(got) >= -1e-12), "a marginal is negative")


EXERCISES = [
    Exercise(
        id="1.1", notebook=NOTEBOOK, function="log_prob", label="M3", title="the complete-data log-probability",
        hint="M3: implement the complete-data log-probability, per-unit terms from the logits",
        checks=(
            Check("Check that log_prob returns one finite number per sample", 1, _log_prob_shape),
            Check("Check that log_prob equals the log of the product of the M1 conditionals, on networks of "
                  "two, three and four layers", 1, _log_prob_value),
            Check("Check that log_prob stays finite and exact at logits of +-1000 (M3 from the logits)", 1,
                  _log_prob_extreme),
        ),
        forbidden=("log_prob", "layer_log_prob", "bernoulli_log_prob", "categorical_log_prob",
                   "forward_log_prob"),
    ),
    Exercise(
        id="1.2", notebook=NOTEBOOK, function="layer_step", label="M4", title="one step of the layer recursion",
        hint="M4: implement one step of the layer recursion, q(x^{k+1} | x^0) from q(x^k | x^0)",
        checks=(
            Check("Check that one step from a point mass on state s gives q(x^{k+1} | x^k = s) of M1, "
                  "states in the package's bit order", 1, _layer_step_point_masses),
            Check("Check that the steps reproduce q(x^n | x^0) found by enumerating every joint configuration (M4)",
                  2, _layer_step_chain),
        ),
        forbidden=("exact_marginals", "layer_state_distributions", "brute_force_marginals", "log_conditional_table",
                   "layer_step"),
    ),
    Exercise(
        id="1.3", notebook=NOTEBOOK, function="unit_marginals", label="M4", title="per-unit marginals of a layer",
        hint="M4: implement the per-unit marginals of a distribution over a layer's states",
        checks=(
            Check("Check that a point mass on state s gives the bits of s, unit i = bit i (the package's order)", 1,
                  _unit_marginals_point_masses),
            Check("Check that unit i's marginal sums p(s) over the states whose bit i is 1", 1,
                  _unit_marginals_random),
        ),
        forbidden=("exact_marginals", "brute_force_marginals"),
    ),
]
