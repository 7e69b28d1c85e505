"""The lab's user-facing text points to full MNIST the way users get it, never to a development folder."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
USER_FACING = [
    "results/README.md",
    "scripts/make_embedded.py",
    "benchmarks/bench_learning.py",
    "refimpl/lab/embedded/README.md",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "refimpl" / "lab").glob("*.py")),
]


@pytest.mark.parametrize("name", USER_FACING)
def test_user_facing_lab_text_never_names_the_development_data_folder(name):
    """--data download or a folder of the user's is the way to full MNIST; ../shared/data/mnist is not."""
    text = (ROOT / name).read_text(encoding="utf-8")
    assert "shared/data" not in text, name
