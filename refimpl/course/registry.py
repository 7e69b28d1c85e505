"""The types of the course: an exercise, a check, and the failure a check reports.

An exercise asks for one function of the method. Its checks each open with a
sentence ("Check that ..."), are worth some points, and call the student's function
on inputs built from fixed seeds. A check that finds something wrong raises
:class:`CheckFailed` with a message that names the quantity that is off and by how
much, never the expected value.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

__all__ = ["Check", "CheckFailed", "Exercise", "as_array", "compare", "require"]


class CheckFailed(Exception):
    """A check found the student's answer wrong; the message says what is off, not the answer."""


class Check(NamedTuple):
    """One graded check of an exercise.

    Attributes
    ----------
    sentence : str
        What it checks, opening with "Check that".
    points : int
        Points it is worth.
    run : callable
        ``run(func)`` calls the student's function ``func``; it returns on success and
        raises :class:`CheckFailed` (or lets the student's own exception through) on failure.
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
