"""/compare's grouping setting: it reaches the grouping, the request budget covers the token
states it reads, and an encoder without them is said once, at start-up, and on GET /model."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from model.alignment import ClaimTokens
from model.classifier import ClaimClassifier
from model.embeddings import SentenceEmbedder
from model.story import BLEND, WORDS, compare_documents
from service.app import create_app
from service.budget import CHUNK_CLAIMS, Budget, BudgetedEmbedder, OverBudgetError
from tests.service.support import KeywordClassifier, RecordingEmbedder, WordEmbedder, make_settings

STORY = [
    {"id": "a", "text": "Troops crossed the border on Monday. The minister resigned."},
    {"id": "b", "text": "The minister denied that troops crossed the border. Prices rose."},
    {"id": "c", "text": "Troops may have crossed the border. The minister quit on Monday."},
]


@pytest.fixture(scope="module")
def tiny_embedder(tiny_model_dir: Path) -> SentenceEmbedder:
    return SentenceEmbedder.from_directory(tiny_model_dir, device="cpu", batch_size=8)


def _groups(body_groups: list[dict]) -> list[list[tuple[str, int]]]:
    return [
        sorted((m["document"], c["index"]) for m in group["members"] for c in m["claims"])
        for group in body_groups
    ]


@pytest.mark.parametrize(("grouping", "call"), [(BLEND, "embed_tokens"), (WORDS, "embed")])
def test_compare_groups_with_the_setting(
    tiny_model_dir: Path,
    tiny_classifier: ClaimClassifier,
    tiny_embedder: SentenceEmbedder,
    tmp_path: Path,
    grouping: str,
    call: str,
) -> None:
    settings = make_settings(tiny_model_dir, tmp_path, grouping=grouping)
    recording = RecordingEmbedder(tiny_embedder)
    app = create_app(settings, classifier=tiny_classifier, embedder=recording)
    with TestClient(app) as client:
        assert client.get("/model").json()["grouping"] == grouping
        response = client.post("/compare", json={"documents": STORY})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["grouping"] == grouping
    # One encoder call, the one the similarity needs, through the budgeted wrapper.
    assert recording.calls == [call]
    # The same groups and cut as the model's own comparison with that similarity.
    expected = compare_documents(
        [(d["id"], d["text"]) for d in STORY], tiny_classifier, tiny_embedder, similarity=grouping
    )
    assert body["threshold"] == pytest.approx(expected.threshold, abs=1e-4)
    assert _groups(body["groups"]) == [
        sorted((cell.document, claim.index) for cell in group.members for claim in cell.claims)
        for group in expected.groups
    ]


def test_an_encoder_loaded_at_start_up_serves_the_blend(
    tiny_model_dir: Path,
    tiny_classifier: ClaimClassifier,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The lifespan loads the encoder (embedder_dir: the tiny BERT) beside an injected classifier.
    calls: list[int] = []
    original = SentenceEmbedder.embed_tokens

    def counted(self: SentenceEmbedder, texts: Sequence[str]) -> tuple[np.ndarray, ClaimTokens]:
        calls.append(len(texts))
        return original(self, texts)

    monkeypatch.setattr(SentenceEmbedder, "embed_tokens", counted)
    settings = make_settings(tiny_model_dir, tmp_path, grouping=BLEND)
    with TestClient(create_app(settings, classifier=tiny_classifier)) as client:
        assert client.get("/model").json()["grouping"] == BLEND
        response = client.post("/compare", json={"documents": STORY})
    assert response.status_code == 200, response.text
    assert response.json()["grouping"] == BLEND
    assert calls == [6]


def test_an_encoder_without_token_states_is_said_once_at_start_up(
    tiny_model_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tiny_model_dir, tmp_path, grouping=BLEND)
    # Bag-of-words vectors and no token states: an encoder exported before them.
    app = create_app(settings, classifier=KeywordClassifier(), embedder=WordEmbedder())
    with caplog.at_level(logging.WARNING, logger="model.story"), TestClient(app) as client:
        started = len(caplog.records)
        answers = [client.post("/compare", json={"documents": STORY}) for _ in range(3)]
        info = client.get("/model").json()
    assert started == 1
    assert "'blend' needs the encoder's token states" in caplog.records[0].getMessage()
    # Requests fall back quietly: the start-up said so, and every answer names its grouping.
    assert len(caplog.records) == 1
    assert info["grouping"] == WORDS
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.json()["grouping"] == WORDS


# --- the budget covers the token states --------------------------------------------------


def test_budgeted_token_states_match_one_call_over_the_story(
    tiny_embedder: SentenceEmbedder,
) -> None:
    # More claims than one chunk, of many lengths, so chunks are sorted and joined back.
    texts = [("word " * (index % 9 + 1)) + f"number {index}." for index in range(CHUNK_CLAIMS + 9)]
    budget = Budget(timeout_s=60.0, compute_s=60.0)
    budget.start()
    vectors, tokens = BudgetedEmbedder(tiny_embedder, budget).embed_tokens(texts)
    expected_vectors, expected = tiny_embedder.embed_tokens(texts)
    np.testing.assert_allclose(vectors, expected_vectors, atol=1e-5)
    np.testing.assert_array_equal(tokens.lengths, expected.lengths)
    np.testing.assert_array_equal(tokens.ids, expected.ids)
    np.testing.assert_array_equal(tokens.content, expected.content)
    np.testing.assert_allclose(tokens.vectors, expected.vectors, atol=1e-5)


def test_the_budget_stops_token_states_between_chunks() -> None:
    now = [0.0]

    class SlowTokens:
        """Each call takes two seconds of the fake clock."""

        has_token_states = True
        calls = 0

        def embed(self, texts: Sequence[str]) -> np.ndarray:
            raise AssertionError("the blend reads token states, not bare vectors")

        def embed_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, ClaimTokens]:
            SlowTokens.calls += 1
            now[0] += 2.0
            count = len(texts)
            return np.ones((count, 2), np.float32), ClaimTokens(
                np.ones((count, 2), np.float32),
                np.arange(count),
                np.ones(count, bool),
                np.ones(count, np.int64),
            )

    budget = Budget(timeout_s=60.0, compute_s=1.0, clock=lambda: now[0])
    budget.start()
    wrapped = BudgetedEmbedder(SlowTokens(), budget)
    assert wrapped.has_token_states
    with pytest.raises(OverBudgetError):
        wrapped.embed_tokens([f"claim {index}" for index in range(CHUNK_CLAIMS + 1)])
    # The first chunk ran; the check before the second stopped the work.
    assert SlowTokens.calls == 1


def test_wrapping_an_encoder_without_token_states_keeps_saying_so() -> None:
    budget = Budget(timeout_s=60.0, compute_s=60.0)
    wrapped = BudgetedEmbedder(WordEmbedder(), budget)
    assert not wrapped.has_token_states
    with pytest.raises(ValueError, match="no token states"):
        wrapped.embed_tokens(["a claim"])
