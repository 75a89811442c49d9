"""``classify_texts``: the typed function behind /classify, called directly."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from model.card import ModelCard
from model.classifier import ClaimClassifier, Prediction
from model.labels import LABELS, Label
from service.responses import classify_texts


class CountingClassifier:
    """Wraps the tiny model and records every predict call, to check batching."""

    def __init__(self, inner: ClaimClassifier) -> None:
        self.inner = inner
        self.card: ModelCard = inner.card
        self.device: str = inner.device
        self.calls: list[list[str]] = []

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        self.calls.append(list(texts))
        return self.inner.predict(texts)


def test_all_claims_of_all_texts_go_in_one_predict_call(tiny_classifier: ClaimClassifier) -> None:
    classifier = CountingClassifier(tiny_classifier)
    texts = [
        "Moscow denied the reports. The purchases had not yet been completed.",
        "US officials said Russia was buying shells.",
    ]
    results = classify_texts(classifier, texts)
    assert len(classifier.calls) == 1
    assert classifier.calls[0] == [
        "Moscow denied the reports.",
        "The purchases had not yet been completed.",
        "US officials said Russia was buying shells.",
    ]
    assert [len(result.claims) for result in results] == [2, 1]
    for result in results:
        for claim in result.claims:
            assert result.text[claim.start : claim.end] == claim.text
            assert isinstance(claim.label, Label)
            assert list(claim.scores) == list(LABELS)


def test_no_claims_means_no_predict_call(tiny_classifier: ClaimClassifier) -> None:
    classifier = CountingClassifier(tiny_classifier)
    [result] = classify_texts(classifier, ["© 2022 BBC. All rights reserved."])
    assert result.claims == []
    assert classifier.calls == []


def test_segment_false_keeps_each_text_whole(tiny_classifier: ClaimClassifier) -> None:
    classifier = CountingClassifier(tiny_classifier)
    text = "Moscow denied the reports. The purchases had not yet been completed."
    [result] = classify_texts(classifier, [text], segment=False)
    assert [claim.text for claim in result.claims] == [text]
    assert classifier.calls == [[text]]


def test_ids_go_on_their_results_in_order(tiny_classifier: ClaimClassifier) -> None:
    texts = ["Moscow denied the reports.", "Kirby spoke. He said more."]
    results = classify_texts(tiny_classifier, texts, ids=["b", "a"])
    assert [result.id for result in results] == ["b", "a"]
    assert [len(result.claims) for result in results] == [1, 2]
    assert all(result.id is None for result in classify_texts(tiny_classifier, texts))
    with pytest.raises(ValueError, match="1 ids for 2 texts"):
        classify_texts(tiny_classifier, texts, ids=["a"])
