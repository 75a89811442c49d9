"""POST /classify: label every claim of one or more texts."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from service.budget import BudgetedClassifier, run_bounded
from service.deps import BudgetDep, JsonBody, MetricsDep, ModelDep, SettingsDep
from service.inference import classify_texts
from service.schemas import (
    BUSY_DESCRIPTION,
    JSON_BODY_ERRORS,
    ClassifyRequest,
    ClassifyResponse,
    ErrorBody,
)

router = APIRouter(tags=["classify"])


@router.post(
    "/classify",
    dependencies=[JsonBody],
    responses={**JSON_BODY_ERRORS, 503: {"model": ErrorBody, "description": BUSY_DESCRIPTION}},
)
async def classify(
    body: ClassifyRequest,
    loaded: ModelDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    budget: BudgetDep,
) -> ClassifyResponse:
    """Cut each text into claims (unless ``segment`` is false) and label each claim.

    Claim ``start``/``end`` are character offsets into the result's ``text``,
    the cleaned input (markup stripped, whitespace normalised). Beyond the
    schema's limits, one request may carry at most ``max_request_chars``
    characters and ``max_claims`` claims (413), and must be done within its
    time budget (503).
    """
    problem = body.limit_violation(max_texts=settings.max_texts, max_chars=settings.max_chars)
    if problem is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=problem)
    too_much = body.size_violation(max_request_chars=settings.max_request_chars)
    if too_much is not None:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=too_much)
    texts = body.all_texts()
    classifier = BudgetedClassifier(
        loaded.classifier, budget, max_claims=settings.max_claims, limit_name="max_claims"
    )
    # Cleaning, segmenting and the forward pass are CPU-bound: off the event loop,
    # so health probes and other requests are answered meanwhile.
    results = await run_bounded(
        budget, classify_texts, classifier, texts, segment=body.segment, checkpoint=budget.check
    )
    metrics.texts.inc(len(texts))
    metrics.record_claims(claim.label for result in results for claim in result.claims)
    return ClassifyResponse(model=loaded.ref, results=results)
