"""Score an attributor (the rule baseline, or a model's attribution head) on the gold spans, by split.

The gold sentences carry the stance corpus's labels, and the attributor is given them, as the
service gives it each claim's predicted label: which move decides the label is part of the
conventions (attribution.md, "several sources"). The head reads the text alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from model.attribution import Attribution, Attributor, Source, kind_at
from model.attribution_head import DEFAULT_KIND_SOURCE, KindSource
from model.classifier import ClaimClassifier
from model.labels import Label
from training.corpus.attribution import AttributionSpan
from training.data import Split
from training.evaluation.attribution_metrics import AttributionScores, score_attribution


class HeadError(ValueError):
    """The classifier has no attribution head to score."""


class HeadAttributor:
    """A classifier's attribution head as an ``Attributor``: one ``predict`` call, its spans."""

    def __init__(self, classifier: ClaimClassifier) -> None:
        if not classifier.uses_attribution_head:
            raise HeadError(
                "the model has no attribution head (it was trained without "
                "training.attribution_head=true, or the head is switched off)"
            )
        self.classifier = classifier

    def attribute(
        self, texts: Sequence[str], labels: Sequence[Label] | None = None
    ) -> list[Attribution]:
        attributions = [prediction.attribution for prediction in self.classifier.predict(texts)]
        if any(attribution is None for attribution in attributions):
            raise HeadError("the classifier returned predictions without attributions")
        return attributions  # type: ignore[return-value]  # no None, checked above


def with_rule_kinds(texts: Sequence[str], attributions: Sequence[Attribution]) -> list[Attribution]:
    """The same spans with the rules' kind of each source phrase in place of the head's."""
    ruled = []
    for text, attribution in zip(texts, attributions, strict=True):
        source = attribution.source
        if source is None:
            ruled.append(attribution)
            continue
        kind = kind_at(text, source.start, source.end)
        ruled.append(
            Attribution(Source(source.text, source.start, source.end, kind), attribution.cue)
        )
    return ruled


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
        scores[split] = _scores(sentences, predicted)
    return scores


def _scores(
    sentences: Sequence[AttributionSpan], predicted: Sequence[Attribution]
) -> AttributionScores:
    answers = {sentence.id: answer for sentence, answer in zip(sentences, predicted, strict=True)}
    return score_attribution(sentences, answers)


def choose_kind_source(
    classifier: ClaimClassifier, validation: Sequence[AttributionSpan]
) -> tuple[KindSource, dict[str, float]]:
    """Whether the head or the rules should name the source's kind: the better kind accuracy
    on the validation gold (the rules on a tie, or without validation gold), from one pass.

    Returns the choice and both accuracies as metrics (``attribution.validation.kind_accuracy_head``
    and ``..._rules``).
    """
    if not validation:
        return DEFAULT_KIND_SOURCE, {}
    texts = [sentence.text for sentence in validation]
    before = classifier.attribution_kind
    classifier.attribution_kind = "head"
    try:
        by_head = HeadAttributor(classifier).attribute(texts)
    finally:
        classifier.attribution_kind = before
    head = _scores(validation, by_head).kind_accuracy
    rules = _scores(validation, with_rule_kinds(texts, by_head)).kind_accuracy
    metrics = {
        "attribution.validation.kind_accuracy_head": head,
        "attribution.validation.kind_accuracy_rules": rules,
    }
    # nan (no sentence where both name a source) compares False: the rules.
    return ("head" if head > rules else "rules"), metrics
