"""Service fixtures: apps over the tiny random BERT, and a throwaway MLflow registry."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from model.classifier import ClaimClassifier
from service.app import create_app
from tests.service.support import KeywordClassifier, WordEmbedder, make_settings, mlflow_pointed_at

REGISTERED_NAME = "claimstance"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No CLAIMSTANCE_* or MLFLOW_TRACKING_URI from the developer's shell reaches the test."""
    for name in list(os.environ):
        if name.startswith("CLAIMSTANCE_") or name == "MLFLOW_TRACKING_URI":
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture(scope="session")
def tiny_classifier(tiny_model_dir: Path) -> ClaimClassifier:
    return ClaimClassifier.from_directory(tiny_model_dir, device="cpu", batch_size=8)


@pytest.fixture(scope="module")
def client(
    tiny_model_dir: Path, tiny_classifier: ClaimClassifier, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """One app per test module with the tiny model injected: fast, and shared by the module."""
    settings = make_settings(tiny_model_dir, tmp_path_factory.mktemp("settings"))
    with TestClient(create_app(settings, classifier=tiny_classifier)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def story_client(
    tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """Labels and groups a test can predict: keyword rules and bag-of-words vectors."""
    settings = make_settings(tiny_model_dir, tmp_path_factory.mktemp("story"))
    app = create_app(settings, classifier=KeywordClassifier(), embedder=WordEmbedder())
    with TestClient(app) as test_client:
        yield test_client


@dataclass(frozen=True)
class Registry:
    tracking_uri: str
    name: str
    version: str
    run_id: str


@pytest.fixture(scope="session")
def mlflow_registry(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Registry:
    """A SQLite MLflow store holding the tiny model, logged and registered as training does it."""
    import mlflow
    from mlflow.tracking import MlflowClient

    class TinyPyfunc(mlflow.pyfunc.PythonModel):
        """Stands in for training's pyfunc: the service only ever reads its artifacts."""

        def predict(self, context: Any, model_input: list[str], params: Any = None) -> list[str]:
            return model_input

    root = tmp_path_factory.mktemp("mlflow")
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    with mlflow_pointed_at(tracking_uri):
        experiment_id = mlflow.create_experiment(
            "service-tests", artifact_location=(root / "artifacts").as_uri()
        )
        with mlflow.start_run(experiment_id=experiment_id) as run:
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=TinyPyfunc(),
                artifacts={"classifier": str(tiny_model_dir)},
                registered_model_name=REGISTERED_NAME,
                # Given, so MLflow does not infer requirements by loading the model in a subprocess.
                pip_requirements=["torch", "transformers"],
            )
        version = str(info.registered_model_version)
        MlflowClient().set_registered_model_alias(REGISTERED_NAME, "champion", version)
    return Registry(tracking_uri, REGISTERED_NAME, version, run.info.run_id)
