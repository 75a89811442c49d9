"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import ModelDep
from service.schemas import ErrorBody, Health, Ready

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> Health:
    """Liveness: the process answers, with or without a model."""
    return Health()


@router.get(
    "/ready",
    responses={503: {"model": ErrorBody, "description": "No model is loaded; detail says why"}},
)
async def ready(loaded: ModelDep) -> Ready:
    """Readiness: 200 once a model is loaded, 503 (with the reason) otherwise."""
    return Ready(model=loaded.ref)
