"""API keys and CORS: closed where it matters, open where the service must stay reachable."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import service.auth
from model.classifier import ClaimClassifier
from service.app import create_app
from service.auth import ApiKeyFileError
from service.settings import Settings
from tests.service.support import make_settings

KEYS = ["first-key-6f1c2a", "second-key-9b7d4e"]
ORIGIN = "https://newsroom.example"


@pytest.fixture
def keyed(tiny_model_dir: Path, tiny_classifier: ClaimClassifier, tmp_path: Path) -> TestClient:
    settings = make_settings(tiny_model_dir, tmp_path, api_keys=KEYS)
    with TestClient(create_app(settings, classifier=tiny_classifier)) as client:
        yield client


PROTECTED = [
    ("GET", "/model"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("POST", "/classify"),
    ("POST", "/compare"),
    ("POST", "/feedback"),
    ("POST", "/admin/reload"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_without_a_key_everything_but_probes_and_page_is_401(
    keyed: TestClient, method: str, path: str
) -> None:
    response = keyed.request(method, path, json={"text": "Moscow denied it."})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="claimstance"'
    assert "Authorization: Bearer KEY" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/health", "/ready", "/", "/static/app.js"])
def test_probes_and_the_page_need_no_key(keyed: TestClient, path: str) -> None:
    assert keyed.get(path).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {KEYS[0]}"},
        {"authorization": f"bearer {KEYS[1]}"},
        {"X-API-Key": KEYS[1]},
    ],
)
def test_either_header_with_either_key_is_accepted(keyed: TestClient, headers: dict) -> None:
    response = keyed.post("/classify", json={"text": "Moscow denied it."}, headers=headers)
    assert response.status_code == 200
    assert keyed.get("/model", headers=headers).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {KEYS[0]}"},  # a key, but not as a bearer token
        {"X-API-Key": KEYS[0] + "x"},
        {"X-API-Key": KEYS[0][:-1]},
    ],
)
def test_a_wrong_key_is_401(keyed: TestClient, headers: dict) -> None:
    response = keyed.get("/model", headers=headers)
    assert response.status_code == 401
    assert "www-authenticate" in response.headers


def test_every_digest_is_compared_in_constant_time(
    keyed: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hmac.compare_digest on digests, all of them each time: no early exit to time."""
    calls: list[tuple[bytes, bytes]] = []
    real = service.auth.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(service.auth.hmac, "compare_digest", spy)
    assert keyed.get("/model", headers={"X-API-Key": KEYS[0]}).status_code == 200
    assert len(calls) == len(KEYS)  # the first key matched; the second was compared anyway
    assert all(len(a) == len(b) == 32 for a, b in calls)  # SHA-256 digests, never raw keys
    calls.clear()
    assert keyed.get("/model", headers={"X-API-Key": "wrong"}).status_code == 401
    assert len(calls) == len(KEYS)


def test_keys_are_never_logged_nor_shown(
    keyed: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        keyed.get("/model", headers={"X-API-Key": KEYS[0]})
        keyed.get("/model", headers={"X-API-Key": "a-wrong-guess-5a5a"})
        keyed.get("/model")
    assert caplog.records  # the refusals are logged...
    for secret in (*KEYS, "a-wrong-guess-5a5a"):
        assert secret not in caplog.text  # ...without the keys
    settings = keyed.app.state.settings
    assert not any(key in repr(settings) or key in str(settings) for key in KEYS)


def test_keys_from_the_environment_are_comma_separated(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CLAIMSTANCE_API_KEYS", f" {KEYS[0]} ,{KEYS[1]},")
    settings = Settings()
    assert [key.get_secret_value() for key in settings.api_keys] == KEYS
    assert settings.auth_enabled


def test_a_file_of_digests_sets_the_keys(
    tiny_model_dir: Path, tiny_classifier: ClaimClassifier, tmp_path: Path
) -> None:
    keys_file = tmp_path / "keys"
    digest = hashlib.sha256(b"from-the-file").hexdigest()
    keys_file.write_text(f"# newsroom tools\n{digest}  desk-bot\n\n", encoding="utf-8")
    settings = make_settings(tiny_model_dir, tmp_path, api_keys_file=keys_file)
    with TestClient(create_app(settings, classifier=tiny_classifier)) as client:
        assert client.get("/model").status_code == 401
        assert client.get("/model", headers={"X-API-Key": "from-the-file"}).status_code == 200
        assert client.get("/model", headers={"X-API-Key": digest}).status_code == 401


def test_a_key_pasted_into_the_file_is_refused_without_echoing_it(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("plain-secret-key\n", encoding="utf-8")
    with pytest.raises(ApiKeyFileError, match="line 1 is not a SHA-256") as error:
        create_app(make_settings(tiny_model_dir, tmp_path, api_keys_file=keys_file))
    assert "plain-secret-key" not in str(error.value)
    with pytest.raises(ApiKeyFileError, match="cannot read"):
        create_app(make_settings(tiny_model_dir, tmp_path, api_keys_file=tmp_path / "absent"))


def test_without_keys_the_api_is_open_but_reload_is_not(client: TestClient) -> None:
    assert client.get("/model").status_code == 200
    response = client.post("/admin/reload")
    assert response.status_code == 403
    assert "CLAIMSTANCE_ADMIN_KEYS" in response.json()["detail"]


def test_an_ordinary_key_cannot_reload(keyed: TestClient) -> None:
    """Any key could reload the model: reloading needs an admin key of its own."""
    response = keyed.post("/admin/reload", headers={"X-API-Key": KEYS[0]})
    assert response.status_code == 403
    assert "needs an admin key" in response.json()["detail"]


def test_only_an_admin_key_reloads(
    tiny_model_dir: Path, tiny_classifier: ClaimClassifier, tmp_path: Path
) -> None:
    admin = "admin-key-7c7c"
    settings = make_settings(tiny_model_dir, tmp_path, api_keys=KEYS, admin_keys=[admin])
    with TestClient(create_app(settings, classifier=tiny_classifier)) as client:
        refused = client.post("/admin/reload", headers={"X-API-Key": KEYS[0]})
        assert refused.status_code == 401
        assert "admin key" in refused.json()["detail"]
        assert client.post("/admin/reload", headers={"X-API-Key": admin}).status_code == 200
        # The admin key is for /admin/ only.
        assert client.get("/model", headers={"X-API-Key": admin}).status_code == 401


def _preflight(client: TestClient, origin: str) -> object:
    return client.options(
        "/classify",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-api-key",
        },
    )


def test_cors_is_closed_by_default(client: TestClient) -> None:
    preflight = _preflight(client, ORIGIN)
    assert "access-control-allow-origin" not in preflight.headers  # type: ignore[attr-defined]
    response = client.get("/health", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in response.headers


def test_cors_opens_to_the_origins_set_only(
    tiny_model_dir: Path, tiny_classifier: ClaimClassifier, tmp_path: Path
) -> None:
    settings = make_settings(tiny_model_dir, tmp_path, api_keys=KEYS, cors_origins=[ORIGIN])
    with TestClient(create_app(settings, classifier=tiny_classifier)) as client:
        preflight = _preflight(client, ORIGIN)
        assert preflight.status_code == 200  # answered before it would need a key
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
        other = _preflight(client, "https://elsewhere.example")
        assert other.headers.get("access-control-allow-origin") != "https://elsewhere.example"
        response = client.get("/model", headers={"Origin": ORIGIN, "X-API-Key": KEYS[0]})
        assert response.headers["access-control-allow-origin"] == ORIGIN


def test_cors_origins_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CLAIMSTANCE_CORS_ORIGINS", f"{ORIGIN},https://b.example")
    assert Settings().cors_origins == [ORIGIN, "https://b.example"]


def test_a_key_written_into_the_keys_file_as_it_is_is_refused_and_explained(
    tiny_model_dir: Path,
    tiny_classifier: ClaimClassifier,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 64-hex key looks like a digest: written into the file as it is, no key opens it."""
    raw = hashlib.sha256(b"some random key").hexdigest()  # 64 hex digits, used as a key
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"{raw}\n", encoding="utf-8")
    settings = make_settings(tiny_model_dir, tmp_path, api_keys_file=keys_file)
    with TestClient(create_app(settings, classifier=tiny_classifier)) as client:
        assert client.get("/model", headers={"X-API-Key": raw}).status_code == 401
    assert "must hold its SHA-256 digest" in caplog.text
    assert raw not in caplog.text
