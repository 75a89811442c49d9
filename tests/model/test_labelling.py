"""``label_texts``: the one path from texts to labelled claims."""

from __future__ import annotations

from collections.abc import Sequence

from model.classifier import Prediction
from model.labelling import label_texts
from model.labels import LABELS, Label


class Recording:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        self.calls.append(list(texts))
        return [
            Prediction(
                label=Label.DENIAL if "denied" in text else Label.ASSERTION,
                scores={label: 1 / len(LABELS) for label in LABELS},
            )
            for text in texts
        ]


def test_claims_of_all_texts_are_labelled_in_one_call_and_handed_back() -> None:
    classifier = Recording()
    texts = ["Moscow denied the reports. Kirby spoke on Tuesday.", "<p>Officials confirmed it.</p>"]
    labelled = label_texts(classifier, texts)
    assert len(classifier.calls) == 1 and len(classifier.calls[0]) == 3
    first, second = labelled
    assert [c.label for c in first.claims] == [Label.DENIAL, Label.ASSERTION]
    assert [c.index for c in first.claims] == [0, 1]
    for item in labelled:
        for claim in item.claims:
            assert item.text[claim.start : claim.end] == claim.text
    assert second.text == "Officials confirmed it."  # markup is cleaned before spans are taken


def test_no_claims_means_no_model_call() -> None:
    classifier = Recording()
    assert [item.claims for item in label_texts(classifier, ["   ", "<br>"])] == [[], []]
    assert classifier.calls == []


def test_unsegmented_texts_are_one_claim_each() -> None:
    classifier = Recording()
    labelled = label_texts(classifier, ["One. Two. Three."], segment=False)
    assert [c.text for c in labelled[0].claims] == ["One. Two. Three."]
