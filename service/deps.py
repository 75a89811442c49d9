"""Dependencies the routes declare: settings, metrics, the loaded models, a JSON body."""

from __future__ import annotations

import email.message
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from model.story import Embedder
from service.inference import LoadedModel
from service.metrics import Metrics
from service.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def require_model(request: Request) -> LoadedModel:
    """The loaded model, or 503 with the reason it is missing (and how to train one)."""
    loaded: LoadedModel | None = request.app.state.model
    if loaded is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=request.app.state.load_error
        )
    return loaded


def require_embedder(request: Request) -> Embedder:
    """The sentence encoder /compare groups claims with, or 503 with the reason it is missing."""
    embedder: Embedder | None = request.app.state.embedder
    if embedder is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=request.app.state.embedder_error
        )
    return embedder


def require_json(request: Request) -> None:
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
EmbedderDep = Annotated[Embedder, Depends(require_embedder)]
JsonBody = Depends(require_json)
