"""Export a model directory to ONNX with int8 weights, beside the weights it came from.

``export_classifier`` writes ``<model dir>/onnx/model.int8.onnx``;
``export_encoder`` writes a self-contained sentence-encoder directory (tokenizer,
config, ``onnx/model.int8.onnx``) so /compare can run without torch too. Training
calls both before it logs the model, so the registered version carries them;
``python -m training export`` does the same for a version trained earlier.

Weights are quantised dynamically to int8 per output channel: per-tensor int8
lost 1.6 macro-F1 points on independent real news, per-channel lost none.
Needs torch, onnx and onnxruntime (the training side has all three).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

import torch

from model.backends import ONNX_MANIFEST, ModelKind, onnx_file
from model.card import ModelCard
from model.encoding import TOKENIZER_FILE, TextEncoder
from model.network import SentenceEmbeddingModule, load_logits_module

logger = logging.getLogger(__name__)

# Any real sentence gives the tracer the shapes; the axes are declared dynamic below.
_SAMPLE_TEXTS = ["Officials denied the report.", "The deal may not have been completed yet."]
# Eager attention traces to plain MatMul/Softmax, which ran 6% faster in int8 than the
# scaled-dot-product kernel's export (609 against 560 sentences/s on 2 cores).
_EXPORT_LOAD_OPTIONS = {"attn_implementation": "eager"}
# Files an encoder directory needs besides its ONNX graph: tokenizer and the configs that
# say its sequence length.
_ENCODER_FILES = (
    TOKENIZER_FILE,
    "config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "sentence_bert_config.json",
)


def write_fp32_onnx(module: torch.nn.Module, encoder: TextEncoder, path: Path) -> Path:
    """Trace ``module`` to an fp32 ONNX graph with dynamic batch and sequence axes."""
    sample = encoder.encode(_SAMPLE_TEXTS)
    dynamic = {0: "batch", 1: "tokens"}
    torch.onnx.export(
        module.eval(),
        (torch.from_numpy(sample.input_ids), torch.from_numpy(sample.attention_mask)),
        str(path),
        input_names=["input_ids", "attention_mask"],
        output_names=["output"],
        dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "output": {0: "batch"}},
        opset_version=17,
        # The TorchScript exporter: the dynamo one needs onnxscript and gains nothing here.
        dynamo=False,
    )
    return path


def _export(
    module: torch.nn.Module, encoder: TextEncoder, target: Path, kind: ModelKind, source: Path
) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    started = time.perf_counter()
    out = onnx_file(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="claimstance-onnx-") as scratch:
        fp32 = write_fp32_onnx(module, encoder, Path(scratch) / "model.onnx")
        quantize_dynamic(fp32, out, per_channel=True, weight_type=QuantType.QInt8)
    manifest = {
        "kind": kind,
        "source": str(source),
        "max_length": encoder.max_length,
        "quantization": "dynamic int8, per-channel weights",
    }
    (out.parent / ONNX_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    logger.info(
        "exported %s to %s (%.1f MB) in %.1f s",
        kind,
        out,
        out.stat().st_size / 1e6,
        time.perf_counter() - started,
    )
    return out


def export_classifier(model_dir: Path) -> Path:
    """Write ``onnx/model.int8.onnx`` into a classifier directory; returns its path."""
    card = ModelCard.load(model_dir)
    module = load_logits_module(model_dir, card.pooling, **_EXPORT_LOAD_OPTIONS)
    encoder = TextEncoder.from_directory(model_dir, card.max_length)
    return _export(module, encoder, model_dir, "classifier", model_dir)


def export_encoder(source_dir: Path, target_dir: Path, max_length: int) -> Path:
    """Copy an encoder's tokenizer and configs to ``target_dir`` and write its int8 ONNX graph."""
    target_dir.mkdir(parents=True, exist_ok=True)
    for name in _ENCODER_FILES:
        if (source_dir / name).is_file():
            shutil.copyfile(source_dir / name, target_dir / name)
    module = SentenceEmbeddingModule.from_pretrained(source_dir, **_EXPORT_LOAD_OPTIONS)
    encoder = TextEncoder.from_directory(source_dir, max_length)
    return _export(module, encoder, target_dir, "encoder", source_dir)
