"""The attribution head's training data: gold spans of the training split as token targets.

Only the attribution gold's **train** rows are ever turned into targets: they are joined
to the training sentences by their normalised text, as the gold joins the stance corpus,
so a validation or test sentence's spans can never reach the loss. A training sentence
without gold gets no target at all (its token loss is masked); a gold sentence with a
null source is all ``O`` and counts, teaching the outlet's own voice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from model.attribution_head import AttributionTags
from training.corpus.attribution import AttributionSpan
from training.data import DataError, Split, normalise

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttributionGold:
    """The gold spans a training run reads: train for the loss, validation to choose the
    kind source and watch each epoch, test only to be scored once at the end."""

    train: Sequence[AttributionSpan]
    validation: Sequence[AttributionSpan] = ()
    test: Sequence[AttributionSpan] = ()

    def __post_init__(self) -> None:
        for name, split in (("train", Split.TRAIN), ("validation", Split.VALIDATION)):
            strays = [g.id for g in getattr(self, name) if g.split != split]
            if strays:
                raise DataError(
                    f"attribution gold given as {name} holds sentences of other splits: "
                    f"{', '.join(strays[:5])}"
                )


def _reads(text: str, gold: AttributionSpan) -> bool:
    """The gold offsets read the same words in ``text`` (the corpus's copy of the sentence)."""
    return all(
        span is None or text[span.start : span.end] == span.text for span in (gold.source, gold.cue)
    )


def token_targets(
    texts: Sequence[str],
    offsets: Sequence[Sequence[tuple[int, int]]],
    gold: Sequence[AttributionSpan],
    tags: AttributionTags,
) -> list[np.ndarray | None]:
    """Each training text's tag targets, aligned with its tokens (``offsets``), or ``None``
    where the text has no usable gold (masked out of the token loss)."""
    by_text = {normalise(sentence.text): sentence for sentence in gold}
    targets: list[np.ndarray | None] = []
    unusable = 0
    for text, token_offsets in zip(texts, offsets, strict=True):
        sentence = by_text.get(normalise(text))
        if sentence is None:
            targets.append(None)
            continue
        target = (
            tags.targets(
                np.asarray(token_offsets), sentence.source, sentence.source_kind, sentence.cue
            )
            if _reads(text, sentence)
            else None
        )
        unusable += target is None
        targets.append(target)
    if unusable:
        # A span cut off by max_length, or a copy of the sentence whose characters differ.
        logger.warning("%d gold attribution sentence(s) could not be tagged; left out", unusable)
    return targets
