"""Fixtures of the model tests: the example articles (read from disk, never downloaded) and a
mean-pooled tiny model directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from model.card import ModelCard
from model.labels import id2label, label2id
from model.network import build_network

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = Path(
    os.environ.get("CLAIMSTANCE_EXAMPLES_DIR", REPO_ROOT.parent / "shared" / "examples")
)


@pytest.fixture(scope="session")
def example_articles() -> dict[str, str]:
    """Raw text of each example article (``*.txt``) by file stem."""
    if not EXAMPLES_DIR.is_dir():
        pytest.skip(f"example articles not found at {EXAMPLES_DIR} (set CLAIMSTANCE_EXAMPLES_DIR)")
    return {path.stem: path.read_text(encoding="utf-8") for path in EXAMPLES_DIR.glob("*.txt")}


@pytest.fixture
def mean_model_dir(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """The tiny model with the mean-pooling head, saved as training saves it."""
    network = build_network(str(tiny_model_dir), "mean", id2label(), label2id())
    directory = tmp_path / "mean"
    network.save_pretrained(directory)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(directory)
    ModelCard(base_model="tiny-random-bert", max_length=64, pooling="mean").save(directory)
    return directory
