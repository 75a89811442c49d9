"""Bad input to /classify: always a 4xx whose detail names the problem (and the limit)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from model.classifier import ClaimClassifier
from service.app import create_app
from tests.service.support import make_settings

MAX_TEXTS = 3
MAX_CHARS = 50


@pytest.fixture(scope="module")
def limited(
    tiny_model_dir: Path, tiny_classifier: ClaimClassifier, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    settings = make_settings(
        tiny_model_dir,
        tmp_path_factory.mktemp("limits"),
        max_texts=MAX_TEXTS,
        max_chars=MAX_CHARS,
    )
    with TestClient(create_app(settings, classifier=tiny_classifier)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"text": ""}, "text is empty or only whitespace"),
        ({"text": " \n\t "}, "text is empty or only whitespace"),
        ({"texts": ["fine text.", "   "]}, "texts[1] is empty or only whitespace"),
        ({"texts": ["fine.", 3]}, 'texts[1] must be a string, or an {"id", "text"} object, got a'),
        (
            {"texts": ["fine.", None]},
            'texts[1] must be a string, or an {"id", "text"} object, got n',
        ),
        ({"text": ["a list"]}, "text must be a string, got an array"),
        ({"texts": "not"}, 'texts must be a list of strings, or of {"id", "text"} objects, got a'),
        ({"texts": [{"id": "a", "text": "one."}, "two."]}, "texts mixes plain strings and"),
        ({"texts": ["one.", {"id": "a", "text": "two."}]}, "(texts[0] is a string, texts[1] an"),
        ({"texts": ["one.", {"id": "a", "text": "two."}]}, "send one kind per request"),
        ({"texts": [{"id": "a", "text": "x."}, {"id": "a", "text": "y."}]}, 'repeated: "a"'),
        ({"texts": [{"id": "a", "text": "x."}, {"id": "a", "text": "y."}]}, "ids in texts must"),
        ({"texts": [{"id": " ", "text": "x."}]}, "texts[0].id is empty"),
        ({"texts": [{"id": "a", "text": "\t"}]}, "texts[0].text is empty or only whitespace"),
        ({"texts": [{"id": "x" * 201, "text": "x."}]}, "texts[0].id is too long: the limit is 200"),
        ({"texts": [{"id": 7, "text": "x."}]}, "texts[0].id must be a string, got a number"),
        ({"texts": [{"text": "x."}]}, '"texts[0].id" is missing'),
        ({"texts": [{"id": "a", "txt": "x."}]}, 'unknown field "texts[0].txt"'),
        ({"texts": [{"id": "a", "text": None}]}, "texts[0].text must be a string, got null"),
        ({"texts": []}, '"texts" is empty'),
        ({"text": "one", "texts": ["two"]}, 'send either "text"'),
        ({"text": "one", "texts": ["two"]}, "not both"),
        ({}, 'send either "text" (one string) or "texts" (a list of strings, or of {"id", "text"}'),
        ({"segment": False}, 'send either "text"'),
        ({"txt": "typo"}, 'unknown field "txt"'),
        ({"text": "fine.", "segment": "yes"}, "segment must be true or false"),
        (["fine text."], "the body must be a JSON object, got an array"),
        ("fine text.", "the body must be a JSON object, got a string"),
    ],
)
def test_invalid_body_is_422_with_a_readable_detail(
    limited: TestClient, body: object, expected: str
) -> None:
    response = limited.post("/classify", json=body)
    assert response.status_code == 422, response.text
    payload = response.json()
    assert isinstance(payload["detail"], str)
    assert expected in payload["detail"]
    # The machine-readable list is there too, without echoing the input back.
    assert payload["errors"]
    assert all("input" not in error for error in payload["errors"])


def test_too_many_texts_is_413_naming_the_limit_and_how_to_split(limited: TestClient) -> None:
    response = limited.post("/classify", json={"texts": ["Short claim."] * (MAX_TEXTS + 1)})
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"too many texts: {MAX_TEXTS + 1} sent, the limit is {MAX_TEXTS} per request "
        "(max_texts); "
        f"split into requests of at most {MAX_TEXTS} texts",
        "limit": MAX_TEXTS,
        "unit": "texts",
    }


def test_too_long_text_is_413_naming_the_text_and_the_limit(limited: TestClient) -> None:
    response = limited.post("/classify", json={"texts": ["ok.", "x" * (MAX_CHARS + 1)]})
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"texts[1] is too long: {MAX_CHARS + 1} characters, "
        f"the limit is {MAX_CHARS} characters per text (max_chars); "
        f"split into texts of at most {MAX_CHARS} characters",
        "limit": MAX_CHARS,
        "unit": "characters",
    }


def test_too_long_item_is_413_naming_the_item_by_index_and_id(limited: TestClient) -> None:
    items = [{"id": "ok", "text": "ok."}, {"id": "bbc-7", "text": "x" * (MAX_CHARS + 1)}]
    response = limited.post("/classify", json={"texts": items})
    assert response.status_code == 413
    assert response.json()["detail"].startswith(
        f"texts[1].text ('bbc-7') is too long: {MAX_CHARS + 1} characters"
    )


def test_text_at_the_limit_is_accepted(limited: TestClient) -> None:
    response = limited.post("/classify", json={"texts": ["word " * (MAX_CHARS // 5)] * MAX_TEXTS})
    assert response.status_code == 200


def test_oversized_body_is_413_before_parsing(limited: TestClient) -> None:
    settings = limited.app.state.settings
    body = b'{"text": "' + b"x" * settings.max_body_bytes + b'"}'
    response = limited.post("/classify", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    payload = response.json()
    assert f"the limit is {settings.max_body_bytes} bytes" in payload["detail"]
    assert payload["detail"].endswith(
        f"split into requests of at most {settings.max_body_bytes} bytes"
    )
    assert (payload["limit"], payload["unit"]) == (settings.max_body_bytes, "bytes")


def test_oversized_chunked_body_is_413(limited: TestClient) -> None:
    settings = limited.app.state.settings
    chunk = b"x" * 16_384
    chunks = settings.max_body_bytes // len(chunk) + 2

    def stream() -> Iterator[bytes]:
        # A generator body goes out chunked, with no Content-Length to check up front.
        yield b'{"text": "'
        for _ in range(chunks):
            yield chunk

    response = limited.post(
        "/classify", content=stream(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "request body too large" in response.json()["detail"]
    assert response.json()["unit"] == "bytes"


def test_invalid_json_is_400(limited: TestClient) -> None:
    response = limited.post(
        "/classify", content=b'{"text": "unterminated', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("invalid JSON at character ")


def test_empty_body_is_422(limited: TestClient) -> None:
    response = limited.post("/classify", content=b"", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "the request body is empty" in response.json()["detail"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_wrong_content_type_is_415(limited: TestClient, content_type: str) -> None:
    response = limited.post(
        "/classify", content=b'{"text": "fine."}', headers={"content-type": content_type}
    )
    assert response.status_code == 415
    detail = response.json()["detail"]
    assert content_type in detail
    assert "application/json" in detail


def test_missing_content_type_is_415(limited: TestClient) -> None:
    response = limited.post("/classify", content=b'{"text": "fine."}')
    assert response.status_code == 415
    assert "missing Content-Type" in response.json()["detail"]


def test_json_with_charset_is_accepted(limited: TestClient) -> None:
    response = limited.post(
        "/classify",
        content=b'{"text": "Moscow denied it."}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


def test_wrong_method_and_unknown_path_stay_4xx(limited: TestClient) -> None:
    assert limited.get("/classify").status_code == 405
    assert limited.post("/nowhere", json={"text": "x"}).status_code == 404


@pytest.mark.parametrize("path", ["/classify/", "/compare/", "/model/"])
def test_a_trailing_slash_is_a_404_naming_the_route_not_a_bare_redirect(
    limited: TestClient, path: str
) -> None:
    response = limited.post(path, json={"text": "A claim."}, follow_redirects=False)
    assert response.status_code == 404
    assert response.json()["detail"] == (
        f"no route {path}: the route is {path.rstrip('/')}, without the trailing slash"
    )
    assert limited.get("/no/such/page").json() == {"detail": "Not Found"}
