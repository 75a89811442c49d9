"""Slow tier: the real packaged base model loads offline and trains a step."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.classifier import ClaimClassifier
from training.config import PACKAGED_MINILM, TrainConfig
from training.fit.pipeline import run_training

pytestmark = pytest.mark.slow


def test_real_base_model_fine_tunes_and_reloads(tiny_config: TrainConfig, tmp_path: Path) -> None:
    config = tiny_config.model_copy(
        update={
            "training": tiny_config.training.model_copy(
                update={"base_model": PACKAGED_MINILM, "epochs": 1}
            )
        }
    )
    report = run_training(config)
    classifier = ClaimClassifier.from_directory(report.model_dir, device="cpu", backend="torch")
    assert classifier.backend.module.config.hidden_size == 384
    assert classifier.backend.module.config.num_hidden_layers == 6
    predictions = classifier.predict(["Moscow denied the reports at the time."])
    assert sum(predictions[0].scores.values()) == pytest.approx(1.0, abs=1e-5)
