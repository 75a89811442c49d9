"""The FastAPI app: ``create_app`` wires settings, metrics and routes; the lifespan loads the model.

The model is loaded once, in the lifespan, never per request and never at
import. When none can be found the app still starts: /health answers, and
/ready and /classify answer 503 with the reason and how to train a model.
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
from service.body_limit import BodyLimitMiddleware, too_large_message
from service.inference import LoadedModel, StanceClassifier
from service.metrics import Metrics, MetricsMiddleware
from service.registry import TRAIN_HINT, ModelNotFoundError, name_from_uri, resolve_model
from service.routes import classify, health, metrics, model_info, page
from service.routes.page import STATIC_DIR
from service.schemas import EITHER_TEXT_OR_TEXTS, ModelRef
from service.settings import Settings

logger = logging.getLogger(__name__)

NOT_LOADED_YET = "the model has not been loaded yet (the app is starting)"


def load_model(settings: Settings, scratch: ExitStack) -> LoadedModel:
    """Resolve ``settings.model_uri`` and load it; downloads live until ``scratch`` closes."""
    download_to = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="claimstance-")))
    resolved = resolve_model(settings.model_uri, settings.tracking_uri, download_to)
    classifier = ClaimClassifier.from_directory(
        resolved.directory, device=settings.device, batch_size=settings.batch_size
    )
    ref = ModelRef(name=resolved.name, version=resolved.version, run_id=resolved.run_id)
    return LoadedModel(classifier=classifier, ref=ref, uri=resolved.uri)


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


def _describe(error: dict[str, Any]) -> str:
    kind, where, given = error["type"], _location(error["loc"]), error.get("input")
    got = _JSON_TYPES.get(type(given), type(given).__name__)
    if kind == "missing" and not where:
        return f"the request body is empty: {EITHER_TEXT_OR_TEXTS}"
    if kind in {"model_type", "model_attributes_type", "dict_type"} and not where:
        return f"the body must be a JSON object, got {got}: {EITHER_TEXT_OR_TEXTS}"
    if kind == "extra_forbidden":
        return f'unknown field "{where}": {EITHER_TEXT_OR_TEXTS}, and optionally "segment"'
    if kind == "string_type":
        return f"{where} must be a string, got {got}"
    if kind == "list_type":
        return f"{where} must be a list of strings, got {got}"
    if kind == "bool_type":
        return f"{where} must be true or false, got {got}"
    return f"{where}: {error['msg']}" if where else error["msg"]


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    for error in errors:
        if error["type"] == "json_invalid":
            position = error["loc"][-1]
            reason = error.get("ctx", {}).get("error", "cannot be parsed")
            return JSONResponse(
                {"detail": f"invalid JSON at character {position}: {reason}"}, status_code=400
            )
    return JSONResponse(
        {
            "detail": "; ".join(dict.fromkeys(_describe(error) for error in errors)),
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
    settings: Settings | None = None, classifier: StanceClassifier | None = None
) -> FastAPI:
    """Build the app; pass ``classifier`` to serve an already-loaded model (tests, notebooks)."""
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
        message=too_large_message(settings.max_body_bytes, settings.max_texts, settings.max_chars),
    )
    # Added last so it is outermost: refused and failed requests are counted too.
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)

    for module in (classify, health, model_info, metrics, page):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
