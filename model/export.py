"""Export a model directory to ONNX with int8 weights, beside the weights it came from.

``export_classifier`` writes ``<model dir>/onnx/model.int8.onnx`` (with a second output,
``token_logits``, when the classifier has an attribution head: one graph, one pass);
``export_encoder`` writes a self-contained sentence-encoder directory (tokenizer,
config, ``onnx/model.int8.onnx``) so /compare can run without torch too. Training
calls both before it logs the model, so the registered version carries them;
``python -m training export`` does the same for a version trained earlier.

The int8 graph is quantised statically (QDQ nodes): weights per output channel,
activations with one fixed scale per tensor, calibrated on a few hundred training
sentences. Fixed scales make a text's scores independent of the other texts in its
batch and of the padding they add: the dynamic quantisation used before took one
activation range per batch, and a sentence scored alone and in a request of 64
shuffled sentences could get a different label (2-3% of real news sentences,
probabilities moved by up to 0.25). Activations are uint8 so ONNX Runtime fuses the
MatMuls, attention's included, into QLinearMatMul on x86; int8 activations left half
of them as dequantise + fp32 MatMul and ran at fp32 speed.

Fast model, fp32 ONNX = validation 73.76 / news_test 78.56 macro-F1 (corpus at a8e6004):
MinMax with every MatMul in int8 scored 72.5-74.1 / 77.5-78.5 depending on the
calibration sample, with only 92% of labels equal to fp32's; Percentile (99.999)
72.8 / 78.3 and Entropy 73.8 / 77.7 did no better. MinMax with the feed-forward
down-projections kept in fp32 (``gelu_fed_matmuls``) scored 73.42 / 78.79 with 97.4%
of labels equal to fp32's (dynamic int8: 74.0 / 79.3, 96.6-97.3%), at about 0.6x the
all-int8 graph's speed (calls of 64: 504 against 835 sentences/s for dynamic and 703
for all-int8, relative, one run on a busy 2-core machine).
Needs torch, onnx and onnxruntime (the training side has all three).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from enum import StrEnum
from pathlib import Path

import numpy as np
import torch

from model.backends import ONNX_MANIFEST, ModelKind, onnx_file
from model.card import ModelCard
from model.encoding import TOKENIZER_FILE, TextEncoder, TokenBatch
from model.network import SentenceEmbeddingModule, load_logits_module

logger = logging.getLogger(__name__)

# Any real sentence gives the tracer the shapes; the axes are declared dynamic below.
_SAMPLE_TEXTS = ["Officials denied the report.", "The deal may not have been completed yet."]
# Calibration when the caller has no training sentences (tests, a directory exported
# by hand): a few news-like claims of each stance and length. Training passes its own.
_FALLBACK_CALIBRATION = (
    *_SAMPLE_TEXTS,
    "Moscow denied the reports at the time.",
    "The purchases had not yet been completed.",
    "US officials said Russia was buying shells and rockets from North Korea.",
    "The ministry dismissed the claims as fake news and said no such meeting took place.",
    "The company may have breached the rules, according to people familiar with the matter.",
    "Police said two people were arrested on Tuesday.",
    "It was not immediately clear whether the weapons had been delivered.",
    "The report, which has not been independently verified, said dozens were killed.",
    "He never said that.",
    "The minister confirmed the talks would resume next week in Geneva.",
    "Reports that the president had resigned are false, a spokesman said.",
    "Analysts cautioned that the figures could be revised as more data comes in.",
    "No.",
    "The bridge was reopened to traffic on Monday after repairs were finished.",
)
# Sentences calibrated on; more moved no score on validation or news_test.
CALIBRATION_SENTENCES = 300
_CALIBRATION_BATCH = 16
# ONNX Runtime's CalibrationMethod name; see the module docstring for the comparison.
CALIBRATION_METHOD = "MinMax"


class ExportScheme(StrEnum):
    """How much of the classifier's graph runs in int8, fastest first. Every scheme is
    batch-independent; training keeps the first that scores within its tolerance of fp32."""

    INT8 = "int8"  # every weight MatMul but the feed-forward down-projections
    # Also the attention score and context MatMuls (activation x activation, both operands
    # on one fixed uint8 scale each) in fp32.
    INT8_ATTENTION_FP32 = "int8-attention-fp32"
    FP32 = "fp32"  # no quantisation: the fp32 graph, at fp32 speed


SCHEME_DESCRIPTIONS = {
    ExportScheme.INT8: "feed-forward down-projections (after GELU) in fp32",
    ExportScheme.INT8_ATTENTION_FP32: (
        "feed-forward down-projections and attention's score and context MatMuls in fp32"
    ),
    ExportScheme.FP32: "not quantised: no int8 scheme scored within tolerance of fp32",
}
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


def output_axes(module: torch.nn.Module) -> dict[str, dict[int, str]]:
    """The graph's outputs and their dynamic axes: one row per text (stance logits, vectors),
    and for an attribution head one row per token too."""
    names = tuple(getattr(module, "output_names", ("output",)))
    return {
        name: {0: "batch"} if index == 0 else {0: "batch", 1: "tokens"}
        for index, name in enumerate(names)
    }


def write_fp32_onnx(module: torch.nn.Module, encoder: TextEncoder, path: Path) -> Path:
    """Trace ``module`` to an fp32 ONNX graph with dynamic batch and sequence axes."""
    sample = encoder.encode(_SAMPLE_TEXTS)
    dynamic = {0: "batch", 1: "tokens"}
    outputs = output_axes(module)
    torch.onnx.export(
        module.eval(),
        (torch.from_numpy(sample.input_ids), torch.from_numpy(sample.attention_mask)),
        str(path),
        input_names=["input_ids", "attention_mask"],
        output_names=list(outputs),
        dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, **outputs},
        opset_version=17,
        # The TorchScript exporter: the dynamo one needs onnxscript and gains nothing here.
        dynamo=False,
    )
    return path


def calibration_batches(
    encoder: TextEncoder, texts: Sequence[str], *, fixed_width: bool
) -> Iterator[TokenBatch]:
    """Calibration batches. ``fixed_width`` pads every batch to ``max_length``, as ONNX
    Runtime's histogram calibrators (Percentile, Entropy) need: they stack every batch's
    activations. MinMax takes length-sorted batches, so padding adds no ranges of its own."""
    texts = list(texts) or list(_FALLBACK_CALIBRATION)
    if not fixed_width:
        for _, batch in encoder.sorted_batches(texts, _CALIBRATION_BATCH):
            yield batch
        return
    # Repeat a short list so even the last batch is full.
    while len(texts) % _CALIBRATION_BATCH:
        texts.append(texts[len(texts) % _CALIBRATION_BATCH])
    width = encoder.max_length
    for start in range(0, len(texts), _CALIBRATION_BATCH):
        batch = encoder.encode(texts[start : start + _CALIBRATION_BATCH])
        ids = np.full((len(batch), width), encoder.pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        ids[:, : batch.input_ids.shape[1]] = batch.input_ids
        mask[:, : batch.attention_mask.shape[1]] = batch.attention_mask
        yield TokenBatch(input_ids=ids, attention_mask=mask)


def gelu_fed_matmuls(path: Path) -> list[str]:
    """MatMul nodes that read a GELU's output: the feed-forward down-projections.

    GELU outputs have a long tail (a few large values beside many near zero), so one fixed
    uint8 range per tensor rounds most of them away. Keeping these six MatMuls in fp32 took
    label agreement with fp32 from 92% to 97-98% on validation and news_test (the fast
    model); dynamic int8, which re-ranges every batch, agreed on 96.6-97.3%.
    """
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    producer = {output: node for node in graph.node for output in node.output}

    def from_gelu(tensor: str, depth: int = 4) -> bool:
        node = producer.get(tensor)
        if node is None or depth == 0:
            return False
        if node.op_type in ("Gelu", "FastGelu", "BiasGelu", "Erf", "Tanh"):
            return True
        # The exporter writes erf GELU as (x * (1 + erf(x / sqrt 2))) * 0.5: Muls and an Add
        # over an Erf, a few nodes up.
        return node.op_type in ("Mul", "Add") and any(from_gelu(i, depth - 1) for i in node.input)

    return [
        node.name for node in graph.node if node.op_type == "MatMul" and from_gelu(node.input[0])
    ]


def activation_matmuls(path: Path) -> list[str]:
    """MatMul nodes whose two operands are both activations (no weight): attention's
    query-key scores and its probabilities times values."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    weights = {initializer.name for initializer in graph.initializer}
    constants = {
        output for node in graph.node if node.op_type == "Constant" for output in node.output
    }
    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul" and not any(i in weights or i in constants for i in node.input)
    ]


def quantize_static_int8(
    fp32: Path,
    out: Path,
    encoder: TextEncoder,
    calibration: Sequence[str],
    method: str,
    scheme: ExportScheme = ExportScheme.INT8,
) -> None:
    """Static int8 QDQ: per-channel int8 weights, uint8 activations with calibrated scales."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = calibration_batches(
                encoder, calibration, fixed_width=method != "MinMax"
            )

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self._batches, None)
            if batch is None:
                return None
            return {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask}

    prepared = fp32.with_suffix(".pre.onnx")
    # Shape inference and constant folding first, as ONNX Runtime advises before calibrating.
    quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
    extra = {"CalibPercentile": 99.999} if method == "Percentile" else {}
    kept_fp32 = gelu_fed_matmuls(prepared)
    if scheme is ExportScheme.INT8_ATTENTION_FP32:
        kept_fp32 += activation_matmuls(prepared)
    quantize_static(
        str(prepared),
        str(out),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        # 7-bit weights: on x86 CPUs without VNNI (AVX2 only, as many servers and this
        # project's CI machines are) the u8 x s8 kernel sums pairs of products in 16 bits and
        # saturates with full 8-bit weights, which moved the tiny test model's logits by 30%.
        reduce_range=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Gemm"],
        calibrate_method=CalibrationMethod[method],
        extra_options=extra,
        nodes_to_exclude=kept_fp32,
    )


def _export(
    module: torch.nn.Module,
    encoder: TextEncoder,
    target: Path,
    kind: ModelKind,
    source: Path,
    calibration: Sequence[str],
    scheme: ExportScheme = ExportScheme.INT8,
) -> Path:
    started = time.perf_counter()
    out = onnx_file(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    texts = list(calibration)[:CALIBRATION_SENTENCES]
    with tempfile.TemporaryDirectory(prefix="claimstance-onnx-") as scratch:
        fp32 = write_fp32_onnx(module, encoder, Path(scratch) / "model.onnx")
        if scheme is ExportScheme.FP32:
            # The served file keeps its one name, so every loader finds it; the manifest
            # says what it holds.
            shutil.copyfile(fp32, out)
        else:
            quantize_static_int8(fp32, out, encoder, texts, CALIBRATION_METHOD, scheme)
    quantization = (
        SCHEME_DESCRIPTIONS[scheme]
        if scheme is ExportScheme.FP32
        else (
            f"static int8 QDQ, per-channel weights, uint8 activations calibrated "
            f"({CALIBRATION_METHOD}) on {len(texts) or len(_FALLBACK_CALIBRATION)} sentences; "
            f"{SCHEME_DESCRIPTIONS[scheme]}"
        )
    )
    manifest = {
        "kind": kind,
        "source": str(source),
        "max_length": encoder.max_length,
        "scheme": scheme.value,
        "quantization": quantization,
        "batch_independent": True,
        "outputs": list(output_axes(module)),
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


def export_classifier(
    model_dir: Path, calibration: Sequence[str] = (), scheme: ExportScheme = ExportScheme.INT8
) -> Path:
    """Write ``onnx/model.int8.onnx`` into a classifier directory; returns its path.

    ``calibration``: training sentences the activation scales are fitted on (the first
    ``CALIBRATION_SENTENCES``); a small built-in sample when empty. ``scheme``: how much of
    the graph is int8 (training tries them fastest first, ``export_model_dir``).
    """
    card = ModelCard.load(model_dir)
    module = load_logits_module(model_dir, card.pooling, **_EXPORT_LOAD_OPTIONS)
    encoder = TextEncoder.from_directory(model_dir, card.max_length)
    return _export(module, encoder, model_dir, "classifier", model_dir, calibration, scheme)


def export_encoder(
    source_dir: Path, target_dir: Path, max_length: int, calibration: Sequence[str] = ()
) -> Path:
    """Copy an encoder's tokenizer and configs to ``target_dir`` and write its int8 ONNX graph."""
    target_dir.mkdir(parents=True, exist_ok=True)
    for name in _ENCODER_FILES:
        if (source_dir / name).is_file():
            shutil.copyfile(source_dir / name, target_dir / name)
    module = SentenceEmbeddingModule.from_pretrained(source_dir, **_EXPORT_LOAD_OPTIONS)
    encoder = TextEncoder.from_directory(source_dir, max_length)
    return _export(module, encoder, target_dir, "encoder", source_dir, calibration)
