from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from model.card import ModelCard
from model.classifier import ClaimClassifier, ModelDirectoryError, Prediction
from model.device import resolve_device
from model.labels import LABELS, Label

TEXTS = [
    "Moscow denied the reports at the time.",
    "The purchases had not yet been completed.",
    "US officials said Russia was buying shells.",
    "No.",
]


def test_probabilities_sum_to_one_and_labels_are_labels(tiny_model_dir: Path) -> None:
    classifier = ClaimClassifier.from_directory(tiny_model_dir, device="cpu", batch_size=3)
    predictions = classifier.predict(TEXTS)
    assert len(predictions) == len(TEXTS)
    for prediction in predictions:
        assert isinstance(prediction, Prediction)
        assert isinstance(prediction.label, Label)
        assert set(prediction.scores) == set(LABELS)
        assert sum(prediction.scores.values()) == pytest.approx(1.0, abs=1e-5)
        assert prediction.label == max(prediction.scores, key=prediction.scores.__getitem__)


def test_batching_keeps_input_order(tiny_model_dir: Path) -> None:
    one_by_one = ClaimClassifier.from_directory(tiny_model_dir, device="cpu", batch_size=1)
    batched = ClaimClassifier.from_directory(tiny_model_dir, device="cpu", batch_size=4)
    np.testing.assert_allclose(one_by_one.logits(TEXTS), batched.logits(TEXTS), atol=1e-5)
    single = batched.logits([TEXTS[2]])[0]
    np.testing.assert_allclose(batched.logits(TEXTS)[2], single, atol=1e-5)


def test_save_load_round_trip_gives_same_logits(tiny_model_dir: Path, tmp_path: Path) -> None:
    classifier = ClaimClassifier.from_directory(tiny_model_dir, device="cpu", backend="torch")
    copy = tmp_path / "copy"
    classifier.backend.module.network.save_pretrained(copy)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(copy)
    classifier.card.save(copy)
    reloaded = ClaimClassifier.from_directory(copy, device="cpu")
    np.testing.assert_allclose(classifier.logits(TEXTS), reloaded.logits(TEXTS), atol=1e-6)


def test_temperature_from_card_softens_probabilities(tiny_model_dir: Path, tmp_path: Path) -> None:
    hot = tmp_path / "hot"
    shutil.copytree(tiny_model_dir, hot)
    ModelCard(base_model="tiny", max_length=64, temperature=50.0).save(hot)
    sharp = ClaimClassifier.from_directory(tiny_model_dir, device="cpu").predict_proba(TEXTS)
    soft = ClaimClassifier.from_directory(hot, device="cpu").predict_proba(TEXTS)
    assert (soft.max(axis=1) <= sharp.max(axis=1) + 1e-6).all()
    np.testing.assert_array_equal(soft.argmax(axis=1), sharp.argmax(axis=1))


def test_empty_text_is_refused(tiny_model_dir: Path) -> None:
    classifier = ClaimClassifier.from_directory(tiny_model_dir, device="cpu")
    with pytest.raises(ValueError, match="non-empty"):
        classifier.predict(["fine", "   "])
    assert classifier.predict([]) == []


def test_missing_model_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelDirectoryError, match=str(tmp_path)):
        ClaimClassifier.from_directory(tmp_path)


def test_device_setting_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("tpu")


def test_label_map_mismatch_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    import json

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    config = json.loads((broken / "config.json").read_text())
    config["id2label"] = {"0": "denial", "1": "assertion", "2": "caveat"}
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelDirectoryError, match="do not match"):
        ClaimClassifier.from_directory(broken, device="cpu")


def test_label_parse_names_valid_labels() -> None:
    assert Label.parse(" Denial ") is Label.DENIAL
    with pytest.raises(ValueError, match="assertion, denial, caveat"):
        Label.parse("agree")


def test_tiny_tokenizer_spells_words_rather_than_unknowns(tiny_model_dir: Path) -> None:
    # With every word read as [UNK], the tiny model could not tell texts apart and tests of
    # learning, batching or export would pass on an input that carries no information.
    classifier = ClaimClassifier.from_directory(tiny_model_dir, device="cpu")
    ids = classifier.encoder.encode(["Moscow denied the reports"]).input_ids[0].tolist()
    assert AutoTokenizer.from_pretrained(tiny_model_dir).unk_token_id not in ids
    assert len(set(ids)) == len(ids)
