"""Bad input to /compare: always a 4xx whose detail names the problem (and the limit)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from model.classifier import ClaimClassifier
from service.app import create_app
from service.schemas import MAX_ID_CHARS
from service.settings import Settings
from tests.service.support import KeywordClassifier, WordEmbedder, make_settings

MAX_DOCUMENTS = 3
MAX_CHARS = 50
USAGE = 'send "documents": a list of {"id": "...", "text": "..."} objects'


def _documents(count: int, text: str = "Moscow denied it.") -> list[dict[str, str]]:
    return [{"id": f"outlet-{index}", "text": text} for index in range(count)]


TWO = _documents(2)


@pytest.fixture(scope="module")
def limited(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(
        tiny_model_dir,
        tmp_path_factory.mktemp("compare-limits"),
        max_documents=MAX_DOCUMENTS,
        max_chars=MAX_CHARS,
    )
    app = create_app(settings, classifier=KeywordClassifier(), embedder=WordEmbedder())
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, f'"documents" is missing: {USAGE}'),
        ({"documents": []}, "too few documents: 0 sent, /compare needs at least 2"),
        ({"documents": _documents(1)}, "too few documents: 1 sent, /compare needs at least 2"),
        ({"documents": "bbc"}, 'documents must be a list of {"id", "text"} objects, got a string'),
        ({"documents": ["one", "two"]}, "documents[0] must be a JSON object, got a string"),
        ({"documents": [TWO[0], {"id": "x"}]}, '"documents[1].text" is missing'),
        ({"documents": [TWO[0], {"text": "x"}]}, '"documents[1].id" is missing'),
        ({"documents": [TWO[0], {"id": 7, "text": "x"}]}, "documents[1].id must be a string"),
        ({"documents": [TWO[0], {"id": "x", "text": None}]}, "documents[1].text must be a string"),
        ({"documents": [TWO[0], {"id": " ", "text": "x"}]}, "documents[1].id is empty"),
        (
            {"documents": [TWO[0], {"id": "x", "text": " \n "}]},
            "documents[1].text is empty or only whitespace",
        ),
        (
            {"documents": [TWO[0], {"id": "x" * (MAX_ID_CHARS + 1), "text": "x"}]},
            f"documents[1].id is too long: the limit is {MAX_ID_CHARS} characters",
        ),
        (
            {"documents": [TWO[0], {"id": "outlet-0", "text": "x"}]},
            'document ids must be unique; repeated: "outlet-0"',
        ),
        ({"documents": [TWO[0], {**TWO[1], "url": "x"}]}, 'unknown field "documents[1].url"'),
        ({"documents": TWO, "texts": ["x"]}, f'unknown field "texts": {USAGE}'),
        ({"documents": TWO, "threshold": 0}, "threshold should be greater than 0, got 0"),
        ({"documents": TWO, "threshold": -0.5}, "threshold should be greater than 0, got -0.5"),
        (
            {"documents": TWO, "threshold": 1.5},
            "threshold should be less than or equal to 1, got 1.5",
        ),
        ({"documents": TWO, "threshold": "0.5"}, "threshold must be a number, got a string"),
        ({"documents": TWO, "threshold": True}, "threshold must be a number, got a boolean"),
        ({"documents": TWO, "segment": "no"}, "segment must be true or false, got a string"),
        (["x", "y"], f"the body must be a JSON object, got an array: {USAGE}"),
    ],
)
def test_invalid_body_is_422_with_a_readable_detail(
    limited: TestClient, body: object, expected: str
) -> None:
    response = limited.post("/compare", json=body)
    assert response.status_code == 422, response.text
    payload = response.json()
    assert expected in payload["detail"]
    assert "/classify" not in payload["detail"] and '"texts" (a list' not in payload["detail"]
    assert payload["errors"]
    assert all("input" not in error for error in payload["errors"])


def test_too_many_documents_is_413_naming_the_limit(limited: TestClient) -> None:
    response = limited.post("/compare", json={"documents": _documents(MAX_DOCUMENTS + 1)})
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"too many documents: {MAX_DOCUMENTS + 1} sent, the limit is {MAX_DOCUMENTS} "
        f"per request (max_documents); split into requests of at most {MAX_DOCUMENTS} documents",
        "limit": MAX_DOCUMENTS,
        "unit": "documents",
    }


def test_too_long_document_is_413_naming_it_and_the_limit(limited: TestClient) -> None:
    documents = [*TWO, {"id": "long", "text": "x" * (MAX_CHARS + 1)}]
    response = limited.post("/compare", json={"documents": documents})
    assert response.status_code == 413
    assert response.json()["detail"] == (
        f"documents[2].text ('long') is too long: {MAX_CHARS + 1} characters, "
        f"the limit is {MAX_CHARS} characters per text (max_chars); "
        f"split into texts of at most {MAX_CHARS} characters"
    )


def test_documents_and_threshold_at_the_limits_are_accepted(limited: TestClient) -> None:
    documents = _documents(MAX_DOCUMENTS, "word " * (MAX_CHARS // 5))
    for threshold in (1, 1.0, 1e-9):
        response = limited.post("/compare", json={"documents": documents, "threshold": threshold})
        assert response.status_code == 200, response.text
        assert response.json()["threshold"] == threshold


def test_non_json_bodies_are_refused(limited: TestClient) -> None:
    headers = {"content-type": "application/json"}
    assert limited.post("/compare", content=b'{"documents": [', headers=headers).status_code == 400
    empty = limited.post("/compare", content=b"", headers=headers)
    assert empty.status_code == 422
    assert (
        empty.json()["detail"]
        == f'the request body is empty: {USAGE}, and optionally "threshold" and "segment"'
    )
    plain = limited.post("/compare", content=b"{}", headers={"content-type": "text/plain"})
    assert plain.status_code == 415
    assert limited.get("/compare").status_code == 405


def test_no_model_is_503_with_the_reason(tiny_model_dir: Path, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "no-model-here", tmp_path)
    with TestClient(create_app(settings)) as client:
        response = client.post("/compare", json={"documents": TWO})
    assert response.status_code == 503
    assert "no model loaded" in response.json()["detail"]
    assert "make train" in response.json()["detail"]


def test_missing_encoder_is_503_for_compare_only(
    tiny_model_dir: Path, tiny_classifier: ClaimClassifier, tmp_path: Path
) -> None:
    settings = make_settings(tiny_model_dir, tmp_path, embedder_dir=tmp_path / "no-encoder")
    with TestClient(create_app(settings, classifier=tiny_classifier)) as client:
        compare = client.post("/compare", json={"documents": TWO})
        assert compare.status_code == 503
        detail = compare.json()["detail"]
        assert detail.startswith("no sentence encoder loaded:")
        assert ".../no-encoder holds no encoder" in detail  # named, not its path
        assert str(tmp_path) not in detail
        assert "CLAIMSTANCE_EMBEDDER_DIR" in detail
        # The classifier is fine: /classify and readiness do not depend on the encoder.
        assert client.post("/classify", json={"text": "Moscow denied it."}).status_code == 200
        assert client.get("/ready").status_code == 200


def test_body_limit_covers_the_largest_valid_compare_request() -> None:
    settings = Settings(max_texts=1, max_documents=5, max_chars=10)
    # Five documents with the longest ids and texts, every character a \\uXXXX escape.
    assert settings.max_body_bytes >= 5 * (10 + MAX_ID_CHARS) * 6
