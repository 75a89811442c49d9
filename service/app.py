"""The FastAPI app: ``create_app`` wires settings, metrics and routes; the lifespan loads the models.

The classifier and the sentence encoder (for /compare) are loaded once, in the
lifespan, never per request and never at import. When no classifier can be
found the app still starts: /health answers, and /ready, /classify and
/compare answer 503 with the reason and how to train a model. A missing
encoder only takes /compare down.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from model.classifier import ClaimClassifier
from model.embeddings import BUNDLED_ENCODER_DIR, SentenceEmbedder
from model.microbatch import MicroBatcher
from model.story import Embedder
from service.body_limit import BodyLimitMiddleware, too_large_message
from service.inference import LoadedModel, StanceClassifier
from service.metrics import Metrics, MetricsMiddleware
from service.registry import TRAIN_HINT, ModelNotFoundError, name_from_uri, resolve_model
from service.routes import classify, compare, health, metrics, model_info, page
from service.routes.page import STATIC_DIR
from service.schemas import ClassifyRequest, CompareRequest, ModelRef
from service.settings import Settings

logger = logging.getLogger(__name__)

NOT_LOADED_YET = "the model has not been loaded yet (the app is starting)"
EMBEDDER_NOT_LOADED = "the sentence encoder has not been loaded yet (the app is starting)"
EMBEDDER_HINT = (
    "set CLAIMSTANCE_EMBEDDER_DIR to a Hugging Face encoder directory, "
    "or leave it unset for the packaged all-MiniLM-L6-v2"
)


def load_model(settings: Settings, scratch: ExitStack) -> LoadedModel:
    """Resolve ``settings.model_uri`` and load it; downloads and the batching thread live
    until ``scratch`` closes."""
    download_to = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="claimstance-")))
    resolved = resolve_model(settings.model_uri, settings.tracking_uri, download_to)
    classifier = ClaimClassifier.from_directory(
        resolved.directory,
        device=settings.device,
        batch_size=settings.batch_size,
        backend=settings.backend,
        threads=settings.threads,
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
    ref = ModelRef(name=resolved.name, version=resolved.version, run_id=resolved.run_id)
    return LoadedModel(
        classifier=served,
        ref=ref,
        uri=resolved.uri,
        backend=classifier.backend.name,
        directory=resolved.directory,
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
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    with ExitStack() as scratch:
        if app.state.model is None:
            try:
                # Loading reads hundreds of MB and may download them: not on the event loop.
                app.state.model = await anyio.to_thread.run_sync(load_model, settings, scratch)
            except (ModelNotFoundError, ValueError, OSError) as error:
                # ValueError covers ModelDirectoryError (wrong labels) and an unusable device.
                message = f"no model loaded: {error}"
                if TRAIN_HINT not in message:
                    message = f"{message}; {TRAIN_HINT}"
                app.state.load_error = message
                logger.error(message)
            else:
                ref = app.state.model.ref
                logger.info("serving %s version %s (run %s)", ref.name, ref.version, ref.run_id)
        # Without a classifier /compare answers 503 anyway: the encoder would be dead weight.
        if app.state.model is not None and app.state.embedder is None:
            try:
                app.state.embedder = await anyio.to_thread.run_sync(
                    load_embedder, settings, app.state.model.directory
                )
            except (ValueError, OSError, ImportError) as error:
                # ImportError: the packaged encoder's wheel is missing from the environment.
                app.state.embedder_error = f"no sentence encoder loaded: {error}; {EMBEDDER_HINT}"
                logger.error(app.state.embedder_error)
        app.state.metrics.model_loaded.set(1 if app.state.model is not None else 0)
        yield


# --- readable errors ---------------------------------------------------------------

_JSON_TYPES = {
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


def _location(loc: Sequence[Any]) -> str:
    """``("body", "texts", 2)`` -> ``texts[2]``: the field as a client would write it."""
    parts = list(loc[1:] if loc and loc[0] == "body" else loc)
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


# How to write each JSON route's body: error messages end with it.
_USAGE = {"/classify": ClassifyRequest.usage, "/compare": CompareRequest.usage}
# What a list field holds, for "must be ..." messages.
_LIST_OF = {"texts": "a list of strings", "documents": 'a list of {"id", "text"} objects'}
_BOUNDS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def _describe(error: dict[str, Any]) -> tuple[str, bool]:
    """A sentence for one pydantic error, and whether the route's usage should follow it."""
    kind, where, given = error["type"], _location(error["loc"]), error.get("input")
    got = _JSON_TYPES.get(type(given), type(given).__name__)
    if kind == "missing":
        return (f'"{where}" is missing' if where else "the request body is empty"), True
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return f"{where or 'the body'} must be a JSON object, got {got}", True
    if kind == "extra_forbidden":
        return f'unknown field "{where}"', True
    if kind == "string_type":
        return f"{where} must be a string, got {got}", False
    if kind == "string_too_long":
        return f"{where} is too long: the limit is {error['ctx']['max_length']} characters", False
    if kind == "list_type":
        return f"{where} must be {_LIST_OF.get(where, 'a list')}, got {got}", False
    if kind == "bool_type":
        return f"{where} must be true or false, got {got}", False
    if kind == "float_type":
        return f"{where} must be a number, got {got}", False
    if kind in _BOUNDS:
        # pydantic says "Input should be greater than 0": name the field and what was sent.
        return f"{where} {error['msg'].removeprefix('Input ')}, got {given}", False
    return (f"{where}: {error['msg']}" if where else error["msg"]), False


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    for error in errors:
        if error["type"] == "json_invalid":
            position = error["loc"][-1]
            reason = error.get("ctx", {}).get("error", "cannot be parsed")
            return JSONResponse(
                {"detail": f"invalid JSON at character {position}: {reason}"}, status_code=400
            )
    described = [_describe(error) for error in errors]
    detail = "; ".join(dict.fromkeys(sentence for sentence, _ in described))
    if any(wants_usage for _, wants_usage in described):
        # Said once at the end, however many errors asked for it.
        route = getattr(request.scope.get("route"), "path", "")
        detail = f"{detail}: {_USAGE.get(route, 'see /docs for the request schema')}"
    return JSONResponse(
        {
            "detail": detail,
            # Machine-readable too, without echoing "input": it may be a 100 kB text.
            "errors": [
                {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
                for error in errors
            ],
        },
        status_code=422,
    )


# --- the app ---------------------------------------------------------------------------


def create_app(
    settings: Settings | None = None,
    classifier: StanceClassifier | None = None,
    embedder: Embedder | None = None,
) -> FastAPI:
    """Build the app; pass ``classifier`` or ``embedder`` to serve already-loaded models.

    Either one given is used as it is and not loaded in the lifespan (tests, notebooks).
    """
    settings = settings or Settings()
    app = FastAPI(
        title="claimstance",
        summary="Label every claim in news text as assertion, denial or caveat.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.load_error = NOT_LOADED_YET
    app.state.model = None
    app.state.embedder = embedder
    app.state.embedder_error = EMBEDDER_NOT_LOADED
    if classifier is not None:
        app.state.model = LoadedModel(
            classifier=classifier,
            ref=ModelRef(name=name_from_uri(settings.model_uri)),
            uri=settings.model_uri,
        )

    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_middleware(
        # Bodies larger than the text limits allow are refused before they are parsed.
        BodyLimitMiddleware,
        limit_bytes=settings.max_body_bytes,
        message=too_large_message(
            settings.max_body_bytes,
            settings.max_texts,
            settings.max_documents,
            settings.max_chars,
        ),
    )
    # Added last so it is outermost: refused and failed requests are counted too.
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)

    for module in (classify, compare, health, model_info, metrics, page):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
