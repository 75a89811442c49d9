"""POST /classify: label every claim of one or more texts."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from starlette.concurrency import run_in_threadpool

from service.deps import JsonBody, MetricsDep, ModelDep, SettingsDep
from service.inference import classify_texts
from service.schemas import JSON_BODY_ERRORS, ClassifyRequest, ClassifyResponse, ErrorBody

router = APIRouter(tags=["classify"])


@router.post(
    "/classify",
    dependencies=[JsonBody],
    responses={
        **JSON_BODY_ERRORS,
        503: {"model": ErrorBody, "description": "No model is loaded"},
    },
)
async def classify(
    body: ClassifyRequest, loaded: ModelDep, settings: SettingsDep, metrics: MetricsDep
) -> ClassifyResponse:
    """Cut each text into claims (unless ``segment`` is false) and label each claim.

    Claim ``start``/``end`` are character offsets into the result's ``text``,
    the cleaned input (markup stripped, whitespace normalised).
    """
    problem = body.limit_violation(max_texts=settings.max_texts, max_chars=settings.max_chars)
    if problem is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=problem)
    texts = body.all_texts()
    # Cleaning, segmenting and the forward pass are CPU-bound: off the event loop,
    # so health probes and other requests are answered meanwhile.
    results = await run_in_threadpool(
        classify_texts, loaded.classifier, texts, segment=body.segment
    )
    metrics.texts.inc(len(texts))
    metrics.record_claims(claim.label for result in results for claim in result.claims)
    return ClassifyResponse(model=loaded.ref, results=results)
