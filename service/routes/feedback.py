"""POST /feedback: a user's correction of a label, stored for the next training round."""

from __future__ import annotations

import logging
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from prometheus_client import CollectorRegistry, Counter

from model.feedback import Correction, FeedbackStore, KeyConflictError, StoreUnavailableError
from model.labels import LABELS
from service.deps import JsonBody
from service.limits import feedback_limits
from service.schemas import JSON_BODY_ERRORS, ErrorBody, FeedbackRequest, FeedbackResponse
from service.state import service_state

logger = logging.getLogger(__name__)
router = APIRouter(tags=["feedback"])


def corrections_counter(registry: CollectorRegistry) -> Counter:
    """``claimstance_corrections_total{model_label, correct_label}``, every pair at 0 from the start."""
    counter = Counter(
        "claimstance_corrections",
        "Label corrections received by /feedback (new ones), by model label and correct label",
        ["model_label", "correct_label"],
        registry=registry,
    )
    for given in LABELS:
        for corrected in LABELS:
            counter.labels(model_label=given.value, correct_label=corrected.value)
    return counter


async def get_store(request: Request) -> FeedbackStore:
    return service_state(request.app).feedback


StoreDep = Annotated[FeedbackStore, Depends(get_store)]


@router.post(
    "/feedback",
    dependencies=[JsonBody, Depends(feedback_limits)],
    status_code=status.HTTP_201_CREATED,
    responses={
        **JSON_BODY_ERRORS,
        200: {"model": FeedbackResponse, "description": "Already stored: nothing changed"},
        409: {"model": ErrorBody, "description": "The id already names another correction"},
        503: {"model": ErrorBody, "description": "The store cannot be written now"},
    },
)
async def feedback(
    body: FeedbackRequest,
    request: Request,
    response: Response,
    store: StoreDep,
) -> FeedbackResponse:
    """Store a correction of a claim's label; ``python -m training feedback-export`` writes
    them as a file that ``make train DATA=...`` takes.

    201 when stored, 200 when the same correction (same id, or same content) was already
    there, 409 when the id names another one. The text may be at most ``max_chars``.
    """
    correction = Correction(
        text=body.text,
        model_label=body.model_label,
        correct_label=body.correct_label,
        note=body.note,
        model_version=body.model_version,
        key=body.id or "",
    )
    try:
        # A synced write: off the event loop.
        stored, created = await anyio.to_thread.run_sync(store.add, correction)
    except KeyConflictError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(error)) from None
    except StoreUnavailableError as error:
        # Locked past the busy timeout, a full disk, a path that cannot be written, a
        # database server that is down: the client may retry with the same id.
        logger.error("%s", error)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the feedback store cannot take the correction now; retry with the same id",
        ) from None
    if created:
        service_state(request.app).corrections.labels(
            model_label=stored.model_label.value, correct_label=stored.correct_label.value
        ).inc()
    else:
        response.status_code = status.HTTP_200_OK
    return FeedbackResponse(id=stored.key, created=created)
