"""Dependencies the routes declare: settings, metrics, the loaded models, a JSON body."""

from __future__ import annotations

import asyncio
import email.message
from collections.abc import AsyncIterator
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, HTTPException, Request, status

from model.story import Embedder
from service.admission import ARRIVED_KEY
from service.budget import Budget, request_budget
from service.metrics import Metrics
from service.redact import public
from service.responses import LoadedModel
from service.serving import ModelSlot
from service.settings import Settings
from service.state import service_state

# The dependencies below do no blocking work, so they are ``async def``: FastAPI runs a
# plain ``def`` dependency in its thread pool, and three of them cost every /classify three
# round trips to a worker thread (0.5 ms of CPU, a sixth of a one-claim request's).


async def get_settings(request: Request) -> Settings:
    return service_state(request.app).settings


async def get_metrics(request: Request) -> Metrics:
    return service_state(request.app).metrics


async def require_model(request: Request) -> AsyncIterator[LoadedModel]:
    """The serving model, or 503 with the reason it is missing (and how to train one).

    The request holds it until it is answered: a reload meanwhile serves later
    requests from the new model and closes this one only after its last request.
    """
    slot: ModelSlot = service_state(request.app).models
    loaded = slot.acquire()
    if loaded is None:
        raise HTTPException(
            # /ready answers it without a key: no credentials and no paths of the machine.
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=public(service_state(request.app).load_error),
        )
    try:
        yield loaded
    finally:
        to_close = slot.release(loaded)
        if to_close is not None:
            await anyio.to_thread.run_sync(to_close.close)


async def _stop_when_the_client_leaves(request: Request, budget: Budget) -> None:
    # The body has been read (FastAPI reads it before resolving dependencies): what the
    # server says next is that the client went away, or that the answer has been sent.
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            budget.stop("the client went away")
            return


async def new_budget(request: Request) -> AsyncIterator[Budget]:
    """This request's time: counted from its arrival (request_timeout_s) and from when its
    work starts (compute_budget_s); stopped when its client disconnects.

    Nothing else notices a client leaving: without the watch its work ran on to the end,
    16 s of CPU for nobody. The work stops at its next budget check.
    """
    arrived = request.scope.get(ARRIVED_KEY)
    budget = request_budget(service_state(request.app).settings, arrived)
    watch = asyncio.create_task(_stop_when_the_client_leaves(request, budget))
    try:
        yield budget
    finally:
        watch.cancel()


async def require_embedder(request: Request) -> Embedder:
    """The sentence encoder /compare groups claims with, or 503 with the reason it is missing."""
    embedder: Embedder | None = service_state(request.app).embedder
    if embedder is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=public(service_state(request.app).embedder_error),
        )
    return embedder


async def require_json(request: Request) -> None:
    """415 for a body that is not JSON, rather than a confusing schema error about bytes."""
    content_type = request.headers.get("content-type")
    if content_type is None:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail="missing Content-Type: send the body as application/json",
        )
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    if message.get_content_maintype() != "application" or not (
        subtype == "json" or subtype.endswith("+json")
    ):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"unsupported Content-Type {content_type!r}: send the body as application/json",
        )


SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ModelDep = Annotated[LoadedModel, Depends(require_model)]
BudgetDep = Annotated[Budget, Depends(new_budget)]
EmbedderDep = Annotated[Embedder, Depends(require_embedder)]
JsonBody = Depends(require_json)
