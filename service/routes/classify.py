"""POST /classify: label every claim of one or more texts."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from service.budget import BudgetedClassifier, run_bounded, run_on_loop, runs_on_loop
from service.deps import BudgetDep, JsonBody, MetricsDep, ModelDep, SettingsDep
from service.limits import classify_limits
from service.responses import classify_on_loop, classify_texts
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
    # The size limits before the schema: a body of a million items is refused for its count.
    dependencies=[JsonBody, Depends(classify_limits)],
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

    ``texts`` holds strings or ``{"id", "text"}`` objects (one kind per request, ids unique);
    each object's id comes back as its result's ``id``.

    Claim ``start``/``end`` are character offsets into the result's ``text``,
    the cleaned input (markup stripped, whitespace normalised). One request
    may carry at most ``max_texts`` texts of ``max_chars`` characters,
    ``max_request_chars`` characters in all and ``max_claims`` claims, and its
    work may take at most ``compute_budget_s`` (413 past any of them); it must
    be answered within ``request_timeout_s`` of arriving (503).
    """
    texts = body.all_texts()
    classifier = BudgetedClassifier(
        loaded.classifier, budget, max_claims=settings.max_claims, limit_name="max_claims"
    )
    options = {"segment": body.segment, "checkpoint": budget.check, "ids": body.ids()}
    if runs_on_loop(texts):
        # One short text: cut into claims here and its forward pass awaited, with no
        # worker thread in between (service.budget); the cutting holds the loop at most
        # a few milliseconds.
        results = await run_on_loop(budget, classify_on_loop, classifier, texts, **options)
    else:
        # Cleaning, segmenting and the forward pass are CPU-bound: off the event loop,
        # so health probes and other requests are answered meanwhile.
        results = await run_bounded(budget, classify_texts, classifier, texts, **options)
    metrics.texts.inc(len(texts))
    metrics.record_claims(claim.label for result in results for claim in result.claims)
    metrics.record_confidence(claim.scores for result in results for claim in result.claims)
    return ClassifyResponse(model=loaded.ref, results=results)
