"""The course site in a real browser: every page opened in headless Chromium from file://.

The site is built into a temporary folder from the executed notebooks: those that
``tutorial/build.py`` wrote (``tutorial/NN_*.ipynb``) when each is newer than its source,
otherwise the test executes the tutorials itself (and keeps them in ``build/site-test/``).
Each page is checked for console errors; rendered math (MathJax containers present, no
MathJax error, no raw ``$$``, ``\\tag`` or ``\\[`` left in the visible text, no wide equation
cut off at the column's edge, each labelled equation's tag a link); loaded images; internal
links that resolve (file and anchor); and requests: only ``file:`` and ``data:`` URLs may be
asked for, anything else is aborted and fails the test. A screenshot of each page goes to
``build/screenshots/``.

With ``CI=true`` the test never skips: a missing Chromium or Playwright fails it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import time
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

# Visible text that means math was not rendered (code blocks and rendered math are left out).
RAW_MATH = re.compile(r"\$\$|\\tag\{|\\\[|\\\]|\\\(|\\begin\{")

_PAGE_STATE = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
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
    spilled: [...document.querySelectorAll('mjx-container[display="true"]')].filter(c => {
      // cut off: part of the equation left of its box (no scrolling reaches it), or right of a box that does not scroll
      const box = (c.closest('div.math') || c.parentElement).getBoundingClientRect();
      const parts = [c, ...c.querySelectorAll('*')].map(e => e.getBoundingClientRect()).filter(r => r.width > 0);
      const left = Math.min(...parts.map(r => r.left)), right = Math.max(...parts.map(r => r.right));
      const scrolls = ['auto', 'scroll'].includes(getComputedStyle(c.closest('div.math') || c).overflowX);
      return left < box.left - 1 || (right > box.right + 1 && !scrolls);
    }).length,
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


def check_pages(browser, pages: list[Path], root: Path, screenshots: Path | None = None) -> tuple[list[str], int]:
    """Open each page in a fresh browser context; return the problems found and the number of linked tags."""
    problems, tag_links, outside = [], 0, []

    def only_local(route):
        if route.request.url.startswith(ALLOWED_SCHEMES):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", only_local)
    for path in pages:
        name = path.relative_to(root).as_posix()
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.on("requestfailed", lambda r, errors=errors: errors.append(f"failed request {r.url}"))
        page.goto(path.as_uri(), wait_until="load")
        state = page.evaluate(_PAGE_STATE)
        if screenshots is not None:
            if state["tags"]:  # show the first labelled equation, else the top of the page
                page.locator(f"#{state['tags'][0]}").scroll_into_view_if_needed()
            page.screenshot(path=str(screenshots / (name.replace("/", "__").removesuffix(".html") + ".png")))
        page.close()

        problems += [f"{name}: console: {e}" for e in errors]
        if state["sourceMath"] and not state["rendered"]:
            problems.append(f"{name}: {state['sourceMath']} math elements, none rendered by MathJax")
        if state["spilled"]:
            problems.append(f"{name}: {state['spilled']} display equations spill past the column, unscrollable")
        if state["errors"]:
            problems.append(f"{name}: {state['errors']} MathJax errors")
        raw = RAW_MATH.findall(state["text"])
        if raw:
            problems.append(f"{name}: raw math in the visible text: {sorted(set(raw))}")
        if len(state["tagLinks"]) != len(state["tags"]):
            problems.append(f"{name}: {len(state['tags'])} labelled equations, "
                            f"{len(state['tagLinks'])} with a linked tag")
        tag_links += len(state["tagLinks"])
        for href in state["links"] + state["tagLinks"]:
            broken = _broken_link(path, href, root)
            if broken:
                problems.append(f"{name}: broken link {broken}")
        problems += [f"{name}: image not loaded: {src}" for src, ok in state["images"] if not ok]
    context.close()
    problems += [f"request to an outside host: {url}" for url in sorted(set(outside))]
    return problems, tag_links


def test_every_page_in_chromium(site, chromium, builder):
    """Each page: no console error, math rendered, images loaded, links resolve, no request leaves the machine."""
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)
    names = {p.relative_to(site).as_posix() for p in pages}
    tutorials = [s.with_suffix(".html").name for s in builder.tutorial_sources()]
    expected = {"index.html", "api/index.html", "equations.html", "project.html", *tutorials}
    expected |= {f"api/{module}.html" for module in builder.modules()}
    expected |= {p.relative_to(TUTORIAL).with_suffix(".html").as_posix() for p in builder.exercise_files()}
    if (TUTORIAL / "README.md").exists():
        expected.add("syllabus.html")
    assert expected <= names, f"pages not built: {sorted(expected - names)}"
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)

    started = time.perf_counter()
    problems, tag_links = check_pages(chromium, pages, site, SCREENSHOTS)
    assert not problems, f"{len(problems)} problems in {len(pages)} pages:\n" + "\n".join(problems[:60])
    assert tag_links >= len(tutorials) - 1, "the tutorials' labelled equations link their tags"
    assert len(list(SCREENSHOTS.glob("*.png"))) == len(pages)
    print(f"{len(pages)} pages checked in Chromium in {time.perf_counter() - started:.1f} s")


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
