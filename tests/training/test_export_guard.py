"""Training serves the fastest export scheme that keeps validation within tolerance of fp32."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from model.backends import ONNX_DIR, ONNX_MANIFEST
from model.classifier import ClaimClassifier
from model.labels import LABELS
from tests.model.test_backends import varied_sentences
from training.config import TrainConfig
from training.data import Example, Split
from training.fit.pipeline import _export_classifier_within_tolerance


def _validation(count: int) -> list[Example]:
    return [
        Example(text, LABELS[index % len(LABELS)], "news_gold", f"s{index}", Split.VALIDATION)
        for index, text in enumerate(varied_sentences(count, seed=9))
    ]


def _scheme(directory: Path) -> str:
    return json.loads((directory / ONNX_DIR / ONNX_MANIFEST).read_text("utf-8"))["scheme"]


def test_int8_is_kept_when_it_scores_within_tolerance(
    tiny_model_dir: Path, tiny_config: TrainConfig, tmp_path: Path
) -> None:
    directory = tmp_path / "model"
    shutil.copytree(tiny_model_dir, directory)
    validation = _validation(30)
    reference = ClaimClassifier.from_directory(directory, device="cpu", backend="torch")
    fp32_labels = reference.predict_proba([e.text for e in validation]).argmax(axis=1)
    config = tiny_config.model_copy(
        update={"training": tiny_config.training.model_copy(update={"export_tolerance": 1.0})}
    )
    metrics = _export_classifier_within_tolerance(
        directory, varied_sentences(32), validation, fp32_labels, config
    )
    assert metrics["onnx.scheme_rank"] == 0.0 and _scheme(directory) == "int8"
    assert set(metrics) == {"onnx.scheme_rank", "onnx.int8.validation.macro_f1"}


def test_falls_back_scheme_by_scheme_to_fp32(
    tiny_model_dir: Path, tiny_config: TrainConfig, tmp_path: Path
) -> None:
    directory = tmp_path / "model"
    shutil.copytree(tiny_model_dir, directory)
    validation = _validation(30)
    # "fp32" labels equal to the truth: no export of the random tiny model can match them.
    perfect = np.array([LABELS.index(e.label) for e in validation])
    metrics = _export_classifier_within_tolerance(
        directory, varied_sentences(32), validation, perfect, tiny_config
    )
    assert metrics["onnx.scheme_rank"] == 2.0 and _scheme(directory) == "fp32"
    for scheme in ("int8", "int8-attention-fp32", "fp32"):
        assert metrics[f"onnx.{scheme}.validation.macro_f1"] < 1.0


def test_without_a_reference_the_export_is_plain_int8(
    tiny_model_dir: Path, tiny_config: TrainConfig, tmp_path: Path
) -> None:
    directory = tmp_path / "model"
    shutil.copytree(tiny_model_dir, directory)
    assert (
        _export_classifier_within_tolerance(directory, [], _validation(5), None, tiny_config) == {}
    )
    assert _scheme(directory) == "int8"
