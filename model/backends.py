"""The forward pass behind one small seam: a token batch in, one float32 row per text out.

The classifier's backend returns logits, the sentence encoder's returns unit
vectors; callers never see which engine ran them. A classifier with an attribution
head has a second output, token logits (one row per token), which ``run`` returns
beside the first; ``__call__`` and ``map`` return the first output alone.

- ``torch``: the saved weights in fp32 on CPU or CUDA. Always available where
  torch is installed, and the reference the others are measured against.
- ``onnx``: ONNX Runtime on the int8 export beside the weights
  (``onnx/model.int8.onnx``, written by ``model.export``): static int8 with fixed,
  calibrated activation scales, so a text's scores do not depend on what shares its
  batch. It needs neither torch nor transformers.
- ``auto``: ``onnx`` on CPU when the export is there, else ``torch``.

torch and onnxruntime are imported only when a backend that needs them is built,
so a process serving ONNX never loads torch.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, get_args

import numpy as np

from model.device import resolve_device_name
from model.encoding import TextEncoder, TokenBatch

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

BackendSetting = Literal["auto", "torch", "onnx"]
BACKEND_SETTINGS: tuple[str, ...] = get_args(BackendSetting)
ModelKind = Literal["classifier", "encoder"]

ONNX_DIR = "onnx"
ONNX_INT8_FILE = "model.int8.onnx"
# What the export was made from, so a stale or foreign file is not served by mistake.
ONNX_MANIFEST = "export.json"
# Padded tokens per single-threaded ONNX pass: about four news sentences (OnnxBackend).
SINGLE_THREAD_BATCH_TOKENS = 128


class BackendError(ValueError):
    """The requested backend cannot run this model here; the message says what to do."""


class Backend(Protocol):
    """One forward pass: ids and mask of a batch -> float32 array, one row per text."""

    name: str
    device: str
    # How many batches the backend runs at once; callers split work at least this many ways.
    parallel: int
    # Padded tokens per batch beyond which a batch is split; None: batch_size alone decides.
    max_batch_tokens: int | None

    # What each forward pass returns, in order: ("output",), or ("output", "token_logits").
    output_names: tuple[str, ...]

    def __call__(self, batch: TokenBatch) -> np.ndarray: ...

    def map(self, batches: Sequence[TokenBatch]) -> list[np.ndarray]:
        """Every batch's output, in order; a backend may run several at once."""
        ...

    def run(self, batch: TokenBatch) -> tuple[np.ndarray, ...]:
        """Every output of one forward pass, in ``output_names`` order."""
        ...

    def run_many(self, batches: Sequence[TokenBatch]) -> list[tuple[np.ndarray, ...]]:
        """``run`` over every batch, in order; a backend may run several at once."""
        ...


def _work_batches(
    backend: Backend,
    encoder: TextEncoder,
    texts: Sequence[str],
    batch_size: int,
    offsets: bool = False,
) -> list[tuple[np.ndarray, TokenBatch]]:
    """``texts`` as token-count-sorted batches, in the order the backend should run them."""
    # 30 claims on a two-way backend run as two batches of 15, not one batch on one core.
    size = max(1, min(batch_size, -(-len(texts) // backend.parallel)))
    batches = encoder.sorted_batches(texts, size, backend.max_batch_tokens, offsets=offsets)
    # Longest first: the workers take batches in order, so the short ones fill in at the end
    # and no core waits on one long batch.
    batches.reverse()
    return batches


def forward_sorted(
    backend: Backend, encoder: TextEncoder, texts: Sequence[str], batch_size: int, width: int
) -> np.ndarray:
    """Rows for ``texts`` in input order, computed over token-count-sorted batches."""
    output = np.empty((len(texts), width), dtype=np.float32)
    batches = _work_batches(backend, encoder, texts, batch_size)
    rows = backend.map([batch for _, batch in batches])
    for (indices, _), values in zip(batches, rows, strict=True):
        output[indices] = values
    return output


def forward_batches(
    backend: Backend,
    encoder: TextEncoder,
    texts: Sequence[str],
    batch_size: int,
    *,
    offsets: bool = False,
) -> list[tuple[np.ndarray, TokenBatch, tuple[np.ndarray, ...]]]:
    """(input positions, batch, every output) per batch, batched as ``forward_sorted``
    batches: for a caller that reads more than the first output (an attribution head).
    ``offsets``: the batches carry their tokens' characters."""
    batches = _work_batches(backend, encoder, texts, batch_size, offsets)
    outputs = backend.run_many([batch for _, batch in batches])
    return [
        (indices, batch, values) for (indices, batch), values in zip(batches, outputs, strict=True)
    ]


def onnx_file(directory: Path) -> Path:
    return Path(directory) / ONNX_DIR / ONNX_INT8_FILE


def has_onnx_export(directory: Path, kind: ModelKind) -> bool:
    manifest = Path(directory) / ONNX_DIR / ONNX_MANIFEST
    if not (onnx_file(directory).is_file() and manifest.is_file()):
        return False
    return json.loads(manifest.read_text(encoding="utf-8")).get("kind") == kind


class TorchBackend:
    """A torch module mapping (input_ids, attention_mask) to the output rows."""

    name = "torch"
    parallel = 1
    # torch spreads one batch over all its threads (or a GPU): bigger batches pay there.
    max_batch_tokens = None

    def __init__(self, module: torch.nn.Module, device: str) -> None:
        import torch

        self._torch = torch
        self.device = device
        self.module = module.to(device).eval()
        # A module with several outputs (model.network.JointLogitsModule) names them.
        self.output_names: tuple[str, ...] = tuple(getattr(module, "output_names", ("output",)))

    def _forward(self, batch: TokenBatch) -> tuple[torch.Tensor, ...]:
        torch = self._torch
        with torch.inference_mode():
            output = self.module(
                torch.from_numpy(batch.input_ids).to(self.device),
                torch.from_numpy(batch.attention_mask).to(self.device),
            )
        return output if isinstance(output, tuple) else (output,)

    def run(self, batch: TokenBatch) -> tuple[np.ndarray, ...]:
        return tuple(value.float().cpu().numpy() for value in self._forward(batch))

    def __call__(self, batch: TokenBatch) -> np.ndarray:
        # The first output alone, as OnnxBackend does: the token states or token logits a
        # module also returns are not copied off the device for a caller that reads none.
        return self._forward(batch)[0].float().cpu().numpy()

    def map(self, batches: Sequence[TokenBatch]) -> list[np.ndarray]:
        # torch spreads one batch over its own intra-op threads already.
        return [self(batch) for batch in batches]

    def run_many(self, batches: Sequence[TokenBatch]) -> list[tuple[np.ndarray, ...]]:
        return [self.run(batch) for batch in batches]


class OnnxBackend:
    """ONNX Runtime on CPU; one session, run from several threads at once.

    On a small encoder, one thread per forward pass with one batch per core in
    flight beats spreading each batch over every core: measured on 2 cores,
    718 against 625 sentences/s, and a lone sentence is as fast (2.4 ms).
    ``threads`` > 1 spreads each pass instead, with fewer passes at once.

    With one thread per pass, batches are capped at ``SINGLE_THREAD_BATCH_TOKENS`` padded
    tokens: a pass over 32 news sentences (about 1,000 tokens) spills its activations out
    of the core's cache. Calls of 64 real news sentences ran 2.5x faster as batches of
    about four sentences than as 2 batches of 32 (static int8: 275 -> 684 sentences/s;
    dynamic: 363 -> 935), calls of 8 1.2-1.3x and calls of 256 1.3x; budgets of 96 to
    256 tokens were within noise of each other. Relative timings within one run on a
    2-core machine busy with a training job: ratios, not absolute figures.
    """

    name = "onnx"
    device = "cpu"

    def __init__(self, path: Path, threads: int | None = None) -> None:
        import onnxruntime

        cores = os.cpu_count() or 1
        per_pass = threads or 1
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = per_pass
        options.inter_op_num_threads = 1
        self.path = path
        self.parallel = max(1, cores // per_pass)
        self.max_batch_tokens = SINGLE_THREAD_BATCH_TOKENS if per_pass == 1 else None
        self._session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.output_names = tuple(output.name for output in self._session.get_outputs())
        self._pool = (
            ThreadPoolExecutor(self.parallel, thread_name_prefix="claimstance-onnx")
            if self.parallel > 1
            else None
        )

    def _feeds(self, batch: TokenBatch) -> dict[str, np.ndarray]:
        return {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask}

    def __call__(self, batch: TokenBatch) -> np.ndarray:
        # The first output alone: stance logits, or the encoder's vectors.
        (output,) = self._session.run(self.output_names[:1], self._feeds(batch))
        return output

    def run(self, batch: TokenBatch) -> tuple[np.ndarray, ...]:
        return tuple(self._session.run(list(self.output_names), self._feeds(batch)))

    def map(self, batches: Sequence[TokenBatch]) -> list[np.ndarray]:
        if self._pool is None or len(batches) < 2:
            return [self(batch) for batch in batches]
        return list(self._pool.map(self, batches))

    def run_many(self, batches: Sequence[TokenBatch]) -> list[tuple[np.ndarray, ...]]:
        if self._pool is None or len(batches) < 2:
            return [self.run(batch) for batch in batches]
        return list(self._pool.map(self.run, batches))


def _torch_module(
    directory: Path, kind: ModelKind, pooling: str, allow_pickle: bool
) -> torch.nn.Module:
    from model.network import SentenceEmbeddingModule, load_logits_module

    if kind == "classifier":
        return load_logits_module(directory, pooling, allow_pickle=allow_pickle)
    return SentenceEmbeddingModule.from_pretrained(directory, allow_pickle=allow_pickle)


def load_backend(
    directory: Path,
    kind: ModelKind,
    *,
    setting: str = "auto",
    device: str = "auto",
    pooling: str = "cls",
    threads: int | None = None,
    allow_pickle: bool = False,
) -> Backend:
    """The backend ``setting`` asks for, on ``device``, for the model in ``directory``.

    torch reads safetensors weights only, unless ``allow_pickle`` (``model.weights``);
    the ONNX export is a protobuf graph, never a pickle.
    """
    if setting not in BACKEND_SETTINGS:
        raise BackendError(
            f"unknown backend {setting!r}: expected one of {', '.join(BACKEND_SETTINGS)}"
        )
    device_name = resolve_device_name(device)
    exported = has_onnx_export(directory, kind)
    wants_onnx = setting == "onnx" or (setting == "auto" and exported and device_name == "cpu")
    if wants_onnx:
        if device_name != "cpu":
            raise BackendError(
                f"the onnx backend runs on the CPU, not {device_name}: "
                "set the backend to torch (or auto) for the GPU"
            )
        if not exported:
            raise BackendError(
                f"{directory} has no {ONNX_DIR}/{ONNX_INT8_FILE} for a {kind}: export it with "
                "`python -m training export`, or set the backend to torch"
            )
        if importlib.util.find_spec("onnxruntime") is None:
            raise BackendError("the onnx backend needs onnxruntime: pip install onnxruntime")
        logger.info("%s: ONNX Runtime int8 from %s", kind, onnx_file(directory))
        return OnnxBackend(onnx_file(directory), threads)
    if importlib.util.find_spec("torch") is None:
        raise BackendError(
            f"the torch backend needs torch, which is not installed; "
            f"export the {kind} to ONNX or install torch"
        )
    try:
        module = _torch_module(directory, kind, pooling, allow_pickle)
    except (FileNotFoundError, OSError) as error:
        raise BackendError(str(error)) from None
    if threads:
        import torch

        torch.set_num_threads(threads)
    logger.info("%s: torch fp32 on %s from %s", kind, device_name, directory)
    return TorchBackend(module, device_name)
