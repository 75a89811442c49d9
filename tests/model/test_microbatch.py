"""Micro-batching: concurrent callers share forward passes and each gets its own answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from model.card import ModelCard
from model.classifier import Prediction
from model.labels import LABELS, Label
from model.microbatch import MicroBatcher


class SlowEcho:
    """Labels "no ..." as denial and anything else as assertion; records each batch it gets."""

    card = ModelCard(base_model="echo")
    device = "cpu"

    def __init__(self, seconds: float = 0.02) -> None:
        self.seconds = seconds
        self.batches: list[list[str]] = []
        self.lock = threading.Lock()

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        with self.lock:
            self.batches.append(list(texts))
        if any(text == "explode" for text in texts):
            raise RuntimeError("model failure")
        time.sleep(self.seconds)
        return [
            Prediction(
                label=Label.DENIAL if text.startswith("no") else Label.ASSERTION,
                scores={label: 1 / len(LABELS) for label in LABELS},
            )
            for text in texts
        ]


def test_concurrent_requests_share_forward_passes_and_keep_their_own_answers() -> None:
    inner = SlowEcho()
    batcher = MicroBatcher(inner, max_batch=64, max_wait_s=0.01)
    requests = [[f"no {i}", f"yes {i}"] if i % 2 else [f"yes {i}"] for i in range(32)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(batcher.predict, requests))
    batcher.close()
    for texts, predictions in zip(requests, answers, strict=True):
        expected = [Label.DENIAL if t.startswith("no") else Label.ASSERTION for t in texts]
        assert [p.label for p in predictions] == expected
    # Without coalescing there would be one pass per request.
    assert batcher.forward_passes == len(inner.batches) < len(requests) / 4
    assert max(len(batch) for batch in inner.batches) <= 64 + 2


def test_a_lone_request_is_not_held_for_company() -> None:
    batcher = MicroBatcher(SlowEcho(seconds=0.0), max_batch=64, max_wait_s=0.002)
    started = time.perf_counter()
    batcher.predict(["one claim"])
    assert time.perf_counter() - started < 0.1
    batcher.close()


def test_a_bad_text_fails_only_its_own_request() -> None:
    inner = SlowEcho()
    batcher = MicroBatcher(inner, max_batch=64, max_wait_s=0.01)
    with pytest.raises(ValueError, match="non-empty string"):
        batcher.predict(["fine", "  "])
    assert inner.batches == []  # refused before it could join a shared batch
    assert [p.label for p in batcher.predict(["no way"])] == [Label.DENIAL]
    batcher.close()


def test_a_model_failure_reaches_every_caller_and_the_thread_goes_on() -> None:
    batcher = MicroBatcher(SlowEcho(), max_batch=64, max_wait_s=0.0)
    with pytest.raises(RuntimeError, match="model failure"):
        batcher.predict(["explode"])
    assert [p.label for p in batcher.predict(["yes"])] == [Label.ASSERTION]
    batcher.close()
    with pytest.raises(RuntimeError, match="stopped"):
        batcher.predict(["after close"])


def test_a_closed_batcher_refuses_at_once_instead_of_hanging() -> None:
    """A hot swap closes a batcher that a request may still call: it must fail, not wait."""
    batcher = MicroBatcher(SlowEcho(seconds=0.0))
    assert batcher.predict(["fine"])[0].label is Label.ASSERTION
    batcher.close()
    with ThreadPoolExecutor(1) as pool:
        late = pool.submit(batcher.predict, ["too late"])
        with pytest.raises(RuntimeError, match="inference thread has stopped"):
            late.result(timeout=5)


def test_micro_batched_answers_equal_answers_alone(tiny_exported_dir: Path) -> None:
    """With the static int8 export, coalescing concurrent requests changes no score: a text
    gets the answer it gets alone, whoever else was in the forward pass."""
    from model.classifier import ClaimClassifier
    from tests.model.test_backends import varied_sentences

    classifier = ClaimClassifier.from_directory(tiny_exported_dir, device="cpu", backend="onnx")
    texts = varied_sentences(64, seed=3)
    alone = [classifier.predict([text])[0] for text in texts]
    batcher = MicroBatcher(classifier, max_batch=64, max_wait_s=0.005)
    requests = [[text] for text in texts] + [texts[i : i + 5] for i in range(0, 64, 5)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(batcher.predict, requests))
    batcher.close()
    assert batcher.forward_passes < len(requests)  # requests did share passes
    expected = {text: prediction for text, prediction in zip(texts, alone, strict=True)}
    for request, predictions in zip(requests, answers, strict=True):
        for text, prediction in zip(request, predictions, strict=True):
            assert prediction.label == expected[text].label
            for label in LABELS:
                assert abs(prediction.scores[label] - expected[text].scores[label]) < 1e-5


def test_submit_hands_back_a_future_and_a_cancelled_job_never_runs() -> None:
    """The service awaits ``submit``'s future on its event loop; a request that goes away
    cancels it, and its texts stay out of the next forward pass."""
    entered, gate = threading.Event(), threading.Event()

    class Gated(SlowEcho):
        def predict(self, texts: Sequence[str]) -> list[Prediction]:
            entered.set()
            gate.wait(timeout=10)
            return super().predict(texts)

    inner = Gated(seconds=0.0)
    batcher = MicroBatcher(inner, max_batch=64, max_wait_s=0.0)
    first = batcher.submit(["yes first"])
    assert entered.wait(timeout=5)  # the first job holds the inference thread
    gone = batcher.submit(["no one waits"])
    kept = batcher.submit(["no one left"])
    assert gone.cancel()
    gate.set()
    assert [p.label for p in first.result(timeout=5)] == [Label.ASSERTION]
    assert [p.label for p in kept.result(timeout=5)] == [Label.DENIAL]
    assert batcher.submit([]).result(timeout=0) == []
    batcher.close()
    assert inner.batches == [["yes first"], ["no one left"]]
