"""Resolve a model URI to a local model directory: the one service module that talks to MLflow.

A plain directory is used as it is. Anything else is an MLflow model URI:
training logs the model directory as the artifacts of a pyfunc model, so the
download holds it somewhere inside, next to MLflow's own files.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from model.card import CARD_FILE, find_model_directory
from service.redact import redact_credentials

logger = logging.getLogger(__name__)

# models:/name@alias and models:/name/3 (registered versions); models:/m-... is a logged model.
_ALIAS_URI = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/]+)/?$")
_VERSION_URI = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+)/?$")
_LOGGED_MODEL_URI = re.compile(r"^models:/(?P<model_id>m-[0-9a-f]{32})/?$")
_RUNS_URI = re.compile(r"^runs:/(?P<run_id>[^/]+)(?:/.*)?$")
# Any "scheme:" prefix other than a Windows drive letter marks a URI rather than a path.
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]+:")

TRAIN_HINT = (
    "train one with `make train` (or `python -m training train`), "
    "or set CLAIMSTANCE_MODEL_URI to a model directory"
)


class ModelNotFoundError(RuntimeError):
    """The URI names no usable claimstance model; the message says what to do about it."""


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    directory: Path
    uri: str
    name: str
    version: str | None = None
    run_id: str | None = None


def name_from_uri(uri: str) -> str:
    """A display name for a URI: the registered model's name, or the directory's."""
    if match := _ALIAS_URI.match(uri) or _VERSION_URI.match(uri):
        return match["name"]
    if not _SCHEME.match(uri):
        return Path(uri).name or uri
    return redact_credentials(uri)


def _resolve_directory(uri: str) -> ResolvedModel:
    path = Path(uri.removeprefix("file://")).expanduser()
    if not path.is_dir():
        raise ModelNotFoundError(f"no model directory at {path}: {TRAIN_HINT}")
    # A bare Hugging Face directory (config.json without the card) is accepted as it is.
    directory = path if (path / "config.json").is_file() else find_model_directory(path)
    if directory is None:
        raise ModelNotFoundError(f"{path} holds no model (no config.json): {TRAIN_HINT}")
    return ResolvedModel(directory=directory.resolve(), uri=uri, name=directory.name)


def _missing_sqlite_store(tracking_uri: str) -> Path | None:
    """The file a sqlite:/// store would live in when it does not exist yet.

    MLflow would create an empty store there on first contact, leaving a stray
    database behind just because the service looked for a model.
    """
    if not tracking_uri.startswith("sqlite:///"):
        return None
    database = Path(tracking_uri.removeprefix("sqlite:///"))
    return None if database.is_file() else database


@dataclass(frozen=True, slots=True)
class _Located:
    name: str
    version: str | None
    run_id: str | None
    artifact_uri: str  # where the model's files are, without the models:/ indirection


def _locate(uri: str, tracking_uri: str) -> _Located:
    """Ask the registry where a models:/ URI's files live, with its version and run.

    MLflow's own models:/ download resolves names through the process-wide
    registry URI, ignoring the one it is given, so a service pointed at one
    store could read another. The registry is asked here through a client
    bound to ``tracking_uri``, and only the resulting artifact location is
    handed to the downloader.
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    if match := _LOGGED_MODEL_URI.match(uri):
        logged = client.get_logged_model(match["model_id"])
        return _Located(logged.name, None, logged.source_run_id, logged.artifact_location)
    if match := _ALIAS_URI.match(uri):
        version = client.get_model_version_by_alias(match["name"], match["alias"])
    elif match := _VERSION_URI.match(uri):
        version = client.get_model_version(match["name"], match["version"])
    elif uri.startswith("models:"):
        raise ModelNotFoundError(
            f"unsupported model URI {uri}: use models:/<name>@<alias> or models:/<name>/<version>"
        )
    elif match := _RUNS_URI.match(uri):
        return _Located(uri, None, match["run_id"], uri)
    else:
        return _Located(uri, None, None, uri)
    download_uri = client.get_model_version_download_uri(version.name, version.version)
    # Training also tags each version with its run id, for stores whose versions lack one.
    run_id = version.run_id or version.tags.get("run_id")
    return _Located(version.name, str(version.version), run_id, download_uri)


def resolve_model(uri: str, tracking_uri: str, download_to: Path) -> ResolvedModel:
    """Find the model directory for ``uri``, downloading an MLflow model into ``download_to``.

    Raises ModelNotFoundError, with a message that says how to get a model,
    when nothing usable is there.
    """
    if not _SCHEME.match(uri) or uri.startswith("file://"):
        return _resolve_directory(uri)

    if (database := _missing_sqlite_store(tracking_uri)) is not None:
        raise ModelNotFoundError(
            f"no model at {uri}: the MLflow store {database} does not exist; {TRAIN_HINT}"
        )

    # Imported here so that a service given a plain directory never pays for importing MLflow.
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    try:
        located = _locate(uri, tracking_uri)
        root = mlflow.artifacts.download_artifacts(
            artifact_uri=located.artifact_uri,
            dst_path=str(download_to),
            tracking_uri=tracking_uri,
            registry_uri=tracking_uri,
        )
    except MlflowException as error:
        # MLflow's messages can run to several lines; the first says what was missing.
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        # The store's URI may carry a password, and MLflow's message may repeat it.
        message = f"no model at {uri} in {tracking_uri} ({reason}); {TRAIN_HINT}"
        raise ModelNotFoundError(redact_credentials(message)) from error

    directory = find_model_directory(Path(root))
    if directory is None:
        raise ModelNotFoundError(
            f"{uri} was downloaded but holds no claimstance model directory "
            f"(config.json beside {CARD_FILE}); {TRAIN_HINT}"
        )
    logger.info(
        "resolved %s (version %s, run %s) to %s",
        redact_credentials(uri),
        located.version,
        located.run_id,
        directory,
    )
    return ResolvedModel(
        directory=directory,
        uri=uri,
        name=located.name,
        version=located.version,
        run_id=located.run_id,
    )
