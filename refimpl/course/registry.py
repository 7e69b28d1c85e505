"""The types of the course: an exercise, a check, the calls a check makes, and the failure it reports.

An exercise asks for one function of the method. Its checks each open with a sentence
("Check that ..."), are worth some points, and are written as generators: given a
``numpy.random.Generator`` (drawn from the grader's seed), a check builds its inputs,
computes what it expects *before* the student's code runs, then ``yield``\\ s a :class:`Call`
(the arguments of one call of the student's function) and receives the function's output,
converted to plain data (arrays, lists, dicts; see :mod:`refimpl.course.probes`). It
compares that output with what it expected and raises :class:`CheckFailed` with a message
that names the quantity that is off and by how much, never the expected value.

The grader runs the checks in its own process and only the calls in a child process
(:mod:`refimpl.course.grader`), so a verdict never depends on code the student could change;
:func:`run_check` drives a check through any function that performs a call.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

__all__ = ["Call", "Check", "CheckFailed", "Exercise", "StudentError", "as_array", "compare", "require", "run_check"]


class CheckFailed(Exception):
    """A check found the student's answer wrong; the message says what is off, not the answer."""


class StudentError(Exception):
    """The student's code raised an exception during a call; ``kind`` is its type's name."""

    def __init__(self, message: str, kind: str = "Exception"):
        super().__init__(message)
        self.kind = kind


class Call(NamedTuple):
    """One call of the student's function, as a check requests it.

    Attributes
    ----------
    args : tuple
        The arguments, made by the check (the callee gets its own copies).
    probe : str
        How the call is made and what comes back (:data:`refimpl.course.probes.PROBES`):
        ``"value"``, the function's return value; other probes also query a returned object.
    extra : tuple
        The probe's own inputs (never passed to the student's function).
    """

    args: tuple
    probe: str = "value"
    extra: tuple = ()


class Check(NamedTuple):
    """One graded check of an exercise.

    Attributes
    ----------
    sentence : str
        What it checks, opening with "Check that".
    points : int
        Points it is worth.
    run : callable
        ``run(rng)`` returns a generator that yields :class:`Call`\\ s, receives each call's
        output, and returns on success or raises :class:`CheckFailed` (a :class:`StudentError`
        thrown into it, the student's own exception, fails it too).
    """

    sentence: str
    points: int
    run: Callable


class Exercise(NamedTuple):
    """One exercise: the function a student writes and the checks that grade it.

    Attributes
    ----------
    id : str
        ``"<tutorial>.<number>"``, e.g. ``"2.1"``.
    notebook : str
        Stem of the exercise notebook, e.g. ``"ex02_forward_pass_as_inference"``.
    function : str
        Name of the function the student writes.
    label : str
        The equation label it implements (``M6``, ``L1``, ...) or the quantity's short name.
    title : str
        A few words: what the function computes.
    hint : str
        The text of the ``NotImplementedError`` the student version raises; it names the equation.
    checks : tuple of Check
    forbidden : tuple of str
        Names of ``refimpl``'s own implementations of this exercise, which the function may not call.
    """

    id: str
    notebook: str
    function: str
    label: str
    title: str
    hint: str
    checks: tuple
    forbidden: tuple = ()

    @property
    def points(self) -> int:
        """Points of the whole exercise: the sum over its checks."""
        return sum(check.points for check in self.checks)


def run_check(check: Check, rng, call: Callable) -> None:
    """Drive ``check`` with ``rng``: every :class:`Call` it yields goes to ``call(request)``, whose result it receives.

    ``call`` raises :class:`StudentError` where the student's code raised; that error is thrown
    into the check (which normally lets it through). Returns when the check passes.
    """
    steps = check.run(rng)
    try:
        request = next(steps)
        while True:
            try:
                output = call(request)
            except StudentError as err:
                request = steps.throw(err)
            else:
                request = steps.send(output)
    except StopIteration:
        return
    finally:
        steps.close()


def require(condition: bool, message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``condition`` holds.

    Examples
    --------
    >>> require(True, "never shown")
    """
    if not condition:
        raise CheckFailed(message)


def as_array(value, what: str, shape=None) -> np.ndarray:
    """The student's ``value`` as a finite float64 array of ``shape``, else :class:`CheckFailed` naming ``what``.

    Examples
    --------
    >>> as_array([1, 2], "the result", (2,))
    array([1., 2.])
    """
    if isinstance(value, dict) and set(value) == {"unsupported"}:
        raise CheckFailed(f"{what} is not an array of numbers (a {value['unsupported']})")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise CheckFailed(f"{what} is not an array of numbers ({type(value).__name__}: {err})") from None
    if shape is not None and arr.shape != tuple(shape):
        raise CheckFailed(f"{what} has shape {arr.shape}; it should have shape {tuple(shape)}")
    if not np.all(np.isfinite(arr)):
        raise CheckFailed(f"{what} holds NaN or infinite values")
    return arr


def compare(got, expected, what: str, atol: float = 1e-9, rtol: float = 1e-7) -> None:
    """Raise :class:`CheckFailed` if ``got`` differs from ``expected`` beyond ``atol + rtol |expected|``.

    The message gives the shape or the size of the discrepancy, never ``expected`` itself.

    Examples
    --------
    >>> compare([1.0, 2.0], np.array([1.0, 2.0]), "the means")
    >>> try:
    ...     compare([1.0, 2.5], np.array([1.0, 2.0]), "the means")
    ... except CheckFailed as err:
    ...     print(err)
    the means: off by up to 0.5 (at index (1,))
    """
    got = as_array(got, what, np.shape(expected))
    err = np.abs(got - expected)
    bad = err > atol + rtol * np.abs(expected)
    if np.any(bad):
        where = np.unravel_index(np.argmax(np.where(bad, err, -1.0)), err.shape)
        raise CheckFailed(f"{what}: off by up to {float(err.max()):.3g} (at index {tuple(map(int, where))})")
