"""Helpers shared by the service tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service.settings import Settings


def make_settings(model_dir: Path | str, tmp_path: Path, **overrides: Any) -> Settings:
    """Explicit settings, so a developer's CLAIMSTANCE_* or MLFLOW_* variables cannot leak in."""
    values: dict[str, Any] = {
        "model_uri": str(model_dir),
        # A store that does not exist: any accidental registry lookup fails loudly.
        "tracking_uri": f"sqlite:///{tmp_path / 'no-store' / 'mlflow.db'}",
        "device": "cpu",
        "batch_size": 8,
        "max_texts": 64,
        "max_chars": 100_000,
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def mlflow_pointed_at(tracking_uri: str) -> Iterator[None]:
    """Point MLflow's process-wide tracking and registry URIs at a store, then restore them.

    ``mlflow.set_tracking_uri`` also writes MLFLOW_TRACKING_URI into the
    environment, which would leak the temporary store into later tests.
    """
    import mlflow

    previous_env = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
        if previous_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous_env
