"""The learned attribution head's tags: gold spans -> token targets, token logits -> spans.

The head tags every token of a claim (BIO): ``B-cue``/``I-cue`` for the cue, and for the
source one pair per kind (``B-source-person``, ``I-source-organisation``, ...), so one
forward pass gives the stance, both spans and a kind. Decoding reads the kind-free
span from the tags' summed probabilities; the kind comes either from the head (the kind
whose tags carry most probability over the span) or from the rule attributor's kind
classifier applied to the span's words (``model.attribution.kind_at``). The model card
says which (``attribution_kind``), chosen on validation when the model is trained.

Spans are character offsets into the claim, from the tokenizer's offset mapping, widened
to whole words, so ``text[start:end]`` is always the span's text. Everything here is numpy
over whole batches: no torch, no loop over tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import numpy as np

from model.attribution import NO_ATTRIBUTION, Attribution, Source, SourceKind, Span, kind_at

KindSource = Literal["head", "rules"]
KIND_SOURCES: tuple[str, ...] = get_args(KindSource)
# Where a trained model's card does not say: the rules, which need no trained kinds.
DEFAULT_KIND_SOURCE: KindSource = "rules"
OUTSIDE = "O"
CUE = "cue"
SOURCE = "source"
# The target of a token the loss skips: special tokens, padding, sentences without gold.
IGNORE = -100
# The one tag set: O, the cue's pair, then a pair per kind in SourceKind's order.
TAGS: tuple[str, ...] = (
    OUTSIDE,
    f"B-{CUE}",
    f"I-{CUE}",
    *(f"{edge}-{SOURCE}-{kind.value}" for kind in SourceKind for edge in ("B", "I")),
)
TOKEN_LOGITS = "token_logits"

# Columns of the kind-free view of the tags (``AttributionTags._groups``).
_O, _B_CUE, _I_CUE, _B_SOURCE, _I_SOURCE = range(5)


class TagError(ValueError):
    """A tag list that this decoder cannot read (a model card from another version)."""


class AttributionTags:
    """A model's tag list, read once: targets for training, decoding for inference."""

    def __init__(self, tags: Sequence[str] = TAGS) -> None:
        self.tags = tuple(tags)
        self.index = {tag: i for i, tag in enumerate(self.tags)}
        unknown = sorted(set(self.tags) - set(TAGS))
        if unknown or len(self.index) != len(self.tags) or OUTSIDE not in self.index:
            raise TagError(
                f"attribution tags {list(self.tags)} are not a set of {list(TAGS)}"
                + (f" (unknown: {unknown})" if unknown else "")
            )
        self.kinds = tuple(SourceKind)
        # tags -> (O, B-cue, I-cue, B-source, I-source): summing over kinds.
        self._groups = np.zeros((len(self.tags), 5), dtype=np.float32)
        # tags -> kinds: a source tag's probability counts for its kind, B or I alike.
        self._kinds = np.zeros((len(self.tags), len(self.kinds)), dtype=np.float32)
        for i, tag in enumerate(self.tags):
            if tag == OUTSIDE:
                self._groups[i, _O] = 1
                continue
            edge, role, *kind = tag.split("-", 2)
            if role == CUE:
                self._groups[i, _B_CUE if edge == "B" else _I_CUE] = 1
            else:
                self._groups[i, _B_SOURCE if edge == "B" else _I_SOURCE] = 1
                self._kinds[i, self.kinds.index(SourceKind(kind[0]))] = 1

    def __len__(self) -> int:
        return len(self.tags)

    # --- training targets --------------------------------------------------------------

    def targets(
        self,
        offsets: np.ndarray,
        source: Span | None,
        kind: SourceKind | None,
        cue: Span | None,
    ) -> np.ndarray | None:
        """Tag indices of one sentence's tokens (``offsets``: its (start, end) per token,
        (0, 0) for special tokens, which get ``IGNORE``); ``None`` when a gold span runs
        past the truncated tokens, so no sentence teaches that a cut-off source is absent."""
        offsets = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
        starts, ends = offsets[:, 0], offsets[:, 1]
        real = ends > starts
        seen = int(ends[real].max()) if real.any() else 0
        ids = np.where(real, self.index[OUTSIDE], IGNORE).astype(np.int64)
        spans = [(cue, CUE)]
        if source is not None:
            if kind is None:
                raise ValueError("a gold source needs its kind")
            spans.append((source, f"{SOURCE}-{kind.value}"))
        for span, role in spans:
            if span is None:
                continue
            inside = real & (starts < span.end) & (ends > span.start)
            if span.end > seen or not inside.any():
                return None
            ids[inside] = self.index[f"I-{role}"]
            ids[int(np.argmax(inside))] = self.index[f"B-{role}"]
        return ids

    # --- decoding ----------------------------------------------------------------------

    def decode(
        self,
        texts: Sequence[str],
        token_logits: np.ndarray,
        offsets: np.ndarray,
        attention_mask: np.ndarray,
        *,
        kind_from: KindSource = DEFAULT_KIND_SOURCE,
    ) -> list[Attribution]:
        """One ``Attribution`` per text of a batch.

        ``token_logits`` (batch, tokens, tags), ``offsets`` (batch, tokens, 2) and the mask
        are the batch as the encoder padded it. Each token takes the likeliest of O,
        B/I-cue and B/I-source (kinds summed); a span is a B, or an I that follows no
        span of its own role, with the I's after it; where a sentence has several, the one
        with the highest mean probability wins. A claim gets a source and a cue, or
        neither: one without the other is no attribution (``Attribution``'s rule).
        """
        if len(texts) == 0:
            return []
        logits = np.asarray(token_logits, dtype=np.float32)
        scaled = logits - logits.max(axis=-1, keepdims=True)
        probabilities = np.exp(scaled)
        probabilities /= probabilities.sum(axis=-1, keepdims=True)
        grouped = probabilities @ self._groups
        offsets = np.asarray(offsets, dtype=np.int64)
        real = (np.asarray(attention_mask) > 0) & (offsets[..., 1] > offsets[..., 0])
        best = np.where(real, grouped.argmax(axis=-1), _O)
        source = _best_spans(best, grouped, _B_SOURCE, _I_SOURCE)
        cue = _best_spans(best, grouped, _B_CUE, _I_CUE)
        rows = np.arange(len(texts))
        char_spans = {
            name: (
                found,
                offsets[rows, first, 0],
                offsets[rows, last, 1],
            )
            for name, (found, first, last, _) in (("source", source), ("cue", cue))
        }
        # The kind whose tags carry the most probability over the source's tokens.
        kind_mass = np.einsum("bt,btk->bk", source[3], probabilities @ self._kinds)
        head_kinds = kind_mass.argmax(axis=1)
        attributions: list[Attribution] = []
        for row, text in enumerate(texts):
            if not (char_spans["source"][0][row] and char_spans["cue"][0][row]):
                attributions.append(NO_ATTRIBUTION)
                continue
            start, end = _whole_words(
                text, int(char_spans["source"][1][row]), int(char_spans["source"][2][row])
            )
            cue_start, cue_end = _whole_words(
                text, int(char_spans["cue"][1][row]), int(char_spans["cue"][2][row])
            )
            kind = (
                self.kinds[int(head_kinds[row])]
                if kind_from == "head"
                else kind_at(text, start, end)
            )
            attributions.append(
                Attribution(
                    Source(text[start:end], start, end, kind),
                    Span(text[cue_start:cue_end], cue_start, cue_end),
                )
            )
        return attributions


def _best_spans(
    best: np.ndarray, grouped: np.ndarray, begin: int, inside: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row's best span of one role: (found, first token, last token, its token mask).

    Spans are numbered along each row by a cumulative sum of their starts; one bincount
    over (row, span number) gives every span's mean probability at once.
    """
    rows, width = best.shape
    member = (best == begin) | (best == inside)
    before = np.zeros_like(member)
    before[:, 1:] = member[:, :-1]
    starts = member & ((best == begin) | ~before)
    number = np.cumsum(starts, axis=1) * member  # 0 outside any span, k for the k-th
    slots = width + 1
    key = (np.arange(rows)[:, None] * slots + number).ravel()
    weight = (grouped[..., begin] + grouped[..., inside]).ravel()
    totals = np.bincount(key, weights=weight, minlength=rows * slots).reshape(rows, slots)
    counts = np.bincount(key, minlength=rows * slots).reshape(rows, slots)
    means = np.full((rows, slots), -np.inf)
    np.divide(totals, counts, out=means, where=counts > 0)
    means[:, 0] = -np.inf  # number 0 is "outside"
    chosen_number = means.argmax(axis=1)
    found = np.isfinite(means.max(axis=1))
    chosen = member & (number == chosen_number[:, None]) & found[:, None]
    first = chosen.argmax(axis=1)
    last = width - 1 - chosen[:, ::-1].argmax(axis=1)
    return found, first, last, chosen.astype(np.float32)


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span cut inside a word (a tag on one word piece) to the whole word."""
    while 0 < start < len(text) and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while 0 < end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return start, end
