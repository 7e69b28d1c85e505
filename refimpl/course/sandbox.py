"""The grading process's walls: what a student's code cannot do while it is graded.

Used only in the child process that runs a submission (:mod:`refimpl.course.worker`),
after the submission is read and before any of its code runs:

- :func:`guard_forbidden` switches off, in every ``refimpl`` module and class, the library's
  own implementation of the exercise (its ``forbidden`` names): their code is replaced by a
  ``raise``, so every route to them fails, however the submission reached them (a name built
  at run time, a default argument, an alias, another library function that calls them, a
  call made from numpy or from a thread). The child never needs them: the grader computes
  what it expects in its own process;
- :func:`install` adds an audit hook (:pep:`578`; it can be neither removed nor switched off,
  its state being its own closure's) that refuses, to the
  submission's code: opening, listing or changing files; starting or signalling processes;
  sockets; loading C libraries; reading frames, code objects, the heap (``gc``), running or
  compiling code from strings. Libraries may still read their own installed files (a lazy
  import, Numba's cache), but not the package's sources, the solutions or anything outside
  the Python installation.

These walls back up the grader's static reading of the submission
(:func:`refimpl.course.notebook.extract_definitions`) and its design: the child only ever
returns outputs for inputs the grader made, and the grader judges them in its own process,
so the worst a submission can do to its own grade is to be wrong.
"""

from __future__ import annotations

import inspect
import os
import site
import sys
import sysconfig
from pathlib import Path

from .notebook import ALLOWED_IMPORTS

__all__ = ["FORBIDDEN_MARK", "guard_forbidden", "install"]

#: the text of the error a switched-off implementation raises; the worker reports the outcome "forbidden"
FORBIDDEN_MARK = "refimpl's own implementation of this exercise is switched off while it is graded"
_PACKAGE = str(Path(__file__).resolve().parents[1])  # refimpl/
_COURSE = str(Path(__file__).resolve().parent)
_SUBMISSION_MARK = ", code cell "
_ALWAYS_DENIED = ("os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty", "subprocess.Popen",
                  "pty.spawn", "os.kill", "os.killpg", "signal.pthread_kill", "os.startfile", "socket.", "os.setsid",
                  "os.setpgid", "builtins.input", "builtins.breakpoint", "sys.addaudithook", "os.chroot")
_DENIED_TO_SUBMISSION = ("os.listdir", "os.scandir", "glob.glob", "os.remove", "os.rename", "os.rmdir", "os.mkdir",
                         "os.chmod", "os.chown", "os.link", "os.symlink", "os.truncate", "os.utime", "os.chdir",
                         "os.setxattr", "os.removexattr",
                         "os.putenv", "os.unsetenv", "shutil.", "ctypes.dlopen", "ctypes.dlsym", "gc.get_",
                         "sys._getframe", "sys._current_frames", "sys.settrace", "sys.setprofile", "sys.monitoring",
                         "object.__getattr__", "object.__setattr__", "object.__delattr__", "marshal.", "pickle.",
                         "exec", "compile", "code.__new__", "function.__new__", "import", "cpython.",
                         "_thread.start_new_thread", "os.register_at_fork", "sys._current_exceptions")
_FILE_CHANGES = ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.truncate", "os.utime")


def _library_roots() -> tuple:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sysconfig.get_paths()["stdlib"]}
    roots.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    return tuple(sorted(str(Path(r).resolve()) + os.sep for r in roots if r))


def _stdlib() -> str:
    return str(Path(sysconfig.get_paths()["stdlib"]).resolve()) + os.sep


_ROOTS = _library_roots()
_STDLIB = _stdlib()


def _from_submission(frame, stdlib_is_library: bool = False) -> bool:
    """Whether the innermost library-or-submission frame from ``frame`` outwards is the submission's.

    Frames of the standard library are passed over (a submission calling ``ctypes`` is still the
    submission), unless ``stdlib_is_library`` (``dataclasses`` may compile code of its own).
    """
    while frame is not None:
        name = frame.f_code.co_filename
        if _SUBMISSION_MARK in name and name.startswith("<"):
            return True
        if name.startswith(_COURSE):
            return False  # the grader's own code (the worker running the definitions)
        is_stdlib = name.startswith(_STDLIB) and "site-packages" not in name
        if (not is_stdlib or stdlib_is_library) and not name.startswith("<"):
            return False
        frame = frame.f_back
    return False


def _path_of(value) -> str | None:
    if isinstance(value, int):
        return None
    try:
        return str(Path(os.fsdecode(value)).resolve())
    except (TypeError, ValueError, OSError):
        return ""


def _library_may_read(path: str) -> bool:
    if path.startswith(_PACKAGE + os.sep):  # the package's sources: only Numba's cache under __pycache__
        return f"{os.sep}__pycache__{os.sep}" in path and path.endswith((".nbi", ".nbc"))
    return path.startswith(_ROOTS)


def _cache_path(path: str) -> bool:
    return f"{os.sep}__pycache__{os.sep}" in path or path.endswith(f"{os.sep}__pycache__")


def _is_write(args) -> bool:
    mode = args[1] if len(args) > 1 else None
    flags = args[2] if len(args) > 2 else 0
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return True
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    return isinstance(flags, int) and mode is None and bool(flags & write_flags)


def _check_event(event: str, args, busy: list) -> None:
    """Refuse ``event`` to the submission (called by the hook: the event's frame is two up)."""
    if event.startswith(_ALWAYS_DENIED):
        raise PermissionError(f"the grader does not let a submission do this ({event})")
    if event == "open":
        path = _path_of(args[0])
        if path is None:
            return
        busy.append(True)
        try:
            student = _from_submission(sys._getframe(2))
        finally:
            busy.pop()
        if student or path == "" or (_is_write(args) and not _cache_path(path)) or not (
                _is_write(args) or _library_may_read(path)):
            raise PermissionError("the grader does not let a submission open files")
        return
    if event.startswith(_DENIED_TO_SUBMISSION):
        busy.append(True)
        try:
            student = _from_submission(sys._getframe(2), stdlib_is_library=event in ("exec", "compile"))
            if event == "import" and not student:
                return
            if event == "import":
                root = str(args[0]).split(".")[0]
                if root in ALLOWED_IMPORTS and not str(args[0]).startswith("refimpl.course"):
                    return
        finally:
            busy.pop()
        if student:
            raise PermissionError(f"the grader does not let a submission do this ({event})")
        if event.startswith(_FILE_CHANGES):
            path = _path_of(args[0]) if args else ""
            if path is not None and not _cache_path(path or ""):
                raise PermissionError(f"the grader does not let a submission do this ({event})")


def install() -> None:
    """Add the audit hook: from now on the walls of the module docstring stand, for good.

    Its state lives in the hook's own closure, which no name in any module reaches, and an audit
    hook can be neither listed nor removed; the rules it runs are those of a copy of this module
    that no registry holds, so rebinding a name of this module (``_from_submission``, say) changes
    nothing either.
    """
    import importlib.util

    spec = importlib.util.find_spec(__name__)
    private = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(private)
    check, busy = private._check_event, []

    def hook(event, args):
        if not busy:
            check(event, args, busy)

    sys.addaudithook(hook)


def _switched_off(*args, **kwargs):  # its code replaces theirs: it may use builtins only
    raise PermissionError("refimpl's own implementation of this exercise is switched off while it is graded")


def _switch_off(value):
    """Make the function ``value`` raise from now on, wherever it is referenced; return what to bind instead.

    A plain function gets the body of :func:`_switched_off` (its own code is dropped, so no
    reference to the function, an alias or a default argument, reaches it any more); a Numba
    kernel loses its compiled code too.
    """
    target = inspect.unwrap(getattr(value, "py_func", value))  # a checked entry point: its body
    if inspect.isfunction(target) and not target.__code__.co_freevars:
        target.__code__, target.__defaults__, target.__kwdefaults__ = _switched_off.__code__, None, None
    overloads = getattr(value, "overloads", None)
    if overloads is not None:
        overloads.clear()
        value._can_compile = False
    return _switched_off


def guard_forbidden(names, functions=()) -> int:
    """Switch off every ``refimpl`` function and method named in ``names``, and each of ``functions``; return how many.

    The child never needs them: the grader computes every expected value in its own process.
    Classes themselves are left (the library checks ``isinstance`` against them); their methods
    of those names are switched off.
    """
    names, count = set(names), 0
    modules = [m for key, m in list(sys.modules.items())
               if key.split(".")[0] == "refimpl" and not key.startswith("refimpl.course") and m is not None]
    for module in modules:
        for attr, value in list(vars(module).items()):
            if attr in names and callable(value) and not inspect.isclass(value):
                setattr(module, attr, _switch_off(value))
                count += 1
            if inspect.isclass(value) and str(getattr(value, "__module__", "")).startswith("refimpl"):
                for meth, member in list(vars(value).items()):
                    if meth in names and (inspect.isfunction(member) or isinstance(member, property)):
                        target = member.fget if isinstance(member, property) else member
                        stub = _switch_off(target)
                        setattr(value, meth, property(stub) if isinstance(member, property) else stub)
                        count += 1
    for func in functions:
        _switch_off(func)
        count += 1
    return count
