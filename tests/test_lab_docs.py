"""The lab's user-facing text points to full MNIST the way users get it, never to a development folder."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
USER_FACING = [
    "README.md",
    "results/README.md",
    "results/benchmarks.md",
    "tutorial/README.md",
    "scripts/make_embedded.py",
    "scripts/make_pretrained.py",
    "benchmarks/bench_learning.py",
    "refimpl/lab/embedded/README.md",
    "refimpl/lab/pretrained/manifest.json",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "refimpl" / "lab").glob("*.py")),
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "results").rglob("command.txt")),
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tutorial").glob("0*.py")),
]


@pytest.mark.parametrize("name", USER_FACING)
def test_user_facing_text_never_names_the_development_folder_or_a_machine_path(name):
    """--data download or a folder of the user's is the way to full MNIST; ../shared/data/mnist is not,
    and no absolute path of the machine that made a file is shown."""
    text = (ROOT / name).read_text(encoding="utf-8")
    assert "shared/data" not in text and "../shared" not in text, name
    assert not any(f"{root}/" in text for root in ("/work", "/root", "/home", "/tmp")), name
