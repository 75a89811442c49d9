"""Export schemes: each is batch-independent, fp32 is the torch model, and the attention
scheme keeps exactly attention's activation MatMuls out of int8."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from model.backends import ONNX_DIR, ONNX_MANIFEST
from model.classifier import ClaimClassifier
from model.export import ExportScheme, activation_matmuls, export_classifier, write_fp32_onnx
from model.network import load_logits_module
from tests.model.test_backends import batch_drift, varied_sentences


@pytest.mark.parametrize("scheme", [ExportScheme.INT8_ATTENTION_FP32, ExportScheme.FP32])
def test_every_scheme_is_batch_independent(
    scheme: ExportScheme, tiny_model_dir: Path, tmp_path: Path
) -> None:
    directory = tmp_path / "model"
    shutil.copytree(tiny_model_dir, directory)
    export_classifier(directory, varied_sentences(64, seed=2), scheme)
    manifest = json.loads((directory / ONNX_DIR / ONNX_MANIFEST).read_text("utf-8"))
    assert manifest["scheme"] == scheme.value and manifest["batch_independent"]
    served = ClaimClassifier.from_directory(directory, device="cpu", backend="onnx")
    drift, flips = batch_drift(served, varied_sentences(96))
    assert drift < 1e-5 and flips == 0


def test_the_fp32_scheme_scores_as_the_torch_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    directory = tmp_path / "model"
    shutil.copytree(tiny_model_dir, directory)
    export_classifier(directory, scheme=ExportScheme.FP32)
    texts = varied_sentences(40, seed=5)
    onnx = ClaimClassifier.from_directory(directory, device="cpu", backend="onnx")
    torch = ClaimClassifier.from_directory(directory, device="cpu", backend="torch")
    np.testing.assert_allclose(onnx.predict_proba(texts), torch.predict_proba(texts), atol=1e-4)


def test_activation_matmuls_are_attention_scores_and_context(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    classifier = ClaimClassifier.from_directory(tiny_model_dir, device="cpu", backend="torch")
    module = load_logits_module(
        tiny_model_dir, classifier.card.pooling, attn_implementation="eager"
    )
    graph = write_fp32_onnx(module, classifier.encoder, tmp_path / "model.onnx")
    # Two per layer (query x key, probabilities x value); the tiny BERT has two layers.
    assert len(activation_matmuls(graph)) == 4
