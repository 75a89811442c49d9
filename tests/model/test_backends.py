"""The backend seam: the tokenizer without transformers, the int8 ONNX export, and choosing."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from transformers import AutoTokenizer

from model.backends import has_onnx_export, load_backend
from model.classifier import ClaimClassifier, ModelDirectoryError
from model.embeddings import SentenceEmbedder, packaged_model_dir
from model.encoding import TextEncoder
from model.export import export_classifier

TEXTS = [
    "Moscow denied the reports at the time.",
    "The purchases had not yet been completed.",
    "US officials said Russia was buying shells and rockets from North Korea before the plan.",
    "No.",
    "Kirby said the purchases may not have been completed, and the officials did not say "
    "whether the weapons were exported to Russia by North Korea or bought by Moscow.",
]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def exported_dir(tiny_exported_dir: Path) -> Path:
    return tiny_exported_dir


@pytest.mark.parametrize("max_length", [8, 64])
def test_fast_tokenizer_gives_transformers_ids(tiny_model_dir: Path, max_length: int) -> None:
    reference = AutoTokenizer.from_pretrained(tiny_model_dir)(
        TEXTS, padding=True, truncation=True, max_length=max_length, return_tensors="np"
    )
    batch = TextEncoder.from_directory(tiny_model_dir, max_length).encode(TEXTS)
    np.testing.assert_array_equal(batch.input_ids, reference["input_ids"])
    np.testing.assert_array_equal(batch.attention_mask, reference["attention_mask"])


def test_fast_tokenizer_matches_the_packaged_encoder() -> None:
    directory = packaged_model_dir()
    reference = AutoTokenizer.from_pretrained(directory)(
        TEXTS, padding=True, truncation=True, max_length=16, return_tensors="np"
    )
    batch = TextEncoder.from_directory(directory, 16).encode(TEXTS)
    np.testing.assert_array_equal(batch.input_ids, reference["input_ids"])


def test_int8_export_scores_like_fp32_whatever_the_batch(exported_dir: Path) -> None:
    assert has_onnx_export(exported_dir, "classifier")
    fp32 = ClaimClassifier.from_directory(exported_dir, device="cpu", backend="torch")
    int8 = ClaimClassifier.from_directory(exported_dir, device="cpu", backend="onnx")
    assert (fp32.backend.name, int8.backend.name) == ("torch", "onnx")
    reference = fp32.logits(TEXTS)
    spread = float(np.ptp(reference))
    np.testing.assert_allclose(int8.logits(TEXTS), reference, atol=0.1 * spread)
    # Shapes other than the traced sample's: one at a time, and padded beside longer texts.
    # Static int8 has fixed activation scales, so neighbours move nothing; a graph traced
    # with a fixed shape would be off by far more.
    int8.batch_size = 1
    one_by_one = int8.logits(TEXTS)
    int8.batch_size = 5
    np.testing.assert_allclose(int8.logits(TEXTS), one_by_one, atol=1e-5)


_WORDS = [
    "officials",
    "denied",
    "the",
    "reports",
    "said",
    "russia",
    "may",
    "have",
    "bought",
    "shells",
    "and",
    "rockets",
    "from",
    "north",
    "korea",
    "but",
    "moscow",
    "never",
    "confirmed",
    "whether",
    "the",
    "purchases",
    "were",
    "completed",
    "or",
    "not",
    "yet",
]


def varied_sentences(count: int, seed: int = 0) -> list[str]:
    """Sentences of 1 to 60 words, so batches mix short texts with long, padded neighbours."""
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(_WORDS) for _ in range(rng.choice([1, 2, 4, 8, 15, 30, 60]))) + "."
        for _ in range(count)
    ]


def batch_drift(classifier: ClaimClassifier, texts: list[str]) -> tuple[float, int]:
    """Largest probability change and number of label changes between each text scored
    alone and the same text in batches of 8, 32 and 64 (length-sorted, in input order,
    shuffled) and padded beside the longest texts."""
    alone = np.concatenate([classifier.predict_proba([text]) for text in texts])
    encoder, backend = classifier.encoder, classifier.backend

    def proba(logits: np.ndarray) -> np.ndarray:
        scaled = logits / classifier.card.temperature
        exp = np.exp(scaled - scaled.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    runs = []
    for size in (8, 32, 64):
        classifier.batch_size = size
        runs.append(classifier.predict_proba(texts))
        # Unsorted: each batch padded to its own longest member.
        runs.append(
            np.concatenate(
                [
                    proba(backend(encoder.encode(texts[start : start + size])))
                    for start in range(0, len(texts), size)
                ]
            )
        )
    order = list(range(len(texts)))
    random.Random(1).shuffle(order)
    classifier.batch_size = 64
    shuffled = np.empty_like(alone)
    shuffled[order] = classifier.predict_proba([texts[i] for i in order])
    runs.append(shuffled)
    longest = sorted(texts, key=len)[-7:]
    runs.append(
        np.concatenate([proba(backend(encoder.encode([text, *longest])))[:1] for text in texts])
    )
    drift = max(float(np.abs(run - alone).max()) for run in runs)
    flips = sum(int((run.argmax(axis=1) != alone.argmax(axis=1)).sum()) for run in runs)
    return drift, flips


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_int8_scores_do_not_depend_on_batch_neighbours(
    pooling: str, tiny_model_dir: Path, mean_model_dir: Path, tmp_path: Path
) -> None:
    """One text, one answer: the served int8 export scores a text the same whatever shares
    its batch; dynamic int8 (one activation range per batch, the export before) did not."""
    directory = tmp_path / "model"
    shutil.copytree(tiny_model_dir if pooling == "cls" else mean_model_dir, directory)
    texts = varied_sentences(128)
    export_classifier(directory, varied_sentences(64, seed=2))
    static = ClaimClassifier.from_directory(directory, device="cpu", backend="onnx")
    drift, flips = batch_drift(static, texts)
    assert drift < 1e-5 and flips == 0

    # The same check on a dynamic quantisation of the same graph moves scores: it has teeth.
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from model.backends import OnnxBackend
    from model.export import write_fp32_onnx
    from model.network import load_logits_module

    fp32 = write_fp32_onnx(
        load_logits_module(directory, pooling), static.encoder, tmp_path / "fp32.onnx"
    )
    quantize_dynamic(fp32, tmp_path / "dynamic.onnx", per_channel=True, weight_type=QuantType.QInt8)
    static.backend = OnnxBackend(tmp_path / "dynamic.onnx")
    assert batch_drift(static, texts)[0] > 1e-5


def test_auto_picks_onnx_when_exported_and_torch_otherwise(
    exported_dir: Path, tiny_model_dir: Path
) -> None:
    assert ClaimClassifier.from_directory(exported_dir, device="cpu").backend.name == "onnx"
    assert ClaimClassifier.from_directory(tiny_model_dir, device="cpu").backend.name == "torch"


def test_onnx_without_an_export_says_how_to_make_one(tiny_model_dir: Path) -> None:
    with pytest.raises(ModelDirectoryError, match="python -m training export"):
        ClaimClassifier.from_directory(tiny_model_dir, device="cpu", backend="onnx")


def test_unknown_backend_is_refused(tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        load_backend(tiny_model_dir, "classifier", setting="tensorrt")


def test_an_encoder_export_is_not_served_as_a_classifier(exported_dir: Path) -> None:
    assert has_onnx_export(exported_dir / "encoder", "encoder")
    assert not has_onnx_export(exported_dir / "encoder", "classifier")


def test_exported_encoder_gives_the_same_unit_vectors(
    exported_dir: Path, tiny_model_dir: Path
) -> None:
    torch_vectors = SentenceEmbedder.from_directory(
        tiny_model_dir, device="cpu", backend="torch"
    ).embed(TEXTS)
    onnx_embedder = SentenceEmbedder.from_directory(exported_dir / "encoder", device="cpu")
    assert onnx_embedder.backend.name == "onnx"
    onnx_vectors = onnx_embedder.embed(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-5)
    cosine = (torch_vectors * onnx_vectors).sum(axis=1)
    assert cosine.min() > 0.99


_NO_TORCH = """
import importlib.abc, sys

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "transformers"}:
            raise ImportError(f"{name} is blocked: serving on ONNX must not import it")
        return None

sys.meta_path.insert(0, Refuse())
from pathlib import Path
from model.classifier import ClaimClassifier
from model.embeddings import SentenceEmbedder
from service.app import create_app

directory = Path(sys.argv[1])
classifier = ClaimClassifier.from_directory(directory, device="auto")
assert classifier.backend.name == "onnx", classifier.backend.name
print(classifier.predict(["Moscow denied the reports."])[0].label.value)
print(SentenceEmbedder.from_directory(directory / "encoder").embed(["a claim"]).shape)
create_app()
heavy = sorted({"torch", "transformers", "mlflow", "matplotlib", "pandas"} & set(sys.modules))
print("heavy:", heavy)
"""


def test_serving_on_onnx_imports_no_torch(exported_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _NO_TORCH, str(exported_dir)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] in {"assertion", "denial", "caveat"}
    assert lines[1] == "(1, 32)"
    assert lines[-1] == "heavy: []"


def test_token_budget_splits_batches_and_keeps_every_text(tiny_model_dir: Path) -> None:
    encoder = TextEncoder.from_directory(tiny_model_dir, 64)
    texts = varied_sentences(64)
    batches = encoder.sorted_batches(texts, 32, max_tokens=128)
    assert sorted(int(i) for indices, _ in batches for i in indices) == list(range(len(texts)))
    for _, batch in batches:
        assert len(batch) <= 32
        # Over budget only when one text alone is longer than the budget.
        assert batch.input_ids.size <= 128 or len(batch) == 1
    # Without a budget only batch_size splits: the two 32s the service used to run.
    assert [len(batch) for _, batch in encoder.sorted_batches(texts, 32)] == [32, 32]


def test_single_threaded_onnx_caps_batch_tokens(exported_dir: Path) -> None:
    """One thread per pass: small batches that stay in the core's cache; an explicit thread
    count spreads each pass, where bigger batches pay."""
    assert load_backend(exported_dir, "classifier", setting="onnx").max_batch_tokens == 128
    assert (
        load_backend(exported_dir, "classifier", setting="onnx", threads=2).max_batch_tokens is None
    )
