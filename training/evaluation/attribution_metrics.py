"""Scores for attribution spans (source and cue): one function for the rule baseline, a
model and the annotators' agreement alike.

Spans are compared by character offsets, so "said" the first time and "said" the second
time are different answers. Token F1 counts word tokens (``\\w+``) by their position in the
sentence, not as a bag of words, for the same reason; punctuation is left out, so a span
that swallows a comma still earns the words it shares.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

from training.corpus.attribution import AttributionSpan

_WORD = re.compile(r"\w+")


class SpanLike(Protocol):
    """Anything with character offsets (end exclusive): a gold ``Span`` or a predicted one."""

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


class AttributionLike(Protocol):
    """A predicted attribution: source and cue spans (``None`` for null) and the kind."""

    @property
    def source(self) -> SpanLike | None: ...

    @property
    def source_kind(self) -> str | None: ...

    @property
    def cue(self) -> SpanLike | None: ...


def token_positions(text: str, span: SpanLike) -> frozenset[int]:
    """Indices of the sentence's word tokens that the span covers, wholly or in part."""
    return frozenset(
        index
        for index, word in enumerate(_WORD.finditer(text))
        if word.start() < span.end and word.end() > span.start
    )


def same_span(first: SpanLike | None, second: SpanLike | None) -> bool:
    if first is None or second is None:
        return first is None and second is None
    return (first.start, first.end) == (second.start, second.end)


def token_f1(text: str, first: SpanLike | None, second: SpanLike | None) -> float:
    """Token overlap of two spans of ``text``: 1 for two nulls, 0 for a null and a span."""
    if first is None or second is None:
        return 1.0 if first is None and second is None else 0.0
    a, b = token_positions(text, first), token_positions(text, second)
    if not a or not b:
        # A span of punctuation only: no tokens to share, so only an exact match counts.
        return 1.0 if same_span(first, second) else 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else math.nan


@dataclass(frozen=True)
class AttributionScores:
    """Predictions against gold. Span scores average over the sentences with a gold source
    (a null prediction there scores 0); ``has_source`` treats "names a source" as the
    positive class over every sentence. ``nan`` where a score has no sentences."""

    sentences: int
    with_source: int
    source_exact: float
    source_token_f1: float
    cue_exact: float
    cue_token_f1: float
    has_source_precision: float
    has_source_recall: float
    has_source_f1: float
    # Sentences both gold and prediction give a source: was the kind right?
    kind_support: int
    kind_accuracy: float

    def flat(self, prefix: str) -> dict[str, float]:
        """Metric names as MLflow keys, e.g. ``attribution.test.source_exact``."""
        return {f"{prefix}.{name}": float(value) for name, value in asdict(self).items()}


def score_attribution(
    gold: Sequence[AttributionSpan], predicted: Mapping[str, AttributionLike | None]
) -> AttributionScores:
    """Score predictions (id -> answer; a missing id counts as a null answer) on ``gold``."""
    sourced = [g for g in gold if g.source is not None]
    answers = {g.id: predicted.get(g.id) for g in gold}

    def source_of(sentence: AttributionSpan) -> SpanLike | None:
        answer = answers[sentence.id]
        return None if answer is None else answer.source

    def cue_of(sentence: AttributionSpan) -> SpanLike | None:
        answer = answers[sentence.id]
        return None if answer is None else answer.cue

    def kind_of(sentence: AttributionSpan) -> str | None:
        answer = answers[sentence.id]
        return None if answer is None else answer.source_kind

    predicted_sourced = sum(source_of(g) is not None for g in gold)
    both = [g for g in sourced if source_of(g) is not None]
    precision = _ratio(len(both), predicted_sourced)
    recall = _ratio(len(both), len(sourced))
    return AttributionScores(
        sentences=len(gold),
        with_source=len(sourced),
        source_exact=_mean([float(same_span(g.source, source_of(g))) for g in sourced]),
        source_token_f1=_mean([token_f1(g.text, g.source, source_of(g)) for g in sourced]),
        cue_exact=_mean([float(same_span(g.cue, cue_of(g))) for g in sourced]),
        cue_token_f1=_mean([token_f1(g.text, g.cue, cue_of(g)) for g in sourced]),
        has_source_precision=precision,
        has_source_recall=recall,
        has_source_f1=_ratio(2 * len(both), predicted_sourced + len(sourced)),
        kind_support=len(both),
        kind_accuracy=_mean([float(kind_of(g) == g.source_kind) for g in both]),
    )
