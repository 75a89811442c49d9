"""Token alignment (model.alignment) and the encoder's token states it reads."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import get_args

import numpy as np
import pytest

from model.alignment import ClaimTokens, content_vocabulary, join_claims, token_alignment
from model.embeddings import SentenceEmbedder
from model.story import (
    ALIGNMENT,
    BLEND,
    SIMILARITIES,
    WORDS,
    GroupingSetting,
    group_claims,
    served_similarity,
    similarity_for,
)
from tests.service.support import RecordingEmbedder

# --- the vectorised alignment against a loop-by-loop reference ----------------------------


def _naive_alignment(
    vectors: Sequence[np.ndarray], ids: Sequence[list[int]], content: Sequence[list[bool]]
) -> np.ndarray:
    """The definition written out token by token: IDF within the claims, best match per
    content token, weighted recall each way, F-score."""
    count = len(vectors)
    frequency: dict[int, int] = {}
    for claim in ids:
        for token in set(claim):
            frequency[token] = frequency.get(token, 0) + 1
    weights = []
    for claim, flags in zip(ids, content, strict=True):
        raw = [
            math.log((count + 1) / (frequency[token] + 1)) + 1.0 if flag else 0.0
            for token, flag in zip(claim, flags, strict=True)
        ]
        if not sum(raw):
            raw = [1.0] * len(claim)
        weights.append([value / sum(raw) for value in raw] if claim else [])
    recall = np.zeros((count, count))
    for a in range(count):
        for b in range(count):
            if not len(vectors[a]) or not len(vectors[b]):
                continue
            for t, weight in enumerate(weights[a]):
                best = max(float(vectors[a][t] @ other) for other in vectors[b])
                recall[a, b] += weight * best
    alignment = np.zeros((count, count))
    for a in range(count):
        for b in range(count):
            total = recall[a, b] + recall[b, a]
            alignment[a, b] = 2 * recall[a, b] * recall[b, a] / total if total > 0 else 0.0
        alignment[a, a] = 1.0
    return alignment


def _random_claims(
    seed: int, lengths: Sequence[int]
) -> tuple[list[np.ndarray], list[list[int]], list[list[bool]]]:
    rng = np.random.default_rng(seed)
    vectors, ids, content = [], [], []
    for length in lengths:
        rows = rng.normal(size=(length, 6))
        vectors.append(rows / np.linalg.norm(rows, axis=1, keepdims=True))
        # A small vocabulary, so tokens repeat within and across claims.
        ids.append(rng.integers(0, 9, size=length).tolist())
        content.append((rng.random(length) < 0.7).tolist())
    return vectors, ids, content


def _packed(
    vectors: Sequence[np.ndarray], ids: Sequence[list[int]], content: Sequence[list[bool]]
) -> ClaimTokens:
    return ClaimTokens(
        np.concatenate([np.reshape(rows, (-1, 6)) for rows in vectors]).astype(np.float32),
        np.array([token for claim in ids for token in claim], dtype=np.int64),
        np.array([flag for claim in content for flag in claim], dtype=bool),
        np.array([len(claim) for claim in ids], dtype=np.int64),
    )


@pytest.mark.parametrize(
    ("seed", "lengths"),
    [(0, [3, 5, 1, 4]), (1, [7, 2, 6, 6, 3, 1]), (2, [4, 0, 3, 5]), (3, [1, 1])],
)
def test_vectorised_alignment_matches_the_token_by_token_definition(
    seed: int, lengths: list[int]
) -> None:
    vectors, ids, content = _random_claims(seed, lengths)
    # One claim with no content token at all: its tokens weigh alike.
    content[-1] = [False] * len(content[-1])
    expected = _naive_alignment(vectors, ids, content)
    np.testing.assert_allclose(token_alignment(_packed(vectors, ids, content)), expected, atol=1e-5)


def test_claims_packed_in_chunks_join_back_in_input_order() -> None:
    vectors, ids, content = _random_claims(4, [3, 0, 5, 2, 4])
    whole = _packed(vectors, ids, content)
    # Two chunks in the order a length sort would make them: claims 1, 3, 0 then 4, 2.
    chunks = [[1, 3, 0], [4, 2]]
    parts = [
        _packed(*[[seq[i] for i in chunk] for seq in (vectors, ids, content)]) for chunk in chunks
    ]
    joined = join_claims(parts, [i for chunk in chunks for i in chunk])
    np.testing.assert_array_equal(joined.lengths, whole.lengths)
    np.testing.assert_array_equal(joined.ids, whole.ids)
    np.testing.assert_array_equal(joined.content, whole.content)
    np.testing.assert_array_equal(joined.vectors, whole.vectors)
    with pytest.raises(ValueError, match="positions must order"):
        join_claims(parts, [1, 3, 0, 4, 4])
    with pytest.raises(ValueError, match="positions must order"):
        join_claims(parts, [1, 3, 0])


def test_the_setting_choices_are_the_similarities() -> None:
    # The settings, the API schema and model.story read one list of names.
    assert set(get_args(GroupingSetting)) == set(SIMILARITIES)


def test_alignment_finds_a_short_claim_inside_a_longer_one() -> None:
    # Claim 0 says "troops crossed"; claim 1 wraps the same two tokens in a frame; claim 2
    # shares one of them. Axes (and ids): troops, crossed, minister, denied, retreated, filler.
    axes = np.eye(6)
    troops, crossed, minister, denied, retreated, filler = range(6)

    def claims(*rows: list[int], stop: Sequence[int] = ()) -> ClaimTokens:
        flat = [token for row in rows for token in row]
        return ClaimTokens(
            axes[flat].astype(np.float32),
            np.array(flat),
            np.array([token not in stop for token in flat]),
            np.array([len(row) for row in rows]),
        )

    short, framed = [troops, crossed], [minister, denied, troops, crossed]
    alignment = token_alignment(claims(short, framed, [troops, retreated]))
    np.testing.assert_allclose(np.diag(alignment), 1.0)
    np.testing.assert_allclose(alignment, alignment.T)
    assert alignment[0, 1] > alignment[0, 2] > 0
    # The frame counts: claim 1 is only partly found in claim 0.
    assert alignment[0, 1] < 1.0
    # Tokens that are not content (a stop word, punctuation) weigh nothing.
    padded = claims(short, [*framed, filler, filler], [troops, retreated], stop=[filler])
    np.testing.assert_allclose(token_alignment(padded), alignment, atol=1e-6)


def test_content_vocabulary_drops_stop_words_punctuation_and_special_tokens() -> None:
    mask = content_vocabulary({"[CLS]": 0, "the": 1, ".": 2, "ebola": 3, "##la": 4, "2014": 5})
    assert mask.tolist() == [False, False, False, True, True, True]


# --- token states from the encoder's forward pass ------------------------------------------


@pytest.fixture(scope="module")
def tiny_embedder(tiny_model_dir: Path) -> SentenceEmbedder:
    return SentenceEmbedder.from_directory(tiny_model_dir, device="cpu", batch_size=2)


def test_token_states_come_with_the_vectors_in_input_order(
    tiny_embedder: SentenceEmbedder,
) -> None:
    texts = ["Moscow denied the reports at the time.", "No.", "Russia bought shells.", "Yes"]
    vectors, tokens = tiny_embedder.embed_tokens(texts)
    np.testing.assert_allclose(vectors, tiny_embedder.embed(texts), atol=1e-5)
    batch = tiny_embedder.encoder.encode(texts)
    # Every real token but [CLS] and [SEP].
    assert tokens.lengths.tolist() == (batch.attention_mask.sum(axis=1) - 2).tolist()
    np.testing.assert_allclose(np.linalg.norm(tokens.vectors, axis=1), 1.0, atol=1e-5)
    # Batched and sorted by length, the states still land on their own text.
    for index, text in enumerate(texts):
        _, alone = tiny_embedder.embed_tokens([text])
        mine = tokens.claims(index, index + 1)
        np.testing.assert_array_equal(mine.ids, alone.ids)
        np.testing.assert_allclose(mine.vectors, alone.vectors, atol=1e-5)


CLAIMS = [
    ["Troops crossed the border on Monday.", "The minister resigned."],
    ["The minister denied that troops crossed the border.", "Prices rose."],
]


@pytest.mark.parametrize(("similarity", "call"), [(WORDS, "embed"), (BLEND, "embed_tokens")])
def test_grouping_runs_the_encoder_once_whatever_the_similarity(
    tiny_embedder: SentenceEmbedder, similarity: str, call: str
) -> None:
    counting = RecordingEmbedder(tiny_embedder)
    group_claims(CLAIMS, counting, similarity=similarity)
    assert counting.calls == [call]


def test_an_encoder_without_token_states_groups_on_words_and_an_unknown_name_is_refused(
    tiny_embedder: SentenceEmbedder,
) -> None:
    class VectorsOnly:
        def embed(self, texts: Sequence[str]) -> np.ndarray:
            return tiny_embedder.embed(texts)

    assert group_claims(CLAIMS, VectorsOnly(), similarity=ALIGNMENT) == group_claims(
        CLAIMS, VectorsOnly(), similarity=WORDS
    )
    assert served_similarity(BLEND, VectorsOnly()) == WORDS
    assert served_similarity(BLEND, tiny_embedder) == BLEND
    with pytest.raises(ValueError, match="unknown grouping similarity"):
        group_claims(CLAIMS, tiny_embedder, similarity="cosine")


def test_only_a_fallback_is_warned_about(
    tiny_embedder: SentenceEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    class VectorsOnly:
        def embed(self, texts: Sequence[str]) -> np.ndarray:
            return tiny_embedder.embed(texts)

    with caplog.at_level("WARNING", logger="model.story"):
        assert similarity_for(BLEND, tiny_embedder) == BLEND
        assert similarity_for(WORDS, VectorsOnly()) == WORDS
        assert not caplog.records
        assert similarity_for(BLEND, VectorsOnly()) == WORDS
    [record] = caplog.records
    assert "'blend' needs the encoder's token states" in record.getMessage()


def test_the_onnx_export_returns_token_states_from_the_same_pass(tiny_exported_dir: Path) -> None:
    from model.embeddings import BUNDLED_ENCODER_DIR

    onnx = SentenceEmbedder.from_directory(
        tiny_exported_dir / BUNDLED_ENCODER_DIR, device="cpu", backend="onnx"
    )
    assert onnx.has_token_states
    texts = ["Troops crossed the border.", "No."]
    vectors, tokens = onnx.embed_tokens(texts)
    np.testing.assert_allclose(vectors, onnx.embed(texts), atol=1e-5)
    assert (
        tokens.lengths.tolist() == (onnx.encoder.encode(texts).attention_mask.sum(1) - 2).tolist()
    )
    assert token_alignment(tokens).shape == (2, 2)
