"""refimpl: a reference implementation of *Generative learning for deep networks*.

Flach, Shekhovtsov and Fikar, arXiv:1709.08524. Equation labels (M1..M11, A1,
A2, L0..L2) follow ``shared/design/method.md`` and the tutorials.
"""

from .numerics import log_sigmoid, log_softmax, logsumexp, sigmoid, softmax, softplus
from .sbn import SigmoidBeliefNet, bernoulli_log_prob, categorical_log_prob, one_hot

__all__ = [
    "SigmoidBeliefNet",
    "bernoulli_log_prob",
    "categorical_log_prob",
    "one_hot",
    "sigmoid",
    "softplus",
    "log_sigmoid",
    "logsumexp",
    "softmax",
    "log_softmax",
]
