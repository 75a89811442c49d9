"""Score an attributor (the rule baseline today, a learned head later) on the gold spans, by split.

The gold sentences carry the stance corpus's labels, and the attributor is given them, as the
service gives it each claim's predicted label: which move decides the label is part of the
conventions (attribution.md, "several sources").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from model.attribution import Attributor
from training.attribution_metrics import AttributionScores, score_attribution
from training.corpus.attribution import AttributionSpan
from training.data import Split


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
            sentence.id: answer for sentence, answer in zip(sentences, predicted, strict=True)
        }
        scores[split] = score_attribution(sentences, answers)
    return scores
