"""Model URIs -> model directories: plain directories and a real (temporary) MLflow registry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from model.resolve import ModelNotFoundError, name_from_uri, resolve_model
from service.app import create_app
from tests.service.conftest import Registry
from tests.service.support import make_settings


def _same_files(found: Path, expected: Path) -> None:
    assert sorted(p.name for p in found.iterdir()) == sorted(p.name for p in expected.iterdir())
    assert (found / "config.json").read_bytes() == (expected / "config.json").read_bytes()


def test_plain_directory_is_used_directly(tiny_model_dir: Path, tmp_path: Path) -> None:
    resolved = resolve_model(str(tiny_model_dir), "sqlite:///unused.db", tmp_path)
    assert resolved.directory == tiny_model_dir.resolve()
    assert (resolved.name, resolved.version, resolved.run_id) == (tiny_model_dir.name, None, None)
    assert not any(tmp_path.iterdir())  # nothing downloaded


def test_directory_holding_a_model_deeper_down_is_searched(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    # A pyfunc model downloaded by hand: MLflow's files on top, the model under artifacts/.
    nested = tmp_path / "download" / "artifacts" / "classifier"
    shutil.copytree(tiny_model_dir, nested)
    (tmp_path / "download" / "MLmodel").write_text("flavors: {}\n")
    resolved = resolve_model(str(tmp_path / "download"), "sqlite:///unused.db", tmp_path)
    assert resolved.directory == nested.resolve()


@pytest.mark.parametrize("uri", ["relative/missing/dir", "/definitely/not/here"])
def test_missing_directory_says_how_to_get_a_model(uri: str, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="make train"):
        resolve_model(uri, "sqlite:///unused.db", tmp_path)


def test_alias_uri_downloads_the_directory_with_version_and_run(
    mlflow_registry: Registry, tiny_model_dir: Path, tmp_path: Path
) -> None:
    uri = f"models:/{mlflow_registry.name}@champion"
    resolved = resolve_model(uri, mlflow_registry.tracking_uri, tmp_path)
    assert resolved.directory.is_relative_to(tmp_path)
    _same_files(resolved.directory, tiny_model_dir)
    assert resolved.name == mlflow_registry.name
    assert resolved.version == mlflow_registry.version
    assert resolved.run_id == mlflow_registry.run_id
    assert resolved.uri == uri


def test_version_uri_resolves_too(mlflow_registry: Registry, tmp_path: Path) -> None:
    uri = f"models:/{mlflow_registry.name}/{mlflow_registry.version}"
    resolved = resolve_model(uri, mlflow_registry.tracking_uri, tmp_path)
    assert (resolved.version, resolved.run_id) == (mlflow_registry.version, mlflow_registry.run_id)
    assert (resolved.directory / "claimstance.json").is_file()


def test_registry_is_read_from_the_given_store_only(
    mlflow_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store comes from settings, never from MLflow's process-wide default."""
    decoy = tmp_path / "decoy.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{decoy}")
    resolved = resolve_model(
        f"models:/{mlflow_registry.name}@champion", mlflow_registry.tracking_uri, tmp_path / "dl"
    )
    assert resolved.version == mlflow_registry.version
    assert not decoy.exists()


@pytest.mark.parametrize("uri", ["models:/claimstance@no-such-alias", "models:/nobody@champion"])
def test_unknown_alias_or_model_says_how_to_get_a_model(
    mlflow_registry: Registry, tmp_path: Path, uri: str
) -> None:
    with pytest.raises(ModelNotFoundError, match="make train") as raised:
        resolve_model(uri, mlflow_registry.tracking_uri, tmp_path)
    assert uri in str(raised.value)


def test_app_serves_the_registry_champion(mlflow_registry: Registry, tmp_path: Path) -> None:
    settings = make_settings(
        f"models:/{mlflow_registry.name}@champion",
        tmp_path,
        tracking_uri=mlflow_registry.tracking_uri,
    )
    with TestClient(create_app(settings)) as client:
        info = client.get("/model").json()
        assert (info["name"], info["version"], info["run_id"]) == (
            mlflow_registry.name,
            mlflow_registry.version,
            mlflow_registry.run_id,
        )
        body = client.post("/classify", json={"text": "Moscow denied the reports."}).json()
        assert body["model"] == {
            "name": mlflow_registry.name,
            "version": mlflow_registry.version,
            "run_id": mlflow_registry.run_id,
        }


@pytest.mark.parametrize(
    ("uri", "name"),
    [
        ("models:/claimstance@champion", "claimstance"),
        ("models:/claimstance/7", "claimstance"),
        ("/srv/models/run-42", "run-42"),
        ("runs:/abc123/model", "runs:/abc123/model"),
    ],
)
def test_display_name_of_a_uri(uri: str, name: str) -> None:
    assert name_from_uri(uri) == name


def test_a_download_is_named_by_model_version_and_run_and_reused(
    mlflow_registry: Registry, tmp_path: Path
) -> None:
    uri = f"models:/{mlflow_registry.name}@champion"
    first = resolve_model(uri, mlflow_registry.tracking_uri, tmp_path)
    folder = f"{mlflow_registry.name}-v{mlflow_registry.version}-run-{mlflow_registry.run_id}"
    assert first.download_root == tmp_path / folder
    assert first.alias == "champion"
    marker = first.directory / "reused.txt"
    marker.write_text("kept")
    # The alias and the version name the same files: the second call downloads nothing.
    by_version = f"models:/{mlflow_registry.name}/{mlflow_registry.version}"
    second = resolve_model(by_version, mlflow_registry.tracking_uri, tmp_path)
    assert second.directory == first.directory and marker.is_file()
    assert [path.name for path in tmp_path.iterdir()] == [folder]  # no scratch left behind


def test_an_interrupted_download_is_fetched_again(
    mlflow_registry: Registry, tmp_path: Path
) -> None:
    folder = f"{mlflow_registry.name}-v{mlflow_registry.version}-run-{mlflow_registry.run_id}"
    (tmp_path / folder / "artifacts").mkdir(parents=True)  # no model inside
    resolved = resolve_model(
        f"models:/{mlflow_registry.name}@champion", mlflow_registry.tracking_uri, tmp_path
    )
    assert (resolved.directory / "config.json").is_file()


def test_resolving_leaves_the_process_wide_store_alone(
    mlflow_registry: Registry, tmp_path: Path
) -> None:
    import mlflow

    before = mlflow.get_tracking_uri()
    resolve_model(
        f"models:/{mlflow_registry.name}@champion", mlflow_registry.tracking_uri, tmp_path
    )
    assert mlflow.get_tracking_uri() == before
