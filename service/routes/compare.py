"""POST /compare: one story across outlets, its claims labelled and grouped across documents."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from model.story import served_similarity
from service.budget import BudgetedClassifier, BudgetedEmbedder, run_bounded
from service.deps import BudgetDep, EmbedderDep, JsonBody, MetricsDep, ModelDep, SettingsDep
from service.limits import compare_limits
from service.responses import compare_texts
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
    # The size limits before the schema: a body of a million items is refused for its count.
    dependencies=[JsonBody, Depends(compare_limits)],
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
    are character offsets into the document's cleaned ``text``. One story may
    carry at most ``max_documents`` documents of ``max_chars`` characters,
    ``max_request_chars`` characters in all and ``max_story_claims`` claims,
    and its work may take at most ``compute_budget_s`` (413 past any of them);
    it must be answered within ``request_timeout_s`` of arriving (503).
    """
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
        # The encoder in hand decides, so a reload between the two reads cannot pair a
        # token grouping with an encoder that has no token states; the load said so once.
        similarity=served_similarity(settings.grouping, embedder),
    )
    metrics.documents.inc(len(response.documents))
    metrics.record_claims(claim.label for doc in response.documents for claim in doc.claims)
    metrics.record_confidence(claim.scores for doc in response.documents for claim in doc.claims)
    metrics.record_groups(group.disagreement for group in response.groups)
    return response
