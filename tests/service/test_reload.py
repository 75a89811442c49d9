"""Hot model swap: POST /admin/reload and SIGHUP serve what the model URI names now."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

import service.serving
from model.card import CARD_FILE
from service.app import create_app
from service.responses import LoadedModel
from service.schemas import ModelRef
from service.settings import Settings
from tests.service.conftest import Registry
from tests.service.support import (
    SlowClassifier,
    WordEmbedder,
    make_settings,
    metric_samples,
    metric_value,
    mlflow_pointed_at,
    served,
)

REPO = Path(__file__).resolve().parents[2]
KEY = "reload-key-3c9e"
AUTH = {"X-API-Key": KEY}


def test_reload_follows_the_alias_and_model_shows_the_new_version(
    mlflow_registry: Registry, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from mlflow.tracking import MlflowClient

    registry = MlflowClient(mlflow_registry.tracking_uri, registry_uri=mlflow_registry.tracking_uri)
    name = mlflow_registry.name
    first = registry.get_model_version(name, mlflow_registry.version)
    first_version = str(first.version)
    settings = make_settings(
        f"models:/{name}@champion",
        tmp_path,
        tracking_uri=mlflow_registry.tracking_uri,
        api_keys=[KEY],
        admin_keys=[KEY],
        embedder_dir=str(tiny_model_dir),
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/model", headers=AUTH).json()["version"] == first_version
        # A new version of the same files, and the alias moved to it, as training does.
        with mlflow_pointed_at(mlflow_registry.tracking_uri):
            second = registry.create_model_version(name, first.source, run_id=first.run_id)
        registry.set_registered_model_alias(name, "champion", second.version)
        try:
            assert client.post("/admin/reload").status_code == 401  # a key is needed
            response = client.post("/admin/reload", headers=AUTH)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["model"]["version"] == str(second.version)
            assert body["previous"]["version"] == first_version
            assert client.get("/model", headers=AUTH).json()["version"] == str(second.version)
            answer = client.post("/classify", json={"text": "Moscow denied it."}, headers=AUTH)
            assert answer.json()["model"]["version"] == str(second.version)
            samples = metric_samples_with_key(client)
            assert metric_value(samples, "claimstance_model_reloads_total", outcome="success") == 1
        finally:
            # The session's store goes back as it was for the other tests.
            registry.set_registered_model_alias(name, "champion", first_version)
            registry.delete_model_version(name, second.version)


def metric_samples_with_key(client: TestClient) -> dict:
    client.headers.update(AUTH)
    try:
        return metric_samples(client)
    finally:
        del client.headers["X-API-Key"]


@pytest.mark.parametrize("breakage", ["no model", "pickled weights"])
def test_a_failed_reload_keeps_the_old_model_serving_and_says_why(
    tiny_model_dir: Path, tmp_path: Path, breakage: str
) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    settings = make_settings(model_dir, tmp_path, api_keys=[KEY], admin_keys=[KEY])
    with TestClient(create_app(settings)) as client:
        before = client.get("/model", headers=AUTH).json()
        if breakage == "no model":
            (model_dir / "config.json").unlink()
            reason = "no config.json"
        else:
            # What a tampered upload could hold: weights that run code when unpickled.
            (model_dir / "model.safetensors").rename(model_dir / "pytorch_model.bin")
            reason = "pickled weights (pytorch_model.bin)"
        response = client.post("/admin/reload", headers=AUTH)
        assert response.status_code == 500
        body = response.json()
        assert reason in body["detail"]
        # The directory by its name: the answer holds no path of the machine.
        assert "reload of .../model failed" in body["detail"]
        assert str(tmp_path) not in response.text
        assert "still serving" in body["detail"]
        assert "Traceback" not in response.text
        assert body["serving"]["name"] == before["name"]
        assert client.get("/model", headers=AUTH).json() == before
        answer = client.post("/classify", json={"text": "Moscow denied it."}, headers=AUTH)
        assert answer.status_code == 200
        samples = metric_samples_with_key(client)
        assert metric_value(samples, "claimstance_model_reloads_total", outcome="failure") == 1


class _Versions:
    """Stands in for service.serving.load_model: version 1, 2, ... each a SlowClassifier."""

    def __init__(self, gates: dict[int, threading.Event]) -> None:
        self.gates = gates
        self.loads = 0
        self.classifiers: dict[str, SlowClassifier] = {}
        self.closed: list[str] = []
        self.loading = threading.Event()
        self.hold_load: threading.Event | None = None

    def __call__(self, settings: Settings, scratch: ExitStack) -> LoadedModel:
        self.loads += 1
        version = str(self.loads)
        self.loading.set()
        if self.hold_load is not None and self.loads > 1:
            self.hold_load.wait(timeout=30)
        classifier = SlowClassifier(gate=self.gates.get(self.loads), name=version)
        self.classifiers[version] = classifier
        scratch.callback(self.closed.append, version)
        return LoadedModel(
            classifier=classifier,
            ref=ModelRef(name="claimstance", version=version),
            uri=settings.model_uri,
        )


@pytest.fixture
def versions(monkeypatch: pytest.MonkeyPatch) -> _Versions:
    loader = _Versions({1: threading.Event()})
    monkeypatch.setattr(service.serving, "load_model", loader)
    return loader


def test_requests_in_flight_finish_on_the_model_they_started_on(
    versions: _Versions, tmp_path: Path
) -> None:
    settings = make_settings(
        "models:/claimstance@champion", tmp_path, api_keys=[KEY], admin_keys=[KEY]
    )
    app = create_app(settings, embedder=WordEmbedder())
    in_flight: dict[str, Any] = {}

    def slow_request(base_url: str) -> None:
        response = httpx.post(
            f"{base_url}/classify", json={"text": "Moscow denied it."}, headers=AUTH, timeout=30
        )
        in_flight["body"] = response.json()

    with served(app) as base_url:
        thread = threading.Thread(target=slow_request, args=(base_url,))
        thread.start()
        assert versions.classifiers["1"].entered.wait(timeout=10)  # held inside version 1
        reloaded = httpx.post(f"{base_url}/admin/reload", headers=AUTH, timeout=30)
        assert reloaded.status_code == 200
        assert reloaded.json()["model"]["version"] == "2"
        # A new request is served by version 2 while the first still runs on version 1...
        fresh = httpx.post(f"{base_url}/classify", json={"text": "It may rain."}, headers=AUTH)
        assert fresh.json()["model"]["version"] == "2"
        assert versions.closed == []  # ...which is not closed under it
        versions.gates[1].set()
        thread.join(timeout=10)
        assert in_flight["body"]["model"]["version"] == "1"
        assert in_flight["body"]["results"][0]["claims"][0]["label"] == "denial"
        deadline = time.monotonic() + 5
        while versions.closed != ["1"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert versions.closed == ["1"]  # closed once its last request was answered
    assert versions.closed == ["1", "2"]  # and the serving one at shutdown


def test_a_second_reload_while_one_runs_is_409(versions: _Versions, tmp_path: Path) -> None:
    versions.gates.clear()
    versions.hold_load = threading.Event()
    settings = make_settings(
        "models:/claimstance@champion", tmp_path, api_keys=[KEY], admin_keys=[KEY]
    )
    app = create_app(settings, embedder=WordEmbedder())
    first: dict[str, int] = {}
    with served(app) as base_url:
        versions.loading.clear()

        def reload() -> None:
            response = httpx.post(f"{base_url}/admin/reload", headers=AUTH, timeout=30)
            first["status"] = response.status_code

        thread = threading.Thread(target=reload)
        thread.start()
        assert versions.loading.wait(timeout=10)
        second = httpx.post(f"{base_url}/admin/reload", headers=AUTH, timeout=30)
        assert second.status_code == 409
        assert "already running" in second.json()["detail"]
        versions.hold_load.set()
        thread.join(timeout=10)
    assert first["status"] == 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sighup_reloads_the_model_of_a_running_service(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(tiny_model_dir, first)
    shutil.copytree(tiny_model_dir, second)
    card = json.loads((second / CARD_FILE).read_text(encoding="utf-8"))
    (second / CARD_FILE).write_text(json.dumps({**card, "base_model": "second-model"}))
    current = tmp_path / "current"
    current.symlink_to(first)
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CLAIMSTANCE_")},
        "PYTHONPATH": str(REPO),
        "CLAIMSTANCE_MODEL_URI": str(current),
        "CLAIMSTANCE_EMBEDDER_DIR": str(tiny_model_dir),
        "CLAIMSTANCE_DEVICE": "cpu",
        "CLAIMSTANCE_TRACKING_URI": f"sqlite:///{tmp_path / 'none' / 'mlflow.db'}",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "service", "--port", str(port), "--log-level", "warning"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/model"

    def base_model() -> str | None:
        try:
            response = httpx.get(url, timeout=2)
        except httpx.HTTPError:
            return None
        return response.json().get("base_model") if response.status_code == 200 else None

    try:
        deadline = time.monotonic() + 90
        while base_model() != "tiny-random-bert":
            assert server.poll() is None and time.monotonic() < deadline, "no service"
            time.sleep(0.2)
        current.unlink()
        current.symlink_to(second)
        server.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while base_model() != "second-model":
            assert server.poll() is None, "SIGHUP stopped the service"
            assert time.monotonic() < deadline, "SIGHUP did not reload the model"
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_start_up_and_reload_load_through_one_loader(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = service.serving.load_models

    def counting(settings: Settings, **kwargs: Any) -> service.serving.LoadedModels:
        calls.append(settings.model_uri)
        return real(settings, **kwargs)

    monkeypatch.setattr(service.serving, "load_models", counting)
    settings = make_settings(tiny_model_dir, tmp_path, api_keys=[KEY], admin_keys=[KEY])
    app = create_app(settings, embedder=WordEmbedder())
    with TestClient(app) as client:
        assert calls == [str(tiny_model_dir)]
        assert client.post("/admin/reload", headers=AUTH).status_code == 200
        assert calls == [str(tiny_model_dir)] * 2


def test_a_reload_whose_encoder_fails_keeps_both_old_models(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(
        tiny_model_dir,
        tmp_path,
        api_keys=[KEY],
        admin_keys=[KEY],
        embedder_dir=str(tiny_model_dir),
    )
    with TestClient(create_app(settings)) as client:
        app_state = client.app.state  # type: ignore[attr-defined]
        model, embedder = app_state.model, app_state.embedder
        assert embedder is not None

        def broken(settings: Settings, model_dir: Path | None = None) -> None:
            raise OSError("encoder files unreadable")

        monkeypatch.setattr(service.serving, "load_embedder", broken)
        response = client.post("/admin/reload", headers=AUTH)
        assert response.status_code == 500
        assert "encoder files unreadable" in response.json()["detail"]
        assert (app_state.model, app_state.embedder) == (model, embedder)
        assert client.post("/compare", json={"documents": _TWO}, headers=AUTH).status_code == 200


_TWO = [
    {"id": "a", "text": "Moscow denied the reports."},
    {"id": "b", "text": "Officials said Moscow denied the reports."},
]


def test_app_state_is_typed() -> None:
    from fastapi import FastAPI

    from service.state import ServiceState, service_state

    app = create_app(make_settings("unused", Path("/nonexistent")))
    state = service_state(app)
    assert isinstance(state, ServiceState) and state is app.state
    assert state.model is None and state.settings.model_uri == "unused"
    with pytest.raises(TypeError, match="create_app"):
        service_state(FastAPI())
