"""``label_texts``: the one path from texts to labelled claims."""

from __future__ import annotations

from collections.abc import Sequence

from model.attribution import NO_ATTRIBUTION
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


def test_each_claim_is_attributed_with_offsets_into_the_cleaned_text() -> None:
    texts = ["<p>The bridge reopened.</p><p>Moscow denied the reports, officials said.</p>"]
    (item,) = label_texts(Recording(), texts)
    outlet_voice, denial = item.claims
    assert outlet_voice.attribution.source is None and outlet_voice.attribution.cue is None
    source, cue = denial.attribution.source, denial.attribution.cue
    assert source is not None and cue is not None
    # The denial's own move decides its label, not the officials' report of it.
    assert (source.text, source.kind.value, cue.text) == ("Moscow", "organisation", "denied")
    for span in (source, cue):
        assert item.text[span.start : span.end] == span.text
    assert source.start == denial.start


def test_an_attributor_is_given_every_claim_with_its_label() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.calls: list[tuple[list[str], list[Label]]] = []

        def attribute(self, texts: Sequence[str], labels: Sequence[Label] | None = None) -> list:
            self.calls.append((list(texts), list(labels or [])))
            return [NO_ATTRIBUTION for _ in texts]

    recorder = Recorder()
    label_texts(
        Recording(), ["Moscow denied it. Kirby spoke.", "Officials spoke."], attributor=recorder
    )
    assert recorder.calls == [
        (
            ["Moscow denied it.", "Kirby spoke.", "Officials spoke."],
            [Label.DENIAL, Label.ASSERTION, Label.ASSERTION],
        )
    ]
