"""All exercises of the course, by id and by notebook.

Examples
--------
>>> [ex.id for ex in NOTEBOOKS["ex02_forward_pass_as_inference"]]
['2.1', '2.2', '2.3']
>>> EXERCISES["2.1"].function, EXERCISES["2.1"].label
('mean_pass', 'M6')
"""

from __future__ import annotations

from . import checks_evaluation, checks_forward, checks_generator, checks_learning, checks_sbn

__all__ = ["EXERCISES", "NOTEBOOKS", "TUTORIALS"]

_MODULES = (checks_sbn, checks_forward, checks_generator, checks_learning, checks_evaluation)

#: exercise id -> Exercise, in the order of the course
EXERCISES = {ex.id: ex for module in _MODULES for ex in module.EXERCISES}

#: notebook stem -> its exercises, in order
NOTEBOOKS = {module.NOTEBOOK: list(module.EXERCISES) for module in _MODULES}

#: notebook stem -> the tutorial it accompanies
TUTORIALS = {
    "ex01_sigmoid_belief_net": "01_sigmoid_belief_net",
    "ex02_forward_pass_as_inference": "02_forward_pass_as_inference",
    "ex03_generator_by_transposition": "03_generator_by_transposition",
    "ex04_learning": "04_learning",
    "ex05_experiment": "05_experiment",
}
