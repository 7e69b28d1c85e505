"""The code is linted as part of the test run: ruff (rules and version in pyproject.toml) finds nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    """`ruff check .` over the package, tests, tutorials, benchmarks and scripts reports zero findings."""
    if os.environ.get("CI") != "true":  # in CI the check must run
        pytest.importorskip("ruff", reason="ruff is in the dev extra: pip install -e '.[dev]'")
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
