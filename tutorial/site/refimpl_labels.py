"""Sphinx extension of the course site: each equation label links to its functions and its tests.

``tutorial/build_site.py`` passes the label map (``tests/test_labels.py``) as the config value
``refimpl_label_map``: label -> ``{"docs": [tutorials that tag it], "functions": [qualified names],
"tests": [[test id, reference name], ...]}``.

* A display equation tagged ``\\tag{M3}`` in a tutorial gets the anchor ``eq-m3``; its tag becomes
  a link (``\\tag{\\href{...}{M3}}``, MathJax's textmacros) to the API entry of the first function
  that computes it, and a line under it links every such function and the tests that check it.
* A docstring's ``Equation: M3`` line links back to the tagged equation and to the tests.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms import SphinxTransform

TAG = re.compile(r"\\tag\{([^{}]*)\}")
EQUATION_LINE = re.compile(r"^(\s*)Equation:\s*(.*?)\s*$")
SHOWN = 3  # functions and tests named under an equation; the rest are on the equations page


def equation_anchor(label: str) -> str:
    """The anchor (and reference name) of the equation tagged ``label`` in a tutorial."""
    return "eq-" + label.lower()


def tests_anchor(label: str) -> str:
    """The reference name of the label's section on the equations page."""
    return "tests-" + label.lower()


def _xref(domain, reftype, target, text, docname, literal=True):
    inner = nodes.literal(text, text) if literal else nodes.inline(text, text)
    return addnodes.pending_xref("", inner, refdomain=domain, reftype=reftype, reftarget=target,
                                 refexplicit=True, refwarn=True, refdoc=docname)


def _more(label, count, noun, docname):
    """A link to the label's section on the equations page: '4 more tests'."""
    return _xref("std", "ref", tests_anchor(label), f"{count} more {noun}{'s' if count > 1 else ''}", docname,
                 literal=False)


def _join(parent, items, last_word="and"):
    for i, item in enumerate(items):
        if i:
            parent += nodes.Text(f" {last_word} " if i == len(items) - 1 else ", ")
        parent += item


class EquationLinks(SphinxTransform):
    """Anchor each labelled display equation and put its links under it."""

    default_priority = 400

    def apply(self, **kwargs):
        labels = self.config.refimpl_label_map or {}
        docname = self.env.docname
        for node in list(self.document.findall(nodes.math_block)):
            found = TAG.search(node.astext())
            label = found.group(1).strip() if found else None
            if label not in labels or docname not in labels[label].get("docs", []):
                continue
            entry = labels[label]
            node["refimpl_label"] = label
            node["names"].append(equation_anchor(label))
            self.document.note_explicit_target(node)
            line = nodes.paragraph(classes=["equation-links"])
            line += nodes.strong(f"({label})", f"({label})")
            functions = [_xref("py", "obj", name, name.split(".", 1)[1] if "." in name else name, docname)
                         for name in entry["functions"][:SHOWN]]
            if len(entry["functions"]) > SHOWN:
                more = len(entry["functions"]) - SHOWN
                functions.append(_more(label, more, "function", docname))
            if functions:
                line += nodes.Text(" computed by ")
                _join(line, functions)
            tests = entry["tests"]
            if tests:
                line += nodes.Text("; checked by " if functions else " checked by ")
                shown = [_xref("std", "ref", ref, test_id.rsplit("::", 1)[-1], docname)
                         for test_id, ref in tests[:SHOWN]]
                if len(tests) > SHOWN:
                    shown.append(_more(label, len(tests) - SHOWN, "test", docname))
                _join(line, shown)
            line += nodes.Text(".")
            node.parent.insert(node.parent.index(node) + 1, line)


def _api_url(app, fromdoc, names):
    """Relative URL of the API entry of the first of ``names`` that the site documents, or None."""
    objects = app.env.get_domain("py").objects
    for name in names:
        entry = objects.get(name)
        if entry is not None:
            return app.builder.get_relative_uri(fromdoc, entry.docname) + "#" + entry.node_id
    return None


def link_tags(app, doctree, fromdocname):
    """Make each labelled tag a link to its function and keep \\tag out of any split environment."""
    labels = app.config.refimpl_label_map or {}
    for node in doctree.findall(nodes.math_block):
        label = node.get("refimpl_label")
        if label is None or node.get("nowrap"):
            continue
        latex = node.astext()
        tag = TAG.search(latex)
        body = (latex[:tag.start()] + latex[tag.end():]).strip()
        url = _api_url(app, fromdocname, labels[label]["functions"])
        shown = rf"\href{{{url}}}{{{label}}}" if url else label
        if "\\\\" in body:  # Sphinx would wrap a multi-line body in split, where \tag is not allowed
            body = rf"\begin{{split}}{body}\end{{split}}"
        node.children = [nodes.Text(rf"\[{body} \tag{{{shown}}}\]")]
        node["nowrap"] = True


def link_equation_lines(app, what, name, obj, options, lines):
    """``Equation: M1, M3`` in a docstring -> links to each tagged equation and to its tests."""
    labels = app.config.refimpl_label_map or {}
    for i, line in enumerate(lines):
        match = EQUATION_LINE.match(line)
        if not match:
            continue
        parts = []
        for label in filter(None, (t.strip() for t in match.group(2).split(","))):
            tagged = labels.get(label, {}).get("docs")
            shown = f":ref:`{label} <{equation_anchor(label)}>`" if tagged else f"**{label}**"
            if labels.get(label, {}).get("tests"):
                shown += f" (:ref:`tests <{tests_anchor(label)}>`)"
            parts.append(shown)
        lines[i] = f"{match.group(1)}Equation: {', '.join(parts)}" if parts else line


def setup(app):
    app.add_config_value("refimpl_label_map", {}, "env", types=[dict])
    app.add_transform(EquationLinks)
    app.connect("doctree-resolved", link_tags)
    app.connect("autodoc-process-docstring", link_equation_lines, priority=600)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
