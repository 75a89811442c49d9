"""GET /model: which model is serving, how well it scored, on what device, and how /compare
groups claims."""

from __future__ import annotations

from fastapi import APIRouter, Request

from service.deps import ModelDep
from service.schemas import ErrorBody, ModelInfo
from service.state import service_state

router = APIRouter(tags=["model"])


@router.get("/model", responses={503: {"model": ErrorBody, "description": "No model is loaded"}})
async def model_info(loaded: ModelDep, request: Request) -> ModelInfo:
    return loaded.info().model_copy(update={"grouping": service_state(request.app).grouping})
