"""Sphinx configuration of the course site; ``tutorial/build_site.py`` stages the sources and runs Sphinx.

Everything a page needs is in the built folder: MathJax comes from the ``sphinx-mathjax-offline``
package (copied into ``_static/mathjax``), the theme ships its own fonts and scripts, and the
notebooks are rendered as executed by ``tutorial/build.py`` (Sphinx executes nothing).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

project = "Generative learning for deep networks: the course"
author = "the refimpl project"
copyright = "the refimpl project; the method after Flach, Shekhovtsov and Fikar, arXiv:1709.08524"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx-mathjax-offline",
    "refimpl_labels",
]

exclude_patterns = ["_build", "**.ipynb_checkpoints"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# The notebooks arrive executed; a site build never runs them.
nb_execution_mode = "off"
nb_ipywidgets_js = {}  # the default loads require.js and the widget manager from a CDN
nb_merge_streams = True
# Markdown outputs (tutorial 5 shows its result tables with display(Markdown(...))) are read as GitHub
# Markdown: tables become tables (CommonMark, the default, has none and prints them as paragraphs).
nb_render_markdown_format = "gfm"
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]

# MathJax: the offline copy; \text{...} and \tag{...} understand \href (the label links).
mathjax3_config = {
    "loader": {"load": ["[tex]/textmacros"]},
    "tex": {"packages": {"[+]": ["textmacros"]}},
}

autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "show-inheritance": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

html_theme = "sphinx_book_theme"
html_title = "Generative learning for deep networks"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_js_files = ["course.js"]
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
html_theme_options = {
    "use_download_button": False,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
html_context = {"default_mode": "auto"}  # without it the theme's script logs an error on a first visit
