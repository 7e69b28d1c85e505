"""What the two commands share: argument types built on :mod:`refimpl._validation`, and one-line errors.

Exit statuses of ``python -m refimpl.lab.train`` and ``python -m refimpl.lab.experiment``:
0 on success; 2 for a wrong argument (one line, before anything is written
where the value alone is wrong); 1 when a run fails (network, disk, memory,
a diverging objective); 130 on Ctrl-C, with a line saying how to resume.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys

__all__ = ["Parser", "arg_type", "command_line", "either", "int_list", "parse_args", "run", "str_list"]


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block) and exit status 2."""

    def error(self, message):
        # "argument --lr: --lr must be ..." -> "--lr must be ..."
        message = re.sub(r"^argument (\S+): \1 ", r"\1 ", message)
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def int_list(text: str) -> tuple:
    """``"784,500,10"`` -> ``(784, 500, 10)``."""
    return tuple(int(part) for part in text.split(","))


def str_list(text: str) -> tuple:
    """``"L0,L1"`` -> ``("L0", "L1")``."""
    return tuple(text.split(","))


def arg_type(option: str, check, *args, parse=float, **kwargs):
    """An argparse ``type``: ``parse`` the text, then ``check(value, option, *args, **kwargs)``.

    ``check`` is one of the functions of :mod:`refimpl._validation` (or built on
    them), so the command line and the Python API word their messages alike.

    Examples
    --------
    >>> from refimpl._validation import check_positive_int
    >>> arg_type("--epochs", check_positive_int, parse=int)("3")
    3
    >>> arg_type("--epochs", check_positive_int, parse=int)("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: --epochs must be an integer >= 1; got 0.
    """
    what = {int: "an integer", float: "a number", int_list: "comma-separated integers"}.get(parse, "valid")

    def convert(text):
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} must be {what}; got {text!r}.") from None
        try:
            return check(value, option, *args, **kwargs)
        except (ValueError, TypeError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def either(words) -> str:
    """``("L2", "L2u", "S2")`` -> ``"L2, L2u or S2"``."""
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def parse_args(parser: argparse.ArgumentParser, argv):
    """``parser.parse_args(argv)``, or the exit status if it printed help (0) or an error (2)."""
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0


def command_line(prog: str, argv) -> str:
    """The command as a user would type it again (``argv`` None: ``sys.argv[1:]``)."""
    return shlex.join([*prog.split(), *(sys.argv[1:] if argv is None else argv)])


def run(prog: str, body, on_interrupt) -> int:
    """Call ``body()`` and return its exit status; report its failure in one line on stderr.

    Parameters
    ----------
    prog : str
        The command, as messages start with it.
    body : callable
        Does the work; returns the exit status.
    on_interrupt : callable
        Returns the text after "interrupted; " on Ctrl-C (what is kept and how to resume).
    """
    try:
        return body()
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; {on_interrupt()}", file=sys.stderr)
        return 130
    except (ValueError, TypeError, FileNotFoundError) as exc:  # wrong arguments, data or checkpoints
        status, problem = 2, exc
    except MemoryError as exc:
        status, problem = 1, f"out of memory ({exc or 'MemoryError'}); use smaller --sizes or --batch-size"
    except (OSError, RuntimeError) as exc:  # network, disk, a diverging run
        status, problem = 1, exc
    print(f"{prog}: error: {' '.join(str(problem).split())}", file=sys.stderr)
    return status
