"""The app serves the ONNX export when there is one, and coalesces requests by default."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient

from model.classifier import ClaimClassifier
from model.microbatch import MicroBatcher
from service.app import create_app
from tests.service.support import make_settings


def test_exported_model_is_served_on_onnx_with_micro_batching(
    tiny_exported_dir: Path, tmp_path: Path
) -> None:
    settings = make_settings(tiny_exported_dir, tmp_path, embedder_dir=None)
    app = create_app(settings)
    with TestClient(app) as client:
        info = client.get("/model").json()
        assert (info["backend"], info["device"]) == ("onnx", "cpu")
        batcher = app.state.model.classifier
        assert isinstance(batcher, MicroBatcher)
        # /compare groups with the encoder exported beside the classifier, not the packaged one.
        assert app.state.embedder.backend.name == "onnx"
        texts = [f"Officials denied report number {i}." for i in range(24)]
        with ThreadPoolExecutor(12) as pool:
            responses = list(pool.map(lambda t: client.post("/classify", json={"text": t}), texts))
        assert all(response.status_code == 200 for response in responses)
        assert batcher.forward_passes >= 1  # the requests went through the inference thread
        # Coalesced or not, every response carries its own request's claim.
        answered = [r.json()["results"][0]["claims"][0]["text"] for r in responses]
        assert answered == texts
    assert not batcher._thread.is_alive()  # the lifespan stops the inference thread


def test_torch_backend_and_no_micro_batching_are_settings(
    tiny_exported_dir: Path, tmp_path: Path
) -> None:
    settings = make_settings(tiny_exported_dir, tmp_path, backend="torch", micro_batch=False)
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.get("/model").json()["backend"] == "torch"
        assert isinstance(app.state.model.classifier, ClaimClassifier)
        assert client.post("/classify", json={"text": "Moscow denied it."}).status_code == 200
