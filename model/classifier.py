"""Load a model directory once and label batches of claims on the backend it asks for."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from model.backends import Backend, forward_sorted, load_backend
from model.card import ModelCard
from model.encoding import TextEncoder
from model.labels import LABELS, Label

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Prediction:
    label: Label
    scores: dict[Label, float]


class StanceClassifier(Protocol):
    """Texts in, label probabilities out: what every caller of a classifier takes.

    ``ClaimClassifier`` is one; ``model.microbatch.MicroBatcher`` and the service's
    budgeted classifier wrap one and are one too. Labelling, /compare's grouping, batch
    scoring and the service all type their classifier as this; ``card`` and ``device``
    say which model answers (the service's /model).
    """

    @property
    def card(self) -> ModelCard: ...

    @property
    def device(self) -> str: ...

    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...


class ModelDirectoryError(ValueError):
    """The directory is not a usable claimstance model."""


def check_label_map(id2label: dict[int, str] | dict[str, str]) -> None:
    """Refuse a model whose output order differs from ``LABELS``: its scores would be mislabelled."""
    expected = {index: label.value for index, label in enumerate(LABELS)}
    found = {int(index): str(name).lower() for index, name in id2label.items()}
    if found != expected:
        raise ModelDirectoryError(
            f"model labels {found} do not match claimstance labels {expected}"
        )


def check_texts(texts: Sequence[str]) -> None:
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            raise ValueError("every text to classify must be a non-empty string")


class ClaimClassifier:
    """A three-label classifier: tokenizer and backend loaded once, reused for every batch."""

    def __init__(
        self,
        backend: Backend,
        encoder: TextEncoder,
        *,
        card: ModelCard | None = None,
        batch_size: int = 32,
    ) -> None:
        self.card = card or ModelCard()
        self.backend = backend
        self.encoder = encoder
        self.batch_size = batch_size

    @property
    def device(self) -> str:
        return self.backend.device

    @classmethod
    def from_directory(
        cls,
        directory: str | Path,
        *,
        device: str = "auto",
        batch_size: int = 32,
        backend: str = "auto",
        threads: int | None = None,
        allow_pickle: bool = False,
    ) -> ClaimClassifier:
        """Load a model directory; pickled weights are refused unless ``allow_pickle``."""
        path = Path(directory)
        config = path / "config.json"
        if not config.is_file():
            raise ModelDirectoryError(f"{path} holds no model (config.json is missing)")
        check_label_map(json.loads(config.read_text(encoding="utf-8")).get("id2label", {}))
        card = ModelCard.load(path)
        try:
            encoder = TextEncoder.from_directory(path, card.max_length)
            runner = load_backend(
                path,
                "classifier",
                setting=backend,
                device=device,
                pooling=card.pooling,
                threads=threads,
                allow_pickle=allow_pickle,
            )
        except (FileNotFoundError, ValueError) as error:
            raise ModelDirectoryError(str(error)) from None
        logger.info("loaded model from %s: %s on %s", path, runner.name, runner.device)
        return cls(runner, encoder, card=card, batch_size=batch_size)

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Raw logits, shape (len(texts), 3), in input order.

        Batches group texts of similar token counts (``TextEncoder.sorted_batches``)
        and are scattered back to their input positions.
        """
        return forward_sorted(self.backend, self.encoder, texts, self.batch_size, len(LABELS))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, shape (len(texts), 3), columns in ``LABELS`` order."""
        scaled = self.logits(texts) / self.card.temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        exp = np.exp(scaled)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        check_texts(texts)
        probabilities = self.predict_proba(texts)
        best = probabilities.argmax(axis=1)
        return [
            Prediction(
                label=LABELS[index],
                scores={label: float(row[i]) for i, label in enumerate(LABELS)},
            )
            for index, row in zip(best, probabilities, strict=True)
        ]
