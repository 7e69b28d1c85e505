"""refimpl: a reference implementation of *Generative learning for deep networks* (arXiv:1709.08524).

The lesson, one module per idea; labels (M1..M11, A1, A2, L0..L2) as in the tutorials:

- :mod:`refimpl.sbn`, :mod:`refimpl.layers`: the sigmoid belief network and its layers (M1-M3, tutorial 01);
- :mod:`refimpl.exact`: exact inference (M4, tutorial 01); :mod:`refimpl.montecarlo`: its Monte Carlo estimate;
- :mod:`refimpl.forward`: the forward pass as approximate inference (M5-M8, A1, A2, tutorial 02);
- :mod:`refimpl.coupled`, :mod:`refimpl.consistency`: the pair tied by transposition (M9-M11, tutorial 03);
- :mod:`refimpl.learning`, :mod:`refimpl.optim`, :mod:`refimpl.gradcheck`: learning (L0-L2, tutorial 04);
- :mod:`refimpl.evaluation`: log-likelihood and cycle accuracy; :mod:`refimpl.numerics`: stable functions.

The lab (:mod:`refimpl.lab`: data, checkpoints, training, the experiment) sits apart. The names below
are the public API, each used in a tutorial.
"""

import sys

if sys.argv[:1] == ["-m"]:  # started as a command (python -m refimpl.lab...): Ctrl-C while the imports
    def _interrupted(kind, value, tb, _default=sys.excepthook):  # below run ends in one line, not a traceback
        if issubclass(kind, KeyboardInterrupt):
            print("interrupted while starting; nothing was written", file=sys.stderr)
        else:
            _default(kind, value, tb)

    sys.excepthook = _interrupted

from .consistency import consistency_gap, rbm_joint
from .coupled import CoupledPair, transposed_generator
from .evaluation import cycle_accuracy, importance_log_likelihood, mc_class_probs
from .exact import brute_force_marginals, exact_marginals, layer_state_distributions
from .forward import expected_sigmoid_logit, forward_log_prob, forward_marginals, mean_pass, preactivation_moments
from .learning import l0_value_and_grad, l1_step_grads, l2_step_grads, sleep_value_and_grad, wake_value_and_grad
from .montecarlo import mc_marginals
from .optim import Adam
from .sbn import SigmoidBeliefNet, one_hot

__all__ = [
    # the model (M1-M3) and exact inference (M4): tutorial 1
    "SigmoidBeliefNet", "one_hot", "brute_force_marginals", "exact_marginals", "layer_state_distributions",
    # claim 1 (M5-M8) and Monte Carlo: tutorial 2
    "preactivation_moments", "expected_sigmoid_logit", "forward_marginals", "mean_pass", "forward_log_prob",
    "mc_marginals",
    # claim 2 (M9-M11): tutorial 3
    "CoupledPair", "transposed_generator", "rbm_joint", "consistency_gap",
    # learning (L0-L2): tutorial 4
    "l0_value_and_grad", "wake_value_and_grad", "sleep_value_and_grad", "l1_step_grads", "l2_step_grads", "Adam",
    # evaluation: tutorials 4 and 5
    "mc_class_probs", "importance_log_likelihood", "cycle_accuracy",
]
