r"""Monte Carlo estimates of the marginals :math:`q(x^k_i{=}1 \mid x^0)` by ancestral sampling (tutorial 02).

The ground truth for networks too large to enumerate (M4); the Rao-Blackwellised estimate applies M5 to the
sampled parents and never has larger variance. The standard error falls as :math:`1/\sqrt{S}`.
"""

from __future__ import annotations

import numpy as np

from . import _validation as check
from . import kernels
from ._validation import boundary, check_mc_args
from .numerics import sigmoid, softmax

__all__ = ["MAX_ELEMENTS", "mc_marginals", "sample_moments"]

#: Numbers per layer drawn at once; more samples come in blocks (:func:`refimpl.kernels.moments_in_blocks`).
MAX_ELEMENTS = 1 << 22


@boundary(net=check.net, x=check.images, n_samples=check.positive_int, rng=check.rng, rao_blackwell=check.boolean)
def sample_moments(net, x, n_samples: int, rng, rao_blackwell: bool = False):
    r"""Per layer ``k``, the mean and the sum of squared deviations, each (B, d_k), over ``n_samples`` values:
    the sampled states :math:`x^k_s`, or with ``rao_blackwell`` :math:`\sigma(W^k x^{k-1}_s + b^k)` (M5).

    Equation: M4, M5
    """
    layers, prev, moments = net.sample(x, n_samples, rng), np.broadcast_to(x, (n_samples,) + x.shape), []
    for k, layer in enumerate(layers, start=1):
        if rao_blackwell:
            a = net.logits(k, prev).astype(np.float64)
            value = softmax(a) if net.is_categorical(k) else sigmoid(a)
        else:
            value = layer.astype(np.float64)
        mean = value.mean(axis=0)
        moments.append((mean, ((value - mean) ** 2).sum(axis=0)))
        prev = layer
    return moments


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
    x, single, n_samples, rng = check_mc_args(net, x0, n_samples, rng, rao_blackwell, return_stderr)
    block = max(1, MAX_ELEMENTS // (x.shape[0] * max(net.sizes)))
    if n_samples <= block:
        moments = sample_moments(net, x, n_samples, rng, rao_blackwell)
    else:  # the one place the blocks are chosen: too many samples to hold at once
        moments = kernels.moments_in_blocks(sample_moments, net, x, n_samples, rng, rao_blackwell, block)
    means, m2s = [mean for mean, _ in moments], [m2 for _, m2 in moments]
    mu = [mean[0] for mean in means] if single else means
    if not return_stderr:
        return mu
    stderr = [np.sqrt(m2 / (n_samples - 1) / n_samples) for m2 in m2s]
    return mu, [se[0] for se in stderr] if single else stderr
