"""Model URIs parsed once, and what a cache folder is called (no MLflow store needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from model.resolve import (
    CACHE_ENV,
    Location,
    ModelNotFoundError,
    ResolvedModel,
    UriKind,
    default_cache_dir,
    parse_model_uri,
    resolve_model,
)


@pytest.mark.parametrize(
    ("uri", "kind", "name", "version", "alias", "run_id", "model_id"),
    [
        ("models:/claimstance@champion", UriKind.REGISTERED, "claimstance", None, "champion", None, None),
        ("models:/claimstance-accurate/12", UriKind.REGISTERED, "claimstance-accurate", "12", None, None, None),
        ("models:/claimstance/3/", UriKind.REGISTERED, "claimstance", "3", None, None, None),
        ("models:/m-0123abcd", UriKind.LOGGED, None, None, None, None, "m-0123abcd"),
        ("runs:/abc123/model", UriKind.RUN, None, None, None, "abc123", None),
        ("runs:/abc123", UriKind.RUN, None, None, None, "abc123", None),
        ("/srv/models/run-42", UriKind.DIRECTORY, None, None, None, None, None),
        ("relative/dir", UriKind.DIRECTORY, None, None, None, None, None),
        ("file:///srv/models/x", UriKind.DIRECTORY, None, None, None, None, None),
        ("C:/models/x", UriKind.DIRECTORY, None, None, None, None, None),
        ("s3://bucket/model", UriKind.OTHER, None, None, None, None, None),
    ],
)  # fmt: skip
def test_each_uri_form_is_parsed_once(
    uri: str,
    kind: UriKind,
    name: str | None,
    version: str | None,
    alias: str | None,
    run_id: str | None,
    model_id: str | None,
) -> None:
    parsed = parse_model_uri(uri)
    assert (parsed.kind, parsed.name, parsed.version, parsed.alias) == (kind, name, version, alias)
    assert (parsed.run_id, parsed.model_id) == (run_id, model_id)


@pytest.mark.parametrize("uri", ["models:/claimstance", "models:/a/b/c", "models:/x@"])
def test_unsupported_models_uri_names_the_forms_that_work(uri: str) -> None:
    with pytest.raises(ModelNotFoundError, match=r"models:/<name>@<alias> or models:/<name>/"):
        parse_model_uri(uri)


def test_cache_folders_are_named_by_model_version_and_run() -> None:
    version = Location("claimstance", "3", "0123abcd", "mlflow-artifacts:/x", alias="champion")
    assert version.cache_key == "claimstance-v3-run-0123abcd"
    # The alias is not part of the name: it moves, the version's files do not.
    assert version.cache_key == Location("claimstance", "3", "0123abcd", "other").cache_key
    logged = Location("claimstance", None, "r1", "file:///a", model_id="m-ff00")
    assert logged.cache_key == "claimstance-m-ff00"
    run = Location("runs:/r1/model", None, "r1", "runs:/r1/model")
    assert run.cache_key == "run-r1-model"
    # Registered names are free text; the folder name is not.
    odd = Location("team/model name", "1", None, "x")
    assert odd.cache_key == "team_model_name-v1-run-none"
    bare = Location("s3://b/m", None, None, "s3://b/m", immutable=False)
    assert bare.cache_key.startswith("uri-") and "/" not in bare.cache_key


def test_default_cache_is_the_setting_else_the_user_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "claimstance" / "models"


def test_a_registered_uri_in_a_missing_store_makes_no_store(tmp_path: Path) -> None:
    database = tmp_path / "absent" / "mlflow.db"
    with pytest.raises(ModelNotFoundError, match=f"no MLflow store at {database}"):
        resolve_model("models:/claimstance@champion", f"sqlite:///{database}", tmp_path)
    assert not database.parent.exists()


def test_a_plain_directory_never_imports_mlflow(tiny_model_dir: Path) -> None:
    # The service serves a directory without paying for MLflow; a subprocess sees a clean slate.
    import subprocess

    code = (
        "import sys; from model.resolve import resolve_model; "
        f"resolve_model({str(tiny_model_dir)!r}, 'sqlite:///unused.db'); "
        "print('mlflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_what_a_resolved_model_says_of_itself(tmp_path: Path) -> None:
    registered = ResolvedModel(
        directory=tmp_path / "m",
        uri="models:/claimstance@champion",
        name="claimstance",
        version="3",
        run_id="ab12",
        alias="champion",
        download_root=tmp_path,
    )
    assert registered.describe() == "claimstance version 3 (alias champion, run ab12)"
    assert registered.provenance() == {
        "model_name": "claimstance",
        "model_version": "3",
        "model_run_id": "ab12",
    }
    run = ResolvedModel(tmp_path, "runs:/ab12/model", "runs:/ab12/model", run_id="ab12")
    assert run.provenance() == {"model_run_id": "ab12"}
    directory = ResolvedModel(tmp_path / "m", str(tmp_path / "m"), "m")
    assert directory.provenance() == {}
    assert directory.describe() == f"m at {tmp_path / 'm'}"
