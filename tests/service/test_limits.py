"""No request can hold the machine: size limits answered before model work, a time budget
that stops the work, and a small request that stays fast beside the largest allowed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

import model.labelling
from model.microbatch import MicroBatcher
from service.app import create_app
from tests.service.support import (
    CountingEmbedder,
    SlowClassifier,
    make_settings,
    sentences,
    served,
)


def _client(tiny_model_dir: Path, tmp_path: Path, classifier: object, **settings: object):
    app = create_app(
        make_settings(tiny_model_dir, tmp_path, **settings),
        classifier=classifier,  # type: ignore[arg-type]
        embedder=CountingEmbedder(),
    )
    return TestClient(app)


def test_too_much_text_is_413_before_it_is_even_segmented(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    segmented: list[str] = []
    real = model.labelling.extract_claims
    monkeypatch.setattr(
        model.labelling,
        "extract_claims",
        lambda text, **kw: segmented.append(text) or real(text, **kw),
    )
    classifier = SlowClassifier()
    settings = {"max_chars": 80, "max_request_chars": 100}
    with _client(tiny_model_dir, tmp_path, classifier, **settings) as client:
        response = client.post("/classify", json={"texts": ["x" * 60, "y" * 60]})
        assert response.status_code == 413
        assert response.json()["detail"] == (
            "too much text: the texts hold 120 characters together, the limit is 100 per "
            "request (max_request_chars); split into requests of at most 100 characters"
        )
        story = {"documents": [{"id": "a", "text": "x" * 60}, {"id": "b", "text": "y" * 60}]}
        response = client.post("/compare", json=story)
        assert response.status_code == 413
        assert "max_request_chars" in response.json()["detail"]
        assert client.post("/classify", json={"texts": ["x" * 50, "y" * 50]}).status_code == 200
    assert segmented == ["x" * 50, "y" * 50]  # only the request within the limit


def test_too_many_claims_is_413_before_the_model_runs(tiny_model_dir: Path, tmp_path: Path) -> None:
    classifier = SlowClassifier()
    with _client(tiny_model_dir, tmp_path, classifier, max_claims=5) as client:
        response = client.post("/classify", json={"texts": [sentences(3), sentences(3, 3)]})
        assert response.status_code == 413
        assert response.json()["detail"] == (
            "too many claims: the request holds 6 claims, the limit is 5 per request "
            "(max_claims); split into requests of at most 5 claims"
        )
        assert classifier.calls == 0
        assert client.post("/classify", json={"text": sentences(5)}).status_code == 200


def test_a_story_with_too_many_claims_is_413_before_the_model_runs(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    classifier = SlowClassifier()
    with _client(tiny_model_dir, tmp_path, classifier, max_story_claims=3) as client:
        story = {
            "documents": [{"id": "a", "text": sentences(2)}, {"id": "b", "text": sentences(2, 2)}]
        }
        response = client.post("/compare", json=story)
        assert response.status_code == 413
        assert "the limit is 3 per request (max_story_claims)" in response.json()["detail"]
        assert classifier.calls == 0
        assert client.app.state.embedder.calls == 0


@pytest.mark.parametrize(
    ("setting", "named", "status", "retry_after"),
    [
        # The request's own work is too big: retrying it would run out again.
        ("compute_budget_s", "compute budget of 0.3 s", 413, None),
        # Waiting counts too: the service is busy, and a retry may get through.
        ("request_timeout_s", "within 0.3 s", 503, "1"),
    ],
)
def test_work_past_its_budget_stops(
    tiny_model_dir: Path,
    tmp_path: Path,
    setting: str,
    named: str,
    status: int,
    retry_after: str | None,
) -> None:
    # 640 claims in chunks of 64 at 1 ms a claim: 0.64 s of model work, over the budget.
    classifier = SlowClassifier(per_text_s=0.001)
    with _client(tiny_model_dir, tmp_path, classifier, **{setting: 0.3}) as client:
        started = time.perf_counter()
        response = client.post("/classify", json={"text": sentences(640)})
        elapsed = time.perf_counter() - started
    assert response.status_code == status
    assert named in response.json()["detail"] and setting in response.json()["detail"]
    assert response.headers.get("retry-after") == retry_after
    # The work stopped at the chunk after the budget ran out, not at the end.
    assert classifier.calls < 10
    assert elapsed < 1.5


def test_one_claim_stays_fast_while_the_largest_request_runs(tmp_path: Path) -> None:
    """The largest request the defaults allow runs for seconds; one claim beside it does not
    wait for it: the model sees big requests a chunk at a time, and segmentation is not shared."""
    classifier = SlowClassifier(per_text_s=0.001)  # 2,000 claims: 2 s of model time
    batcher = MicroBatcher(classifier)
    settings = make_settings(tmp_path / "unused", tmp_path)
    app = create_app(settings, classifier=batcher, embedder=CountingEmbedder())
    # max_claims claims, as one text within max_chars, each sentence distinct.
    largest = sentences(settings.max_claims)
    assert len(largest) <= settings.max_chars
    heavy: dict[str, float] = {}

    def send_heavy(base_url: str) -> None:
        started = time.perf_counter()
        response = httpx.post(f"{base_url}/classify", json={"text": largest}, timeout=60)
        heavy["status"] = response.status_code
        heavy["seconds"] = time.perf_counter() - started

    try:
        with served(app) as base_url:
            thread = threading.Thread(target=send_heavy, args=(base_url,))
            thread.start()
            assert classifier.entered.wait(timeout=30)  # the big one reached the model
            small = []
            with httpx.Client(base_url=base_url, timeout=30) as http:
                for _ in range(5):
                    started = time.perf_counter()
                    response = http.post("/classify", json={"text": "Moscow denied it."})
                    small.append(time.perf_counter() - started)
                    assert response.status_code == 200
            still_running = thread.is_alive()
            thread.join(timeout=60)
    finally:
        batcher.close()
    assert heavy["status"] == 200
    assert still_running, "the large request ended before the small ones: nothing was tested"
    assert heavy["seconds"] > 2.0
    print(f"large request {heavy['seconds']:.2f} s; one claim beside it at most {max(small):.3f} s")
    assert max(small) < 0.75, f"one claim took {max(small):.2f} s beside the large request"
