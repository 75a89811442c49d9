"""POST /compare: one story across outlets, its claims labelled and grouped across documents."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from starlette.concurrency import run_in_threadpool

from service.deps import EmbedderDep, JsonBody, MetricsDep, ModelDep, SettingsDep
from service.inference import compare_texts
from service.schemas import JSON_BODY_ERRORS, CompareRequest, CompareResponse, ErrorBody

router = APIRouter(tags=["compare"])


@router.post(
    "/compare",
    dependencies=[JsonBody],
    responses={
        **JSON_BODY_ERRORS,
        503: {"model": ErrorBody, "description": "No model or no sentence encoder is loaded"},
    },
)
async def compare(
    body: CompareRequest,
    loaded: ModelDep,
    embedder: EmbedderDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> CompareResponse:
    """Label every claim of each document and group the claims that say the same thing.

    A group holds claims from at least two documents; each member document gets
    the majority label of its claims there, and ``disagreement`` marks groups
    whose documents' labels differ. Those come first. Claim ``start``/``end``
    are character offsets into the document's cleaned ``text``.
    """
    problem = body.limit_violation(
        max_documents=settings.max_documents, max_chars=settings.max_chars
    )
    if problem is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=problem)
    threshold = body.threshold if body.threshold is not None else settings.similarity_threshold
    # Segmenting, the forward passes and clustering are CPU-bound: off the event loop.
    response = await run_in_threadpool(
        compare_texts,
        loaded,
        embedder,
        body.pairs(),
        threshold=threshold,
        segment=body.segment,
    )
    metrics.documents.inc(len(response.documents))
    metrics.record_claims(claim.label for doc in response.documents for claim in doc.claims)
    metrics.record_groups(group.disagreement for group in response.groups)
    return response
