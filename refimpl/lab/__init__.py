"""The MNIST lab: data, checkpoints, the training loop and the experiment, with their commands.

Everything a student needs to learn the method is in the modules one level up
(:mod:`refimpl.sbn`, :mod:`refimpl.exact`, :mod:`refimpl.forward`, ...); this
sub-package is the infrastructure that runs the method on MNIST, and can be
skipped on a first reading:

- :mod:`refimpl.lab.data`: the four MNIST files (checked, downloaded), the embedded subset, binarisation;
- :mod:`refimpl.lab.checkpoint`: checkpoints without pickle, written atomically;
- :mod:`refimpl.lab.train`: a run's settings (``TrainConfig``), the loop ``fit`` and its command;
- :mod:`refimpl.lab.experiment`: the table of tutorial 5, ``python -m refimpl.lab.experiment``;
- :mod:`refimpl.lab.figures`: where the tutorials save their figures;
- :mod:`refimpl.lab._io`, :mod:`refimpl.lab._cli`: the one atomic file writer; what both commands share.

The lab calls the lesson modules, never the reverse.
"""
