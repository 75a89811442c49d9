"""POST /compare: one story across outlets, its claims labelled and grouped across documents."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from service.budget import BudgetedClassifier, BudgetedEmbedder, run_bounded
from service.deps import BudgetDep, EmbedderDep, JsonBody, MetricsDep, ModelDep, SettingsDep
from service.inference import compare_texts
from service.schemas import (
    BUSY_DESCRIPTION,
    JSON_BODY_ERRORS,
    CompareRequest,
    CompareResponse,
    ErrorBody,
)

router = APIRouter(tags=["compare"])


@router.post(
    "/compare",
    dependencies=[JsonBody],
    responses={
        **JSON_BODY_ERRORS,
        503: {
            "model": ErrorBody,
            "description": f"{BUSY_DESCRIPTION}; or no sentence encoder is loaded",
        },
    },
)
async def compare(
    body: CompareRequest,
    loaded: ModelDep,
    embedder: EmbedderDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    budget: BudgetDep,
) -> CompareResponse:
    """Label every claim of each document and group the claims that say the same thing.

    A group holds claims from at least two documents; each member document gets
    the majority label of its claims there, and ``disagreement`` marks groups
    whose documents' labels differ. Those come first. Claim ``start``/``end``
    are character offsets into the document's cleaned ``text``. Beyond the
    schema's limits, one story may carry at most ``max_request_chars``
    characters and ``max_story_claims`` claims (413), and must be done within
    its time budget (503).
    """
    problem = body.limit_violation(
        max_documents=settings.max_documents, max_chars=settings.max_chars
    )
    if problem is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=problem)
    too_much = body.size_violation(max_request_chars=settings.max_request_chars)
    if too_much is not None:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=too_much)
    threshold = body.threshold if body.threshold is not None else settings.similarity_threshold
    classifier = BudgetedClassifier(
        loaded.classifier,
        budget,
        max_claims=settings.max_story_claims,
        limit_name="max_story_claims",
    )
    # Segmenting, the forward passes and clustering are CPU-bound: off the event loop.
    response = await run_bounded(
        budget,
        compare_texts,
        loaded,
        BudgetedEmbedder(embedder, budget),
        body.pairs(),
        threshold=threshold,
        segment=body.segment,
        classifier=classifier,
        checkpoint=budget.check,
    )
    metrics.documents.inc(len(response.documents))
    metrics.record_claims(claim.label for doc in response.documents for claim in doc.claims)
    metrics.record_groups(group.disagreement for group in response.groups)
    return response
