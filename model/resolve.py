"""A model URI -> a local model directory: the one resolver the service and training share.

A plain directory (or ``file://`` URI) is used as it is. Anything else is an MLflow model
URI: training logs the model directory as the artifacts of a pyfunc model, so a download
holds it somewhere inside, next to MLflow's own files.

This is the only module of ``model/`` that talks to MLflow, and it imports MLflow inside
its functions: a service given a plain directory never pays for importing it, and the
package that travels with the logged model stays importable without it.

The registry is always asked through a client bound to the store it is given. MLflow's
own ``models:/`` download resolves names through the process-wide registry URI, so a
caller pointed at one store could otherwise read another, and setting that URI here
would move every other MLflow call in the process too.

Messages may name the store's URI as given; the service redacts credentials from what it
logs and answers (``service.redact``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from model.card import CARD_FILE, find_model_directory
from model.identity import folder_part, model_folder_name
from model.store import missing_sqlite_store, missing_store_reason

logger = logging.getLogger(__name__)

# models:/name@alias and models:/name/3 (registered versions); models:/m-... is a logged model.
_ALIAS_URI = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/]+)/?$")
_VERSION_URI = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+)/?$")
_LOGGED_MODEL_URI = re.compile(r"^models:/(?P<model_id>m-[0-9a-f]+)/?$")
_RUNS_URI = re.compile(r"^runs:/(?P<run_id>[^/]+)(?:/(?P<path>.*))?$")
# Any "scheme:" prefix other than a Windows drive letter marks a URI rather than a path.
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]+:")

CACHE_ENV = "CLAIMSTANCE_MODEL_CACHE"
# MLflow draws a "Downloading artifacts" bar for every download, though from a local store it
# only copies files in a blink: in a terminal table or a service log the bar is noise.
PROGRESS_BAR_ENV = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"

TRAIN_HINT = (
    "train one with `make train` (or `python -m training train`), "
    "or set CLAIMSTANCE_MODEL_URI to a model directory"
)


class ModelNotFoundError(RuntimeError):
    """The URI names no usable claimstance model; the message says what to do about it.

    ``reason`` is the message without its leading ``no model at URI:``, for a caller that
    names the URI itself (``cannot load URI: reason``).
    """

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class UriKind(Enum):
    DIRECTORY = "directory"
    REGISTERED = "registered"  # models:/name@alias or models:/name/version
    LOGGED = "logged"  # models:/m-<id>, a logged model outside the registry
    RUN = "run"  # runs:/<run id>/<path>
    OTHER = "other"  # any other artifact URI (s3://..., gs://...)


@dataclass(frozen=True, slots=True)
class ModelUri:
    """A model URI taken apart once; every caller reads these fields instead of its own regex."""

    uri: str
    kind: UriKind
    name: str | None = None
    version: str | None = None
    alias: str | None = None
    model_id: str | None = None
    run_id: str | None = None

    @property
    def needs_store(self) -> bool:
        """Whether resolving it reads the tracking store (not only an artifact location)."""
        return self.kind in {UriKind.REGISTERED, UriKind.LOGGED, UriKind.RUN}


def parse_model_uri(uri: str) -> ModelUri:
    """Which kind of model URI ``uri`` is, and its parts.

    Raises ModelNotFoundError for a ``models:/`` URI in none of the supported forms.
    """
    if not _SCHEME.match(uri) or uri.startswith("file://"):
        return ModelUri(uri, UriKind.DIRECTORY)
    if match := _ALIAS_URI.match(uri):
        return ModelUri(uri, UriKind.REGISTERED, name=match["name"], alias=match["alias"])
    if match := _LOGGED_MODEL_URI.match(uri):
        return ModelUri(uri, UriKind.LOGGED, model_id=match["model_id"])
    if match := _VERSION_URI.match(uri):
        return ModelUri(uri, UriKind.REGISTERED, name=match["name"], version=match["version"])
    if uri.startswith("models:"):
        raise ModelNotFoundError(
            f"unsupported model URI {uri}: use models:/<name>@<alias> or models:/<name>/<version>"
        )
    if match := _RUNS_URI.match(uri):
        return ModelUri(uri, UriKind.RUN, run_id=match["run_id"])
    return ModelUri(uri, UriKind.OTHER)


def name_from_uri(uri: str) -> str:
    """A display name for a URI: the registered model's name, or the directory's; else the URI."""
    try:
        parsed = parse_model_uri(uri)
    except ModelNotFoundError:
        return uri
    if parsed.kind is UriKind.REGISTERED and parsed.name:
        return parsed.name
    if parsed.kind is UriKind.DIRECTORY:
        return Path(uri).name or uri
    return uri


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """What a URI settled on: the local directory, and which registered model it is."""

    directory: Path
    uri: str
    name: str
    version: str | None = None
    run_id: str | None = None
    alias: str | None = None
    # The folder the download went into (None for a plain directory): the model's directory
    # lies somewhere inside it, which ``training.tracking.runs`` needs to upload into the same place.
    download_root: Path | None = None

    def describe(self) -> str:
        """One line for a person: ``claimstance version 3 (alias champion, run ab12...)``."""
        parts = [self.name]
        if self.version:
            parts.append(f"version {self.version}")
        details = [f"alias {self.alias}"] if self.alias else []
        if self.run_id:
            details.append(f"run {self.run_id}")
        if details:
            parts.append(f"({', '.join(details)})")
        if self.download_root is None:
            parts.append(f"at {self.directory}")
        return " ".join(parts)

    def provenance(self) -> dict[str, str]:
        """``model_name``, ``model_version`` and ``model_run_id`` as far as the URI pins them.

        A registered URI pins all three (the version an alias points at now), a ``runs:/``
        URI its run, a directory nothing: what a command writes beside its output, so a
        file or a run says which model made it even after the alias moves.
        """
        kind = parse_model_uri(self.uri).kind
        if kind is UriKind.RUN:
            return {"model_run_id": self.run_id or ""}
        if kind not in {UriKind.REGISTERED, UriKind.LOGGED}:
            return {}
        return {
            "model_name": self.name,
            "model_version": self.version or "",
            "model_run_id": self.run_id or "",
        }


def default_cache_dir() -> Path:
    """Where downloaded models are kept between commands: ``CLAIMSTANCE_MODEL_CACHE``, else
    the user's cache folder (never the checkout, which tests keep clean)."""
    if configured := os.environ.get(CACHE_ENV, "").strip():
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache"
    return Path(base) / "claimstance" / "models"


def _missing_store(uri: str, database: Path) -> ModelNotFoundError:
    """A registry lookup refused because the SQLite store file is not there."""
    reason = missing_store_reason(database)
    return ModelNotFoundError(f"no model at {uri}: {reason}", reason=reason)


def _resolve_directory(uri: str) -> ResolvedModel:
    path = Path(uri.removeprefix("file://")).expanduser()
    if not path.is_dir():
        raise ModelNotFoundError(f"no model directory at {path}: {TRAIN_HINT}")
    # A bare Hugging Face directory (config.json without the card) is accepted as it is.
    directory = path if (path / "config.json").is_file() else find_model_directory(path)
    if directory is None:
        raise ModelNotFoundError(f"{path} holds no model (no config.json): {TRAIN_HINT}")
    return ResolvedModel(directory=directory.resolve(), uri=uri, name=directory.name)


@dataclass(frozen=True, slots=True)
class Location:
    """Where a URI's files are, without the ``models:/`` indirection, and what they are."""

    name: str
    version: str | None
    run_id: str | None
    artifact_uri: str
    alias: str | None = None
    # The logged model (models:/m-...) a registered version was made from, when it was.
    model_id: str | None = None
    # Whether the same cache key always means the same files (not for a bare artifact URI).
    immutable: bool = True

    @property
    def cache_key(self) -> str:
        """The cache folder's name: model, version and run, so a folder says what it holds."""
        if self.version is not None:
            # The name training gives the folder it writes, so a download and its source match.
            return model_folder_name(self.name, self.run_id, self.version)
        if self.model_id is not None:
            parts = [self.name, self.model_id]
        elif self.run_id is not None:
            path = self.artifact_uri.split(self.run_id, 1)[-1].strip("/") or "root"
            parts = [f"run-{self.run_id}", path]
        else:
            parts = ["uri", hashlib.sha256(self.artifact_uri.encode()).hexdigest()[:16]]
        return "-".join(folder_part(part) for part in parts)


def locate(uri: str | ModelUri, tracking_uri: str) -> Location:
    """Ask the store where a model URI's files live, with its name, version and run.

    Raises ModelNotFoundError when a local store is not there (MLflow would create an
    empty one on first contact, leaving a stray database behind just because a command
    looked for a model), and MlflowException when the store does not know the model.
    """
    from mlflow.tracking import MlflowClient

    parsed = uri if isinstance(uri, ModelUri) else parse_model_uri(uri)
    if parsed.needs_store and (database := missing_sqlite_store(tracking_uri)) is not None:
        raise _missing_store(parsed.uri, database)
    if parsed.kind is UriKind.RUN:
        return Location(parsed.uri, None, parsed.run_id, parsed.uri)
    if parsed.kind not in {UriKind.REGISTERED, UriKind.LOGGED}:
        return Location(parsed.uri, None, None, parsed.uri, immutable=False)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    if parsed.kind is UriKind.LOGGED:
        assert parsed.model_id is not None
        logged = client.get_logged_model(parsed.model_id)
        return Location(
            logged.name,
            None,
            logged.source_run_id,
            logged.artifact_location,
            model_id=parsed.model_id,
        )
    assert parsed.name is not None
    if parsed.alias is not None:
        version = client.get_model_version_by_alias(parsed.name, parsed.alias)
    else:
        version = client.get_model_version(parsed.name, parsed.version)
    download_uri = client.get_model_version_download_uri(version.name, version.version)
    # Training also tags each version with its run id, for stores whose versions lack one.
    run_id = version.run_id or version.tags.get("run_id")
    source = _LOGGED_MODEL_URI.match(version.source or "")
    return Location(
        version.name,
        str(version.version),
        run_id,
        download_uri,
        alias=parsed.alias,
        model_id=source["model_id"] if source else None,
    )


@contextmanager
def _quiet_when_local(artifact_uri: str) -> Iterator[None]:
    """No MLflow progress bar while a local store's files are copied; a remote download keeps
    its bar, and so does any download when the user set the variable themselves."""
    local = artifact_uri.startswith("file:") or not _SCHEME.match(artifact_uri)
    if not local or PROGRESS_BAR_ENV in os.environ:
        yield
        return
    # MLflow reads the variable when a download starts; it is this module's only for its call.
    os.environ[PROGRESS_BAR_ENV] = "false"
    try:
        yield
    finally:
        os.environ.pop(PROGRESS_BAR_ENV, None)


def _holds_model(folder: Path) -> bool:
    return folder.is_dir() and find_model_directory(folder) is not None


def _download(location: Location, tracking_uri: str, cache_dir: Path) -> Path:
    """The download root of ``location`` under ``cache_dir``, reusing an earlier download.

    A download goes into a scratch folder beside its final name and is renamed into place
    only once complete, so an interrupted one is never mistaken for a model and two
    processes fetching the same version at once both end up with whole files.
    """
    import mlflow.artifacts

    target = cache_dir / location.cache_key
    if location.immutable and _holds_model(target):
        logger.info("using the cached download %s", target)
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{location.cache_key}.", dir=cache_dir))
    try:
        # MLflow puts the URI's last folder inside ``dst_path`` and returns it: that folder,
        # the root of the artifact URI, becomes the cache folder, so paths inside it are
        # the same as in the store (``training.tracking.runs`` uploads to them).
        with _quiet_when_local(location.artifact_uri):
            root = mlflow.artifacts.download_artifacts(
                artifact_uri=location.artifact_uri,
                dst_path=str(scratch),
                tracking_uri=tracking_uri,
                registry_uri=tracking_uri,
            )
        if location.immutable and _holds_model(target):
            # Another process finished the same download first: theirs is as good.
            return target
        # A stale copy (an artifact URI's older files) or a broken one makes way.
        shutil.rmtree(target, ignore_errors=True)
        Path(root).rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def resolve_model(uri: str, tracking_uri: str, cache_dir: Path | None = None) -> ResolvedModel:
    """Find the model directory for ``uri``, downloading an MLflow model into ``cache_dir``.

    Downloads land in ``cache_dir`` (default: ``default_cache_dir()``) in a folder named
    by model, version and run, and a later call for the same version reuses it.

    Raises ModelNotFoundError, with a message that says how to get a model, when nothing
    usable is there.
    """
    parsed = parse_model_uri(uri)
    if parsed.kind is UriKind.DIRECTORY:
        return _resolve_directory(uri)
    from mlflow.exceptions import MlflowException

    try:
        location = locate(parsed, tracking_uri)
        root = _download(location, tracking_uri, cache_dir or default_cache_dir())
    except MlflowException as error:
        # MLflow's messages can run to several lines; the first says what was missing.
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        reason = f"not in {tracking_uri} ({first}); {TRAIN_HINT}"
        raise ModelNotFoundError(
            f"no model at {uri} in {tracking_uri} ({first}); {TRAIN_HINT}", reason=reason
        ) from error

    directory = find_model_directory(root)
    if directory is None:
        raise ModelNotFoundError(
            f"{uri} was downloaded but holds no claimstance model directory "
            f"(config.json beside {CARD_FILE}); {TRAIN_HINT}"
        )
    resolved = ResolvedModel(
        directory=directory,
        uri=uri,
        name=location.name,
        version=location.version,
        run_id=location.run_id,
        alias=location.alias,
        download_root=root,
    )
    # A bare artifact URI (its own name here) may carry credentials: it is not logged.
    shown = "an artifact URI's model" if parsed.kind is UriKind.OTHER else resolved.describe()
    logger.info("resolved %s: %s", shown, directory)
    return resolved


def evict(location: Location, cache_dir: Path | None = None) -> None:
    """Forget the cached download of ``location``: its files changed in the store."""
    shutil.rmtree((cache_dir or default_cache_dir()) / location.cache_key, ignore_errors=True)
