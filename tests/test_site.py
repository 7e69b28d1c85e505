"""The course site in a real browser: every page opened in headless Chromium from file://.

The site is built into a temporary folder from the executed notebooks: those that
``tutorial/build.py`` wrote (``tutorial/NN_*.ipynb``) when each is newer than its source,
otherwise the test executes the tutorials itself (and keeps them in ``build/site-test/``).
Each page is checked for console errors; rendered math (MathJax containers present, no
MathJax error, no raw ``$$``, ``\\tag`` or ``\\[`` left in the visible text, no wide equation
cut off: each display equation fits its box or scrolls inside it, and the box stays inside the
column, at 1280 and at 800 px wide; each labelled equation's tag a link; each label's section of
the equations page shows its equation); no Markdown table left as text; every character drawn
by a font the machine has (the fonts Chromium falls back to, listed by fontconfig); the
navigation's titles numbered one way; loaded images; internal links that resolve (file and
anchor); and requests: only ``file:`` and ``data:`` URLs may be asked for, anything else is
aborted and fails the test. A screenshot of each page goes to ``build/screenshots/``.
``test_the_check_finds_what_it_looks_for`` and the ``test_broken_copy_*`` tests show each check
failing on a page broken in that one way.

With ``CI=true`` the test never skips: a missing Chromium or Playwright fails it.
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import shutil
import subprocess
import time
import unicodedata
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "tutorial"
SCREENSHOTS = ROOT / "build" / "screenshots"
NOTEBOOK_CACHE = ROOT / "build" / "site-test" / "notebooks"
CHROMIUM = os.environ.get("REFIMPL_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ALLOWED_SCHEMES = ("file:", "data:", "blob:", "about:")
#: Viewport widths (px): every check at the first, the equations' fit at each.
WIDTHS = (1280, 800)
#: A Markdown table's separator line (``|---|:--:|``; typographers turn ``---`` into dashes).
TABLE_RULE = re.compile(r"^\s*\|?\s*:?[-\u2013\u2014]+:?\s*(\|\s*:?[-\u2013\u2014]+:?\s*)+\|?\s*$", re.M)
#: Characters that need no glyph: controls, format characters, line and paragraph separators.
NO_GLYPH = ("Cc", "Cf", "Zl", "Zp")

# Visible text that means math was not rendered (code blocks and rendered math are left out).
RAW_MATH = re.compile(r"\$\$|\\tag\{|\\\[|\\\]|\\\(|\\begin\{")

# Waits for MathJax and for course.js to fit the wide equations (a page without it waits 1 s).
_SETTLE = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  for (let i = 0; i < 50 && window.MathJax && !document.documentElement.dataset.equationsFitted; i++) {
    await new Promise(r => setTimeout(r, 20));
  }
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
}"""

# The display equations cut off: part of one left of its box, right of what scrolling inside the box
# reaches (or of the box, if nothing in it scrolls), or a box reaching past the column.
_SPILLED = """() => [...document.querySelectorAll('mjx-container[display="true"]')].filter(c => {
  const box = c.closest('div.math') || c.parentElement, b = box.getBoundingClientRect();
  const column = (box.closest('article') || document.body).getBoundingClientRect();
  const drawn = [c, ...c.querySelectorAll('*')].filter(e => !e.closest('mjx-assistive-mml'));  // not the hidden MathML
  const parts = drawn.map(e => e.getBoundingClientRect()).filter(r => r.width > 0);
  const left = Math.min(...parts.map(r => r.left)), right = Math.max(...parts.map(r => r.right));
  const scrolling = e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
  let s = c;
  while (s !== box && !scrolling(s)) { s = s.parentElement; }
  const reach = scrolling(s) ? s.getBoundingClientRect().left + s.scrollWidth : b.right;
  return left < b.left - 1 || right > reach + 1 || b.right > column.right + 1;
}).length"""

_PAGE_STATE = r"""async () => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('pre, code, script, style, mjx-container, .highlight, textarea').forEach(e => e.remove());
  const links = [...document.querySelectorAll('a[href], [href]')].map(a => a.getAttribute('href'));
  const images = [...document.images].map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]);
  return {
    text: body.innerText,
    sourceMath: document.querySelectorAll('.math, div.math, span.math').length,
    rendered: document.querySelectorAll('mjx-container').length,
    errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
    tags: [...document.querySelectorAll('div.math[id^="eq-"]')].map(d => d.id),
    // every character drawn in a font of the page (MathJax draws math in its own fonts)
    chars: (() => { const all = document.body.cloneNode(true);
                    all.querySelectorAll('script, style, mjx-container, textarea').forEach(e => e.remove());
                    return all.textContent; })(),
    // text blocks of prose or of a notebook's output (not code) that hold a Markdown table's rule line
    rawTables: [...document.querySelectorAll('p, li, .cell_output pre, .output pre')]
        .map(e => e.textContent).filter(t => /^\s*\|.*\|\s*$/m.test(t)),
    // the equations page: each label's section and whether it shows a rendered display equation
    labelSections: [...document.querySelectorAll('section > span[id^="tests-"]')]
        .map(s => [s.id, !!s.parentElement.querySelector('mjx-container[display="true"]')]),
    navTitles: [...document.querySelectorAll('nav.bd-docs-nav a')].map(a => a.innerText.trim()),
    tagLinks: [...document.querySelectorAll('div.math[id^="eq-"] mjx-container a[href]')]
        .map(a => a.getAttribute('href')),
    links: links,
    images: images,
  };
}"""


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"CI=true and {reason}: the site test must run in CI", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    if not Path(CHROMIUM).exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    return sync_playwright


def _stale(folder: Path, sources) -> list[Path]:
    """The sources whose executed notebook in ``folder`` is missing or older than the source."""
    return [s for s in sources if not (folder / s.with_suffix(".ipynb").name).exists()
            or (folder / s.with_suffix(".ipynb").name).stat().st_mtime < s.stat().st_mtime]


@pytest.fixture(scope="module")
def chromium(sync_playwright):
    """Headless Chromium (the Debian package), driven by Playwright."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def builder():
    return _load("refimpl_build_site", TUTORIAL / "build_site.py")


@pytest.fixture(scope="module")
def site(sync_playwright, builder, tmp_path_factory):
    """The site built into a temporary folder from executed notebooks; returns its root folder.

    Each notebook is the main job's when newer than its source, else one executed here before
    (``build/site-test/notebooks``) when newer, else the tutorial is executed now (its figures
    go to a temporary folder).
    """
    sources = builder.tutorial_sources()
    notebooks = TUTORIAL
    stale = _stale(TUTORIAL, sources)
    if stale:  # mix the main job's fresh notebooks with ones executed here, kept for the next run
        import nbformat

        build = _load("refimpl_build_for_site", TUTORIAL / "build.py")
        notebooks = NOTEBOOK_CACHE
        notebooks.mkdir(parents=True, exist_ok=True)
        for source in sources:
            if source not in stale:
                shutil.copy2(source.with_suffix(".ipynb"), notebooks)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("REFIMPL_FIGURES_DIR", str(tmp_path_factory.mktemp("figures")))
            for source in _stale(notebooks, stale):
                nbformat.write(build.execute(source, timeout=600), notebooks / source.with_suffix(".ipynb").name)
    out = tmp_path_factory.mktemp("site") / "site"
    index, warnings = builder.build_site(out, notebooks, quiet=True)
    assert not warnings, "the site build warned:\n" + "\n".join(warnings)
    assert index.exists()
    return out


@cache
def _anchors(path: Path) -> frozenset[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return frozenset(re.findall(r"""\b(?:id|name)=["']([^"']+)["']""", text))


def _broken_link(page: Path, href: str, root: Path) -> str | None:
    """Why an internal link of ``page`` does not resolve, or None when it does (external links pass)."""
    if not href or href.startswith(("http:", "https:", "mailto:", "javascript:")):
        return None
    url, fragment = urldefrag(href)
    if url.startswith("file:"):
        target = Path(unquote(urlparse(url).path))
    elif re.match(r"^[a-z][a-z0-9+.-]*:", url):
        return f"{href}: unexpected scheme"
    else:
        target = (page.parent / unquote(url.split("?")[0])).resolve() if url else page
    if not target.exists():
        return f"{href}: no such file"
    if not target.is_relative_to(root):
        return f"{href}: outside the site"
    if target.is_dir():
        target = target / "index.html"
    if fragment and target.suffix == ".html" and unquote(fragment) not in _anchors(target):
        return f"{href}: no anchor #{fragment} in {target.relative_to(root)}"
    return None


@cache
def font_coverage() -> frozenset[int]:
    """The code points some installed font draws: the fonts fontconfig lists, which Chromium falls back to."""
    from fontTools.ttLib import TTCollection, TTFont

    try:
        listed = subprocess.run(["fc-list", "--format", "%{file}\\n"], capture_output=True, text=True,
                                check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        from matplotlib import font_manager

        listed = font_manager.findSystemFonts()
    covered: set[int] = set()
    for file in sorted(set(listed)):
        try:
            with open(file, "rb") as stream:
                data = io.BytesIO(stream.read())
            fonts = TTCollection(data).fonts if file.lower().endswith(".ttc") else [TTFont(data)]
            for font in fonts:
                covered |= set(font.getBestCmap() or {})
        except Exception:  # a font file fontTools cannot read draws nothing here
            continue
    return frozenset(covered)


def missing_glyphs(text: str) -> list[str]:
    """The characters of ``text`` that no installed font draws, as ``'｜ U+FF5C'``."""
    covered = font_coverage()
    return [f"{ch} U+{ord(ch):04X}" for ch in sorted(set(text))
            if ord(ch) not in covered and unicodedata.category(ch) not in NO_GLYPH and not ch.isspace()]


def numbering_styles(titles) -> list[str]:
    """The ways ``titles`` are numbered: ``"01 · A"`` and ``"Exercises 02 · B"`` -> ``["09 ·"]``."""
    styles = set()
    for title in titles:
        found = re.match(r"^(?:[A-Z][a-z]+ )?(\d+)\s*([.·:)\-–—])\s", title)
        if found:
            digits = "09" if len(found[1]) > 1 and found[1].startswith("0") else "9"
            styles.add(f"{digits}{' ' if found[2] == '·' else ''}{found[2]}")
    return sorted(styles)


def check_pages(browser, pages: list[Path], root: Path, screenshots: Path | None = None,
                widths=WIDTHS) -> tuple[list[str], int]:
    """Open each page in turn in one tab of a fresh browser context; return the problems found and the number
    of linked tags.

    Every check runs at the first of ``widths``; the equations' fit is checked at each.
    """
    problems, tag_links, outside, titles = [], 0, [], {}

    def only_local(route):
        if route.request.url.startswith(ALLOWED_SCHEMES):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context = browser.new_context(viewport={"width": widths[0], "height": 900})
    context.route("**/*", only_local)
    # one tab navigates from page to page (a new document each time, its errors collected anew):
    # a fresh tab per page costs a new renderer process, about a third of the check's time
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"failed request {r.url}"))
    for path in pages:
        name = path.relative_to(root).as_posix()
        page.goto("about:blank")  # the previous page's late messages land before the list is emptied
        errors.clear()
        page.set_viewport_size({"width": widths[0], "height": 900})
        page.goto(path.as_uri(), wait_until="load")
        page.evaluate(_SETTLE)
        state = page.evaluate(_PAGE_STATE)
        spilled = {widths[0]: page.evaluate(_SPILLED)}
        if screenshots is not None:
            if state["tags"]:  # show the first labelled equation, else the top of the page
                page.locator(f"#{state['tags'][0]}").scroll_into_view_if_needed()
            page.screenshot(path=str(screenshots / (name.replace("/", "__").removesuffix(".html") + ".png")))
        if state["rendered"]:
            for width in widths[1:]:
                page.set_viewport_size({"width": width, "height": 900})
                page.evaluate(_SETTLE)
                spilled[width] = page.evaluate(_SPILLED)

        problems += [f"{name}: console: {e}" for e in errors]
        if state["sourceMath"] and not state["rendered"]:
            problems.append(f"{name}: {state['sourceMath']} math elements, none rendered by MathJax")
        for width, count in spilled.items():
            if count:
                problems.append(f"{name}: {count} display equations cut off at {width} px (wider than their "
                                "column, not scrolling inside their box)")
        if state["errors"]:
            problems.append(f"{name}: {state['errors']} MathJax errors")
        raw = RAW_MATH.findall(state["text"])
        if raw:
            problems.append(f"{name}: raw math in the visible text: {sorted(set(raw))}")
        tables = [t for t in state["rawTables"] if TABLE_RULE.search(t)]
        if tables:
            problems.append(f"{name}: {len(tables)} Markdown tables shown as text, e.g. "
                            f"{tables[0].strip().splitlines()[0][:80]!r}")
        unseen = missing_glyphs(state["chars"])
        if unseen:
            problems.append(f"{name}: no installed font draws {', '.join(unseen)}")
        if name.rsplit("/", 1)[-1] == "equations.html" and not state["labelSections"]:
            problems.append(f"{name}: the equations page has no label sections")
        bare = [label for label, shown in state["labelSections"] if not shown]
        if bare:
            problems.append(f"{name}: {len(bare)} of {len(state['labelSections'])} labels shown without their "
                            f"equation: {', '.join(bare[:5])}")
        if len(state["tagLinks"]) != len(state["tags"]):
            problems.append(f"{name}: {len(state['tags'])} labelled equations, "
                            f"{len(state['tagLinks'])} with a linked tag")
        tag_links += len(state["tagLinks"])
        titles.update(dict.fromkeys(state["navTitles"]))
        for href in state["links"] + state["tagLinks"]:
            broken = _broken_link(path, href, root)
            if broken:
                problems.append(f"{name}: broken link {broken}")
        problems += [f"{name}: image not loaded: {src}" for src, ok in state["images"] if not ok]
    page.close()
    context.close()
    styles = numbering_styles(titles)
    if len(styles) > 1:
        problems.append(f"navigation titles numbered {len(styles)} ways ({' and '.join(styles)}): "
                        + "; ".join(t for t in titles if re.match(r"^(?:[A-Z][a-z]+ )?\d", t)))
    problems += [f"request to an outside host: {url}" for url in sorted(set(outside))]
    return problems, tag_links


@pytest.fixture(scope="module")
def checked(site, chromium):
    """Every page of the site checked once, with its screenshot: (pages, problems, linked tags, seconds).

    ``test_every_page_in_chromium`` asserts on it, and each ``test_broken_copy_*`` reads its intact
    page's problems from it instead of opening that page a second time.
    """
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    started = time.perf_counter()
    problems, tag_links = check_pages(chromium, pages, site, SCREENSHOTS)
    return pages, problems, tag_links, time.perf_counter() - started


def test_every_page_in_chromium(site, checked, builder):
    """Each page: no console error, math rendered, images loaded, links resolve, no request leaves the machine."""
    pages, problems, tag_links, seconds = checked
    names = {p.relative_to(site).as_posix() for p in pages}
    tutorials = [s.with_suffix(".html").name for s in builder.tutorial_sources()]
    expected = {"index.html", "api/index.html", "equations.html", "project.html", *tutorials}
    expected |= {f"api/{module}.html" for module in builder.modules()}
    expected |= {p.relative_to(TUTORIAL).with_suffix(".html").as_posix() for p in builder.exercise_files()}
    if (TUTORIAL / "README.md").exists():
        expected.add("syllabus.html")
    assert expected <= names, f"pages not built: {sorted(expected - names)}"
    assert not problems, f"{len(problems)} problems in {len(pages)} pages:\n" + "\n".join(problems[:60])
    assert tag_links >= len(tutorials) - 1, "the tutorials' labelled equations link their tags"
    assert len(list(SCREENSHOTS.glob("*.png"))) == len(pages)
    print(f"{len(pages)} pages checked in Chromium in {seconds:.1f} s")


BAD_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<script src="https://cdn.example.invalid/mathjax/tex-chtml.js"></script></head>
<body><p id="here">Raw: $$ x \\tag{M1} $$</p><a href="missing.html">gone</a> <a href="#nowhere">no anchor</a>
<a href="#here">fine</a> <a href="https://example.org/">a link out is not a request</a>
<img src="no-such-figure.png" alt=""><script>console.error("a script failed")</script></body></html>
"""


def test_the_check_finds_what_it_looks_for(chromium, tmp_path):
    """A page with an outside script, raw math, broken links, a missing image and a console error fails each check."""
    bad = tmp_path / "bad.html"
    bad.write_text(BAD_PAGE, encoding="utf-8")
    problems, _ = check_pages(chromium, [bad], tmp_path)
    text = "\n".join(problems)
    for expected in ("request to an outside host: https://cdn.example.invalid/mathjax/tex-chtml.js",
                     "raw math in the visible text", "broken link missing.html: no such file",
                     "broken link #nowhere: no anchor", "image not loaded: no-such-figure.png",
                     "console: a script failed"):
        assert expected in text, f"{expected!r} not reported in:\n{text}"
    assert "#here" not in text and "example.org" not in text


# ----------------------------------------------------------------- each check, failing on a broken copy
def _undrawn() -> str:
    """A character no installed font draws: the fullwidth bar of "log p(x｜y)" where no CJK font is installed."""
    return next(ch for ch in ("\uff5c", "\U0001fae8", "\u0378") if ord(ch) not in font_coverage())


def _raw_table(html: str) -> str:
    """The first HTML table replaced by its Markdown text, as CommonMark shows a GFM table."""
    return re.sub(r"<table.*?</table>", "<p>| protocol | row | tied |\n|---|---|---|\n| threshold | L0 | yes |</p>",
                  html, count=1, flags=re.S)


def _math_unfitted(html: str) -> str:
    """Wide equations neither drawn smaller (no course.js) nor scrolling in their box."""
    html = re.sub(r"<script[^>]*course\.js[^>]*></script>", "", html)
    assert "course.js" not in html
    return html.replace("</head>", "<style>div.math, div.math mjx-container { overflow: visible !important; }"
                                   "</style></head>", 1)


def _no_equations(html: str) -> str:
    """The equations page with its display equations left out."""
    return re.sub(r'<div class="math[^"]*">.*?</div>', "", html, flags=re.S)


def _undrawn_glyph(html: str) -> str:
    return html.replace("</h1>", f"</h1><p>log p(x{_undrawn()}y)</p>", 1)


def _numbered_two_ways(html: str) -> str:
    """One title of the navigation numbered "1. ..." among "01 · ..." titles."""
    return re.sub(r"(<nav class=\"[^\"]*bd-docs-nav.*?)01 · ", r"\g<1>1. ", html, count=1, flags=re.S)


BREAKS = {  # kind -> (page, the break, the problem it must cause)
    "raw-table": ("05_experiment.html", _raw_table, "Markdown tables shown as text"),
    "wide-math": ("04_learning.html", _math_unfitted, "display equations cut off at 1280 px"),
    "no-equations": ("equations.html", _no_equations, "labels shown without their equation"),
    "glyph": ("01_sigmoid_belief_net.html", _undrawn_glyph, "no installed font draws"),
    "numbering": ("index.html", _numbered_two_ways, "navigation titles numbered 2 ways"),
}


@pytest.mark.parametrize("kind", list(BREAKS))
def test_broken_copy_of_a_page_fails_the_check(site, chromium, checked, kind):
    """A copy of a built page broken in one way fails with that problem, which the intact page has not.

    The intact page's problems are those the check of every page found on it, and the problems
    that name no page (the navigation's numbering across all pages, requests to another host).
    """
    page, breaking, reported = BREAKS[kind]
    pages, every_problem, _, _ = checked
    assert site / page in pages, f"{page} is not a page of the site"
    intact = [p for p in every_problem if p.startswith(f"{page}: ") or not re.match(r"^[\w./-]+\.html: ", p)]
    original = site / page
    text = original.read_text(encoding="utf-8")
    broken = breaking(text)
    assert broken != text, f"the {kind} break changed nothing in {page}"
    copy = original.with_name(f"broken-{kind}-{original.name}")  # beside it: the same relative links
    copy.write_text(broken, encoding="utf-8")
    try:
        problems, _ = check_pages(chromium, [copy], site)
    finally:
        copy.unlink()
    assert not [p for p in intact if reported in p], intact
    assert [p for p in problems if reported in p], f"{reported!r} not reported for the {kind} break:\n" + "\n".join(
        problems)


def test_numbering_styles_tell_the_ways_titles_are_numbered():
    """ "01 · A" and "Exercises 02 · B" are one way; "3. C" another; unnumbered titles none."""
    assert numbering_styles(["01 · A", "Exercises 02 · B", "Reference"]) == ["09 ·"]
    assert numbering_styles(["01 · A", "3. C"]) == ["09 ·", "9."]


def test_missing_glyphs_names_the_character_and_its_code_point():
    """Letters every system font draws pass; a character no installed font has is named with its code point."""
    assert missing_glyphs("log p(x | y) = 0.5\n") == []
    ch = _undrawn()
    assert missing_glyphs(f"log p(x{ch}y)") == [f"{ch} U+{ord(ch):04X}"]
