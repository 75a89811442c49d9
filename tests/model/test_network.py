from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from model.card import CARD_FILE
from model.classifier import ClaimClassifier, ModelDirectoryError
from model.network import MEAN_HEAD_FILE, MeanPooledClassifier

TEXTS = [
    "Moscow denied the reports at the time.",
    "The purchases had not yet been completed.",
    "US officials said Russia was buying shells and rockets from North Korea.",
    "No.",
]


def test_mean_pooled_directory_reloads_with_the_same_head(mean_model_dir: Path) -> None:
    first = ClaimClassifier.from_directory(mean_model_dir, device="cpu", backend="torch")
    again = ClaimClassifier.from_directory(mean_model_dir, device="cpu", backend="torch")
    assert isinstance(first.backend.module.network, MeanPooledClassifier)
    assert (mean_model_dir / MEAN_HEAD_FILE).is_file()
    np.testing.assert_allclose(first.logits(TEXTS), again.logits(TEXTS), atol=1e-6)


def test_mean_pooling_ignores_padding(mean_model_dir: Path) -> None:
    """A short text padded beside a long one must score as it does alone."""
    one_by_one = ClaimClassifier.from_directory(mean_model_dir, device="cpu", batch_size=1)
    batched = ClaimClassifier.from_directory(mean_model_dir, device="cpu", batch_size=4)
    np.testing.assert_allclose(one_by_one.logits(TEXTS), batched.logits(TEXTS), atol=1e-5)


def test_mean_head_reads_the_average_of_the_unpadded_token_states(mean_model_dir: Path) -> None:
    classifier = ClaimClassifier.from_directory(mean_model_dir, device="cpu", backend="torch")
    network = classifier.backend.module.network
    assert isinstance(network, MeanPooledClassifier)
    text = TEXTS[2]
    batch = AutoTokenizer.from_pretrained(mean_model_dir)([text], return_tensors="pt")
    with torch.inference_mode():
        states = network.encoder(**batch).last_hidden_state[0]
        expected = network.classifier(states.mean(dim=0)).numpy()
        first_token_only = network.classifier(states[0]).numpy()
    # Padded beside a longer text, it must still average only its own tokens.
    logits = classifier.logits([text, TEXTS[2] + " " + TEXTS[0]])[0]
    np.testing.assert_allclose(logits, expected, atol=1e-5)
    assert not np.allclose(logits, first_token_only, atol=1e-3)


def test_mean_pooled_directory_without_its_head_is_refused(mean_model_dir: Path) -> None:
    (mean_model_dir / MEAN_HEAD_FILE).unlink()
    with pytest.raises(ModelDirectoryError, match=MEAN_HEAD_FILE):
        ClaimClassifier.from_directory(mean_model_dir, device="cpu")


def test_unknown_pooling_in_the_card_is_refused(mean_model_dir: Path) -> None:
    card_path = mean_model_dir / CARD_FILE
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card_path.write_text(json.dumps({**card, "pooling": "max"}), encoding="utf-8")
    with pytest.raises(ModelDirectoryError, match="unknown pooling 'max'"):
        ClaimClassifier.from_directory(mean_model_dir, device="cpu")
