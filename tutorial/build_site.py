"""Build the course as a static site that works offline: ``build/site/index.html``.

The site holds the five executed tutorials (with their figures), the syllabus
(``tutorial/README.md``), the exercises (whatever ``.ipynb`` and ``.md`` files
``tutorial/exercises/`` holds), the project's README, an API reference generated
from the docstrings (numpydoc), and a page that maps each equation label to the
functions that compute it and the tests that check it, with the tests' source.

It stages those sources in ``build/site-src/`` and runs Sphinx (myst-nb renders the
notebooks as they were executed; nothing is executed here). MathJax is a local copy
from the ``sphinx-mathjax-offline`` package: no page asks any other host for anything.
Each tag ``\\tag{M3}`` links to the API entry of the function that computes it, and a
line under the equation links all of its functions and tests (``tutorial/site/refimpl_labels.py``).

Usage::

    python tutorial/build_site.py                      # after tutorial/build.py
    python tutorial/build_site.py --notebooks DIR --out DIR

``tutorial/build.py`` calls it at its end, so the main job builds the site.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import io
import os
import pkgutil
import re
import shutil
import sys
import textwrap
import time
import warnings as python_warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONF_DIR = HERE / "site"
DEFAULT_OUT = ROOT / "build" / "site"
TUTORIAL_GLOB = "[0-9][0-9]_*.py"
EXERCISE_SUFFIXES = (".ipynb", ".md")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg")

_LINK = re.compile(r"(!?\[[^\]]*\]\()(<?)([^)\s>]+)(>?)((?:\s+\"[^\"]*\")?\))")
_HTML_SRC = re.compile(r"((?:src|href)=\")([^\"]+)(\")")
TAG = re.compile(r"\\tag\{([^{}]*)\}")
DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


# ----------------------------------------------------------------------------- the label map
def _labels_module():
    spec = importlib.util.spec_from_file_location("refimpl_site_labels", ROOT / "tests" / "test_labels.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _test_anchor(test_id: str) -> str:
    """Reference name of a test on the equations page: ``tests/test_sbn.py::test_m3_x`` -> ``test-...``."""
    return "test-" + re.sub(r"[^a-z0-9]+", "-", test_id.lower()).strip("-")


def label_map(root: Path = ROOT) -> dict[str, dict]:
    """label -> {"tutorials", "functions", "tests": [[test id, reference name]]}, from ``tests/test_labels.py``.

    ``tutorials`` are the sources that tag the label; ``stage_sources`` adds ``docs``, the staged
    tutorials whose notebook tags it (where the site puts the equation's anchor).
    """
    found = {}
    for label, tutorials, functions, counting, _others in _labels_module().label_map(root):
        found[label] = {"tutorials": list(tutorials), "functions": _primary_first(functions),
                        "tests": [[t, _test_anchor(t)] for t in counting]}
    return found


def _module_of(name: str) -> str:
    module = importlib.import_module("refimpl")
    parts = name.split(".")
    for i in range(2, len(parts) + 1):
        candidate = ".".join(parts[:i])
        try:
            module = importlib.import_module(candidate)
        except ImportError:
            break
    return module.__name__


def _primary_first(functions: list[str]) -> list[str]:
    """The functions of one label, the one its tag links to first.

    Lesson modules before the lab and the course, then the module with most functions of the
    label, public names before private ones; otherwise in source order.
    """
    modules = [_module_of(f) for f in functions]
    count = {m: modules.count(m) for m in modules}

    def key(item):
        i, (name, module) = item
        aside = module.split(".")[1:2] in (["lab"], ["course"])
        private = any(part.startswith("_") for part in name.split("."))
        return aside, -count[module], modules.index(module), private, i

    return [name for _, (name, _m) in sorted(enumerate(zip(functions, modules, strict=True)), key=key)]


def _test_source(test_id: str, root: Path = ROOT) -> str:
    """The source text of a test given as ``tests/file.py::name`` or ``tests/file.py::Class::name``."""
    path, *names = test_id.split("::")
    text = (root / path).read_text(encoding="utf-8")
    body = ast.parse(text).body
    node = None
    for name in names:
        node = next((n for n in body if getattr(n, "name", None) == name), None)
        if node is None:
            return ""
        body = getattr(node, "body", [])
    lines = text.splitlines()
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return textwrap.dedent("\n".join(lines[start - 1:node.end_lineno]))


# ----------------------------------------------------------------------------- links of staged markdown
class Stage:
    """The staging folder: sources copied in, their relative links pointed at what the site has."""

    def __init__(self, folder: Path, modules: list[str]):
        self.folder = folder
        self.modules = set(modules)
        self.docs: dict[Path, Path] = {}  # project file -> staged document

    def add(self, origin: Path, staged: str) -> Path:
        target = self.folder / staged
        self.docs[origin.resolve()] = target
        return target

    def _target(self, origin: Path, staged: Path, link: str) -> str | None:
        """Where ``link`` (relative to ``origin``) points in the site, or None for nowhere."""
        if _SCHEME.match(link) or link.startswith(("#", "/")):
            return link
        path, hashmark, fragment = link.partition("#")
        project_file = (origin.parent / path).resolve()
        rel = os.path.relpath
        if project_file in self.docs:
            return rel(self.docs[project_file], staged.parent) + hashmark + fragment
        if project_file.suffix == ".py" and project_file.with_suffix(".ipynb") in self.docs:
            return rel(self.docs[project_file.with_suffix(".ipynb")], staged.parent) + hashmark + fragment
        if project_file.is_dir() and project_file / "README.md" in self.docs:
            return rel(self.docs[project_file / "README.md"], staged.parent)
        try:
            inside = project_file.relative_to(ROOT)
        except ValueError:
            return link
        if inside.suffix == ".py" and inside.parts[0] == "refimpl":
            module = ".".join(inside.with_suffix("").parts).removesuffix(".__init__")
            if module in self.modules:
                return rel(self.folder / "api" / f"{module}.rst", staged.parent)
        if inside.parts[0] == "tests":
            return rel(self.folder / "equations.rst", staged.parent)
        if project_file.is_file() and project_file.suffix.lower() in IMAGE_SUFFIXES:
            copy = self.folder / "_files" / inside
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(project_file, copy)
            return rel(copy, staged.parent)
        return None  # a file the site does not publish (a solution, the teacher's notes, ...)

    def _link(self, match, origin: Path, staged: Path) -> str:
        target = self._target(origin, staged, match[3])
        if target is not None:
            return match[1] + match[2] + target + match[4] + match[5]
        return match[0] if match[1].startswith("!") else match[1][1:-2]  # keep the words, drop the link

    def rewrite(self, text: str, origin: Path, staged: Path) -> str:
        """Point the relative links (markdown and html src/href) of ``text`` at the staged files.

        A link to a project file the site does not publish keeps its words and loses the link.
        """
        text = _LINK.sub(lambda m: self._link(m, origin, staged), text)
        return _HTML_SRC.sub(lambda m: m[1] + (self._target(origin, staged, m[2]) or m[2]) + m[3], text)

    def write_markdown(self, origin: Path, staged: Path) -> None:
        staged.parent.mkdir(parents=True, exist_ok=True)
        staged.write_text(self.rewrite(origin.read_text(encoding="utf-8"), origin, staged), encoding="utf-8")

    def write_notebook(self, origin: Path, staged: Path, notebook=None) -> None:
        import nbformat

        nb = notebook if notebook is not None else nbformat.read(origin, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = self.rewrite(cell.source, origin, staged)
        staged.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, staged)


# ----------------------------------------------------------------------------- generated pages
def modules() -> list[str]:
    """Every module of the refimpl package, the package first, private modules included."""
    import refimpl

    names = ["refimpl"] + sorted(m.name for m in pkgutil.walk_packages(refimpl.__path__, "refimpl."))
    return [n for n in names if not n.endswith("__main__")]


def _heading(text: str, char: str = "=") -> str:
    return f"{text}\n{char * len(text)}\n"


def api_pages(stage: Path, names: list[str], labels: dict[str, dict]) -> None:
    """``api/index.rst`` and one page per module; a labelled function outside ``__all__`` is added by name."""
    api = stage / "api"
    api.mkdir(parents=True, exist_ok=True)
    groups = {"The lesson": [], "The course": [], "The lab": []}
    for n in names:
        part = n.split(".")[1] if n.count(".") else ""
        groups["The course" if part == "course" else "The lab" if part == "lab" else "The lesson"].append(n)
    index = [_heading("API reference"),
             "Generated from the docstrings (numpydoc). A docstring's ``Equation:`` line links to the "
             "equation in its tutorial and to the tests that check it.\n"]
    for caption, group in ((c, g) for c, g in groups.items() if g):
        index += [".. toctree::", f"   :caption: {caption}", "   :maxdepth: 1", ""]
        index += [f"   {n}" for n in group] + [""]
    (api / "index.rst").write_text("\n".join(index), encoding="utf-8")

    labelled = {name for entry in labels.values() for name in entry["functions"]}
    for name in names:
        module = importlib.import_module(name)
        public = getattr(module, "__all__", None)
        page = [_heading(name)]
        if hasattr(module, "__path__"):  # a package: its docstring, and its public names linked to their homes
            page += [f".. automodule:: {name}", "   :no-members:", ""]
            if public:
                page += [".. rubric:: Public names", ""]
                for attr in public:
                    obj = getattr(module, attr)
                    home = getattr(obj, "__module__", name)
                    page.append(f"- :py:obj:`{attr} <{home}.{attr}>`" if home != name else f"- ``{attr}``")
                page.append("")
        else:
            page += [f".. automodule:: {name}", ""]
            extra = [q for q in sorted(labelled) if q.startswith(name + ".") and q.count(".") > name.count(".")
                     and not _documented_by_members(q[len(name) + 1:].split("."), public)]
            entries = [(q, _directive(module, q[len(name) + 1:].split("."))) for q in extra]
            entries = [(q, kind) for q, kind in entries if kind]
            if entries:
                page += [".. rubric:: Further functions that compute a labelled equation", ""]
                page += [f".. {kind}:: {qualified}\n" for qualified, kind in entries]
        (api / f"{name}.rst").write_text("\n".join(page), encoding="utf-8")


def _documented_by_members(parts: list[str], public) -> bool:
    """Whether ``automodule :members:`` documents the object at ``parts`` (inside its module)."""
    if any(p.startswith("_") for p in parts):
        return False
    return parts[0] in public if public is not None else True


def _directive(module, parts: list[str]) -> str | None:
    """The autodoc directive for the object at ``parts`` in ``module``, or None if it is not reachable."""
    obj = module
    for part in parts:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    if isinstance(obj, type):
        return "autoclass"
    return "automethod" if len(parts) > 1 else "autofunction"


def equations_page(stage: Path, labels: dict[str, dict]) -> None:
    """``equations.rst``: per label, the tutorial's equation (rendered), the functions and each test with its source."""
    out = [_heading("Equations, functions and tests"),
           "Every equation a tutorial states carries a label; the functions whose docstring says "
           "``Equation: <label>`` compute it, and the tests named ``test_<label>_...`` check it "
           "(``tests/test_labels.py`` keeps the three in step). Below, each label with the source of its tests.\n"]
    for label, entry in labels.items():
        out += [f".. _{'tests-' + label.lower()}:", "", _heading(label, "-")]
        if entry.get("latex"):
            out += _math_directive(entry["latex"], label)
        if entry["docs"]:
            where = ", ".join(f":doc:`{d}`" for d in entry["docs"])
            out.append(f"Stated in {where} (:ref:`the equation <eq-{label.lower()}>`).\n")
        if entry["functions"]:
            out.append("Computed by " + ", ".join(f":py:obj:`{f}`" for f in entry["functions"]) + ".\n")
        if not entry["tests"]:
            out.append("No test is named after it.\n")
        for test_id, ref in entry["tests"]:
            source = _test_source(test_id)
            out += [f".. _{ref}:", "", f".. rubric:: ``{test_id}``", ""]
            if source:
                out += [".. code-block:: python", ""] + [("   " + s).rstrip() for s in source.splitlines()] + [""]
    (stage / "equations.rst").write_text("\n".join(out), encoding="utf-8")


def _math_directive(latex: str, label: str) -> list[str]:
    """An rst ``math`` block showing the tutorial's equation ``latex`` (its ``\\tag`` kept as the label)."""
    body = TAG.sub("", latex).strip()
    if "\\\\" in body:  # several lines: split, as Sphinx does (\tag stays outside it)
        body = rf"\begin{{split}}{body}\end{{split}}"
    lines = rf"\[{body} \tag{{{label}}}\]".splitlines()
    return [".. math::", "   :nowrap:", ""] + [("   " + line).rstrip() for line in lines] + [""]


def tagged_equations(markdown: str) -> dict[str, str]:
    """label -> the display equation ``$$ ... \\tag{label} ... $$`` of ``markdown`` (the first, if several)."""
    found = {}
    for block in DISPLAY_MATH.findall(markdown):
        tag = TAG.search(block)
        if tag:
            found.setdefault(tag.group(1).strip(), block.strip())
    return found


def index_page(stage: Path, tutorials: list[str], syllabus: str | None, exercises: list[str]) -> None:
    """``index.md``: the course (syllabus, tutorials), the exercises and the reference, each a toctree."""
    course = ([syllabus] if syllabus else []) + tutorials
    text = [
        "# Generative learning for deep networks",
        "",
        "A course built on the reference implementation of B. Flach, A. Shekhovtsov, O. Fikar, "
        "*Generative learning for deep networks*, arXiv:1709.08524 (2017): a sigmoid belief network, "
        "the forward pass of a deep network as approximate inference, the generator by transposition, "
        "learning the pair, and the experiment. Every tutorial here is shown as executed by "
        "`tutorial/build.py`; each labelled equation links to the function that computes it and to "
        "the tests that check it.",
        "",
        "```{toctree}", ":caption: The course", ":maxdepth: 1", "", *course, "```", "",
    ]
    if exercises:
        text += ["```{toctree}", ":caption: Exercises", ":maxdepth: 1", "", *exercises, "```", ""]
    text += ["```{toctree}", ":caption: Reference", ":maxdepth: 1", "",
             "api/index", "equations", "project", "```", ""]
    (stage / "index.md").write_text("\n".join(text), encoding="utf-8")


# ----------------------------------------------------------------------------- the build
def tutorial_sources() -> list[Path]:
    """The tutorials' sources ``tutorial/NN_*.py``, in order."""
    return sorted(HERE.glob(TUTORIAL_GLOB))


def missing_notebooks(notebooks: Path = HERE) -> list[Path]:
    """The executed notebooks the site needs that ``notebooks`` lacks."""
    return [notebooks / s.with_suffix(".ipynb").name for s in tutorial_sources()
            if not (notebooks / s.with_suffix(".ipynb").name).exists()]


def exercise_files() -> list[Path]:
    """The exercise pages: every ``.ipynb`` and ``.md`` under ``tutorial/exercises/``, its README first."""
    folder = HERE / "exercises"
    if not folder.is_dir():
        return []
    files = [p for p in folder.rglob("*") if p.is_file() and p.suffix in EXERCISE_SUFFIXES
             and ".ipynb_checkpoints" not in p.parts]
    readme = [p for p in files if p.name.lower() == "readme.md" and p.parent == folder]
    return readme + sorted(p for p in files if p not in readme)


def stage_sources(stage: Path, notebooks: Path) -> dict:
    """Copy every page's source into ``stage`` (emptied first) and write the generated pages."""
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    names = modules()
    labels = label_map()
    staging = Stage(stage, names)

    tutorials = []
    for source in tutorial_sources():
        staged = staging.add(source.with_suffix(".ipynb"), source.with_suffix(".ipynb").name)
        staging.docs[source.resolve()] = staged
        tutorials.append(source.stem)
    syllabus = HERE / "README.md"
    if syllabus.exists():
        staging.add(syllabus, "syllabus.md")
    exercises = exercise_files()
    for path in exercises:
        staging.add(path, str(path.relative_to(HERE)))
    staging.add(ROOT / "README.md", "project.md")

    for source in tutorial_sources():
        nb = notebooks / source.with_suffix(".ipynb").name
        staging.write_notebook(source.with_suffix(".ipynb"), staging.docs[source.resolve()], _read(nb))
    if syllabus.exists():
        staging.write_markdown(syllabus, stage / "syllabus.md")
    for path in exercises:
        staged = staging.docs[path.resolve()]
        if path.suffix == ".ipynb":
            staging.write_notebook(path, staged)
        else:
            staging.write_markdown(path, staged)
    staging.write_markdown(ROOT / "README.md", stage / "project.md")

    for entry in labels.values():  # where the site states each equation: the tags of the staged tutorials
        entry["docs"] = []
    for source in tutorial_sources():
        staged = _read(staging.docs[source.resolve()])
        text = "\n".join(c.source for c in staged.cells if c.cell_type == "markdown")
        for label in sorted({t.strip() for t in TAG.findall(text)}):
            if label in labels:
                labels[label]["docs"].append(source.stem)
        for label, latex in tagged_equations(text).items():
            if label in labels:
                labels[label].setdefault("latex", latex)
    api_pages(stage, names, labels)
    equations_page(stage, labels)
    exercise_docs = [str(p.relative_to(HERE).with_suffix("")) for p in exercises]
    index_page(stage, tutorials, "syllabus" if syllabus.exists() else None, exercise_docs)
    return labels


def _read(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def build_site(out: Path = DEFAULT_OUT, notebooks: Path = HERE, quiet: bool = False) -> tuple[Path, list[str]]:
    """Stage the sources next to ``out`` and build the HTML site into ``out``.

    Returns the path of ``index.html`` and Sphinx's warnings (one string each).
    """
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    out, notebooks = Path(out).resolve(), Path(notebooks).resolve()
    missing = missing_notebooks(notebooks)
    if missing:
        raise FileNotFoundError("the site needs the executed notebooks; run tutorial/build.py first. Missing: "
                                + ", ".join(p.name for p in missing))
    stage = out.parent / (out.name + "-src")
    labels = stage_sources(stage, notebooks)
    if out.exists():
        shutil.rmtree(out)
    warnings = io.StringIO()
    with docutils_namespace(), python_warnings.catch_warnings():
        # Sphinx's and the theme's deprecation notices are for their authors, not errors of this build.
        python_warnings.simplefilter("ignore", DeprecationWarning)
        python_warnings.simplefilter("ignore", PendingDeprecationWarning)
        app = Sphinx(str(stage), str(CONF_DIR), str(out), str(stage / ".doctrees"), "html",
                     confoverrides={"refimpl_label_map": labels}, status=None if quiet else sys.stdout,
                     warning=warnings, freshenv=True, keep_going=True)
        app.build()
    text = re.sub(r"\x1b\[[0-9;]*m", "", warnings.getvalue())  # no colour codes
    found = [w.strip() for w in text.split("\n") if "WARNING" in w or "ERROR" in w]
    return out / "index.html", found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", type=Path, default=HERE, help="folder of the executed NN_*.ipynb")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the site's folder (default build/site)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        index, warnings = build_site(args.out, args.notebooks, quiet=True)
    except FileNotFoundError as err:
        print(f"site not built: {err}", file=sys.stderr)
        return 2
    for warning in warnings:
        print(f"  warning: {warning}", file=sys.stderr)
    shown = os.path.relpath(index, Path.cwd()) if index.is_relative_to(Path.cwd()) else index
    print(f"built the site in {time.perf_counter() - start:.1f} s: {shown}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
