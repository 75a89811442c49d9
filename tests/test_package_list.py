"""pyproject.toml lists the packages by hand: one left out installs without its code."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_python_package_is_in_pyprojects_list() -> None:
    listed = set(
        tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
            "packages"
        ]
    )
    packages = {
        ".".join(init.parent.relative_to(REPO).parts)
        for top in ("model", "service", "training")
        for init in (REPO / top).rglob("__init__.py")
    }
    assert "training.bench" in packages  # the scan sees subpackages
    assert packages - listed == set()
