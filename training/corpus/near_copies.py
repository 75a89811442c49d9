"""Near-copies: two sentences that are the same text give or take a few words.

Syndicated copies, a hoax template reused for another celebrity, a sentence
quoted by a second outlet: each reads as new text to an exact de-duplication but
lets a model answer a test sentence from memory. Word-sequence similarity
(``difflib``'s ratio over normalised words) of at least ``NEAR_COPY_RATIO``
counts as a copy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from difflib import SequenceMatcher

from training.data import normalise

NEAR_COPY_RATIO = 0.9
# Word n-grams that locate candidates: at ratio >= 0.9 two texts keep long runs of
# words in common, so they share one of these (very short texts must match exactly).
SHINGLE_WORDS = 4
# A shingle shared by more texts than this is boilerplate ("said in a statement
# that the"), not evidence of a copy; the texts still meet through their other shingles.
MAX_SHINGLE_TEXTS = 60


def words(text: str) -> tuple[str, ...]:
    return tuple(normalise(text).split())


def word_ratio(first: tuple[str, ...], second: tuple[str, ...]) -> float:
    return SequenceMatcher(None, first, second, autojunk=False).ratio()


def _shingles(tokens: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    for start in range(len(tokens) - SHINGLE_WORDS + 1):
        yield tokens[start : start + SHINGLE_WORDS]


class NearCopyIndex:
    """Texts indexed so that ``copies_of`` finds the near-copies of any other text fast."""

    def __init__(self, texts: Iterable[str], *, ratio: float = NEAR_COPY_RATIO) -> None:
        self.ratio = ratio
        self._texts: list[tuple[str, ...]] = []
        self._exact: dict[tuple[str, ...], list[int]] = defaultdict(list)
        self._by_shingle: dict[tuple[str, ...], list[int]] = defaultdict(list)
        self.add(texts)

    def add(self, texts: Iterable[str]) -> None:
        for text in texts:
            self._add(words(text))

    def _add(self, tokens: tuple[str, ...]) -> None:
        position = len(self._texts)
        self._texts.append(tokens)
        self._exact[tokens].append(position)
        for shingle in set(_shingles(tokens)):
            self._by_shingle[shingle].append(position)

    def __len__(self) -> int:
        return len(self._texts)

    def copies_of(self, text: str) -> list[int]:
        """Positions (in insertion order) of the indexed texts that nearly copy ``text``."""
        tokens = words(text)
        if not tokens:
            return []
        found = set(self._exact.get(tokens, ()))
        candidates: set[int] = set()
        for shingle in set(_shingles(tokens)):
            holders = self._by_shingle.get(shingle, ())
            if len(holders) <= MAX_SHINGLE_TEXTS:
                candidates.update(holders)
        for position in candidates - found:
            other = self._texts[position]
            # The ratio can't reach the bar when the lengths differ too much: skip the alignment.
            shorter, longer = sorted((len(tokens), len(other)))
            if 2 * shorter / (shorter + longer) < self.ratio:
                continue
            if word_ratio(tokens, other) >= self.ratio:
                found.add(position)
        return sorted(found)

    def has_copy(self, text: str) -> bool:
        return bool(self.copies_of(text))
