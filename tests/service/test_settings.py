"""Settings from the environment, and `python -m service` flags over them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import typer
from pydantic import ValidationError

from model.story import (
    SIMILARITY_THRESHOLD_GT,
    SIMILARITY_THRESHOLD_LE,
    cluster_claims,
)
from service.cli import settings_from_flags
from service.schemas import CompareRequest
from service.settings import Settings


def test_defaults(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.chdir(tmp_path)
    settings = Settings()
    assert settings.model_uri == "models:/claimstance@champion"
    # The store training writes by default: mlflow.db where the command runs (model.store).
    assert settings.tracking_uri == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert (settings.device, settings.host, settings.port) == ("auto", "127.0.0.1", 8000)
    assert settings.max_texts == 64
    assert settings.max_chars == 100_000
    assert settings.max_documents == 10
    assert settings.similarity_threshold is None  # each story's own (model.story.story_threshold)
    assert settings.embedder_dir is None  # the packaged all-MiniLM-L6-v2


def test_environment_overrides(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CLAIMSTANCE_MODEL_URI", "/srv/model")
    clean_env.setenv("CLAIMSTANCE_DEVICE", "cpu")
    clean_env.setenv("CLAIMSTANCE_MAX_TEXTS", "5")
    clean_env.setenv("CLAIMSTANCE_PORT", "9001")
    settings = Settings()
    assert (settings.model_uri, settings.device, settings.max_texts, settings.port) == (
        "/srv/model",
        "cpu",
        5,
        9001,
    )


def test_mlflow_tracking_uri_is_honoured_and_ours_wins(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    assert Settings().tracking_uri == "http://mlflow:5000"
    clean_env.setenv("CLAIMSTANCE_TRACKING_URI", "sqlite:///elsewhere.db")
    assert Settings().tracking_uri == "sqlite:///elsewhere.db"


def test_compare_settings_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CLAIMSTANCE_MAX_DOCUMENTS", "4")
    clean_env.setenv("CLAIMSTANCE_SIMILARITY_THRESHOLD", "0.7")
    clean_env.setenv("CLAIMSTANCE_EMBEDDER_DIR", "/srv/encoder")
    settings = Settings()
    assert (settings.max_documents, settings.similarity_threshold) == (4, 0.7)
    assert settings.embedder_dir == Path("/srv/encoder")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CLAIMSTANCE_DEVICE", "tpu"),
        ("CLAIMSTANCE_MAX_TEXTS", "0"),
        ("CLAIMSTANCE_PORT", "x"),
        ("CLAIMSTANCE_MAX_DOCUMENTS", "1"),
        ("CLAIMSTANCE_SIMILARITY_THRESHOLD", "0"),
        ("CLAIMSTANCE_SIMILARITY_THRESHOLD", "1.5"),
        ("CLAIMSTANCE_GROUPING", "cosine"),
    ],
)
def test_bad_environment_is_refused(clean_env: pytest.MonkeyPatch, name: str, value: str) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("CLAIMSTANCE_").lower()):
        Settings()


def test_grouping_is_one_of_the_similarities_and_words_by_default(
    clean_env: pytest.MonkeyPatch,
) -> None:
    assert Settings().grouping == "words"
    clean_env.setenv("CLAIMSTANCE_GROUPING", "blend")
    assert Settings().grouping == "blend"


def test_a_bad_grouping_stops_the_start_naming_the_variable_and_the_choices(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("CLAIMSTANCE_GROUPING", "Blend ")
    with pytest.raises(typer.Exit) as stopped:
        settings_from_flags(port=None)
    assert stopped.value.exit_code == 2
    error = capsys.readouterr().err
    assert "CLAIMSTANCE_GROUPING" in error
    assert all(f"'{name}'" in error for name in ("words", "alignment", "blend"))
    assert "Traceback" not in error


def test_flags_override_the_environment(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("CLAIMSTANCE_PORT", "9001")
    clean_env.setenv("CLAIMSTANCE_HOST", "0.0.0.0")
    clean_env.setenv("CLAIMSTANCE_ALLOW_OPEN", "true")  # reachable and keyless, on purpose
    # A flag not given arrives as None and leaves the environment's value.
    settings = settings_from_flags(port=8123, model_uri=str(tmp_path), device="cpu", host=None)
    assert (settings.port, settings.model_uri, settings.device) == (8123, str(tmp_path), "cpu")
    assert settings.host == "0.0.0.0"  # not given as a flag: the environment's value stays


def test_max_body_bytes_covers_the_largest_valid_request() -> None:
    settings = Settings(max_texts=2, max_chars=10)
    # Two texts of ten characters each, every one a JSON \\uXXXX escape, still fit.
    assert settings.max_body_bytes >= 2 * 10 * 6 + len('{"texts": ["", ""], "segment": false}')


def test_compare_flags_override_the_environment(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.setenv("CLAIMSTANCE_SIMILARITY_THRESHOLD", "0.7")
    clean_env.setenv("CLAIMSTANCE_DEVICE", "cuda")
    settings = settings_from_flags(similarity_threshold=0.5, embedder_dir=tmp_path, device=None)
    assert (settings.similarity_threshold, settings.embedder_dir) == (0.5, tmp_path)
    assert settings.device == "cuda"  # not given as a flag: the environment's value stays


@pytest.mark.parametrize(
    "threshold",
    [
        SIMILARITY_THRESHOLD_GT - 0.1,
        SIMILARITY_THRESHOLD_GT,
        SIMILARITY_THRESHOLD_GT + 1e-9,
        SIMILARITY_THRESHOLD_LE,
        SIMILARITY_THRESHOLD_LE + 1e-9,
    ],
)
def test_settings_api_and_model_accept_the_same_thresholds(
    clean_env: pytest.MonkeyPatch, threshold: float
) -> None:
    """The bounds are model.story's: the setting and a request take what grouping takes."""
    try:
        cluster_claims(np.eye(2, dtype=np.float32), [(0, 0), (1, 0)], threshold=threshold)
        model_accepts = True
    except ValueError:
        model_accepts = False
    try:
        Settings(similarity_threshold=threshold)
        settings_accept = True
    except ValidationError:
        settings_accept = False
    two = [{"id": "a", "text": "x"}, {"id": "b", "text": "y"}]
    try:
        CompareRequest.model_validate({"documents": two, "threshold": threshold})
        request_accepts = True
    except ValidationError:
        request_accepts = False
    assert model_accepts == settings_accept == request_accepts


@pytest.mark.parametrize("keys", ["", " ", ",", " , ,"])
def test_a_blank_key_list_is_an_error_not_open(clean_env: pytest.MonkeyPatch, keys: str) -> None:
    clean_env.setenv("CLAIMSTANCE_API_KEYS", keys)
    with pytest.raises(ValidationError, match="holds no key"):
        Settings()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.org"])
def test_a_reachable_address_without_keys_is_refused(
    clean_env: pytest.MonkeyPatch, host: str
) -> None:
    with pytest.raises(ValidationError, match="CLAIMSTANCE_ALLOW_OPEN=true"):
        Settings(host=host)
    assert Settings(host=host, allow_open=True).host == host  # open on purpose
    assert Settings(host=host, api_keys=["k"]).auth_enabled


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_without_keys_is_fine(clean_env: pytest.MonkeyPatch, host: str) -> None:
    assert not Settings(host=host).auth_enabled


def test_serving_open_on_purpose_says_so_in_the_log(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from service.app import create_app

    create_app(Settings(host="0.0.0.0", allow_open=True, model_uri=str(tmp_path)))
    assert "SERVING WITHOUT API KEYS on 0.0.0.0" in caplog.text


def test_the_compare_example_uses_the_settings_default_threshold() -> None:
    [example] = CompareRequest.model_config["json_schema_extra"]["examples"]  # type: ignore[index]
    default = Settings.model_fields["similarity_threshold"].default
    assert example.get("threshold") == default
    CompareRequest.model_validate(example)


def test_a_feedback_url_wins_over_the_path_and_a_bad_one_stops_the_start(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("CLAIMSTANCE_FEEDBACK_PATH", str(tmp_path / "feedback.db"))
    assert Settings().feedback_store() == tmp_path / "feedback.db"
    clean_env.setenv("CLAIMSTANCE_FEEDBACK_URL", "sqlite:///elsewhere/feedback.db")
    assert Settings().feedback_store() == "sqlite:///elsewhere/feedback.db"
    clean_env.setenv("CLAIMSTANCE_FEEDBACK_URL", "postgresql+nosuchdriver://u:hunter2@db/claims")
    with pytest.raises(typer.Exit):
        settings_from_flags()
    # The service's start-up line says why, never the password.
    line = capsys.readouterr().err
    assert line.startswith("error: invalid settings: CLAIMSTANCE_FEEDBACK_URL: ")
    assert "u:***@db/claims" in line and "hunter2" not in line
