"""The FastAPI app: ``create_app`` wires settings, metrics and routes; the lifespan loads the models.

The classifier and the sentence encoder (for /compare) are loaded once, in the
lifespan, never per request and never at import; ``POST /admin/reload`` or
SIGHUP swaps them for what the model URI names now (``service.serving``).
When no classifier can be found the app still starts: /health answers, and
/ready, /classify and /compare answer 503 with the reason and how to train a
model. A missing encoder only takes /compare down.

Around the routes, outermost first: metrics (every request counted, refused
ones too), CORS (only for the origins set), API keys (when set), the bound on
work in flight, and the body size limit.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import ExitStack, asynccontextmanager, contextmanager
from functools import partial
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from model.classifier import StanceClassifier
from model.feedback import FeedbackStore
from model.resolve import TRAIN_HINT, name_from_uri
from model.story import Embedder

# Called through the module, so tests can stand in for the loaders.
from service import serving
from service.admission import CancelledAsJson, InFlightLimit
from service.auth import KEY_HEADER, ApiKeyMiddleware, ApiKeys
from service.body_limit import BodyLimitMiddleware, too_large_message
from service.headers import AllowedHosts, SecurityHeaders
from service.limits import MAX_ERRORS, TooLargeError, too_large_handler
from service.metrics import Metrics, MetricsMiddleware, flat_routes
from service.openapi import honest_openapi
from service.redact import redact_credentials
from service.responses import LoadedModel, attribution_source
from service.routes import (
    admin,
    classify,
    compare,
    docs,
    feedback,
    health,
    metrics,
    model_info,
    page,
)
from service.routes.page import STATIC_DIR
from service.schemas import (
    ITEM_FORM,
    PLAIN,
    TEXTS_ARE,
    UNION_TAGS,
    ClassifyRequest,
    CompareRequest,
    FeedbackRequest,
    ModelRef,
)
from service.serving import (
    LOAD_ERRORS,
    ModelSlot,
    ReloadError,
    embedder_message,
    reload_model,
)
from service.settings import Settings
from service.state import ServiceState, service_state

logger = logging.getLogger(__name__)

NOT_LOADED_YET = "the model has not been loaded yet (the app is starting)"
EMBEDDER_NOT_LOADED = "the sentence encoder has not been loaded yet (the app is starting)"
# The routes that do model work: bounded by max_in_flight.
WORK_PATHS = frozenset({"/classify", "/compare", "/admin/reload"})


async def _reload_for_signal(app: FastAPI) -> None:
    """SIGHUP: reload as POST /admin/reload does; the outcome goes to the log."""
    state = service_state(app)
    try:
        await reload_model(state)
    except ReloadError as error:
        if error.status_code >= 500:
            state.metrics.reloads.labels(outcome="failure").inc()
        else:
            logger.warning("SIGHUP ignored: %s", error.detail)
        return
    state.metrics.reloads.labels(outcome="success").inc()


@contextmanager
def _reload_on_sighup(app: FastAPI) -> Iterator[None]:
    """Reload the model on SIGHUP while the app serves, where the process can take signals.

    Signal handlers belong to the main thread's loop: under uvicorn the lifespan runs
    there; under a test client it does not, and SIGHUP is left alone.
    """
    if not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    def on_sighup() -> None:
        uri = service_state(app).settings.model_uri
        logger.info("SIGHUP: reloading %s", redact_credentials(uri))
        task = loop.create_task(_reload_for_signal(app))
        tasks.add(task)  # a reference, so the task is not collected mid-reload
        task.add_done_callback(tasks.discard)

    try:
        loop.add_signal_handler(signal.SIGHUP, on_sighup)
    except (NotImplementedError, RuntimeError, ValueError):
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = service_state(app)
    try:
        if state.model is None:
            await _load_at_start(state)
        elif state.embedder is None:
            # A classifier passed to create_app: only the encoder is left to load.
            embedder, error = await anyio.to_thread.run_sync(
                serving.try_load_embedder, state.settings, state.model.directory
            )
            state.models.set_embedder(embedder)
            _record_embedder_error(state, error)
        state.metrics.model_loaded.set(1 if state.model is not None else 0)
        with _reload_on_sighup(app):
            yield
    finally:
        # Stops the micro-batching threads and removes downloads, of replaced models too.
        state.models.close_all()
        state.feedback.close()


async def _load_at_start(state: ServiceState) -> None:
    """Load through ``load_models`` as a reload does; a failure leaves the app up, saying why.

    No classifier: /ready, /classify and /compare answer 503 with the reason. No encoder:
    only /compare does.
    """
    try:
        # Loading reads hundreds of MB and may download them: not on the event loop.
        models = await anyio.to_thread.run_sync(
            partial(serving.load_models, state.settings, embedder=state.embedder)
        )
    except LOAD_ERRORS as error:
        message = redact_credentials(f"no model loaded: {error}")
        if TRAIN_HINT not in message:
            message = f"{message}; {TRAIN_HINT}"
        state.load_error = message
        logger.error(message)
        return
    state.models.install(models.model, models.embedder, models.resources)
    state.load_error = None
    ref = models.model.ref
    logger.info("serving %s version %s (run %s)", ref.name, ref.version, ref.run_id)
    _record_embedder_error(state, models.embedder_error)


def _record_embedder_error(state: ServiceState, error: Exception | None) -> None:
    """At start-up, an encoder that did not load leaves /compare answering 503 with why."""
    if error is not None:
        state.embedder_error = embedder_message(error)
        logger.error(state.embedder_error)


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


def _without_tags(loc: Sequence[Any]) -> list[Any]:
    """``loc`` without the union tags pydantic adds after a list index (service.schemas)."""
    return [
        part
        for index, part in enumerate(loc)
        if not (part in UNION_TAGS and index and isinstance(loc[index - 1], int))
    ]


def _location(loc: Sequence[Any]) -> str:
    """``("body", "texts", 2)`` -> ``texts[2]``: the field as a client would write it."""
    parts = _without_tags(loc[1:] if loc and loc[0] == "body" else loc)
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


# How to write each JSON route's body: error messages end with it.
_USAGE = {
    "/classify": ClassifyRequest.usage,
    "/compare": CompareRequest.usage,
    "/feedback": FeedbackRequest.usage,
}
# What a list field holds, for "must be ..." messages.
_LIST_OF = {"texts": TEXTS_ARE, "documents": f"a list of {ITEM_FORM} objects"}
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
        # An item of "texts" that is no object was read as the plain-string form.
        either = f", or an {ITEM_FORM} object" if error["loc"][-1] == PLAIN else ""
        return f"{where} must be a string{either}, got {got}", False
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


def _validation_answer(errors: list[dict[str, Any]], route: str) -> tuple[dict[str, Any], int]:
    """The body and status for pydantic's ``errors``: blocking, run in a worker thread."""
    for error in errors:
        if error["type"] == "json_invalid":
            position = error["loc"][-1]
            reason = error.get("ctx", {}).get("error", "cannot be parsed")
            return {"detail": f"invalid JSON at character {position}: {reason}"}, 400
    shown, more = errors[:MAX_ERRORS], len(errors) - MAX_ERRORS
    described = [_describe(error) for error in shown]
    detail = "; ".join(dict.fromkeys(sentence for sentence, _ in described))
    if more > 0:
        detail = f"{detail}; and {more} more"
    if any(wants_usage for _, wants_usage in described):
        # Said once at the end, however many errors asked for it.
        detail = f"{detail}: {_USAGE.get(route, 'see /docs for the request schema')}"
    body: dict[str, Any] = {
        "detail": detail,
        # Machine-readable too, without echoing "input": it may be a 100 kB text.
        "errors": [
            {"loc": _without_tags(error["loc"]), "msg": error["msg"], "type": error["type"]}
            for error in shown
        ],
    }
    if more > 0:
        body["errors_not_shown"] = more
    return body, 422


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    route = getattr(request.scope.get("route"), "path", "")
    # Off the event loop: even capped, describing errors is work a probe should not wait on.
    body, status_code = await anyio.to_thread.run_sync(
        _validation_answer, list(exc.errors()), route
    )
    return JSONResponse(body, status_code=status_code)


async def _not_found(request: Request, exc: Exception) -> Response:
    """404; for a route's path with a trailing slash, say which path is meant."""
    path = request.url.path
    trimmed = path.rstrip("/")
    if trimmed and trimmed != path:
        known = {getattr(route, "path", None) for route in flat_routes(request.app.router.routes)}
        if trimmed in known:
            detail = f"no route {path}: the route is {trimmed}, without the trailing slash"
            return JSONResponse({"detail": detail}, status_code=404)
    return await http_exception_handler(request, exc)  # type: ignore[arg-type]


# --- the app ---------------------------------------------------------------------------


def create_app(
    settings: Settings | None = None,
    classifier: StanceClassifier | None = None,
    embedder: Embedder | None = None,
) -> FastAPI:
    """Build the app; pass ``classifier`` or ``embedder`` to serve already-loaded models.

    Either one given is used as it is and not loaded in the lifespan (tests, notebooks).
    Raises ``service.auth.ApiKeyFileError`` when the API keys file cannot be used.
    """
    settings = settings or Settings()
    keys = ApiKeys.from_settings(
        [key.get_secret_value() for key in settings.api_keys], settings.api_keys_file
    )
    if not keys.enabled and settings.allow_open:
        logger.warning(
            "SERVING WITHOUT API KEYS on %s (CLAIMSTANCE_ALLOW_OPEN): anyone who can connect "
            "may use the model",
            settings.host,
        )
    app = FastAPI(
        title="claimstance",
        summary="Label every claim in news text as assertion, denial or caveat.",
        version="0.1.0",
        lifespan=lifespan,
        # POST /classify/ got a bare 307: a client that does not follow it saw no reason,
        # one that does sent its body twice. It is a 404 that names the route instead.
        redirect_slashes=False,
        # Served by service.routes.docs, which pins the CDN files by hash.
        docs_url=None,
        redoc_url=None,
    )
    state = ServiceState()
    app.state = state
    state.settings = settings
    state.metrics = Metrics()
    state.load_error = NOT_LOADED_YET
    state.model = None
    state.embedder = embedder
    state.grouping = None  # decided with the classifier's install, or in the lifespan
    state.embedder_given = embedder is not None
    state.embedder_error = EMBEDDER_NOT_LOADED
    state.models = ModelSlot(state)
    # Opened on the first correction, not here: an app that gets none writes no file.
    state.feedback = FeedbackStore(settings.feedback_store())
    state.corrections = feedback.corrections_counter(state.metrics.registry)
    if classifier is not None:
        injected = LoadedModel(
            classifier=classifier,
            # A bare artifact URI is its own name here, and may carry credentials.
            ref=ModelRef(name=redact_credentials(name_from_uri(settings.model_uri))),
            uri=settings.model_uri,
            attribution=attribution_source(classifier),
        )
        state.models.install(injected, embedder, ExitStack())

    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(TooLargeError, too_large_handler)  # type: ignore[arg-type]
    app.add_exception_handler(404, _not_found)
    # Starlette wraps each middleware around the ones added before it: innermost first.
    app.add_middleware(
        # Bodies larger than the text limits allow are refused before they are parsed.
        BodyLimitMiddleware,
        limit_bytes=settings.max_body_bytes,
        message=too_large_message(
            settings.max_body_bytes,
            settings.max_texts,
            settings.max_documents,
            settings.max_chars,
            settings.max_request_chars,
        ),
    )
    app.add_middleware(
        InFlightLimit,
        limit=settings.max_in_flight,
        paths=WORK_PATHS,
        gauge=state.metrics.in_flight,
        body_timeout_s=settings.body_timeout_s,
    )
    # Outside the bound, so requests without a key never take a slot.
    admin_keys = ApiKeys.from_settings(
        [key.get_secret_value() for key in settings.admin_keys], None
    )
    app.add_middleware(ApiKeyMiddleware, keys=keys, admin=admin_keys)
    if settings.cors_origins:
        # Closed unless origins are set: then only their pages may call the API, and a
        # browser's preflight is answered here, before it would need a key.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", KEY_HEADER],
            max_age=600,
        )
    if settings.host_names is not None:
        # Outside the key check: a rebinding page's requests stop here.
        app.add_middleware(AllowedHosts, names=settings.host_names)
    app.add_middleware(CancelledAsJson)
    # Outside CORS and the key check, so their refusals carry the headers too.
    app.add_middleware(SecurityHeaders)
    # Added last so it is outermost: refused and failed requests are counted too.
    app.add_middleware(MetricsMiddleware, metrics=state.metrics, routes=app.router.routes)

    for module in (classify, compare, feedback, health, model_info, metrics, page, admin, docs):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    def openapi() -> dict[str, Any]:
        return honest_openapi(app, settings, auth=keys.enabled)

    app.openapi = openapi  # type: ignore[method-assign]
    return app
