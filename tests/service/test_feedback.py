"""POST /feedback: corrections stored once, refused when malformed, counted, and exported."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from model.classifier import ClaimClassifier
from service.app import create_app
from service.schemas import MAX_NOTE_CHARS
from tests.service.support import make_settings, metric_samples, metric_value
from training.cli import app as training_cli
from training.corpus.user_data import read_user_file

CORRECTION = {
    "text": "The report on the fake website was shared widely.",
    "model_label": "assertion",
    "correct_label": "denial",
    "note": "calls the report fake",
    "model_version": "4",
}


@pytest.fixture(params=["path", "url"])
def store_at(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[dict[str, object], str]:
    """The settings naming tmp_path/feedback.db, as feedback_path or as a SQLAlchemy URL
    (with feedback_path elsewhere: the URL wins), and the export's --db for it."""
    path = tmp_path / "feedback.db"
    if request.param == "path":
        return {"feedback_path": path}, str(path)
    url = f"sqlite:///{path}"
    return {"feedback_url": url, "feedback_path": tmp_path / "unused" / "feedback.db"}, url


@pytest.fixture
def app_at(
    tiny_model_dir: Path,
    tiny_classifier: ClaimClassifier,
    tmp_path: Path,
    store_at: tuple[dict[str, object], str],
):
    """A factory: a fresh app over the same feedback store, as after a restart."""

    def start(**overrides: object) -> TestClient:
        settings = make_settings(
            tiny_model_dir, tmp_path, max_chars=1000, **{**store_at[0], **overrides}
        )
        return TestClient(create_app(settings, classifier=tiny_classifier))

    return start


def test_a_correction_is_stored_once_and_counted(
    app_at, tmp_path: Path, store_at: tuple[dict[str, object], str]
) -> None:
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
    result = CliRunner().invoke(training_cli, ["feedback-export", str(out), "--db", store_at[1]])
    assert result.exit_code == 0, result.output
    assert "2 corrections written" in result.output
    data = read_user_file(out)
    assert sorted(e.text for e in data.examples) == sorted(
        [CORRECTION["text"], "It was never closed."]
    )
    assert {e.label.value for e in data.examples} == {"denial"}
    assert not (tmp_path / "unused").exists()  # a URL, when set, is the only store


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


@pytest.mark.parametrize("as_url", [False, True])
def test_export_without_a_store_fails_and_creates_none(tmp_path: Path, as_url: bool) -> None:
    missing = tmp_path / "nowhere.db"
    db = f"sqlite:///{missing}" if as_url else str(missing)
    result = CliRunner().invoke(
        training_cli, ["feedback-export", str(tmp_path / "out.csv"), "--db", db]
    )
    assert result.exit_code == 2
    assert f"no feedback store at {missing}" in result.output
    assert not missing.exists()


def test_a_store_that_cannot_be_written_is_503_and_retryable(app_at, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    unwritable = tmp_path / "a-file" / "feedback.db"
    with app_at(feedback_path=unwritable, feedback_url=None) as client:
        response = client.post("/feedback", json={**CORRECTION, "id": "c-9"})
    assert response.status_code == 503
    assert "retry with the same id" in response.json()["detail"]
    assert str(tmp_path) not in response.text  # the path is for the log, not the client


def test_export_reads_the_store_the_service_was_told_of(
    app_at, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app_at() as client:
        assert client.post("/feedback", json=CORRECTION).status_code == 201
    # The service's variables name the store for the export too; the URL wins over the path.
    monkeypatch.setenv("CLAIMSTANCE_FEEDBACK_PATH", str(tmp_path / "nowhere.db"))
    monkeypatch.setenv("CLAIMSTANCE_FEEDBACK_URL", f"sqlite:///{tmp_path / 'feedback.db'}")
    out = tmp_path / "corrections.jsonl"
    result = CliRunner().invoke(training_cli, ["feedback-export", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 corrections written" in result.output
    assert [e.text for e in read_user_file(out).examples] == [CORRECTION["text"]]


@pytest.mark.parametrize(
    ("db", "message"),
    [
        ("nosuch://h/db", "--db nosuch://h/db: SQLAlchemy has no dialect 'nosuch'"),
        ("postgresql+nosuchdriver://u:hunter2@h/db", "no dialect 'postgresql+nosuchdriver'"),
        ("mssql+pymssql://u:hunter2@h/db", "mssql+pymssql://u:***@h/db: its driver is not"),
    ],
)
def test_export_refuses_a_url_it_cannot_open(tmp_path: Path, db: str, message: str) -> None:
    if "pymssql" in db and importlib.util.find_spec("pymssql") is not None:
        pytest.skip("pymssql is installed here: no missing driver to report")
    result = CliRunner().invoke(
        training_cli, ["feedback-export", str(tmp_path / "o.csv"), "--db", db]
    )
    assert result.exit_code == 2
    assert message in result.output and "hunter2" not in result.output
    assert not (tmp_path / "o.csv").exists()
