"""The routes' work as the HTTP schema: ``model``'s dataclasses mapped to response bodies.

``classify_texts`` serves /classify (``classify_on_loop`` its small requests);
``compare_texts`` serves /compare and ``python -m service compare``, so the API and
the CLI's JSON are one format.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from model.attribution import Source, Span
from model.classifier import ClaimClassifier, StanceClassifier
from model.labelling import (
    LabelledClaim,
    LabelledText,
    claim_texts,
    extract_texts,
    label_extracted,
    label_texts,
)
from model.labels import LABELS
from model.story import DEFAULT_SIMILARITY, Embedder, GroupingSetting, compare_documents
from model.story import ClaimGroup as StoryGroup
from service.budget import BudgetedClassifier
from service.redact import public
from service.schemas import (
    ClaimGroup,
    ClaimResult,
    CompareResponse,
    DocumentResult,
    GroupMember,
    ModelInfo,
    ModelRef,
    SourceResult,
    SpanResult,
    StoryClaim,
    TextResult,
)

AttributionSource = Literal["head", "rules"]


def attribution_source(classifier: StanceClassifier) -> AttributionSource:
    """Whether ``classifier``'s predictions carry its attribution head's spans (a wrapper
    such as the micro-batcher answers for the classifier inside it)."""
    inner = getattr(classifier, "inner", classifier)
    if isinstance(inner, ClaimClassifier) and inner.uses_attribution_head:
        return "head"
    return "rules"


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """The classifier the app loaded at startup and where it came from."""

    classifier: StanceClassifier
    ref: ModelRef
    uri: str
    # Which engine runs the forward pass (model.backends); "custom" for an injected classifier.
    backend: str = "custom"
    directory: Path | None = None
    # Who finds the claims' source and cue: the model's attribution head, or the rules.
    attribution: AttributionSource = "rules"

    def info(self) -> ModelInfo:
        card = self.classifier.card
        return ModelInfo(
            **self.ref.model_dump(),
            uri=public(self.uri),
            labels=list(LABELS),
            device=self.classifier.device,
            backend=self.backend,
            attribution=self.attribution,
            base_model=card.base_model,
            pooling=card.pooling,
            max_length=card.max_length,
            temperature=card.temperature,
            data_hash=card.data_hash,
            metrics=card.metrics,
        )


def classify_texts(
    classifier: StanceClassifier,
    texts: Sequence[str],
    *,
    segment: bool = True,
    checkpoint: Callable[[], None] | None = None,
    ids: Sequence[str] | None = None,
) -> list[TextResult]:
    """``model.labelling.label_texts`` in the /classify schema. Blocking: run it in a worker thread.

    ``checkpoint`` runs before each text is cut into claims and may raise to stop the work.
    ``ids`` (one per text) are set on the results, in the same order.
    """
    if ids is not None and len(ids) != len(texts):
        raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
    labelled = label_texts(classifier, texts, segment=segment, checkpoint=checkpoint)
    return text_results(labelled, ids)


async def classify_on_loop(
    classifier: BudgetedClassifier,
    texts: Sequence[str],
    *,
    segment: bool = True,
    checkpoint: Callable[[], None] | None = None,
    ids: Sequence[str] | None = None,
) -> list[TextResult]:
    """``classify_texts`` for a caller on the event loop, with the same steps and answers.

    The texts are cut into claims where this runs and the forward pass is awaited
    (``BudgetedClassifier.predict_async``): for small requests only, since the cutting
    holds the loop (``service.budget.runs_on_loop``).
    """
    if ids is not None and len(ids) != len(texts):
        raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
    extracted = extract_texts(texts, segment=segment, checkpoint=checkpoint)
    claims = claim_texts(extracted)
    # No model call when there is nothing to label, as in label_texts.
    predictions = await classifier.predict_async(claims) if claims else []
    return text_results(label_extracted(extracted, predictions), ids)


def text_results(
    labelled: Sequence[LabelledText], ids: Sequence[str] | None = None
) -> list[TextResult]:
    """Labelled texts in the /classify schema; ``ids`` (one per text) set on the results."""
    return [
        TextResult(
            id=None if ids is None else ids[index],
            text=item.text,
            claims=[
                ClaimResult(
                    text=claim.text,
                    start=claim.start,
                    end=claim.end,
                    label=claim.label,
                    scores=claim.scores,
                    source=_source(claim.attribution.source),
                    cue=_cue(claim.attribution.cue),
                )
                for claim in item.claims
            ],
        )
        for index, item in enumerate(labelled)
    ]


def _source(source: Source | None) -> SourceResult | None:
    if source is None:
        return None
    return SourceResult(text=source.text, start=source.start, end=source.end, kind=source.kind)


def _cue(cue: Span | None) -> SpanResult | None:
    return None if cue is None else SpanResult(text=cue.text, start=cue.start, end=cue.end)


def _story_claim(claim: LabelledClaim) -> StoryClaim:
    return StoryClaim(
        index=claim.index,
        text=claim.text,
        start=claim.start,
        end=claim.end,
        label=claim.label,
        scores=claim.scores,
        source=_source(claim.attribution.source),
        cue=_cue(claim.attribution.cue),
    )


def _group(group: StoryGroup) -> ClaimGroup:
    return ClaimGroup(
        representative=group.representative,
        representative_document=group.representative_document,
        representative_index=group.representative_index,
        disagreement=group.disagreement,
        proposition=group.proposition,
        outlets=group.outlets,
        members=[
            GroupMember(
                document=cell.document,
                label=cell.label,
                claims=[_story_claim(claim) for claim in cell.claims],
            )
            for cell in group.members
        ],
    )


def compare_texts(
    loaded: LoadedModel,
    embedder: Embedder,
    documents: Sequence[tuple[str, str]],
    *,
    threshold: float | None,
    segment: bool = True,
    classifier: StanceClassifier | None = None,
    checkpoint: Callable[[], None] | None = None,
    similarity: GroupingSetting = DEFAULT_SIMILARITY,
) -> CompareResponse:
    """Label the claims of each ``(id, text)`` document and group them across documents.

    One predict call and one embed call cover every claim of every document
    (``model.story.compare_documents``). ``classifier`` stands in for the loaded
    model's (the service's budgeted one); ``checkpoint`` may raise to stop the work;
    ``similarity`` is the grouping in effect (``model.story.served_similarity``).
    Blocking: callers on an event loop run it in a worker thread.
    """
    comparison = compare_documents(
        documents,
        classifier or loaded.classifier,
        embedder,
        threshold=threshold,
        segment=segment,
        checkpoint=checkpoint,
        similarity=similarity,
    )
    return CompareResponse(
        model=loaded.ref,
        threshold=comparison.threshold,
        grouping=similarity,
        documents=[
            DocumentResult(
                id=summary.id,
                text=summary.text,
                claims=[_story_claim(claim) for claim in summary.claims],
                counts=summary.counts,
            )
            for summary in comparison.documents
        ],
        groups=[_group(group) for group in comparison.groups],
    )
