"""POST /feedback: a user's correction of a label, stored for the next training round.

The request and response bodies live here rather than in ``service.schemas`` while that
module is being reshaped in another branch; they follow its conventions (strict types,
unknown keys refused, labels from ``model.labels.Label``).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Annotated, ClassVar

import anyio.to_thread
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from model.feedback import Correction, FeedbackStore, KeyConflictError
from model.labels import LABELS, Label
from service.deps import JsonBody, SettingsDep
from service.schemas import JSON_BODY_ERRORS, MAX_ID_CHARS, ErrorBody, is_blank

logger = logging.getLogger(__name__)
router = APIRouter(tags=["feedback"])

# A note says why, in a sentence or two; it is not a place for documents.
MAX_NOTE_CHARS = 2_000


class FeedbackRequest(BaseModel):
    """One claim, the label the model gave it, and the label the user says is right."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "text": "The report on the fake website was shared widely.",
                    "model_label": "assertion",
                    "correct_label": "denial",
                    "note": "calls the report fake",
                    "model_version": "4",
                }
            ]
        },
    )
    usage: ClassVar[str] = (
        'send "text", "model_label" and "correct_label", and optionally "note", '
        '"model_version" and "id"'
    )

    text: StrictStr = Field(description="The claim as the model labelled it")
    model_label: Label = Field(description="The label the model gave")
    correct_label: Label = Field(description="The label the user says is right")
    note: StrictStr = Field("", max_length=MAX_NOTE_CHARS, description="Why, optionally")
    model_version: StrictStr = Field(
        "", max_length=MAX_ID_CHARS, description="The model version that gave model_label"
    )
    id: StrictStr | None = Field(
        None,
        min_length=1,
        max_length=MAX_ID_CHARS,
        description="The client's key for this correction: a retry with the same id is stored "
        "once. Unset: the key is derived from text, labels and model version",
    )

    @model_validator(mode="after")
    def _a_claim(self) -> FeedbackRequest:
        if is_blank(self.text):
            raise PydanticCustomError("empty_text", "text is empty or only whitespace")
        return self


class FeedbackResponse(BaseModel):
    id: str = Field(description="The correction's key: the client's id, or the derived one")
    created: bool = Field(description="false when the same correction was already stored")


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


def get_store(request: Request) -> FeedbackStore:
    return request.app.state.feedback


StoreDep = Annotated[FeedbackStore, Depends(get_store)]


@router.post(
    "/feedback",
    dependencies=[JsonBody],
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
    settings: SettingsDep,
    store: StoreDep,
) -> FeedbackResponse:
    """Store a correction of a claim's label; ``python -m training feedback-export`` writes
    them as a file that ``make train DATA=...`` takes.

    201 when stored, 200 when the same correction (same id, or same content) was already
    there, 409 when the id names another one. The text may be at most ``max_chars``.
    """
    if len(body.text) > settings.max_chars:
        # 422 as /classify answers a text over max_chars: the schema states the bound.
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"text is too long: {len(body.text)} characters, the limit is "
            f"{settings.max_chars} characters per text",
        )
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
    except sqlite3.OperationalError as error:
        # Locked past the busy timeout, a full disk, a path that cannot be written.
        logger.error("feedback store %s: %s", store.path, error)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the feedback store cannot take the correction now; retry with the same id",
        ) from None
    if created:
        request.app.state.corrections.labels(
            model_label=stored.model_label.value, correct_label=stored.correct_label.value
        ).inc()
    else:
        response.status_code = status.HTTP_200_OK
    return FeedbackResponse(id=stored.key, created=created)
