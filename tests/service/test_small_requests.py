"""A one-claim /classify is answered on the event loop: the same answers and limits as the
worker-thread path that larger requests take, without a thread round trip."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from model.classifier import ClaimClassifier, Prediction
from model.microbatch import MicroBatcher
from service.app import create_app
from service.budget import runs_on_loop
from service.responses import classify_texts
from tests.service.support import make_settings, sentences

SHORT_REQUESTS = [
    {"text": "Moscow denied the reports at the time."},
    {"text": "<p>The U.S. said no.</p> Officials denied it."},
    {"texts": [{"id": "kirby", "text": "Kirby said there was no evidence."}]},
    {"text": "We have never exported weapons to Russia.", "segment": False},
    {"text": "© 2022 BBC. All rights reserved."},  # no claim: no model call
]


class RecordingBatcher(MicroBatcher):
    """Records, for each job queued, whether it was queued from a running event loop."""

    def __init__(self, inner: ClaimClassifier) -> None:
        super().__init__(inner)
        self.from_loop: list[bool] = []

    def submit(self, texts: Sequence[str]) -> Future[list[Prediction]]:
        try:
            asyncio.get_running_loop()
            self.from_loop.append(True)
        except RuntimeError:
            self.from_loop.append(False)
        return super().submit(texts)


def _texts(request: dict[str, Any]) -> tuple[list[str], list[str] | None]:
    if "text" in request:
        return [request["text"]], None
    return [item["text"] for item in request["texts"]], [item["id"] for item in request["texts"]]


@pytest.mark.parametrize("micro_batch", [True, False], ids=["micro-batched", "direct"])
def test_a_short_request_gets_the_answer_the_worker_thread_path_gives(
    tiny_model_dir: Path, tiny_classifier: ClaimClassifier, tmp_path: Path, micro_batch: bool
) -> None:
    served = MicroBatcher(tiny_classifier) if micro_batch else tiny_classifier
    app = create_app(make_settings(tiny_model_dir, tmp_path), classifier=served)
    try:
        with TestClient(app) as client:
            for request in SHORT_REQUESTS:
                texts, ids = _texts(request)
                assert runs_on_loop(texts)
                response = client.post("/classify", json=request)
                assert response.status_code == 200
                segment = request.get("segment", True)
                expected = classify_texts(tiny_classifier, texts, segment=segment, ids=ids)
                assert response.json()["results"] == [
                    result.model_dump(mode="json") for result in expected
                ]
    finally:
        if isinstance(served, MicroBatcher):
            served.close()


def test_a_short_request_awaits_the_batcher_on_the_loop_and_a_long_one_in_a_worker(
    tiny_model_dir: Path, tiny_classifier: ClaimClassifier, tmp_path: Path
) -> None:
    batcher = RecordingBatcher(tiny_classifier)
    long_text = sentences(12)
    assert not runs_on_loop([long_text])
    app = create_app(make_settings(tiny_model_dir, tmp_path), classifier=batcher)
    try:
        with TestClient(app) as client:
            assert client.post("/classify", json={"text": "Moscow denied it."}).status_code == 200
            assert batcher.from_loop == [True]
            response = client.post("/classify", json={"text": long_text})
            assert response.status_code == 200
            assert len(response.json()["results"][0]["claims"]) == 12
            assert batcher.from_loop == [True, False]
    finally:
        batcher.close()


@pytest.mark.parametrize("text", ["Moscow denied it.", sentences(12)], ids=["short", "long"])
def test_a_request_out_of_time_is_answered_alike_on_either_path(
    tiny_model_dir: Path, tiny_classifier: ClaimClassifier, tmp_path: Path, text: str
) -> None:
    settings = make_settings(tiny_model_dir, tmp_path, request_timeout_s=1e-6)
    with TestClient(create_app(settings, classifier=tiny_classifier)) as client:
        response = client.post("/classify", json={"text": text})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "(request_timeout_s)" in response.json()["detail"]
