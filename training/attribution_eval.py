"""Score an attributor (the rule baseline today, a learned head later) on the gold spans, by split.

The gold sentences carry the stance corpus's labels, and the attributor is given them, as the
service gives it each claim's predicted label: which move decides the label is part of the
conventions (attribution.md, "several sources").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from model.attribution import Attribution as PredictedAttribution
from model.attribution import Attributor, SourceKind
from model.attribution import Span as PredictedSpan
from training.attribution_metrics import AttributionScores, score_attribution
from training.corpus.attribution import AttributionSpan
from training.data import Split


@dataclass(frozen=True, slots=True)
class _Answer:
    """A predicted attribution seen through the metrics' protocol (kind beside the spans)."""

    source: PredictedSpan | None
    source_kind: SourceKind | None
    cue: PredictedSpan | None


def _answer(predicted: PredictedAttribution) -> _Answer:
    source = predicted.source
    return _Answer(source, None if source is None else source.kind, predicted.cue)


def score_attributor(
    attributor: Attributor, gold: Mapping[Split, Sequence[AttributionSpan]]
) -> dict[Split, AttributionScores]:
    """Each split's scores; splits without gold sentences are left out."""
    scores: dict[Split, AttributionScores] = {}
    for split, sentences in gold.items():
        if not sentences:
            continue
        predicted = attributor.attribute(
            [sentence.text for sentence in sentences], [sentence.label for sentence in sentences]
        )
        answers = {
            sentence.id: _answer(answer)
            for sentence, answer in zip(sentences, predicted, strict=True)
        }
        scores[split] = score_attribution(sentences, answers)
    return scores
