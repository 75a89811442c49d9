"""The example articles for the claim-extraction tests, read from disk, never downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = Path(
    os.environ.get("CLAIMSTANCE_EXAMPLES_DIR", REPO_ROOT.parent / "shared" / "examples")
)


@pytest.fixture(scope="session")
def example_articles() -> dict[str, str]:
    """Raw text of each example article (``*.txt``) by file stem."""
    if not EXAMPLES_DIR.is_dir():
        pytest.skip(f"example articles not found at {EXAMPLES_DIR} (set CLAIMSTANCE_EXAMPLES_DIR)")
    return {path.stem: path.read_text(encoding="utf-8") for path in EXAMPLES_DIR.glob("*.txt")}
