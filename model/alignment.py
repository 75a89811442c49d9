"""Token alignment of one story's claims: how much of each claim is found in each other one.

BERTScore-like: every content token of claim a is matched to its most similar token of
claim b (cosine of the encoder's contextual last-layer states), the matches are averaged
with weights for the token's rarity within the story (IDF over the story's own claims; stop
words and punctuation weigh nothing), and the two directions' averages make an F-score. It
reads "X denied that Y" and "Y" as close, because every token of "Y" finds itself in the
longer claim, where a pooled sentence vector dilutes "Y" with the frame.

The states come from the sentence encoder's own forward pass (``SentenceEmbedder.embed_tokens``,
the ``token_states`` output beside the pooled vectors), packed one row per token of every
claim (``ClaimTokens``). Everything below is whole-array numpy over the packed rows: one
matrix product of the story's content tokens against all its tokens, a segmented max per
claim, and a weighted sum per claim pair.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class ClaimTokens:
    """Word pieces of several claims (special tokens off), packed in claim order."""

    vectors: np.ndarray  # (tokens, dim) float32, unit-length contextual states
    ids: np.ndarray  # (tokens,) vocabulary ids, to count a token's claims within the story
    content: np.ndarray  # (tokens,) bool: neither a stop word nor punctuation
    lengths: np.ndarray  # (claims,) tokens per claim

    def __post_init__(self) -> None:
        total = int(self.lengths.sum())
        if not len(self.vectors) == len(self.ids) == len(self.content) == total:
            raise ValueError(
                f"{len(self.vectors)} vectors, {len(self.ids)} ids and {len(self.content)} "
                f"content flags for {total} tokens"
            )

    def __len__(self) -> int:
        return len(self.lengths)

    def claims(self, start: int, end: int) -> ClaimTokens:
        """Claims ``start`` to ``end`` (exclusive): one story's share of a packed batch."""
        offsets = np.concatenate([[0], np.cumsum(self.lengths)])
        first, last = int(offsets[start]), int(offsets[end])
        return ClaimTokens(
            self.vectors[first:last],
            self.ids[first:last],
            self.content[first:last],
            self.lengths[start:end],
        )


def join_claims(parts: Sequence[ClaimTokens], positions: Sequence[int]) -> ClaimTokens:
    """The claims of ``parts`` packed in input order, where the k-th claim of all parts
    (in order) came from input position ``positions[k]``: chunks embedded out of order (the
    service embeds a story a chunk at a time, each chunk of similar lengths) put back
    together as one call over the whole story would have packed them."""
    if not parts:
        raise ValueError("no claims to join")
    lengths = np.concatenate([part.lengths for part in parts])
    where = np.asarray(positions, dtype=np.int64)
    if len(where) != len(lengths) or not np.array_equal(np.sort(where), np.arange(len(where))):
        raise ValueError(f"positions must order the {len(lengths)} claims, got {len(where)}")
    vectors = np.concatenate([part.vectors for part in parts])
    ids = np.concatenate([part.ids for part in parts])
    content = np.concatenate([part.content for part in parts])
    # Each token follows its claim; a stable sort keeps a claim's tokens in their order.
    order = np.argsort(np.repeat(where, lengths), kind="stable")
    in_order = np.empty_like(lengths)
    in_order[where] = lengths
    return ClaimTokens(vectors[order], ids[order], content[order], in_order)


def is_content_token(token: str) -> bool:
    """A word piece that says something: letters or digits (a "##" continuation counts
    as its letters), and not an English stop word."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return token.strip("#").isalnum() and token not in ENGLISH_STOP_WORDS


def content_vocabulary(vocabulary: Mapping[str, int]) -> np.ndarray:
    """``is_content_token`` for every id of a vocabulary (token -> id), as one bool array:
    computed once when the encoder loads, so a request only indexes it."""
    mask = np.zeros(max(vocabulary.values(), default=-1) + 1, dtype=bool)
    for token, index in vocabulary.items():
        mask[index] = is_content_token(token)
    return mask


def content_weights(tokens: ClaimTokens) -> np.ndarray:
    """Per token, its rarity among these claims (smoothed IDF: log((n + 1) / (df + 1)) + 1,
    df the number of claims holding the token), 0 for a non-content token; normalised to
    sum 1 within each claim, uniform over a claim with no content token."""
    count = len(tokens)
    owner = np.repeat(np.arange(count), tokens.lengths)
    # Claims holding each id: unique (claim, id) pairs, then how many pairs each id has.
    pairs = np.unique(np.stack([tokens.ids, owner]), axis=1)
    vocabulary, claims_with = np.unique(pairs[0], return_counts=True)
    frequency = claims_with[np.searchsorted(vocabulary, tokens.ids)]
    raw = np.where(tokens.content, np.log((count + 1) / (frequency + 1)) + 1.0, 0.0)
    totals = np.bincount(owner, weights=raw, minlength=count)
    empty = totals[owner] == 0
    raw = np.where(empty, 1.0, raw)
    totals = np.where(totals == 0, tokens.lengths, totals)
    return raw / np.maximum(totals[owner], 1e-12)


def token_alignment(tokens: ClaimTokens) -> np.ndarray:
    """Pairwise alignment F of the claims (symmetric, 1 on the diagonal); a claim without
    tokens aligns with nothing (0)."""
    count = len(tokens)
    alignment = np.zeros((count, count), dtype=np.float64)
    # reduceat needs non-empty segments: the claims with tokens are aligned, the rest stay 0.
    kept = np.flatnonzero(tokens.lengths > 0)
    if len(kept):
        vectors = np.asarray(tokens.vectors, dtype=np.float32)
        # Rarity is counted over every claim of the story, empty ones included.
        weights = content_weights(tokens).astype(np.float32)
        lengths = tokens.lengths[kept]
        owner = np.repeat(np.arange(len(kept)), lengths)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        # A zero-weight token adds nothing to any recall: only weighted tokens ask.
        queries = weights > 0
        # best[t, b]: how well query token t is matched anywhere in claim b.
        best = np.maximum.reduceat(vectors[queries] @ vectors.T, starts, axis=1)
        # recall[a, b]: the weighted share of claim a found in claim b, a sum over a's
        # queries. Every claim with tokens has a query (content_weights falls back to
        # uniform), so no segment is empty.
        asking = owner[queries]
        recall = np.add.reduceat(
            (weights[queries, None] * best).astype(np.float64),
            np.searchsorted(asking, np.arange(len(kept))),
            axis=0,
        )
        denominator = recall + recall.T
        inner = np.divide(
            2 * recall * recall.T,
            denominator,
            out=np.zeros_like(recall),
            where=denominator > 0,
        )
        alignment[np.ix_(kept, kept)] = inner
    np.fill_diagonal(alignment, 1.0)
    return alignment
