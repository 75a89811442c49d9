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

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])


class TextEncoder:
    """A fast tokenizer loaded once; ``encode`` pads each batch to its own longest text."""

    def __init__(self, tokenizer: Tokenizer, max_length: int) -> None:
        if max_length < 2:
            raise ValueError(f"max_length must leave room for the special tokens, got {max_length}")
        self.max_length = max_length
        self._tokenizer = tokenizer
        # Settings saved in tokenizer.json (a fixed padding length, another limit) are replaced:
        # the model card's max_length is the one the model was trained with.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_length)
        pad_id = tokenizer.token_to_id("[PAD]")
        pad_token = "[PAD]"
        if pad_id is None:
            pad_token = "<pad>"
            pad_id = tokenizer.token_to_id(pad_token) or 0
        self._tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)

    @classmethod
    def from_directory(cls, directory: str | Path, max_length: int) -> TextEncoder:
        path = Path(directory) / TOKENIZER_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"{path.parent} has no {TOKENIZER_FILE}: save the model with a fast tokenizer"
            )
        return cls(Tokenizer.from_file(str(path)), max_length)

    def encode(self, texts: Sequence[str]) -> TokenBatch:
        encodings = self._tokenizer.encode_batch(list(texts))
        return TokenBatch(
            input_ids=np.asarray([e.ids for e in encodings], dtype=np.int64),
            attention_mask=np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
        )
