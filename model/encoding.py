"""Texts -> padded token id arrays with the Rust ``tokenizers`` library, no torch needed.

A model directory saved by ``transformers`` holds ``tokenizer.json``, the whole
fast tokenizer (normaliser, word pieces, special tokens). Loading it with
``tokenizers`` directly gives the same ids as ``AutoTokenizer`` without
importing transformers or torch, so a serving process on the ONNX backend stays
small, and ``encode_batch`` tokenises a whole batch in Rust.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

TOKENIZER_FILE = "tokenizer.json"


@dataclass(frozen=True, slots=True)
class TokenBatch:
    """Ids and attention mask of one batch, both int64 of shape (batch, longest text in it)."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    # Each token's (start, end) characters in its text, (0, 0) for special tokens and
    # padding, shape (batch, tokens, 2); only when asked for (an attribution head reads them).
    offsets: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])


class TextEncoder:
    """A fast tokenizer loaded once; texts -> batches padded to their own longest member."""

    def __init__(self, tokenizer: Tokenizer, max_length: int) -> None:
        if max_length < 2:
            raise ValueError(f"max_length must leave room for the special tokens, got {max_length}")
        self.max_length = max_length
        self._tokenizer = tokenizer
        # Settings saved in tokenizer.json (a fixed padding length, another limit) are replaced:
        # the model card's max_length is the one the model was trained with, and padding is
        # done here per batch.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_length)
        self.pad_id = next(
            (i for token in ("[PAD]", "<pad>") if (i := tokenizer.token_to_id(token)) is not None),
            0,
        )

    def vocabulary(self) -> dict[str, int]:
        """Token -> id, added tokens included."""
        return self._tokenizer.get_vocab(with_added_tokens=True)

    def special_ids(self) -> np.ndarray:
        """Ids of the special tokens ([CLS], [SEP], [PAD], ...), sorted."""
        decoder = self._tokenizer.get_added_tokens_decoder()
        return np.array(sorted(i for i, token in decoder.items() if token.special), dtype=np.int64)

    @classmethod
    def from_directory(cls, directory: str | Path, max_length: int) -> TextEncoder:
        path = Path(directory) / TOKENIZER_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"{path.parent} has no {TOKENIZER_FILE}: save the model with a fast tokenizer"
            )
        return cls(Tokenizer.from_file(str(path)), max_length)

    def _pad(
        self, ids: Sequence[list[int]], offsets: Sequence[list[tuple[int, int]]] | None = None
    ) -> TokenBatch:
        lengths = np.fromiter((len(row) for row in ids), dtype=np.int64, count=len(ids))
        width = int(lengths.max()) if len(ids) else 0
        input_ids = np.full((len(ids), width), self.pad_id, dtype=np.int64)
        for row, token_ids in enumerate(ids):
            input_ids[row, : len(token_ids)] = token_ids
        attention_mask = (np.arange(width) < lengths[:, None]).astype(np.int64)
        spans = None
        if offsets is not None:
            spans = np.zeros((len(ids), width, 2), dtype=np.int64)
            for row, token_spans in enumerate(offsets):
                if token_spans:
                    spans[row, : len(token_spans)] = token_spans
        return TokenBatch(input_ids=input_ids, attention_mask=attention_mask, offsets=spans)

    def encode(self, texts: Sequence[str], *, offsets: bool = False) -> TokenBatch:
        """One batch, in input order, padded to its longest text; with ``offsets``, each
        token's characters too."""
        encodings = self._tokenizer.encode_batch(list(texts))
        return self._pad(
            [e.ids for e in encodings], [e.offsets for e in encodings] if offsets else None
        )

    def sorted_batches(
        self,
        texts: Sequence[str],
        batch_size: int,
        max_tokens: int | None = None,
        *,
        offsets: bool = False,
    ) -> list[tuple[np.ndarray, TokenBatch]]:
        """(input positions, batch) pairs of texts with similar token counts.

        All texts are tokenised in one call, then grouped by token count, so each
        batch pads to within a token or two of its members; callers scatter the
        results back with the positions. A batch holds at most ``batch_size`` texts
        and, when ``max_tokens`` is set, at most that many padded tokens (never fewer
        than one text). With ``offsets``, each batch carries its tokens' characters.
        """
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = [e.ids for e in encodings]
        spans = [e.offsets for e in encodings] if offsets else None
        order = np.argsort([len(row) for row in ids], kind="stable")
        groups: list[list[int]] = []
        group: list[int] = []
        for index in order:
            # Ascending order: this text is the longest so far, so it sets the padded width.
            width = len(ids[index])
            if group and (
                len(group) >= batch_size
                or (max_tokens is not None and (len(group) + 1) * width > max_tokens)
            ):
                groups.append(group)
                group = []
            group.append(int(index))
        if group:
            groups.append(group)
        return [
            (
                np.array(members, dtype=np.int64),
                self._pad(
                    [ids[i] for i in members],
                    None if spans is None else [spans[i] for i in members],
                ),
            )
            for members in groups
        ]
