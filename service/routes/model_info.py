"""GET /model: which model is serving, how well it scored, and on what device."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import ModelDep
from service.schemas import ErrorBody, ModelInfo

router = APIRouter(tags=["model"])


@router.get("/model", responses={503: {"model": ErrorBody, "description": "No model is loaded"}})
async def model_info(loaded: ModelDep) -> ModelInfo:
    return loaded.info()
