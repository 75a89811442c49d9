"""The default MLflow store: one rule, read when asked, never tied to where the code is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from model.store import TRACKING_URI_ENV, default_tracking_uri

REPO = Path(__file__).resolve().parents[2]


def test_the_store_is_mlflow_db_where_the_command_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(TRACKING_URI_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_tracking_uri() == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert default_tracking_uri(tmp_path / "elsewhere") == (
        f"sqlite:///{(tmp_path / 'elsewhere').resolve() / 'mlflow.db'}"
    )


def test_mlflow_tracking_uri_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(TRACKING_URI_ENV, "http://mlflow:5000")
    assert default_tracking_uri() == "http://mlflow:5000"
    assert default_tracking_uri(tmp_path) == "http://mlflow:5000"
    monkeypatch.setenv(TRACKING_URI_ENV, " ")
    monkeypatch.chdir(tmp_path)
    assert default_tracking_uri().endswith(f"{tmp_path.resolve()}/mlflow.db")


def test_training_and_the_service_default_to_the_same_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from service.settings import Settings
    from training.config import load_config

    for name in ("MLFLOW_TRACKING_URI", "CLAIMSTANCE_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    expected = f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert load_config().tracking_uri == expected
    assert Settings().tracking_uri == expected


def test_the_makefile_asks_the_same_rule(tmp_path: Path) -> None:
    """`python -m model.store` is what `make mlflow-ui` opens."""
    result = subprocess.run(
        [sys.executable, "-m", "model.store"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert "$(BIN)/python -m model.store" in (REPO / "Makefile").read_text(encoding="utf-8")


def test_a_sqlite_store_is_taken_apart_in_one_place(tmp_path: Path) -> None:
    from model.store import missing_sqlite_store, sqlite_path

    database = tmp_path / "mlflow.db"
    assert sqlite_path(f"sqlite:///{database}") == database
    assert sqlite_path("http://mlflow:5000") is None
    assert missing_sqlite_store(f"sqlite:///{database}") == database
    database.touch()
    assert missing_sqlite_store(f"sqlite:///{database}") is None
    assert missing_sqlite_store("http://mlflow:5000") is None
