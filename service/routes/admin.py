"""POST /admin/reload: serve the model the model URI names now, without a restart."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse

from service.deps import MetricsDep, SettingsDep
from service.schemas import ErrorBody, ReloadFailure, ReloadResponse
from service.serving import ReloadError, reload_model
from service.state import service_state

router = APIRouter(tags=["admin"])

NEEDS_KEYS = (
    "/admin/reload needs an admin key: set CLAIMSTANCE_ADMIN_KEYS and send one, "
    "or send the server SIGHUP"
)


@router.post(
    "/admin/reload",
    responses={
        401: {"model": ErrorBody, "description": "No valid admin key"},
        403: {"model": ErrorBody, "description": "The service has no admin keys set"},
        409: {"model": ReloadFailure, "description": "A reload is already running"},
        500: {
            "model": ReloadFailure,
            "description": "The model could not be loaded; the previous one goes on serving",
        },
    },
)
async def reload(request: Request, settings: SettingsDep, metrics: MetricsDep) -> ReloadResponse:
    """Resolve the model URI again (``models:/name@champion`` follows the alias) and load it.

    Requests in flight finish on the model they started on; later ones get the
    new model. When the new model cannot be loaded, the old one goes on serving
    and the answer says why. Open only to admin-key holders (CLAIMSTANCE_ADMIN_KEYS; the
    key middleware has checked the key); SIGHUP does the same, and only the process's
    owner (or root) may send it.
    """
    if not settings.admin_keys:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=NEEDS_KEYS)
    try:
        result = await reload_model(service_state(request.app))
    except ReloadError as error:
        if error.status_code >= 500:
            metrics.reloads.labels(outcome="failure").inc()
        return JSONResponse(  # type: ignore[return-value]  # FastAPI passes a Response through
            ReloadFailure(detail=error.detail, serving=error.serving).model_dump(mode="json"),
            status_code=error.status_code,
        )
    metrics.reloads.labels(outcome="success").inc()
    return result
