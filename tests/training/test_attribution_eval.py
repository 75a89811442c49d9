"""score_attributor: the rule attributor against hand-made gold, split by split."""

from __future__ import annotations

import pytest

from model.attribution import RuleAttributor, SourceKind, Span
from model.labels import Label
from training.corpus.attribution import AttributionSpan
from training.data import Split
from training.evaluation.attribution import score_attributor


def _gold(
    sentence_id: str,
    text: str,
    label: Label,
    split: Split,
    source: str | None = None,
    kind: SourceKind | None = None,
    cue: str | None = None,
) -> AttributionSpan:
    def span(part: str | None) -> Span | None:
        if part is None:
            return None
        start = text.index(part)
        return Span(part, start, start + len(part))

    return AttributionSpan(sentence_id, text, label, "story", split, span(source), kind, span(cue))


def test_rules_are_scored_per_split_against_the_gold_offsets() -> None:
    gold = {
        Split.TRAIN: [
            _gold(
                "a",
                "The ministry denied the report.",
                Label.DENIAL,
                Split.TRAIN,
                "The ministry",
                SourceKind.ORGANISATION,
                "denied",
            ),
            _gold("b", "The bridge reopened on Monday.", Label.ASSERTION, Split.TRAIN),
        ],
        Split.TEST: [
            # The gold keeps the appositive's head; a wrong gold kind must cost kind accuracy.
            _gold(
                "c",
                "Lena Ortiz, the club's chairwoman, said no offer had been received.",
                Label.DENIAL,
                Split.TEST,
                "Lena Ortiz",
                SourceKind.ROLE,
                "said",
            ),
            # Gold says the outlet's own voice; the rules must not invent a source for it.
            _gold("d", "The claim has not been verified.", Label.CAVEAT, Split.TEST),
        ],
        Split.VALIDATION: [],
    }
    scores = score_attributor(RuleAttributor(), gold)
    assert set(scores) == {Split.TRAIN, Split.TEST}
    train, test = scores[Split.TRAIN], scores[Split.TEST]
    assert (train.sentences, train.with_source) == (2, 1)
    assert train.source_exact == train.cue_exact == train.has_source_f1 == 1.0
    assert train.kind_accuracy == 1.0
    assert test.source_exact == test.cue_exact == 1.0
    assert test.kind_accuracy == 0.0
    assert test.has_source_precision == pytest.approx(1.0)
