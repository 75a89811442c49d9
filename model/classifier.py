"""Load a model directory once and label batches of claims on the backend it asks for."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from model.attribution import Attribution
from model.attribution_head import (
    KIND_SOURCES,
    TOKEN_LOGITS,
    AttributionTags,
    KindSource,
    TagError,
)
from model.backends import Backend, forward_batches, forward_sorted, load_backend
from model.card import ModelCard
from model.encoding import TextEncoder
from model.labels import LABELS, Label

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Prediction:
    label: Label
    scores: dict[Label, float]
    # Source and cue from the model's attribution head, read in the same forward pass
    # (offsets into the predicted text); None when the model has no head (the rules decide).
    attribution: Attribution | None = None


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
    """A three-label classifier: tokenizer and backend loaded once, reused for every batch.

    When its card lists attribution tags (a model trained with an attribution head) and
    ``attribution_head`` is left on, each ``Prediction`` also carries the claim's source and
    cue, decoded from the same forward pass; ``attribution_kind`` overrides the card's
    choice of who names the source's kind.
    """

    def __init__(
        self,
        backend: Backend,
        encoder: TextEncoder,
        *,
        card: ModelCard | None = None,
        batch_size: int = 32,
        attribution_head: bool = True,
        attribution_kind: KindSource | None = None,
    ) -> None:
        self.card = card or ModelCard()
        self.backend = backend
        self.encoder = encoder
        self.batch_size = batch_size
        self.attribution_head = attribution_head
        self.attribution_kind = attribution_kind
        self._tags: AttributionTags | None = None

    @property
    def uses_attribution_head(self) -> bool:
        """Whether predictions carry the head's source and cue (else the rules attribute)."""
        return self.attribution_head and bool(self.card.token_tags)

    def _attribution_tags(self) -> AttributionTags | None:
        # Read from the card each time: training replaces the card of a live classifier.
        if not self.uses_attribution_head:
            return None
        if self._tags is None or self._tags.tags != self.card.token_tags:
            self._tags = AttributionTags(self.card.token_tags)
        return self._tags

    def _kind_source(self) -> KindSource:
        kind = self.attribution_kind or self.card.attribution_kind
        if kind not in KIND_SOURCES:
            raise ModelDirectoryError(
                f"attribution_kind {kind!r} is not one of {', '.join(KIND_SOURCES)}"
            )
        return kind  # type: ignore[return-value]  # checked against KindSource's values

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
        attribution_head: bool = True,
        attribution_kind: KindSource | None = None,
    ) -> ClaimClassifier:
        """Load a model directory; pickled weights are refused unless ``allow_pickle``.

        ``attribution_head=False`` leaves a model's attribution head unread, so the rules
        attribute its claims as they do for a model without one.
        """
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
        classifier = cls(
            runner,
            encoder,
            card=card,
            batch_size=batch_size,
            attribution_head=attribution_head,
            attribution_kind=attribution_kind,
        )
        if classifier.uses_attribution_head:
            try:
                classifier._attribution_tags()
            except TagError as error:
                raise ModelDirectoryError(f"{path}: {error}") from None
            classifier._kind_source()
            if TOKEN_LOGITS not in runner.output_names:
                raise ModelDirectoryError(
                    f"{path}: the card lists attribution tags but the {runner.name} model has "
                    f"no {TOKEN_LOGITS} output; re-export it with `python -m training export`"
                )
        logger.info(
            "loaded model from %s: %s on %s, attribution by %s",
            path,
            runner.name,
            runner.device,
            "its head" if classifier.uses_attribution_head else "rules",
        )
        return classifier

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Raw logits, shape (len(texts), 3), in input order.

        Batches group texts of similar token counts (``TextEncoder.sorted_batches``)
        and are scattered back to their input positions.
        """
        return forward_sorted(self.backend, self.encoder, texts, self.batch_size, len(LABELS))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, shape (len(texts), 3), columns in ``LABELS`` order."""
        return self._calibrated(self.logits(texts))

    def _calibrated(self, logits: np.ndarray) -> np.ndarray:
        scaled = logits / self.card.temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        exp = np.exp(scaled)
        return exp / exp.sum(axis=1, keepdims=True)

    def _logits_and_attributions(
        self, texts: Sequence[str], tags: AttributionTags
    ) -> tuple[np.ndarray, list[Attribution | None]]:
        """One forward pass for both heads: stance logits, and each text's decoded spans."""
        logits = np.empty((len(texts), len(LABELS)), dtype=np.float32)
        attributions: list[Attribution | None] = [None] * len(texts)
        kind_from = self._kind_source()
        for indices, batch, outputs in forward_batches(
            self.backend, self.encoder, texts, self.batch_size, offsets=True
        ):
            logits[indices] = outputs[0]
            token_logits = outputs[self.backend.output_names.index(TOKEN_LOGITS)]
            assert batch.offsets is not None  # asked for above
            decoded = tags.decode(
                [texts[i] for i in indices],
                token_logits,
                batch.offsets,
                batch.attention_mask,
                kind_from=kind_from,
            )
            for index, attribution in zip(indices, decoded, strict=True):
                attributions[index] = attribution
        return logits, attributions

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        check_texts(texts)
        tags = self._attribution_tags()
        if tags is None:
            probabilities = self.predict_proba(texts)
            attributions: list[Attribution | None] = [None] * len(texts)
        else:
            logits, attributions = self._logits_and_attributions(texts, tags)
            probabilities = self._calibrated(logits)
        best = probabilities.argmax(axis=1)
        return [
            Prediction(
                label=LABELS[index],
                scores={label: float(row[i]) for i, label in enumerate(LABELS)},
                attribution=attribution,
            )
            for index, row, attribution in zip(best, probabilities, attributions, strict=True)
        ]
