"""The course module: exercises, their grader and the tools that build them.

Apart from the lesson (nothing in :mod:`refimpl` imports this package). Five exercise
notebooks, one per tutorial, each asking for a few functions of the method; the
solutions are the source (``tutorial/exercises/solutions/``) and the student versions
are generated from them. The grader checks a student's functions against oracles that
are independent of ``refimpl``'s own code: enumeration of every state, central finite
differences, and Monte Carlo averages with tolerances derived from their standard errors,
on inputs drawn from a seed the teacher may keep secret.

- :mod:`refimpl.course.registry`: the types ``Exercise`` and ``Check``;
- :mod:`refimpl.course.oracles`: enumeration, finite differences and Monte Carlo helpers;
- :mod:`refimpl.course.checks_sbn`, ``checks_forward``, ``checks_generator``,
  ``checks_learning``, ``checks_evaluation``: the exercises of tutorials 1-5 and their checks;
- :mod:`refimpl.course.exercises`: all exercises, by id and by notebook;
- :mod:`refimpl.course.notebook`: reading notebooks, stripping solutions, extracting definitions;
- :mod:`refimpl.course.make_exercises`: ``python -m refimpl.course.make_exercises`` writes the student versions;
- :mod:`refimpl.course.grader`: the verdict, in the grader's process; a notebook or a folder of
  submissions (grades, feedback);
- :mod:`refimpl.course.worker`, :mod:`refimpl.course.probes`, :mod:`refimpl.course.sandbox`: the child
  process that runs a student's code, what passes between it and the grader (plain data), and its walls;
- :mod:`refimpl.course.grade`: ``python -m refimpl.course.grade`` (a notebook, or a folder to CSV, JSON
  and feedback files);
- :mod:`refimpl.course.release`: the exercises as an nbgrader course (``make_exercises --nbgrader``).
"""
