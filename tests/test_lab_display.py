"""The tutorials' source display: the library's own code, docstring left out, file and lines named."""

import inspect

import pytest

import refimpl
from refimpl.lab.display import show_source
from refimpl.sbn import SigmoidBeliefNet


def test_show_source_is_the_library_code_without_its_docstring():
    """Check that every code line shown is a line of the function's own source, and the docstring is not shown."""
    shown = show_source(SigmoidBeliefNet.log_prob)
    own = inspect.getsource(SigmoidBeliefNet.log_prob)
    doc = inspect.getdoc(SigmoidBeliefNet.log_prob)
    body = [line.strip() for line in shown.code.splitlines() if line.strip()]
    assert body and all(line in own for line in body)
    assert doc.splitlines()[0] not in shown.code
    assert shown.code.lstrip().startswith('@boundary(dtype=check.float_dtype, x0=check.inputs("dtype"), '
                                          'layers=check.states())\ndef log_prob')  # the checks, then the body


def test_show_source_header_names_file_and_lines():
    """Check that the header gives the file and the line span that inspect reports."""
    lines, start = inspect.getsourcelines(refimpl.one_hot)
    shown = show_source(refimpl.one_hot)
    assert shown.header == f"refimpl/layers.py, lines {start}-{start + len(lines) - 1}"
    assert shown._repr_markdown_().startswith("```python\n# refimpl/layers.py")


def test_show_source_keeps_docstring_on_request():
    """Check that docstring=True shows the source unchanged (dedented)."""
    shown = show_source(refimpl.one_hot, docstring=True)
    assert shown.code == inspect.getsource(refimpl.one_hot)


def test_show_source_rejects_code_outside_the_package():
    """Check that a non-refimpl object is refused with a message naming obj."""
    with pytest.raises(TypeError, match="obj must be defined in the refimpl package"):
        show_source(inspect.getsource)
