"""Load a model directory once and label batches of claims on CPU or CUDA."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer

from model.batching import length_sorted_batches
from model.card import ModelCard
from model.device import resolve_device
from model.labels import LABELS, Label
from model.network import load_network

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Prediction:
    label: Label
    scores: dict[Label, float]


class ModelDirectoryError(ValueError):
    """The directory is not a usable claimstance model."""


def check_label_map(id2label: dict[int, str]) -> None:
    """Refuse a model whose output order differs from ``LABELS``: its scores would be mislabelled."""
    expected = {index: label.value for index, label in enumerate(LABELS)}
    found = {int(index): str(name).lower() for index, name in id2label.items()}
    if found != expected:
        raise ModelDirectoryError(
            f"model labels {found} do not match claimstance labels {expected}"
        )


class ClaimClassifier:
    """A sequence classifier over the three labels, loaded once and reused for every batch."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: object,
        *,
        device: torch.device,
        card: ModelCard | None = None,
        batch_size: int = 32,
    ) -> None:
        self.card = card or ModelCard()
        self.device = device
        self.batch_size = batch_size
        self.tokenizer = tokenizer
        self.model = model.to(device).eval()
        check_label_map(self.model.config.id2label)

    @classmethod
    def from_directory(
        cls, directory: str | Path, *, device: str = "auto", batch_size: int = 32
    ) -> ClaimClassifier:
        path = Path(directory)
        if not (path / "config.json").is_file():
            raise ModelDirectoryError(f"{path} holds no model (config.json is missing)")
        card = ModelCard.load(path)
        torch_device = resolve_device(device)
        tokenizer = AutoTokenizer.from_pretrained(path)
        try:
            model = load_network(path, card.pooling)
        except (FileNotFoundError, ValueError) as error:
            raise ModelDirectoryError(str(error)) from None
        logger.info("loaded model from %s on %s", path, torch_device)
        return cls(model, tokenizer, device=torch_device, card=card, batch_size=batch_size)

    @torch.inference_mode()
    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Raw logits, shape (len(texts), 3), in input order.

        Batches are length-sorted (see ``length_sorted_batches``) and scattered
        back to their input positions.
        """
        if not texts:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        output = np.empty((len(texts), len(LABELS)), dtype=np.float32)
        for indices, batch_texts in length_sorted_batches(texts, self.batch_size):
            batch = self.tokenizer(
                batch_texts,
                padding=True,
                truncation=True,
                max_length=self.card.max_length,
                return_tensors="pt",
            ).to(self.device)
            output[indices] = self.model(**batch).logits.float().cpu().numpy()
        return output

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, shape (len(texts), 3), columns in ``LABELS`` order."""
        scaled = self.logits(texts) / self.card.temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        exp = np.exp(scaled)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                raise ValueError("every text to classify must be a non-empty string")
        probabilities = self.predict_proba(texts)
        best = probabilities.argmax(axis=1)
        return [
            Prediction(
                label=LABELS[index],
                scores={label: float(row[i]) for i, label in enumerate(LABELS)},
            )
            for index, row in zip(best, probabilities, strict=True)
        ]
