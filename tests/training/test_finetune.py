from __future__ import annotations

from pathlib import Path

import pytest

from model.card import ModelCard
from model.classifier import ClaimClassifier
from model.network import MeanPooledClassifier
from training.config import TrainConfig
from training.corpus.build import build_corpus
from training.finetune import fine_tune


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_fine_tune_saves_a_directory_that_reloads_with_its_pooling(
    tiny_config: TrainConfig, tmp_path: Path, pooling: str
) -> None:
    config = tiny_config.model_copy(
        update={"training": tiny_config.training.model_copy(update={"pooling": pooling})}
    )
    corpus = build_corpus(config.data, seed=config.seed)
    output = tmp_path / pooling
    trained = fine_tune(corpus.train, corpus.validation, config, output)

    assert ModelCard.load(output).pooling == pooling
    reloaded = ClaimClassifier.from_directory(output, device="cpu", backend="torch")
    assert isinstance(reloaded.backend.module.network, MeanPooledClassifier) == (pooling == "mean")
    texts = [e.text for e in corpus.validation]
    assert (trained.predict_proba(texts).argmax(1) == reloaded.predict_proba(texts).argmax(1)).all()
    assert reloaded.card.temperature == pytest.approx(trained.card.temperature)
