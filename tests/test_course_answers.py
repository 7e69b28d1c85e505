"""Answers for the grader's tests: typical wrong answers and other correct ones, as notebook code.

Not a test of its own beyond the coverage checks below: ``tests/test_course_oracles.py`` scores
these functions in-process and ``tests/test_course_grader.py`` grades notebooks built from them.

- ``WRONG``: exercise id -> ``[(what is wrong, source of the def)]``: mistakes a student makes
  (the two roles of a tied matrix not summed, log K off by one, a mean where a sample belongs,
  a missing transpose, the wrong bit order, the probit factor inverted, ...);
- ``RIGHT``: exercise id -> source of a correct def written unlike the solution (loops instead
  of matrix products, another order of random draws, ...): the oracles accept any correct answer;
- ``HEADER``: the imports every such notebook starts with.
"""

from __future__ import annotations

import re

HEADER = """import numpy as np

import refimpl
from refimpl.numerics import log_sigmoid, logsumexp, sigmoid, softmax, softplus
from refimpl.sbn import SigmoidBeliefNet, binary_states


def log_q_hidden(pair, x, hidden):
    layers, total = [x] + list(hidden), 0.0
    for k in range(1, len(layers)):
        total = total + pair.recogniser.layer_log_prob(k, layers[k], layers[k - 1])
    return total
"""

WRONG = {
    "1.1": [
        ("log sigma computed as log(sigmoid(a))", '''
def log_prob(net, x0, layers):
    total, prev = 0.0, np.asarray(x0, dtype=float)
    for w, b, state in zip(net.weights, net.biases, layers):
        s = 1.0 / (1.0 + np.exp(-(prev @ w.T + b)))
        total = total + np.sum(state * np.log(s) + (1 - state) * np.log(1 - s), axis=-1)
        prev = state
    return total
'''),
        ("only the last layer's term", '''
def log_prob(net, x0, layers):
    prev = layers[-2] if len(layers) > 1 else x0
    a = prev @ net.weights[-1].T + net.biases[-1]
    return np.sum(layers[-1] * a - softplus(a), axis=-1)
'''),
    ],
    "1.2": [
        ("the wrong bit order (unit 0 as the highest bit)", '''
def layer_step(p_prev, weight, bias):
    d_next, d_prev = weight.shape
    s, t = binary_states(d_prev)[:, ::-1], binary_states(d_next)[:, ::-1]
    a = s @ weight.T + bias
    log_q = log_sigmoid(a) @ t.T + log_sigmoid(-a) @ (1.0 - t).T
    return p_prev @ np.exp(log_q)
'''),
        ("log sigma(a) where log sigma(-a) belongs", '''
def layer_step(p_prev, weight, bias):
    d_next, d_prev = weight.shape
    s, t = binary_states(d_prev), binary_states(d_next)
    a = s @ weight.T + bias
    log_q = log_sigmoid(a) @ t.T + log_sigmoid(a) @ (1.0 - t).T
    return p_prev @ np.exp(log_q)
'''),
    ],
    "1.3": [
        ("the wrong bit order", '''
def unit_marginals(p, d):
    return p @ binary_states(d)[:, ::-1]
'''),
    ],
    "2.1": [
        ("a sample where the mean belongs", '''
def mean_pass(net, x0):
    rng = np.random.default_rng(0)
    mu, means = np.asarray(x0, dtype=float), []
    for w, b in zip(net.weights, net.biases):
        mu = (rng.random((mu.shape[0], w.shape[0])) < sigmoid(mu @ w.T + b)).astype(float)
        means.append(mu)
    return means
'''),
        ("the input fed to every layer", '''
def mean_pass(net, x0):
    x0 = np.asarray(x0, dtype=float)
    return [sigmoid(x0 @ w.T + b) for w, b in zip(net.weights, net.biases)]
'''),
    ],
    "2.2": [
        ("the weights not squared in the variance", '''
def logit_moments(weight, bias, mu):
    return mu @ weight.T + bias, (mu * (1.0 - mu)) @ weight.T
'''),
        ("mu^2 in place of mu (1 - mu)", '''
def logit_moments(weight, bias, mu):
    return mu @ weight.T + bias, (mu**2) @ (weight**2).T
'''),
    ],
    "2.3": [
        ("the probit factor pi/8 inverted", '''
def probit_pass(net, x0):
    mu, means = np.asarray(x0, dtype=float), []
    for k in range(1, net.n_layers + 1):
        mean, var = refimpl.preactivation_moments(net, mu, k)
        mu = sigmoid(mean / np.sqrt(1.0 + 8.0 * var / np.pi))
        means.append(mu)
    return means
'''),
        ("the variance left out (the plain mean pass)", '''
def probit_pass(net, x0):
    mu, means = np.asarray(x0, dtype=float), []
    for w, b in zip(net.weights, net.biases):
        mu = sigmoid(mu @ w.T + b)
        means.append(mu)
    return means
'''),
    ],
    "3.1": [
        ("a missing transpose", '''
def transposed_generator(recogniser, gen_biases):
    return SigmoidBeliefNet(list(reversed(recogniser.weights)), list(reversed(gen_biases)), copy=False)
'''),
        ("copies where views belong (not tied)", '''
def transposed_generator(recogniser, gen_biases):
    return SigmoidBeliefNet([w.T for w in reversed(recogniser.weights)], list(reversed(gen_biases)))
'''),
        ("the biases in the recogniser's order", '''
def transposed_generator(recogniser, gen_biases):
    return SigmoidBeliefNet([w.T for w in reversed(recogniser.weights)], list(gen_biases), copy=False)
'''),
    ],
    "3.2": [
        ("a missing transpose", '''
def generate_mean(pair, y):
    nu = pair.one_hot(y).astype(float)
    for k in range(pair.n_layers, 0, -1):
        nu = sigmoid(nu @ pair.params[f"W{k}"].T + pair.params[f"c{k - 1}"])
    return nu
'''),
        ("the recogniser's biases where the generator's belong", '''
def generate_mean(pair, y):
    nu = pair.one_hot(y).astype(float)
    for k in range(pair.n_layers, 0, -1):
        nu = sigmoid(nu @ pair.params[f"W{k}"] + (pair.params[f"b{k - 1}"] if k > 1 else 0.0))
    return nu
'''),
    ],
    "3.3": [
        ("the wrong bit order", '''
def rbm_joint(W, b, c):
    V, H = binary_states(W.shape[1])[:, ::-1], binary_states(W.shape[0])[:, ::-1]
    energy = (V @ W.T) @ H.T + (V @ c)[:, None] + (H @ b)[None, :]
    return np.exp(energy - logsumexp(energy.ravel()))
'''),
        ("not normalised", '''
def rbm_joint(W, b, c):
    V, H = binary_states(W.shape[1]), binary_states(W.shape[0])
    return np.exp((V @ W.T) @ H.T + (V @ c)[:, None] + (H @ b)[None, :])
'''),
    ],
    "4.1": [
        ("a missing transpose", '''
def wake_grads(pair, x, hidden, y):
    n, B = pair.n_layers, x.shape[0]
    states = [pair.one_hot(y)] + list(hidden)[::-1] + [x]
    grads = {}
    for k in range(n, 0, -1):
        u, t = states[n - k], states[n - k + 1]
        delta = (t - sigmoid(u @ pair.params[f"W{k}"] + pair.params[f"c{k - 1}"])) / B
        grads[f"W{k}"] = delta.T @ u
        grads[f"c{k - 1}"] = delta.sum(axis=0)
    return grads
'''),
        ("summed over the batch, not averaged", '''
def wake_grads(pair, x, hidden, y):
    n = pair.n_layers
    states = [pair.one_hot(y)] + list(hidden)[::-1] + [x]
    grads = {}
    for k in range(n, 0, -1):
        u, t = states[n - k], states[n - k + 1]
        delta = t - sigmoid(u @ pair.params[f"W{k}"] + pair.params[f"c{k - 1}"])
        grads[f"W{k}"] = u.T @ delta
        grads[f"c{k - 1}"] = delta.sum(axis=0)
    return grads
'''),
    ],
    "4.2": [
        ("a sigmoid where the softmax top belongs", '''
def sleep_grads(pair, x_dream, hidden_dream, y):
    n, B = pair.n_layers, x_dream.shape[0]
    states = [x_dream] + list(hidden_dream) + [pair.one_hot(y)]
    grads = {}
    for k in range(1, n + 1):
        u = states[k - 1]
        delta = states[k] - sigmoid(u @ pair.params[f"W{k}"].T + pair.params[f"b{k}"])
        grads[f"W{k}"] = delta.T @ u / B
        grads[f"b{k}"] = delta.sum(axis=0) / B
    return grads
'''),
    ],
    "4.3": [
        ("the tied matrix's two roles not summed (the sleep gradient overwrites the wake gradient)", '''
def l1_tied_grads(pair, x, y, rng):
    hidden = pair.sample_hidden(x, rng)
    hidden_d, x_d = pair.sample_generator(y, rng)
    grads = dict(refimpl.wake_value_and_grad(pair, x, hidden, y)[1])
    grads.update(refimpl.sleep_value_and_grad(pair, x_d, hidden_d, y)[1])
    return grads
'''),
        ("the recogniser's means where its samples belong", '''
def l1_tied_grads(pair, x, y, rng):
    means = pair.recognise_mean(x, all_layers=True)[:-1]
    n, B = pair.n_layers, x.shape[0]
    states = [pair.one_hot(y)] + list(means)[::-1] + [x]
    grads = {}
    for k in range(n, 0, -1):
        u, t = states[n - k], states[n - k + 1]
        delta = (t - sigmoid(u @ pair.params[f"W{k}"] + pair.params[f"c{k - 1}"])) / B
        grads[f"W{k}"] = u.T @ delta
        grads[f"c{k - 1}"] = delta.sum(axis=0)
    hidden_d, x_d = pair.sample_generator(y, rng)
    sleep = refimpl.sleep_value_and_grad(pair, x_d, hidden_d, y)[1]
    return {key: grads.get(key, 0.0) + sleep[key] for key in sleep}
'''),
        ("dreams for random labels, not the batch's", '''
def l1_tied_grads(pair, x, y, rng):
    hidden = pair.sample_hidden(x, rng)
    hidden_d, x_d = pair.sample_generator(rng.integers(0, pair.n_classes, len(y)), rng)
    wake = refimpl.wake_value_and_grad(pair, x, hidden, y)[1]
    sleep = refimpl.sleep_value_and_grad(pair, x_d, hidden_d, y)[1]
    return {key: wake[key] + sleep[key] for key in wake}
'''),
    ],
    "4.4": [
        ("the sigmoid's derivative left out", '''
def l0_grads(pair, x, y):
    n, B = pair.n_layers, x.shape[0]
    mus = [np.asarray(x, dtype=float)]
    for k in range(1, n):
        mus.append(sigmoid(mus[-1] @ pair.params[f"W{k}"].T + pair.params[f"b{k}"]))
    delta = (pair.one_hot(y) - softmax(mus[-1] @ pair.params[f"W{n}"].T + pair.params[f"b{n}"])) / B
    grads = {}
    for k in range(n, 0, -1):
        grads[f"W{k}"] = delta.T @ mus[k - 1]
        grads[f"b{k}"] = delta.sum(axis=0)
        if k > 1:
            delta = delta @ pair.params[f"W{k}"]
    return grads
'''),
        ("a missing transpose in the backward step", '''
def l0_grads(pair, x, y):
    n, B = pair.n_layers, x.shape[0]
    mus = [np.asarray(x, dtype=float)]
    for k in range(1, n):
        mus.append(sigmoid(mus[-1] @ pair.params[f"W{k}"].T + pair.params[f"b{k}"]))
    delta = (pair.one_hot(y) - softmax(mus[-1] @ pair.params[f"W{n}"].T + pair.params[f"b{n}"])) / B
    grads = {}
    for k in range(n, 0, -1):
        grads[f"W{k}"] = delta.T @ mus[k - 1]
        grads[f"b{k}"] = delta.sum(axis=0)
        if k > 1:
            delta = (delta @ pair.params[f"W{k}"].T) * mus[k - 1] * (1.0 - mus[k - 1])
    return grads
'''),
    ],
    "5.1": [
        ("log K off by one", '''
def is_log_likelihood(pair, x, y, K, rng):
    B = x.shape[0]
    xr, yr = np.repeat(x, K, axis=0), np.repeat(y, K)
    hidden = pair.sample_hidden(xr, rng)
    log_w = pair.log_p(xr, hidden, yr) - log_q_hidden(pair, xr, hidden)
    return logsumexp(log_w.reshape(B, K), axis=1) - np.log(K + 1)
'''),
        ("the mean of the log-weights (the ELBO) where the log of their mean belongs", '''
def is_log_likelihood(pair, x, y, K, rng):
    B = x.shape[0]
    xr, yr = np.repeat(x, K, axis=0), np.repeat(y, K)
    hidden = pair.sample_hidden(xr, rng)
    log_w = pair.log_p(xr, hidden, yr) - log_q_hidden(pair, xr, hidden)
    return log_w.reshape(B, K).mean(axis=1)
'''),
        ("the label's probability inside the proposal", '''
def is_log_likelihood(pair, x, y, K, rng):
    B = x.shape[0]
    xr, yr = np.repeat(x, K, axis=0), np.repeat(y, K)
    hidden = pair.sample_hidden(xr, rng)
    log_w = pair.log_p(xr, hidden, yr) - pair.log_q(xr, hidden, yr)
    return logsumexp(log_w.reshape(B, K), axis=1) - np.log(K)
'''),
    ],
    "5.2": [
        ("the generator's mean images where its samples belong", '''
def cycle_accuracy(pair, n_per_class, rng):
    labels = np.repeat(np.arange(pair.n_classes), n_per_class)
    predicted = np.argmax(pair.recognise_mean(pair.generate_mean(labels) > 0.5), axis=1)
    return float(np.mean(predicted == labels))
'''),
        ("labels misaligned with the generated images", '''
def cycle_accuracy(pair, n_per_class, rng):
    labels = np.repeat(np.arange(pair.n_classes), n_per_class)
    _, images = pair.sample_generator(labels, rng)
    predicted = np.argmax(pair.recognise_mean(images), axis=1)
    return float(np.mean(predicted == np.tile(np.arange(pair.n_classes), n_per_class)))
'''),
    ],
}


# Classes of mistake that once got full marks, because every check's networks had one depth and one width, its
# labels were balanced, its images had nearly equal p(x | y), it passed copies and did not look at the rng.
MORE_WRONG = {
    "1.1": [
        ("written for networks of exactly three layers", """
def log_prob(net, x0, layers):
    total, prev = 0.0, np.asarray(x0, dtype=float)
    for k in range(3):  # the example network's three layers
        a = prev @ net.weights[k].T + net.biases[k]
        total = total + np.sum(layers[k] * a - softplus(a), axis=-1)
        prev = layers[k]
    return total
"""),
        ("the caller's list of layers reversed in place", """
def log_prob(net, x0, layers):
    layers.reverse()  # top layer first
    states, total = [np.asarray(x0, dtype=float)] + layers[::-1], 0.0
    for k in range(1, len(states)):
        a = states[k - 1] @ net.weights[k - 1].T + net.biases[k - 1]
        total = total + np.sum(states[k] * a - softplus(a), axis=-1)
    return total
"""),
    ],
    "2.1": [
        ("written for networks of exactly three layers", """
def mean_pass(net, x0):
    mu1 = sigmoid(x0 @ net.weights[0].T + net.biases[0])
    mu2 = sigmoid(mu1 @ net.weights[1].T + net.biases[1])
    mu3 = sigmoid(mu2 @ net.weights[2].T + net.biases[2])
    return [mu1, mu2, mu3]
"""),
    ],
    "2.2": [
        ("mu (1 - mu) computed in the caller's array", """
def logit_moments(weight, bias, mu):
    mean = mu @ weight.T + bias
    mu *= 1.0 - mu  # in place, to save memory
    return mean, mu @ (weight**2).T
"""),
    ],
    "3.2": [
        ("written for pairs of exactly two layers", """
def generate_mean(pair, y):
    nu1 = sigmoid(pair.one_hot(y) @ pair.params["W2"] + pair.params["c1"])
    return sigmoid(nu1 @ pair.params["W1"] + pair.params["c0"])
"""),
    ],
    "4.1": [
        ("the image and the label added to the caller's list of hidden layers", """
def wake_grads(pair, x, hidden, y):
    n, B = pair.n_layers, x.shape[0]
    states = hidden
    states.insert(0, x)
    states.append(pair.one_hot(y))
    grads = {}
    for k in range(1, n + 1):
        u, t = states[k], states[k - 1]
        delta = (t - sigmoid(u @ pair.params[f"W{k}"] + pair.params[f"c{k - 1}"])) / B
        grads[f"W{k}"] = u.T @ delta
        grads[f"c{k - 1}"] = delta.sum(axis=0)
    return grads
"""),
    ],
    "4.3": [
        ("dreams for the first image's label only", '''
def l1_tied_grads(pair, x, y, rng):
    hidden = pair.sample_hidden(x, rng)
    y_d = np.full_like(np.asarray(y), np.asarray(y)[0])
    hidden_d, x_d = pair.sample_generator(y_d, rng)
    wake = refimpl.wake_value_and_grad(pair, x, hidden, y)[1]
    sleep = refimpl.sleep_value_and_grad(pair, x_d, hidden_d, y_d)[1]
    return {key: wake[key] + sleep[key] for key in wake}
'''),
        ("dreams for labels drawn from the prior, not the batch's labels", """
def l1_tied_grads(pair, x, y, rng):
    hidden = pair.sample_hidden(x, rng)
    prior = np.exp(pair.log_prior())
    y_dream = rng.choice(pair.n_classes, size=len(y), p=prior / prior.sum())
    hidden_d, x_d = pair.sample_generator(y_dream, rng)
    wake = refimpl.wake_value_and_grad(pair, x, hidden, y)[1]
    sleep = refimpl.sleep_value_and_grad(pair, x_d, hidden_d, y_dream)[1]
    return {key: wake[key] + sleep[key] for key in wake}
"""),
        ("a fresh generator where the rng argument belongs", """
def l1_tied_grads(pair, x, y, rng):
    rng = np.random.default_rng()
    hidden = pair.sample_hidden(x, rng)
    hidden_d, x_d = pair.sample_generator(y, rng)
    wake = refimpl.wake_value_and_grad(pair, x, hidden, y)[1]
    sleep = refimpl.sleep_value_and_grad(pair, x_d, hidden_d, y)[1]
    return {key: wake[key] + sleep[key] for key in wake}
"""),
        ("a fixed seed where the rng argument belongs", """
def l1_tied_grads(pair, x, y, rng):
    rng = np.random.default_rng(0)
    hidden = pair.sample_hidden(x, rng)
    hidden_d, x_d = pair.sample_generator(y, rng)
    wake = refimpl.wake_value_and_grad(pair, x, hidden, y)[1]
    sleep = refimpl.sleep_value_and_grad(pair, x_d, hidden_d, y)[1]
    return {key: wake[key] + sleep[key] for key in wake}
"""),
    ],
    "5.1": [
        ("one hidden sample reused for all K terms", """
def is_log_likelihood(pair, x, y, K, rng):
    hidden = pair.sample_hidden(x, rng)
    log_w = pair.log_p(x, hidden, y) - log_q_hidden(pair, x, hidden)
    return logsumexp(np.repeat(log_w[:, None], K, axis=1), axis=1) - np.log(K)
"""),
        ("logsumexp over the wrong axis (the K samples of an image not in one row)", """
def is_log_likelihood(pair, x, y, K, rng):
    B = x.shape[0]
    xr, yr = np.repeat(x, K, axis=0), np.repeat(y, K)
    hidden = pair.sample_hidden(xr, rng)
    log_w = pair.log_p(xr, hidden, yr) - log_q_hidden(pair, xr, hidden)
    return logsumexp(log_w.reshape(K, B), axis=0) - np.log(K)
"""),
        ("images mixed between rows (tiled, then reshaped as if repeated)", """
def is_log_likelihood(pair, x, y, K, rng):
    B = x.shape[0]
    xr, yr = np.tile(x, (K, 1)), np.tile(y, K)
    hidden = pair.sample_hidden(xr, rng)
    log_w = pair.log_p(xr, hidden, yr) - log_q_hidden(pair, xr, hidden)
    return logsumexp(log_w.reshape(B, K), axis=1) - np.log(K)
"""),
        ("a fixed seed where the rng argument belongs", """
def is_log_likelihood(pair, x, y, K, rng):
    rng = np.random.default_rng(0)
    B = x.shape[0]
    xr, yr = np.repeat(x, K, axis=0), np.repeat(y, K)
    hidden = pair.sample_hidden(xr, rng)
    log_w = pair.log_p(xr, hidden, yr) - log_q_hidden(pair, xr, hidden)
    return logsumexp(log_w.reshape(B, K), axis=1) - np.log(K)
"""),
    ],
    "5.2": [
        ("the wrong number of images, with random labels", """
def cycle_accuracy(pair, n_per_class, rng):
    labels = rng.integers(0, pair.n_classes, n_per_class)
    _, images = pair.sample_generator(labels, rng)
    return float(np.mean(np.argmax(pair.recognise_mean(images), axis=1) == labels))
"""),
        ("random labels where every class belongs n_per_class times", """
def cycle_accuracy(pair, n_per_class, rng):
    labels = rng.integers(0, pair.n_classes, n_per_class * pair.n_classes)
    _, images = pair.sample_generator(labels, rng)
    return float(np.mean(np.argmax(pair.recognise_mean(images), axis=1) == labels))
"""),
        ("a fresh generator where the rng argument belongs", """
def cycle_accuracy(pair, n_per_class, rng):
    labels = np.repeat(np.arange(pair.n_classes), n_per_class)
    _, images = pair.sample_generator(labels, np.random.default_rng())
    return float(np.mean(np.argmax(pair.recognise_mean(images), axis=1) == labels))
"""),
    ],
}
for _ex_id, _variants in MORE_WRONG.items():
    WRONG[_ex_id] = WRONG[_ex_id] + _variants

RIGHT = {
    "1.1": """
def log_prob(net, x0, layers):
    prev, total = np.asarray(x0, dtype=float), np.zeros(len(layers[0]))
    for k in range(1, net.n_layers + 1):
        a = net.logits(k, prev)
        total += np.sum(np.where(layers[k - 1] == 1, log_sigmoid(a), log_sigmoid(-a)), axis=-1)
        prev = layers[k - 1]
    return total
""",
    "1.2": """
def layer_step(p_prev, weight, bias):
    d_next, d_prev = weight.shape
    out = np.zeros((p_prev.shape[0], 2**d_next))
    for s in range(2**d_prev):
        on = sigmoid(weight @ np.array([(s >> i) & 1 for i in range(d_prev)], dtype=float) + bias)
        for t in range(2**d_next):
            q = 1.0
            for j in range(d_next):
                q *= on[j] if (t >> j) & 1 else 1.0 - on[j]
            out[:, t] += p_prev[:, s] * q
    return out
""",
    "1.3": """
def unit_marginals(p, d):
    return np.stack([p[:, [s for s in range(2**d) if (s >> i) & 1]].sum(axis=1) for i in range(d)], axis=1)
""",
    "2.1": """
def mean_pass(net, x0):
    mu, out = np.array(x0, dtype=float), []
    for k in range(net.n_layers):
        mu = 1.0 / (1.0 + np.exp(-(np.einsum("ij,bj->bi", net.weights[k], mu) + net.biases[k])))
        out.append(mu)
    return out
""",
    "2.2": """
def logit_moments(weight, bias, mu):
    return np.einsum("ij,bj->bi", weight, mu) + bias, np.einsum("ij,bj->bi", weight**2, mu - mu**2)
""",
    "2.3": """
def probit_pass(net, x0):
    mu, out = np.array(x0, dtype=float), []
    for w, b in zip(net.weights, net.biases, strict=True):
        mean, var = mu @ w.T + b, (mu - mu**2) @ (w * w).T
        mu = sigmoid(mean * (1.0 + var * np.pi / 8.0) ** -0.5)
        out.append(mu)
    return out
""",
    "3.1": """
def transposed_generator(recogniser, gen_biases):
    return SigmoidBeliefNet([np.transpose(w) for w in recogniser.weights[::-1]], gen_biases[::-1], copy=False)
""",
    "3.2": """
def generate_mean(pair, y):
    nu = np.eye(pair.n_classes)[np.asarray(y)].T  # columns are the images
    for k in range(pair.n_layers, 0, -1):
        nu = sigmoid(pair.params[f"W{k}"].T @ nu + pair.params[f"c{k - 1}"][:, None])
    return nu.T
""",
    "3.3": """
def rbm_joint(W, b, c):
    d_h, d_v = W.shape
    log_table = np.empty((2**d_v, 2**d_h))
    for i in range(2**d_v):
        v = np.array([(i >> u) & 1 for u in range(d_v)], dtype=float)
        for j in range(2**d_h):
            h = np.array([(j >> u) & 1 for u in range(d_h)], dtype=float)
            log_table[i, j] = h @ W @ v + b @ h + c @ v
    return np.exp(log_table - logsumexp(log_table.ravel()))
""",
    "4.1": """
def wake_grads(pair, x, hidden, y):
    n = pair.n_layers
    grads = {f"W{k}": np.zeros_like(pair.params[f"W{k}"]) for k in range(1, n + 1)}
    grads.update({f"c{k}": np.zeros_like(pair.params[f"c{k}"]) for k in range(n)})
    for b in range(len(x)):
        layers = [x[b]] + [h[b] for h in hidden] + [np.eye(pair.n_classes)[y[b]]]
        for k in range(1, n + 1):
            err = layers[k - 1] - sigmoid(pair.params[f"W{k}"].T @ layers[k] + pair.params[f"c{k - 1}"])
            grads[f"W{k}"] += np.outer(layers[k], err) / len(x)
            grads[f"c{k - 1}"] += err / len(x)
    return grads
""",
    "4.2": """
def sleep_grads(pair, x_dream, hidden_dream, y):
    n, B = pair.n_layers, len(x_dream)
    grads = {}
    for k in range(1, n + 1):
        u = x_dream if k == 1 else hidden_dream[k - 2]
        a = u @ pair.params[f"W{k}"].T + pair.params[f"b{k}"]
        if k == n:
            target, p = np.eye(pair.n_classes)[y], np.exp(a - logsumexp(a, axis=1, keepdims=True))
        else:
            target, p = hidden_dream[k - 1], sigmoid(a)
        grads[f"W{k}"] = np.einsum("bi,bj->ij", target - p, u) / B
        grads[f"b{k}"] = np.mean(target - p, axis=0)
    return grads
""",
    "4.3": """
def l1_tied_grads(pair, x, y, rng):
    hidden_d, x_d = pair.sample_generator(y, rng)  # the dreams first, this time
    hidden = pair.sample_hidden(x, rng)
    sleep = refimpl.sleep_value_and_grad(pair, x_d, hidden_d, y)[1]
    wake = refimpl.wake_value_and_grad(pair, x, hidden, y)[1]
    return {key: sleep[key] + wake[key] for key in wake}
""",
    "4.4": """
def l0_grads(pair, x, y):
    n, B = pair.n_layers, len(x)
    grads = {key: np.zeros_like(value) for key, value in pair.params.items()}
    for b in range(B):
        mus = [x[b]]
        for k in range(1, n):
            mus.append(sigmoid(pair.params[f"W{k}"] @ mus[-1] + pair.params[f"b{k}"]))
        a = pair.params[f"W{n}"] @ mus[-1] + pair.params[f"b{n}"]
        delta = np.eye(pair.n_classes)[y[b]] - np.exp(a - logsumexp(a))
        for k in range(n, 0, -1):
            grads[f"W{k}"] += np.outer(delta, mus[k - 1]) / B
            grads[f"b{k}"] += delta / B
            delta = (pair.params[f"W{k}"].T @ delta) * mus[k - 1] * (1.0 - mus[k - 1])
    return grads
""",
    "5.1": """
def is_log_likelihood(pair, x, y, K, rng):
    log_w = []
    for _ in range(K):  # one sample for every image at a time
        hidden = pair.sample_hidden(x, rng)
        log_w.append(pair.log_p(x, hidden, y) - log_q_hidden(pair, x, hidden))
    return np.logaddexp.reduce(np.array(log_w), axis=0) - np.log(K)
""",
    "5.2": """
def cycle_accuracy(pair, n_per_class, rng):
    hits = 0
    for label in range(pair.n_classes):
        _, images = pair.sample_generator(np.full(n_per_class, label), rng)
        hits += int(np.sum(pair.recognise_mean(images).argmax(axis=1) == label))
    return hits / (n_per_class * pair.n_classes)
""",
}


# Correct answers of other ordinary forms, each a whole notebook's cells: module-level helpers, lambdas,
# computed constants, a class, a loop over layers; every one gets full marks from the grader.
FORMS = {
    "2.3": ("a lambda and a computed constant at the top level", [
        "PI_OVER_8 = np.pi / 8\nsig = lambda a: np.exp(-np.logaddexp(0.0, -a))  # noqa: E731",
        """
def probit_pass(net, x0):
    mu, out = np.asarray(x0, dtype=float), []
    for w, b in zip(net.weights, net.biases):
        mu = sig((mu @ w.T + b) / np.sqrt(1.0 + PI_OVER_8 * ((mu - mu**2) @ (w**2).T)))
        out.append(mu)
    return out
"""]),
    "2.1": ("a module-level helper called recursively", ["""
def layer(mu, w, b):
    return 1.0 / (1.0 + np.exp(-(mu @ w.T + b)))
""", """
def mean_pass(net, x0, k=0, mu=None):
    mu = np.asarray(x0, dtype=float) if mu is None else mu
    if k == net.n_layers:
        return []
    nxt = layer(mu, net.weights[k], net.biases[k])
    return [nxt] + mean_pass(net, x0, k + 1, nxt)
"""]),
    "3.3": ("a small class and a constant computed from another", ["""
D_MAX = 2 ** 3
HALF = D_MAX / 16
""", """
class Table:
    def __init__(self, log_table):
        self.log_table = log_table

    def normalised(self):
        return np.exp(self.log_table - logsumexp(self.log_table.ravel()))
""", """
def rbm_joint(W, b, c):
    V, H = binary_states(W.shape[1]), binary_states(W.shape[0])
    return Table((V @ W.T) @ H.T + (V @ c)[:, None] + (H @ b)[None, :] + HALF * 0).normalised()
"""]),
    "1.3": ("imports inside the function, of modules no other cell imports", ["""
def unit_marginals(p, d):
    import statistics
    from fractions import Fraction
    out = np.zeros((len(p), d))
    for s in range(2**d):
        for i in range(d):
            if (s >> i) & 1:
                out[:, i] += p[:, s] * float(Fraction(1, 1)) * statistics.mean([1.0])
    return out
"""]),
    "5.2": ("a loop over classes with a helper and a tuple constant", ["""
AXES = (0, 1)
""", """
def classify(pair, images):
    return np.argmax(pair.recognise_mean(images), axis=AXES[1])
""", """
def cycle_accuracy(pair, n_per_class, rng):
    hits = 0
    for label in range(pair.n_classes):
        _, images = pair.sample_generator(np.full(n_per_class, label), rng)
        hits += int(np.sum(classify(pair, images) == label))
    return hits / (n_per_class * pair.n_classes)
"""]),
}

# refimpl's own, tested functions wrapped to an exercise's signature: another correct answer each
ADAPTERS = {
    "1.1": "lambda net, x0, layers: net.log_prob(x0, layers)",
    "2.1": "lambda net, x0: refimpl.mean_pass(net, x0)",
    "2.2": "lambda w, b, mu: refimpl.preactivation_moments(SigmoidBeliefNet([w], [b]), mu, 1)",
    "2.3": "lambda net, x0: refimpl.forward_marginals(net, x0, method='probit')",
    "3.1": "lambda rec, c: refimpl.transposed_generator(rec, c)",
    "3.2": "lambda pair, y: pair.generate_mean(y)",
    "3.3": "lambda W, b, c: refimpl.rbm_joint(W, b, c)",
    "4.1": "lambda pair, x, h, y: refimpl.wake_value_and_grad(pair, x, h, y)[1]",
    "4.2": "lambda pair, x, h, y: refimpl.sleep_value_and_grad(pair, x, h, y)[1]",
    "4.3": "lambda pair, x, y, rng: refimpl.l1_step_grads(pair, x, y, rng)[1]",
    "4.4": "lambda pair, x, y: refimpl.l0_value_and_grad(pair, x, y)[1]",
    "5.1": "lambda pair, x, y, K, rng: refimpl.importance_log_likelihood(pair, x, K, rng, backend='numpy')"
           ".log_px_y[np.arange(len(y)), y]",
    "5.2": "lambda pair, n, rng: refimpl.cycle_accuracy(pair, n, rng).accuracy",
}


def notebook(functions) -> str:
    """A percent source: the imports, then one cell per function's source."""
    cells = ["# %%\n" + HEADER] + ["# %%\n" + source.strip() + "\n" for source in functions]
    return "\n\n".join(cells)


def test_course_every_exercise_has_a_wrong_and_a_right_answer():
    """Each exercise of the course has at least one typical wrong answer and one other correct answer."""
    from refimpl.course.exercises import EXERCISES

    assert set(WRONG) == set(EXERCISES) == set(RIGHT)
    assert all(WRONG[ex_id] for ex_id in WRONG)


def test_course_typical_mistakes_are_covered():
    """The table holds the classic mistakes: roles not summed, log K off by one, a mean for a sample,
    a missing transpose, the wrong bit order, the probit factor inverted."""
    described = " | ".join(what for variants in WRONG.values() for what, _ in variants)
    for mistake in ["two roles not summed", "log K off by one", "means where its samples belong",
                    "missing transpose", "wrong bit order", "pi/8 inverted", "exactly three layers",
                    "in place", "labels drawn from the prior", "rng argument belongs", "reused for all K",
                    "wrong axis", "mixed between rows", "wrong number of images"]:
        assert re.search(re.escape(mistake), described), mistake
