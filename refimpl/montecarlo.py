r"""Monte Carlo estimates of the marginals :math:`q(x^k_i{=}1 \mid x^0)` by ancestral sampling (tutorial 02).

The ground truth for networks too large to enumerate (M4); the Rao-Blackwellised estimate applies M5 to the
sampled parents and never has larger variance. The standard error falls as :math:`1/\sqrt{S}`.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_mc_args
from .numerics import sigmoid, softmax

__all__ = ["mc_marginals"]

# Samples are drawn in chunks so that one chunk holds at most this many numbers per layer.
_CHUNK_ELEMENTS = 1 << 22


def mc_marginals(net, x0, n_samples: int, rng, rao_blackwell: bool = False, return_stderr: bool = False):
    r"""Monte Carlo estimate of :math:`q(x^k_i{=}1 \mid x^0)` for every layer, from ``n_samples`` ancestral samples.

    ``x0`` (d_0,) or (B, d_0) binary; ``rao_blackwell`` averages :math:`\sigma(a^k)` over the sampled parents
    instead of the states. Returns ``mu[k - 1]`` (d_k,) or (B, d_k), as :func:`refimpl.forward.forward_marginals`,
    and with ``return_stderr`` also the standard errors (sample std, ``ddof=1``, over :math:`\sqrt{S}`).

    Equation: M4, M5

    .. math:: \hat\mu^k = \frac1S \sum_s x^k_s \ \text{or}\ \frac1S \sum_s \sigma(W^k x^{k-1}_s + b^k),
        \quad (x^1_s..x^n_s) \sim q(\cdot \mid x^0)

    Examples
    --------
    >>> from refimpl.sbn import SigmoidBeliefNet
    >>> net = SigmoidBeliefNet([np.zeros((1, 2))], [np.zeros(1)])
    >>> mc_marginals(net, [1, 0], 1000, np.random.default_rng(0), rao_blackwell=True)[0]  # exact at layer 1
    array([0.5])
    """
    x, single, n_samples, rng = check_mc_args(net, x0, n_samples, rng, return_stderr)
    widest = max(net.sizes)
    chunk = max(1, min(n_samples, _CHUNK_ELEMENTS // (x.shape[0] * widest)))
    # Running mean and sum of squared deviations, combined chunk by chunk (Chan et al.'s
    # parallel update), which avoids the cancellation of sum(v^2) - S mean^2.
    means = [np.zeros((x.shape[0], d)) for d in net.sizes[1:]]
    m2s = [np.zeros((x.shape[0], d)) for d in net.sizes[1:]]
    done = 0
    while done < n_samples:
        m = min(chunk, n_samples - done)
        layers = net.sample(x, m, rng)  # each (m, B, d_k)
        prev = np.broadcast_to(x, (m,) + x.shape)
        total = done + m
        for k in range(1, net.n_layers + 1):
            if rao_blackwell:
                a = net.logits(k, prev).astype(np.float64)
                value = softmax(a) if net.is_categorical(k) else sigmoid(a)
            else:
                value = layers[k - 1].astype(np.float64)
            chunk_mean = value.mean(axis=0)
            chunk_m2 = ((value - chunk_mean) ** 2).sum(axis=0)
            delta = chunk_mean - means[k - 1]
            means[k - 1] = means[k - 1] + delta * (m / total)
            m2s[k - 1] = m2s[k - 1] + chunk_m2 + delta * delta * (done * m / total)
            prev = layers[k - 1]
        done = total
    mu = [mean[0] for mean in means] if single else means
    if not return_stderr:
        return mu
    stderr = [np.sqrt(m2 / (n_samples - 1) / n_samples) for m2 in m2s]
    return mu, [se[0] for se in stderr] if single else stderr
