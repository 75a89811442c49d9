"""Helpers shared by the service tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from model.alignment import ClaimTokens
from model.card import ModelCard
from model.classifier import Prediction
from model.embeddings import SentenceEmbedder
from model.labels import LABELS, Label
from service.settings import Settings


def make_settings(model_dir: Path | str, tmp_path: Path, **overrides: Any) -> Settings:
    """Explicit settings, so a developer's CLAIMSTANCE_* or MLFLOW_* variables cannot leak in."""
    values: dict[str, Any] = {
        "model_uri": str(model_dir),
        # The tiny BERT is an encoder too: /compare works without loading the real one.
        "embedder_dir": str(model_dir),
        # A store that does not exist: any accidental registry lookup fails loudly.
        "tracking_uri": f"sqlite:///{tmp_path / 'no-store' / 'mlflow.db'}",
        "device": "cpu",
        "batch_size": 8,
        "max_texts": 64,
        "max_chars": 100_000,
        # The test client's Host; a keyless app answers only local names by default.
        "allowed_hosts": ["testserver", "localhost", "127.0.0.1"],
        # Never feedback.db in the checkout, nor a store CLAIMSTANCE_FEEDBACK_URL names.
        "feedback_path": tmp_path / "feedback.db",
        "feedback_url": None,
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def served(app: FastAPI, **config: Any) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free loopback port in a thread; yields its base URL.

    For what a test client cannot show: concurrent requests, raw sockets, timing.
    """
    # Bound here and handed to uvicorn, so no other process can take the port in between.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def read_head(sock: socket.socket) -> bytes:
    """What a raw socket receives up to the end of the response's headers (or its close)."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        data = sock.recv(65_536)
        if not data:
            break
        answer += data
    return answer


def metric_samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def metric_value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@contextmanager
def mlflow_pointed_at(tracking_uri: str) -> Iterator[None]:
    """Point MLflow's process-wide tracking and registry URIs at a store, then restore them.

    ``mlflow.set_tracking_uri`` also writes MLFLOW_TRACKING_URI into the
    environment, which would leak the temporary store into later tests.
    """
    import mlflow

    previous_env = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
        if previous_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous_env


# --- stand-ins whose output a test can predict ---------------------------------------

_WORD = re.compile(r"\w+")


class KeywordClassifier:
    """Labels by keyword ("never"/"denied": denial; "may"/"not yet": caveat; else assertion).

    The tiny random BERT gives nearly the same scores to every text, so tests that
    need a disagreement, or a particular label in a particular cell, use this.
    """

    card = ModelCard(base_model="keyword-rules", max_length=64)
    device = "cpu"
    confidence = 0.8

    @staticmethod
    def label_of(text: str) -> Label:
        words = set(_WORD.findall(text.lower()))
        if words & {"never", "denied", "deny", "denies"}:
            return Label.DENIAL
        if "may" in words or "not yet" in text.lower():
            return Label.CAVEAT
        return Label.ASSERTION

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        predictions = []
        for text in texts:
            label = self.label_of(text)
            rest = (1.0 - self.confidence) / (len(LABELS) - 1)
            scores = {other: self.confidence if other is label else rest for other in LABELS}
            predictions.append(Prediction(label=label, scores=scores))
        return predictions


class WordEmbedder:
    """Bag-of-words unit vectors: cosine similarity is word overlap, so groups are predictable.

    The tiny BERT's vectors are all nearly parallel (every pair above 0.98), so it
    groups everything with everything: fine for the loading path, not for grouping.
    """

    dim = 4096

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                # crc32, not hash(): Python salts str hashes per process.
                vectors[row, zlib.crc32(word.encode()) % self.dim] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


class SlowClassifier(KeywordClassifier):
    """Keyword labels at a known cost: ``per_text_s`` a text, slept, so the CPU stays free.

    Counts its calls and texts; with ``gate`` set, every call waits for it first (after
    setting ``entered``), so a test can hold a request in flight as long as it likes.
    """

    def __init__(
        self, per_text_s: float = 0.0, gate: threading.Event | None = None, name: str = ""
    ) -> None:
        self.per_text_s = per_text_s
        self.gate = gate
        self.name = name
        self.entered = threading.Event()
        self.calls = 0
        self.texts = 0
        self._lock = threading.Lock()

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        with self._lock:
            self.calls += 1
            self.texts += len(texts)
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(timeout=30)
        if self.per_text_s:
            time.sleep(self.per_text_s * len(texts))
        return super().predict(texts)


class CountingEmbedder(WordEmbedder):
    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        return super().embed(texts)


def sentences(count: int, start: int = 0) -> str:
    """``count`` distinct sentences (claims are de-duplicated, so each must differ)."""
    return " ".join(
        f"Officials said report {index} was accurate." for index in range(start, start + count)
    )


class RecordingEmbedder:
    """A sentence encoder that notes which of its two calls grouping made."""

    def __init__(self, inner: SentenceEmbedder) -> None:
        self.inner = inner
        self.calls: list[str] = []

    @property
    def has_token_states(self) -> bool:
        return self.inner.has_token_states

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append("embed")
        return self.inner.embed(texts)

    def embed_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, ClaimTokens]:
        self.calls.append("embed_tokens")
        return self.inner.embed_tokens(texts)
