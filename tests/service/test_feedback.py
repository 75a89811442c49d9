"""POST /feedback: corrections stored once, refused when malformed, counted, and exported."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from model.classifier import ClaimClassifier
from service.app import create_app
from service.schemas import MAX_NOTE_CHARS
from tests.service.support import make_settings, metric_samples, metric_value
from training.cli import app as training_cli
from training.user_data import read_user_file

CORRECTION = {
    "text": "The report on the fake website was shared widely.",
    "model_label": "assertion",
    "correct_label": "denial",
    "note": "calls the report fake",
    "model_version": "4",
}


@pytest.fixture
def app_at(tiny_model_dir: Path, tiny_classifier: ClaimClassifier, tmp_path: Path):
    """A factory: a fresh app over the same feedback file, as after a restart."""

    def start(**overrides: object) -> TestClient:
        settings = make_settings(tiny_model_dir, tmp_path, max_chars=1000, **overrides)
        return TestClient(create_app(settings, classifier=tiny_classifier))

    return start


def test_a_correction_is_stored_once_and_counted(app_at, tmp_path: Path) -> None:
    with app_at() as client:
        first = client.post("/feedback", json={**CORRECTION, "id": "c-1"})
        assert first.status_code == 201, first.text
        assert first.json() == {"id": "c-1", "created": True}
        again = client.post("/feedback", json={**CORRECTION, "id": "c-1"})
        assert again.status_code == 200 and again.json()["created"] is False
        other = client.post("/feedback", json={**CORRECTION, "id": "c-1", "text": "Else."})
        assert other.status_code == 409
        # No id: the content is the key.
        derived = client.post("/feedback", json={**CORRECTION, "text": "It was never closed."})
        assert derived.status_code == 201 and derived.json()["id"].startswith("sha256:")
        repeat = client.post("/feedback", json={**CORRECTION, "text": "It was never closed."})
        assert repeat.status_code == 200 and repeat.json()["id"] == derived.json()["id"]

        samples = metric_samples(client)
        pair = {"model_label": "assertion", "correct_label": "denial"}
        assert metric_value(samples, "claimstance_corrections_total", **pair) == 2
        assert (
            metric_value(
                samples,
                "claimstance_corrections_total",
                model_label="denial",
                correct_label="caveat",
            )
            == 0
        )
        assert (
            "claimstance_corrections_total",
            frozenset({"model_label": "denial", "correct_label": "caveat"}.items()),
        ) in samples

    # A restarted service keeps them: the retry of c-1 is still not new.
    with app_at() as client:
        assert client.post("/feedback", json={**CORRECTION, "id": "c-1"}).status_code == 200

    # The export is a file training takes.
    out = tmp_path / "corrections.csv"
    result = CliRunner().invoke(
        training_cli, ["feedback-export", str(out), "--db", str(tmp_path / "feedback.db")]
    )
    assert result.exit_code == 0, result.output
    assert "2 corrections written" in result.output
    data = read_user_file(out)
    assert sorted(e.text for e in data.examples) == sorted(
        [CORRECTION["text"], "It was never closed."]
    )
    assert {e.label.value for e in data.examples} == {"denial"}


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"correct_label": "Denial!"}, 422, "correct_label"),
        ({"model_label": None}, 422, "model_label"),
        ({"text": "   "}, 422, "text is empty"),
        ({"text": "x" * 1001}, 413, "the limit is 1000 characters per text"),
        ({"note": "n" * (MAX_NOTE_CHARS + 1)}, 422, "note is too long"),
        ({"id": ""}, 422, "id"),
        ({"label": "denial"}, 422, 'unknown field "label"'),
    ],
)
def test_bad_corrections_are_refused_and_nothing_is_stored(
    app_at,
    tmp_path: Path,
    change: dict,
    status: int,
    message: str,
) -> None:
    with app_at() as client:
        response = client.post("/feedback", json={**CORRECTION, **change})
        assert response.status_code == status, response.text
        assert message in response.json()["detail"]
    assert not (tmp_path / "feedback.db").exists()


def test_export_without_a_store_fails_and_creates_none(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    result = CliRunner().invoke(
        training_cli, ["feedback-export", str(tmp_path / "out.csv"), "--db", str(missing)]
    )
    assert result.exit_code == 2
    assert f"no feedback store at {missing}" in result.output
    assert not missing.exists()
