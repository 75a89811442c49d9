"""/health, /ready, /model, /metrics, /docs and the page: with a model and without one."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from model.classifier import ClaimClassifier
from model.labels import LABELS
from service.app import create_app
from tests.service.support import make_settings, metric_samples, metric_value


def test_health_and_ready_with_a_model(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_model_describes_the_loaded_model(client: TestClient, tiny_model_dir: Path) -> None:
    response = client.get("/model")
    assert response.status_code == 200
    info = response.json()
    assert info["name"] == tiny_model_dir.name
    # The directory by its name: an HTTP answer holds no absolute path of the machine.
    assert info["uri"] == f".../{tiny_model_dir.name}"
    assert info["labels"] == [label.value for label in LABELS]
    assert info["device"] == "cpu"
    assert info["base_model"] == "tiny-random-bert"
    assert info["max_length"] == 64
    assert info["pooling"] == "cls"
    assert info["metrics"] == {}
    assert {"version", "run_id", "temperature", "data_hash"} <= set(info)


def test_metrics_count_requests_latency_and_claims(client: TestClient) -> None:
    before = metric_samples(client)
    response = client.post(
        "/classify", json={"texts": ["Moscow denied the reports. Kirby spoke.", "A claim."]}
    )
    labels = [claim["label"] for result in response.json()["results"] for claim in result["claims"]]
    assert len(labels) == 3
    client.post("/classify", json={"text": ""})  # a 422 is counted too
    after = metric_samples(client)

    def delta(name: str, **sample_labels: str) -> float:
        return metric_value(after, name, **sample_labels) - metric_value(
            before, name, **sample_labels
        )

    ok = {"method": "POST", "route": "/classify", "status": "200"}
    bad = {"method": "POST", "route": "/classify", "status": "422"}
    assert delta("claimstance_http_requests_total", **ok) == 1
    assert delta("claimstance_http_requests_total", **bad) == 1
    timed = {"method": "POST", "route": "/classify"}
    assert delta("claimstance_http_request_duration_seconds_count", **timed) == 2
    assert delta("claimstance_http_request_duration_seconds_sum", **timed) > 0
    for label in LABELS:
        assert delta("claimstance_claims_total", label=label.value) == labels.count(label.value)
    assert delta("claimstance_texts_total") == 2
    assert metric_value(after, "claimstance_model_loaded") == 1
    # Each claim's top probability, by its label: a confidence shift shows per model.
    for label in LABELS:
        count = delta("claimstance_claim_top_probability_count", label=label.value)
        assert count == labels.count(label.value)
    assert sum(
        delta("claimstance_claim_top_probability_sum", label=label.value) for label in LABELS
    ) == pytest.approx(
        sum(max(c["scores"].values()) for r in response.json()["results"] for c in r["claims"])
    )


def test_model_info_names_the_model_serving(client: TestClient, tiny_model_dir: Path) -> None:
    samples = metric_samples(client)
    info = {
        (dict(labels)["name"], dict(labels)["backend"]): value
        for (name, labels), value in samples.items()
        if name == "claimstance_model_info"
    }
    # The injected classifier: named after its directory, backend "custom", no version.
    assert info == {(tiny_model_dir.name, "custom"): 1.0}


def test_requests_refused_before_routing_keep_their_route(
    tiny_model_dir: Path, tiny_classifier: ClaimClassifier, tmp_path: Path
) -> None:
    """A 401 (or 503 busy) is answered before routing: it was counted as route="unmatched"."""
    settings = make_settings(tiny_model_dir, tmp_path, api_keys=["k"])
    with TestClient(create_app(settings, classifier=tiny_classifier)) as keyed:
        assert keyed.post("/classify", json={"text": "A claim."}).status_code == 401
        keyed.headers["X-API-Key"] = "k"
        samples = metric_samples(keyed)
    refused = {"method": "POST", "route": "/classify", "status": "401"}
    assert metric_value(samples, "claimstance_http_requests_total", **refused) == 1


def test_unknown_paths_share_one_metric_series(client: TestClient) -> None:
    client.get("/no/such/page-1")
    client.get("/no/such/page-2")
    samples = metric_samples(client)
    routes = {dict(labels).get("route") for name, labels in samples}
    assert "unmatched" in routes
    assert not any(route and route.startswith("/no/such") for route in routes)


def test_apps_keep_separate_metric_registries(
    tiny_model_dir: Path, tiny_classifier: object, tmp_path: Path
) -> None:
    """Two apps in one process must neither collide nor share counts."""
    first = TestClient(create_app(make_settings(tiny_model_dir, tmp_path), tiny_classifier))
    second = TestClient(create_app(make_settings(tiny_model_dir, tmp_path), tiny_classifier))
    first.get("/health")
    first.get("/health")
    health = {"method": "GET", "route": "/health", "status": "200"}
    assert metric_value(metric_samples(first), "claimstance_http_requests_total", **health) == 2
    assert metric_value(metric_samples(second), "claimstance_http_requests_total", **health) == 0


def test_docs_and_openapi_are_served(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text.lower()
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/classify", "/health", "/ready", "/model"} <= set(paths)


def test_page_and_its_assets_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="classify-button"' in page.text
    for asset, kind in [("/static/app.js", "javascript"), ("/static/style.css", "text/css")]:
        response = client.get(asset)
        assert response.status_code == 200
        assert kind in response.headers["content-type"]
    # The script never writes text as HTML: no sink that parses markup.
    script = client.get("/static/app.js").text
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write"):
        assert sink not in script


@pytest.fixture
def no_model(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[TestClient]:
    settings = make_settings(tmp_path / "no-model-here", tmp_path)
    with (
        caplog.at_level(logging.ERROR, logger="service.app"),
        TestClient(create_app(settings)) as test_client,
    ):
        yield test_client


def test_missing_model_still_serves_health_and_says_how_to_train(
    no_model: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    assert no_model.get("/health").status_code == 200
    for response in (
        no_model.get("/ready"),
        no_model.get("/model"),
        no_model.post("/classify", json={"text": "Moscow denied the reports."}),
    ):
        assert response.status_code == 503
        detail = response.json()["detail"]
        assert "no-model-here" in detail
        assert "make train" in detail
    # One clear log line at startup with the same advice.
    setup_records = caplog.get_records("setup")
    errors = [record for record in setup_records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "make train" in errors[0].getMessage()
    assert metric_value(metric_samples(no_model), "claimstance_model_loaded") == 0


def test_missing_registry_store_is_not_created(tmp_path: Path) -> None:
    """Looking for models:/... in a store that does not exist must not leave an empty one."""
    database = tmp_path / "absent" / "mlflow.db"
    settings = make_settings(
        "models:/claimstance@champion", tmp_path, tracking_uri=f"sqlite:///{database}"
    )
    with TestClient(create_app(settings)) as test_client:
        response = test_client.get("/ready")
    assert response.status_code == 503
    # The file by its name: /ready answers without a key, and no path of the machine.
    assert "no MLflow store at .../mlflow.db" in response.json()["detail"]
    assert response.json()["detail"].startswith("no model loaded: no model at models:/claimstance")
    assert str(tmp_path) not in response.text
    assert "make train" in response.json()["detail"]
    assert not database.exists()


def test_directory_without_a_model_is_503(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with TestClient(create_app(make_settings(tmp_path / "empty", tmp_path))) as test_client:
        response = test_client.get("/ready")
    assert response.status_code == 503
    assert "no config.json" in response.json()["detail"]


def test_model_loaded_from_a_plain_directory(tiny_model_dir: Path, tmp_path: Path) -> None:
    """The production path: settings name a directory, the lifespan loads it once."""
    with TestClient(create_app(make_settings(tiny_model_dir, tmp_path))) as test_client:
        assert test_client.get("/ready").status_code == 200
        assert test_client.get("/model").json()["name"] == tiny_model_dir.name
        response = test_client.post("/classify", json={"text": "Moscow denied the reports."})
        assert response.status_code == 200
        assert len(response.json()["results"][0]["claims"]) == 1


def test_a_model_with_pickled_weights_is_not_served_unless_allowed(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from safetensors.torch import load_file

    directory = tmp_path / "pickled"
    import shutil

    import torch

    shutil.copytree(tiny_model_dir, directory)
    torch.save(load_file(directory / "model.safetensors"), directory / "pytorch_model.bin")
    (directory / "model.safetensors").unlink()
    with TestClient(create_app(make_settings(directory, tmp_path))) as client:
        response = client.get("/ready")
        assert response.status_code == 503
        assert "pickled weights (pytorch_model.bin)" in response.json()["detail"]
    allowed = make_settings(directory, tmp_path, allow_pickle=True)
    with TestClient(create_app(allowed)) as client:
        assert client.get("/ready").status_code == 200


def test_docs_and_static_files_have_their_own_metric_series(client: TestClient) -> None:
    client.get("/static/app.js")
    client.get("/docs")
    client.get("/")
    routes = {dict(labels).get("route") for _, labels in metric_samples(client)}
    assert {"/static", "/docs", "/"} <= routes


def test_ready_and_model_never_show_credentials_or_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed load used to put the store's password and the machine's paths on /ready."""
    from mlflow.exceptions import MlflowException

    import model.resolve

    secret = "s3cr3t-Passw0rd"
    tracking_uri = f"https://alice:{secret}@mlflow.example"

    def unreachable(uri: object, tracking: str) -> None:
        # What MLflow says when the store does not answer: the URI, password included.
        raise MlflowException(f"API request to {tracking}/api/2.0/mlflow failed ({tmp_path})")

    monkeypatch.setattr(model.resolve, "locate", unreachable)
    settings = make_settings("models:/claimstance@champion", tmp_path, tracking_uri=tracking_uri)
    with TestClient(create_app(settings)) as test_client:
        for path in ("/ready", "/health", "/model", "/classify"):
            response = test_client.request(
                "POST" if path == "/classify" else "GET", path, json={"text": "A claim."}
            )
            assert secret not in response.text, path
            assert str(tmp_path) not in response.text, path
        ready = test_client.get("/ready")
    assert ready.status_code == 503
    assert "https://***@mlflow.example" in ready.json()["detail"]
    assert "no model loaded" in caplog.text and secret not in caplog.text
