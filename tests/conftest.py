"""Shared fixtures: a tiny random BERT saved like a real model, and offline paths."""

from __future__ import annotations

import os
import shutil
import string
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

from model.attribution_head import TAGS
from model.card import ModelCard
from model.classifier import ClaimClassifier
from model.encoding import TOKENIZER_FILE, TextEncoder, TokenBatch
from model.labels import id2label, label2id

REPO_ROOT = Path(__file__).resolve().parents[1]
# The variable training reads for data.shared_dir (training/config.py), so one setting points
# both training and the tests at a shared folder that is not beside the checkout.
SHARED_DIR = Path(os.environ.get("CLAIMSTANCE_DATA__SHARED_DIR", REPO_ROOT.parent / "shared"))
# What `make train` writes into the checkout (the default store is ./mlflow.db, model/store.py):
# tests keep their stores and models under tmp, so none of these may appear during a run.
CHECKOUT_OUTPUTS = ("mlflow.db", "mlartifacts", "artifacts")

_WORDS = [
    "the",
    "a",
    "an",
    "of",
    "to",
    "in",
    "and",
    "or",
    "but",
    "not",
    "no",
    "never",
    "yet",
    "did",
    "does",
    "is",
    "was",
    "were",
    "has",
    "have",
    "had",
    "said",
    "say",
    "says",
    "denied",
    "deny",
    "denies",
    "rejected",
    "dismissed",
    "fake",
    "false",
    "rumour",
    "rumours",
    "hoax",
    "may",
    "might",
    "could",
    "reportedly",
    "allegedly",
    "appeared",
    "evidence",
    "completed",
    "unconfirmed",
    "russia",
    "north",
    "korea",
    "weapons",
    "shells",
    "rockets",
    "moscow",
    "officials",
    "us",
    "kirby",
    "reports",
    "report",
    "we",
    "will",
    "export",
    "exported",
    "ammunition",
    "before",
    "plan",
    "them",
    "bought",
    "buying",
    "purchases",
    "claim",
]


def write_tiny_tokenizer(directory: Path) -> BertTokenizerFast:
    """A word-piece vocabulary that can spell any ASCII word, so no text maps wholly to [UNK]."""
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars)]
    vocab += [word for word in dict.fromkeys(_WORDS) if word not in vocab]
    directory.mkdir(parents=True, exist_ok=True)
    # The vocabulary goes in as a mapping: transformers 5 ignores ``vocab_file`` here and
    # would build a five-token vocabulary that reads every word as [UNK].
    return BertTokenizerFast(
        vocab={token: index for index, token in enumerate(vocab)}, do_lower_case=True
    )


def build_tiny_model(directory: Path, *, seed: int = 0) -> Path:
    """Save a randomly initialised 2-layer, 32-wide BERT classifier in Hugging Face format."""
    tokenizer = write_tiny_tokenizer(directory)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=3,
        id2label=id2label(),
        label2id=label2id(),
    )
    BertForSequenceClassification(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    ModelCard(base_model="tiny-random-bert", max_length=64).save(directory)
    return directory


@pytest.fixture(scope="session", autouse=True)
def _nothing_written_into_the_checkout() -> Iterator[None]:
    absent = [name for name in CHECKOUT_OUTPUTS if not (REPO_ROOT / name).exists()]
    yield
    created = [name for name in absent if (REPO_ROOT / name).exists()]
    assert not created, f"the tests wrote {created} into {REPO_ROOT}; use tmp_path"


@pytest.fixture(scope="session", autouse=True)
def _model_cache_under_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Models the tests download go to a cache under tmp, not the user's ~/.cache."""
    from model.resolve import CACHE_ENV

    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("model-cache"))
    yield
    if before is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = before


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_exported_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with its int8 ONNX export and a bundled /compare encoder, as training writes."""
    from model.embeddings import BUNDLED_ENCODER_DIR
    from model.export import export_classifier, export_encoder

    directory = tmp_path_factory.mktemp("exported") / "model"
    shutil.copytree(tiny_model_dir, directory)
    export_classifier(directory)
    export_encoder(tiny_model_dir, directory / BUNDLED_ENCODER_DIR, max_length=64)
    return directory


@pytest.fixture(scope="session")
def tiny_joint_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny BERT with a random attribution head (``training.attribution_head``), saved as
    training saves it: the head's safetensors beside the classifier, its tags in the card."""
    from transformers import AutoTokenizer

    from model.network import build_network

    torch.manual_seed(3)
    directory = tmp_path_factory.mktemp("joint") / "model"
    network = build_network(
        str(tiny_model_dir), "cls", id2label(), label2id(), attribution_tags=len(TAGS)
    )
    network.save_pretrained(directory)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(directory)
    ModelCard(base_model="tiny-random-bert", max_length=64, token_tags=TAGS).save(directory)
    return directory


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DIR}")
    return SHARED_DIR


@pytest.fixture(scope="session")
def examples_dir(shared_dir: Path) -> Path:
    return shared_dir / "examples"


class KeywordHeadBackend:
    """A stand-in joint forward pass: neutral stance logits, and token logits that tag chosen
    words of the tiny vocabulary (``tags``: word -> tag), so spans are known in advance."""

    name = "keyword-head"
    device = "cpu"
    parallel = 1
    max_batch_tokens = None
    output_names = ("output", "token_logits")

    def __init__(self, tokenizer_dir: Path, tags: dict[str, str]) -> None:
        vocab = Tokenizer.from_file(str(tokenizer_dir / TOKENIZER_FILE)).get_vocab()
        self.tag_of = {vocab[word]: TAGS.index(tag) for word, tag in tags.items()}

    def run(self, batch: TokenBatch) -> tuple[np.ndarray, np.ndarray]:
        rows, width = batch.input_ids.shape
        tokens = np.zeros((rows, width, len(TAGS)), dtype=np.float32)
        tokens[..., TAGS.index("O")] = 1.0
        for token_id, tag in self.tag_of.items():
            tokens[batch.input_ids == token_id, tag] = 5.0
        return np.zeros((rows, len(id2label())), dtype=np.float32), tokens

    def __call__(self, batch: TokenBatch) -> np.ndarray:
        return self.run(batch)[0]

    def map(self, batches: Sequence[TokenBatch]) -> list[np.ndarray]:
        return [self(batch) for batch in batches]

    def run_many(self, batches: Sequence[TokenBatch]) -> list[tuple[np.ndarray, np.ndarray]]:
        return [self.run(batch) for batch in batches]


# The words KeywordHeadBackend tags by default: sources and cues of the tiny vocabulary.
KEYWORD_TAGS = {
    "kirby": "B-source-person",
    "officials": "B-source-role",
    "moscow": "B-source-organisation",
    "said": "B-cue",
    "denied": "B-cue",
    "dismissed": "B-cue",
}


def keyword_head_classifier(
    tokenizer_dir: Path, tags: dict[str, str] | None = None, **options: Any
) -> ClaimClassifier:
    """A ``ClaimClassifier`` whose attribution head tags ``tags`` (KEYWORD_TAGS by default)."""
    return ClaimClassifier(
        KeywordHeadBackend(tokenizer_dir, KEYWORD_TAGS if tags is None else tags),
        TextEncoder.from_directory(tokenizer_dir, 64),
        card=ModelCard(base_model="keyword-head", max_length=64, token_tags=TAGS),
        **options,
    )
