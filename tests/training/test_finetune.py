from __future__ import annotations

from pathlib import Path

import pytest

from model.card import ModelCard
from model.classifier import ClaimClassifier
from model.network import MeanPooledClassifier
from training.config import TrainConfig
from training.corpus.build import build_corpus
from training.fit.finetune import fine_tune


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


def test_one_seed_gives_the_same_losses_and_weights(tiny_config: TrainConfig) -> None:
    """train_loop's steps draw from seeded sources in a fixed order: a rerun is identical."""
    from training.fit.finetune import _weights_digest, train_loop

    corpus = build_corpus(tiny_config.data, seed=tiny_config.seed)
    runs = []
    for _ in range(2):
        history: list[dict[str, float]] = []
        trained = train_loop(
            corpus.train,
            corpus.validation,
            tiny_config,
            on_epoch=lambda epoch, metrics, history=history: history.append(metrics),
        )
        runs.append((history, _weights_digest(trained.network), trained.workers))
    assert runs[0] == runs[1]  # per-epoch losses and scores, final weights, what each worker saw
    assert len(runs[0][0]) == tiny_config.training.epochs
