"""The student tutorials: the tutorials with the code of each exercise left out.

Under each equation the reference tutorials show the library's own source, in a code cell whose
only statement is ``show_source(refimpl.<name>)``. Where that source is what an exercise asks a
student to write, the student version of the tutorial replaces the cell by one line naming the
exercise ("You write this in exercise 1.1 ..."); every other cell (the prose, the equations, the
checks that call the library, the figures and their outputs) stays as it is. The reference
tutorials and the site keep showing everything.

Which library code answers which exercise comes from the course registry: an exercise's
``forbidden`` names are refimpl's own implementations of it, which a submission may not call.
They are resolved to the package's functions and methods, except

- classes (a class is forbidden where constructing it does the exercise's work, as
  ``CoupledPair`` builds the transposed generator; its methods that answer an exercise are
  forbidden by their own names), and
- the gradient checkers of :mod:`refimpl.gradcheck` (forbidden in tutorial 4 so that a
  gradient is not computed numerically, not because a student writes them).

A shown cell is left out for every exercise one of whose functions it overlaps (the same
lines of the same file), so showing a whole class hides it too when a method answers.

The student tutorials are written to ``build/student/`` (git-ignored) with the student
exercise sheets beside them, by ``python -m refimpl.course.make_exercises`` and by the main
job (``tutorial/build.py``); where the executed reference notebook ``tutorial/NN_*.ipynb``
is current, the student notebook keeps its outputs. :func:`leaks` is the check that none
of it shows an answer.
"""

from __future__ import annotations

import ast
import copy
import functools
import html
import importlib
import inspect
import json
import pkgutil
import re
import shutil
import textwrap
from pathlib import Path

from .exercises import EXERCISES
from .notebook import percent_to_ipynb

__all__ = ["STUDENT_DIR", "TUTORIAL_DIR", "answers", "build", "exclusive_answers", "exercises_shown", "leaks",
           "shown_object", "student_line", "student_notebook", "student_text"]

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL_DIR = ROOT / "tutorial"
STUDENT_DIR = ROOT / "build" / "student"
_NOT_ANSWERS = ("refimpl.course", "refimpl.gradcheck")  # modules whose forbidden names are not answers
_HEADER = re.compile(r"^# %%")


# ------------------------------------------------------------ which code answers which exercise
@functools.lru_cache(maxsize=1)
def _definitions() -> dict:
    """Name -> list of (dotted name, function) of every function and method defined in refimpl."""
    import refimpl

    found = {}
    modules = [refimpl] + [importlib.import_module(m.name) for m in pkgutil.walk_packages(refimpl.__path__, "refimpl.")
                           if not m.name.startswith(_NOT_ANSWERS)]
    for module in modules:
        if module.__name__.startswith(_NOT_ANSWERS):
            continue
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            func = inspect.unwrap(getattr(obj, "py_func", obj))  # a Numba kernel's Python source; a checked body
            if inspect.isfunction(func):
                found.setdefault(name, []).append((f"{module.__name__}.{name}", func))
            elif inspect.isclass(obj):
                for attr, value in vars(obj).items():
                    value = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                    value = inspect.unwrap(value)
                    if inspect.isfunction(value):
                        found.setdefault(attr, []).append((f"{module.__name__}.{obj.__name__}.{attr}", value))
    return found


def _private_callees(func, seen: dict) -> None:
    """Add to ``seen`` (dotted name -> function) the private refimpl functions ``func`` calls, recursively.

    The library code of an answer includes them: ``wake_value_and_grad`` does its work in ``_wake``.
    """
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.startswith("_"):
            callee = func.__globals__.get(node.func.id)
            callee = getattr(callee, "py_func", callee)
            if (inspect.isfunction(callee) and callee.__module__.startswith("refimpl.")
                    and not callee.__module__.startswith(_NOT_ANSWERS)):
                name = f"{callee.__module__}.{callee.__qualname__}"
                if name not in seen:
                    seen[name] = callee
                    _private_callees(callee, seen)


def answers() -> dict:
    """Exercise id -> tuple of (dotted name, function): the library code that answers it.

    The functions and methods named in the exercise's ``forbidden`` tuple, and the private
    functions of the package that they call.

    Examples
    --------
    >>> answers()["3.1"][0][0]
    'refimpl.coupled.transposed_generator'
    >>> "refimpl.learning._bernoulli" in dict(answers()["4.1"])
    True
    """
    found = _definitions()
    table = {}
    for ex in EXERCISES.values():
        seen = {}
        for name in ex.forbidden:
            for dotted, func in found.get(name, ()):
                seen.setdefault(dotted, func)
                _private_callees(func, seen)
        table[ex.id] = tuple(seen.items())
    return table


@functools.lru_cache(maxsize=None)
def exclusive_answers(ex_id: str) -> tuple:
    """The functions of ``answers()[ex_id]`` that no public function of the package outside the exercise needs.

    What the grader switches off while a submission of the exercise runs: a private helper that
    an allowed function also works in (``wake_value_and_grad``'s, for 4.3) stays.

    Examples
    --------
    >>> names = [f.__name__ for f in exclusive_answers("4.3")]
    >>> "_wake_sleep" in names, "_bernoulli" in names
    (True, False)
    """
    answering, forbidden = dict(answers()[ex_id]), set(EXERCISES[ex_id].forbidden)
    needed = set()  # a private helper is called only from its own module: only those modules are read
    for module in sorted({func.__module__ for func in answering.values()}):
        for name, dotted, helpers in _public_helpers(module):
            if name not in forbidden and dotted not in answering:
                needed.update(helpers)
    return tuple(func for dotted, func in answering.items() if dotted not in needed)


@functools.lru_cache(maxsize=None)
def _public_helpers(module: str) -> tuple:
    """(name, dotted name, the private helpers it works in) of every public function and method of ``module``."""
    out = []
    for name, defined in _definitions().items():
        if not name.startswith("_"):
            for dotted, func in defined:
                if func.__module__ == module:
                    helpers = {}
                    _private_callees(func, helpers)
                    out.append((name, dotted, frozenset(helpers)))
    return tuple(out)


def _span(obj):
    """(file, first line, last line) of ``obj``'s source."""
    obj = inspect.unwrap(obj.fget if isinstance(obj, property) else getattr(obj, "py_func", obj))
    lines, start = inspect.getsourcelines(obj)
    return Path(inspect.getsourcefile(obj)).resolve(), start, start + len(lines) - 1


def exercises_shown(obj, table=None) -> list:
    """The exercises whose answer shares source lines with ``obj`` (a function, method, property or class).

    Examples
    --------
    >>> import refimpl
    >>> [ex.id for ex in exercises_shown(refimpl.SigmoidBeliefNet.log_prob)]
    ['1.1']
    >>> exercises_shown(refimpl.SigmoidBeliefNet.sample)
    []
    """
    table = answers() if table is None else table
    path, first, last = _span(obj)
    hit = []
    for ex in EXERCISES.values():
        for _, func in table[ex.id]:
            other, start, end = _span(func)
            if other == path and start <= last and first <= end:
                hit.append(ex)
                break
    return hit


# ----------------------------------------------------------------------- the cells it replaces
def _dotted(node) -> str | None:
    """``"refimpl.a.b"`` for the expression ``refimpl.a.b``, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id == "refimpl":
        return ".".join(["refimpl"] + parts[::-1])
    return None


def _calls_show_source(tree) -> bool:
    return any(isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None))
               == "show_source" for node in ast.walk(tree))


def shown_object(code: str, where: str = "a cell"):
    """``(dotted name, object)`` if ``code`` is a cell ``show_source(refimpl.<name>)``, else None.

    Raises
    ------
    ValueError
        If the cell calls ``show_source`` in any other way (more statements, an argument not
        spelled ``refimpl.<name>``), or the name does not exist: such a cell cannot be checked,
        so the student build refuses it rather than let it show an answer.

    Examples
    --------
    >>> shown_object("show_source(refimpl.SigmoidBeliefNet.log_prob)")[0]
    'refimpl.SigmoidBeliefNet.log_prob'
    >>> shown_object("x = 1") is None
    True
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None  # not Python (a magic, say): it cannot show a source through show_source
    if not _calls_show_source(tree):
        return None
    body = tree.body
    call = body[0].value if len(body) == 1 and isinstance(body[0], ast.Expr) else None
    name = (_dotted(call.args[0]) if isinstance(call, ast.Call) and len(call.args) == 1
            and getattr(call.func, "id", getattr(call.func, "attr", None)) == "show_source" else None)
    if name is None:
        raise ValueError(f"{where} must have show_source(refimpl.<name>) as its only statement, so that "
                         f"the student build can tell what it shows; got:\n{code}")
    import refimpl

    obj = refimpl
    for part in name.split(".")[1:]:
        if not hasattr(obj, part):
            raise ValueError(f"{where} shows {name}, which does not exist ({part!r} not found).")
        obj = inspect.getattr_static(obj, part) if inspect.isclass(obj) else getattr(obj, part)
    obj = getattr(obj, "__func__", obj)  # staticmethod/classmethod found statically
    return name, obj


def student_line(name: str, exercises: list) -> str:
    """The one line that replaces the source of ``name`` answering ``exercises`` in a student tutorial.

    Examples
    --------
    >>> from refimpl.course.exercises import EXERCISES
    >>> print(student_line("refimpl.SigmoidBeliefNet.log_prob", [EXERCISES["1.1"]])[:78])
    *You write this in exercise 1.1, the complete-data log-probability (`log_prob`
    """
    parts = [f"{ex.id}, {ex.title} (`{ex.function}` in `{ex.notebook}`)" for ex in exercises]
    which = parts[0] if len(parts) == 1 else "; ".join(parts[:-1]) + "; and " + parts[-1]
    noun = "exercise" if len(parts) == 1 else "exercises"
    return f"*You write this in {noun} {which}: the source of `{name}` is left out here.*"


def _replacement(code: str, where: str, table) -> str | None:
    shown = shown_object(code, where)
    if shown is None:
        return None
    exercises = exercises_shown(shown[1], table)
    return student_line(shown[0], exercises) if exercises else None


def student_text(text: str, name: str = "tutorial", table=None) -> str:
    """The student version of the percent source ``text``: each answer's shown cell becomes one markdown line.

    Every other line of ``text`` is kept as it is, blank lines between cells included.
    """
    table = answers() if table is None else table
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _HEADER.match(line)] + [len(lines)]
    out = lines[: starts[0]]
    for number, (start, end) in enumerate(zip(starts[:-1], starts[1:], strict=True), 1):
        header, body = lines[start], lines[start + 1: end]
        kind = re.search(r"\[(\w+)\]", header)
        line = None if kind else _replacement("".join(body), f"{name}, cell {number}", table)
        if line is None:
            out += [header] + body
            continue
        blank = len(body) - max((i + 1 for i, b in enumerate(body) if b.strip()), default=0)
        out += ["# %% [markdown]\n", f"# {line}\n"] + body[len(body) - blank:]
    return "".join(out)


def student_notebook(nb: dict, name: str = "tutorial", table=None) -> dict:
    """A copy of the notebook ``nb`` (a dict, executed or not) with each answer's shown cell replaced.

    A replaced cell becomes a markdown cell holding the line of :func:`student_line` (its id
    kept, its outputs gone); every other cell is kept with its outputs.
    """
    table = answers() if table is None else table
    nb = copy.deepcopy(nb)
    for number, cell in enumerate(nb["cells"], 1):
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] != "code":
            continue
        line = _replacement(source, f"{name}, cell {number}", table)
        if line is not None:
            kept = {"id": cell["id"]} if "id" in cell else {}
            cell.clear()
            cell.update({"cell_type": "markdown", "metadata": {}, "source": line, **kept})
    return nb


# ------------------------------------------------------------------------------- the check
_CHECK_LINE = re.compile(r"^([\w, ]+=\s*)?(self\.|pair\.)?_?(check|as)_\w*\(")  # an argument check


def _meaningful(lines) -> list:
    """The lines of source worth finding: stripped; no blank line, comment, argument check or mere punctuation."""
    kept = []
    for line in lines:
        line = line.strip()
        if (len(line) >= 12 and not line.startswith("#") and re.search(r"[A-Za-z0-9_]", line)
                and not _CHECK_LINE.match(line)):
            kept.append(line)
    return kept


def notebook_lines(nb: dict) -> list:
    """Every line a reader can see in ``nb``: cell sources and textual outputs (HTML unescaped)."""
    texts = []
    for cell in nb["cells"]:
        texts.append("".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"])
        for out in cell.get("outputs", []):
            texts.append("".join(out.get("text", "")))
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/"):
                    texts.append(html.unescape("".join(value) if isinstance(value, list) else value))
    return "\n".join(texts).splitlines()


@functools.lru_cache(maxsize=1)
def _common_lines() -> frozenset:
    """Lines of code found in three or more functions of the package: idioms (argument checks, loops), no answer."""
    from refimpl.lab.display import show_source

    count = {}
    for entries in _definitions().values():
        for _, func in entries:
            try:
                code = show_source(func).code
            except (OSError, TypeError):  # no source (a compiled or generated function)
                continue
            for line in set(_meaningful(code.splitlines())):
                count[line] = count.get(line, 0) + 1
    return frozenset(line for line, n in count.items() if n >= 3)


def leaks(lines, table=None) -> list:
    """How an answer shows in ``lines`` (what a reader of a student tutorial sees), as messages.

    ``lines`` are the tutorial's lines (:func:`notebook_lines` for a notebook); each cell
    ``show_source(refimpl.<name>)`` still in them counts as the source it displays when run.
    An answer leaks if two of its lines of code appear (one, if it has only one), or its
    ``def`` line followed by the first line of its body. Only lines that say something count:
    not blank lines, comments, short lines (a ``return x``), argument checks, nor idioms found in three or more
    functions of the package (``rng = check_rng(rng)``, ``raise ValueError(``).
    """
    from refimpl.lab.display import show_source

    table = answers() if table is None else table
    seen = [line.strip() for line in lines]
    for line in list(seen):
        try:
            shown = shown_object(line) if line.startswith("show_source(") else None
        except ValueError:
            shown = None
        if shown is not None:
            seen += [s.strip() for s in show_source(shown[1]).code.splitlines()]
    visible = set(seen)
    following = set(zip(seen[:-1], seen[1:], strict=True))
    common = _common_lines()
    found = []
    for ex_id, entries in table.items():
        for name, func in entries:
            code = show_source(func).code.splitlines()
            body = [line for line in _meaningful(code) if line not in common]
            shown = [line for line in body if line in visible]
            definition = next((line.strip() for line in code if line.strip().startswith("def ")), "")
            after = next((line for line in body if line != definition), "")
            if len(shown) >= min(2, len(body)):
                found.append(f"{name} (exercise {ex_id}): {len(shown)} of its lines, first {shown[0]!r}")
            elif (definition, after) in following:
                found.append(f"{name} (exercise {ex_id}): its def line followed by its body")
    return found


# ------------------------------------------------------------------------------- the build
def _cells_of(text: str) -> list:
    """(kind, stripped source) of the cells of a percent source, as jupytext reads them."""
    lines = text.splitlines()
    if lines and lines[0].strip() == "# ---":
        lines = lines[lines.index("# ---", 1) + 1:]
    cells, kind, body = [], None, None
    for line in lines + ["# %% end"]:
        if _HEADER.match(line):
            if body is not None:
                source = "\n".join(re.sub(r"^# ?", "", b) if kind == "markdown" else b for b in body).strip()
                if source or kind == "markdown":
                    cells.append((kind, source))
            kind, body = ("markdown" if "[markdown]" in line else "code"), []
        elif body is not None:
            body.append(line)
    return cells


def current_notebook(source: Path):
    """The executed reference notebook beside ``source`` if it was built from ``source`` as it is now, else None."""
    path = source.with_suffix(".ipynb")
    if not path.is_file():
        return None
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = [(c["cell_type"], ("".join(c["source"]) if isinstance(c["source"], list) else c["source"]).strip())
                 for c in nb["cells"]]
    except (ValueError, KeyError, TypeError):
        return None
    return nb if cells == _cells_of(source.read_text(encoding="utf-8")) else None


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def build(out_dir=STUDENT_DIR, tutorial_dir=TUTORIAL_DIR, sheets_dir=None) -> list:
    """Write the student tutorials (``NN_*.py`` and ``NN_*.ipynb``) and copies of the sheets into ``out_dir``.

    Returns ``(path, note)`` for each file written; the note says whether a notebook carries
    the outputs of the executed reference notebook (when that is current) or none. Raises
    ``ValueError`` if a written file would show an answer (see :func:`leaks`).
    """
    out_dir, tutorial_dir = Path(out_dir), Path(tutorial_dir)
    sheets_dir = tutorial_dir / "exercises" if sheets_dir is None else Path(sheets_dir)
    table = answers()
    written = []
    for source in sorted(tutorial_dir.glob("[0-9][0-9]_*.py")):
        text = student_text(source.read_text(encoding="utf-8"), source.name, table)
        executed = current_notebook(source)
        if executed is None:
            nb, note = json.loads(percent_to_ipynb(text)), "not executed: tutorial/build.py adds the outputs"
        else:
            nb, note = student_notebook(executed, source.stem, table), "with the reference notebook's outputs"
        for what, lines in ((source.name, text.splitlines()), (source.stem + ".ipynb", notebook_lines(nb))):
            found = leaks(lines, table)
            if found:
                raise ValueError(f"the student version of {what} would show an answer: " + "; ".join(found))
        written.append((_write(out_dir / source.name, text), "percent source"))
        written.append((_write(out_dir / (source.stem + ".ipynb"),
                               json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"), note))
    for sheet in sorted(sheets_dir.glob("ex[0-9][0-9]_*.ipynb")):
        target = out_dir / "exercises" / sheet.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sheet, target)
        written.append((target, "exercise sheet"))
    return written


def relative(path: Path) -> str:
    """``path`` relative to the project when it is inside it (no machine path in what is printed)."""
    try:
        return Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return Path(path).name
