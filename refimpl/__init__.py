"""refimpl: a reference implementation of *Generative learning for deep networks*.

Flach, Shekhovtsov and Fikar, arXiv:1709.08524. Equation labels (M1..M11, A1,
A2, L0..L2) follow the tutorials; each module's docstring lists the labels it
implements:

- :mod:`refimpl.sbn`: the sigmoid belief network (M1-M3);
- :mod:`refimpl.exact`: exact inference, brute force and the layer recursion (M4);
- :mod:`refimpl.forward`: the forward pass as approximate inference (M5-M8, A1, A2);
- :mod:`refimpl.montecarlo`: Monte Carlo estimates of the same marginals;
- :mod:`refimpl.coupled`: the recogniser-generator pair tied by transposition (M9, M10);
- :mod:`refimpl.consistency`: one joint for both directions, measured (M11);
- :mod:`refimpl.learning`, :mod:`refimpl.optim`: gradients by hand and optimisers (L0, L1, L1u, L2);
- :mod:`refimpl.evaluation`: importance-sampled log-likelihood and cycle accuracy;
- :mod:`refimpl.lab`: the MNIST lab (data, checkpoints, training loop, experiment and their
  commands), apart from the lesson and skippable on a first reading.
"""

from .consistency import consistency_gap, pair_consistency_gap, rbm_joint, stationary_consistency
from .coupled import CoupledPair
from .evaluation import cycle_accuracy, importance_log_likelihood, log_likelihood_curve, mc_class_probs
from .exact import brute_force_marginals, exact_marginals, layer_state_distributions
from .forward import forward_log_prob, forward_marginals, mean_pass, preactivation_moments
from .learning import l0_value_and_grad, l1_step_grads, l2_step_grads, sleep_value_and_grad, wake_value_and_grad
from .montecarlo import mc_marginals
from .numerics import log_sigmoid, log_softmax, logsumexp, sigmoid, softmax, softplus
from .optim import SGD, Adam
from .sbn import SigmoidBeliefNet, bernoulli_log_prob, categorical_log_prob, one_hot

__all__ = [
    # the model (M1-M3) and exact inference (M4)
    "SigmoidBeliefNet", "bernoulli_log_prob", "categorical_log_prob", "one_hot",
    "brute_force_marginals", "exact_marginals", "layer_state_distributions",
    # claim 1 (M5-M8) and Monte Carlo
    "forward_marginals", "mean_pass", "preactivation_moments", "forward_log_prob", "mc_marginals",
    # claim 2 (M9-M11)
    "CoupledPair", "consistency_gap", "pair_consistency_gap", "rbm_joint", "stationary_consistency",
    # learning (L0-L2)
    "l0_value_and_grad", "wake_value_and_grad", "sleep_value_and_grad", "l1_step_grads", "l2_step_grads",
    "SGD", "Adam",
    # evaluation
    "mc_class_probs", "importance_log_likelihood", "log_likelihood_curve", "cycle_accuracy",
    # numerics
    "sigmoid", "softplus", "log_sigmoid", "logsumexp", "softmax", "log_softmax",
]
