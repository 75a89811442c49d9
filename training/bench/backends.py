"""``make bench``: the serving backends side by side with ``transformers.pipeline``.

In-process mode runs each path in its own child process (so peak RSS is its
own) on the same real news sentences: the pipeline first, then torch fp32,
torch dynamic int8, ONNX Runtime fp32 and ONNX Runtime int8 (the default).
Each reports batch throughput, batch-1 latency p50/p99, validation and
news_test macro-F1 and peak RSS; one table prints them with ratios to the
pipeline.

HTTP mode starts the service (``python -m service``) on loopback with
micro-batching on, then off, and measures start-to-ready, one-claim latency
(1 client), requests/s at 1, 8 and 32 concurrent clients, ``/compare`` on the
five example articles, and the service's RSS after start and after the load.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from model.labels import LABELS, Label
from training.bench.server import rss_mb, running_service
from training.metrics import evaluate

PATHS = ("pipeline", "torch-fp32", "torch-int8", "onnx-fp32", "onnx-int8")
SENTENCES = 2000
LATENCY_SAMPLES = 200
BATCH_SIZE = 32
# Sentences per predict call, as requests send them: a throughput column for each.
CALL_SIZES = (1, 8, 32, 64, 256)
CALL_SENTENCES = 512
# Sentences per /classify request in the HTTP run (segment off), as the issue 23 target.
REQUEST_SENTENCES = 64


@dataclass
class PathResult:
    path: str
    sentences_per_s: float
    p50_ms: float
    p99_ms: float
    validation_f1: float
    news_test_f1: float
    peak_rss_mb: float
    # Sentences/s by sentences per call (CALL_SIZES), and the share of labels that stay the
    # same when a text is scored alone and inside calls of 8 and shuffled calls of 64.
    per_call: dict[str, float] | None = None
    batch_agreement: float = float("nan")


def bench_sentences(config_path: Path | None, overrides: list[str]) -> dict[str, object]:
    """Real news sentences for speed, and the labelled validation and news_test sets."""
    from training.config import load_config
    from training.corpus.build import NEWS_TEST, build_corpus

    config = load_config(config_path, overrides)
    corpus = build_corpus(config.data, seed=config.seed)
    news = corpus.evaluation.get(NEWS_TEST, [])
    others = [e for name, rows in corpus.evaluation.items() if name != NEWS_TEST for e in rows]
    pool = list(dict.fromkeys(e.text for e in [*news, *corpus.validation, *others]))
    random.Random(0).shuffle(pool)
    return {
        "speed": pool[:SENTENCES],
        "validation": [[e.text, e.label.value] for e in corpus.validation],
        NEWS_TEST: [[e.text, e.label.value] for e in news],
    }


def _predictor(path: str, model_dir: Path, scratch: Path) -> Callable[[list[str]], list[str]]:
    """A function texts -> labels for one path, loaded and ready."""
    if path == "pipeline":
        from transformers import pipeline

        pipe = pipeline("text-classification", model=str(model_dir), device=-1)
        from model.card import ModelCard

        max_length = ModelCard.load(model_dir).max_length

        def run_pipeline(texts: list[str]) -> list[str]:
            out = pipe(texts, batch_size=BATCH_SIZE, truncation=True, max_length=max_length)
            return [row["label"].lower() for row in out]

        return run_pipeline

    from model.backends import OnnxBackend, TorchBackend
    from model.classifier import ClaimClassifier

    # Each backend's own thread settings are what is measured; the batch size is the pipeline's.
    classifier = ClaimClassifier.from_directory(
        model_dir,
        device="cpu",
        backend="onnx" if path == "onnx-int8" else "torch",
        batch_size=BATCH_SIZE,
    )
    if path == "torch-int8":
        import torch

        module = classifier.backend.module  # type: ignore[attr-defined]
        quantized = torch.ao.quantization.quantize_dynamic(
            module, {torch.nn.Linear}, dtype=torch.qint8
        )
        classifier.backend = TorchBackend(quantized, "cpu")
    elif path == "onnx-fp32":
        from model.export import write_fp32_onnx

        onnx_path = write_fp32_onnx(
            classifier.backend.module,  # type: ignore[attr-defined]
            classifier.encoder,
            scratch / "model.onnx",
        )
        classifier.backend = OnnxBackend(onnx_path)

    def run_classifier(texts: list[str]) -> list[str]:
        probabilities = classifier.predict_proba(texts)
        return [LABELS[i].value for i in probabilities.argmax(axis=1)]

    return run_classifier


def run_path(path: str, model_dir: Path, data_file: Path) -> PathResult:
    """Measure one path in this process (the parent runs each in a fresh child)."""
    data = json.loads(data_file.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as scratch:
        predict = _predictor(path, model_dir, Path(scratch))
        speed: list[str] = data["speed"]
        predict(speed[:64])  # warm-up: first-call allocations are not throughput
        started = time.perf_counter()
        predict(speed)
        throughput = len(speed) / (time.perf_counter() - started)
        latencies = []
        for text in speed[:LATENCY_SAMPLES]:
            started = time.perf_counter()
            predict([text])
            latencies.append((time.perf_counter() - started) * 1000)
        sample = speed[:CALL_SENTENCES]
        per_call = {}
        for size in CALL_SIZES:
            started = time.perf_counter()
            for start in range(0, len(sample), size):
                predict(sample[start : start + size])
            per_call[str(size)] = len(sample) / (time.perf_counter() - started)
        batch_agreement = label_agreement(predict, sample)
        scores = {}
        for name in ("validation", "news_test"):
            rows = data[name]
            if not rows:
                scores[name] = float("nan")
                continue
            # Training's own scoring, so the F1 columns read as `evaluate` and the runs do.
            truth = [Label(label) for _, label in rows]
            predicted = [Label(label) for label in predict([text for text, _ in rows])]
            scores[name] = evaluate(name, truth, predicted).macro_f1
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return PathResult(
        path=path,
        sentences_per_s=throughput,
        p50_ms=float(np.percentile(latencies, 50)),
        p99_ms=float(np.percentile(latencies, 99)),
        validation_f1=scores["validation"],
        news_test_f1=scores["news_test"],
        peak_rss_mb=peak_kb / 1024,
        per_call=per_call,
        batch_agreement=batch_agreement,
    )


def label_agreement(predict: Callable[[list[str]], list[str]], texts: Sequence[str]) -> float:
    """Share of ``texts`` whose label is the same alone, in calls of 8 in order, and in
    shuffled calls of 64: 1.0 when a text's answer does not depend on its neighbours."""
    alone = [predict([text])[0] for text in texts]
    in_eights = [
        label for s in range(0, len(texts), 8) for label in predict(list(texts[s : s + 8]))
    ]
    order = list(range(len(texts)))
    random.Random(0).shuffle(order)
    shuffled_labels = [
        label
        for s in range(0, len(order), 64)
        for label in predict([texts[i] for i in order[s : s + 64]])
    ]
    shuffled = [""] * len(texts)
    for position, label in zip(order, shuffled_labels, strict=True):
        shuffled[position] = label
    same = sum(a == b == c for a, b, c in zip(alone, in_eights, shuffled, strict=True))
    return same / len(texts)


def in_process_table(model_dir: Path, data: dict[str, object], paths: Sequence[str]) -> str:
    results: list[PathResult] = []
    with tempfile.TemporaryDirectory() as scratch:
        data_file = Path(scratch) / "data.json"
        data_file.write_text(json.dumps(data), encoding="utf-8")
        for path in paths:
            print(f"bench: {path} ...", file=sys.stderr, flush=True)
            child = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "training.bench.backends",
                    path,
                    str(model_dir),
                    str(data_file),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if child.returncode != 0:
                raise RuntimeError(f"{path} failed:\n{child.stderr[-2000:]}")
            results.append(PathResult(**json.loads(child.stdout.splitlines()[-1])))
    base = next((r for r in results if r.path == "pipeline"), results[0])
    lines = [
        f"{len(data['speed'])} real news sentences, batch {BATCH_SIZE}, "  # type: ignore[arg-type]
        f"{os.cpu_count()} CPUs; ratios are to {base.path}; agree: labels equal alone, in "
        f"calls of 8 and in shuffled calls of 64 ({CALL_SENTENCES} sentences); call N: "
        "sentences/s in calls of N sentences",
        f"{'path':<12}{'sent/s':>9}{'x':>7}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'val F1':>9}{'test F1':>9}{'RSS MB':>9}{'x':>7}{'agree':>8}"
        + "".join(f"{f'call {size}':>10}" for size in CALL_SIZES),
    ]
    for r in results:
        per_call = r.per_call or {}
        lines.append(
            f"{r.path:<12}{r.sentences_per_s:>9.0f}{r.sentences_per_s / base.sentences_per_s:>7.2f}"
            f"{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}{r.validation_f1:>9.4f}{r.news_test_f1:>9.4f}"
            f"{r.peak_rss_mb:>9.0f}{r.peak_rss_mb / base.peak_rss_mb:>7.2f}"
            f"{r.batch_agreement:>8.4f}"
            + "".join(f"{per_call.get(str(size), float('nan')):>10.0f}" for size in CALL_SIZES)
        )
    return "\n".join(lines)


# --- HTTP mode --------------------------------------------------------------------------


Request = tuple[bytes, bytes]  # (path, JSON body)


async def _post_loop(
    port: int, requests: list[Request], latencies: list[float], errors: list[str]
) -> None:
    """One keep-alive connection posting requests in turn: a client far lighter than httpx,
    so on a 2-core machine the load generator does not starve the service it measures."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while requests:
            path, body = requests.pop()
            started = time.perf_counter()
            writer.write(
                b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            await writer.drain()
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            if b" 200 " not in status:
                errors.append(status.decode().strip())
    finally:
        writer.close()


async def _run_load(port: int, requests: list[Request], clients: int) -> tuple[float, list[float]]:
    """Requests/s and per-request latencies (ms) of ``clients`` concurrent connections."""
    total = len(requests)
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    await asyncio.gather(*(_post_loop(port, requests, latencies, errors) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} of {total} requests failed, first: {errors[0]}")
    return total / elapsed, latencies


def _load_requests_of(port: int, texts: Sequence[str], size: int, count: int) -> float:
    """Sentences/s of one client sending ``count`` /classify requests of ``size`` texts each,
    segment off, so each text is one claim."""
    bodies = [
        json.dumps(
            {"texts": [texts[(i * size + j) % len(texts)] for j in range(size)], "segment": False}
        ).encode()
        for i in range(count)
    ]
    rate, _ = asyncio.run(_run_load(port, [(b"/classify", body) for body in bodies], 1))
    return rate * size


def _load(port: int, texts: Sequence[str], clients: int, count: int) -> tuple[float, list[float]]:
    bodies = [json.dumps({"text": texts[i % len(texts)]}).encode() for i in range(count)]
    return asyncio.run(_run_load(port, [(b"/classify", body) for body in bodies], clients))


def mixed_requests(
    texts: Sequence[str], articles: Sequence[str], documents: list[dict[str, str]], count: int
) -> list[Request]:
    """70% one claim, 25% a whole article, 5% /compare of the five example articles."""
    rng = random.Random(0)
    compare = json.dumps({"documents": documents}).encode()
    requests: list[Request] = []
    for _ in range(count):
        draw = rng.random()
        if draw < 0.70:
            requests.append((b"/classify", json.dumps({"text": rng.choice(texts)}).encode()))
        elif draw < 0.95:
            requests.append((b"/classify", json.dumps({"text": rng.choice(articles)}).encode()))
        else:
            requests.append((b"/compare", compare))
    return requests


def soak(port: int, pid: int, requests: list[Request], clients: int, seconds: float) -> str:
    """Mixed load for ``seconds``; RSS after the first minute (warm) and at the end."""
    started = time.perf_counter()
    served = 0
    rss_warm = None
    while time.perf_counter() - started < seconds:
        batch = list(requests)
        asyncio.run(_run_load(port, batch, clients))
        served += len(requests)
        if rss_warm is None and time.perf_counter() - started >= min(60.0, seconds / 5):
            rss_warm = rss_mb(pid)
    rss_end = rss_mb(pid)
    warm = rss_warm if rss_warm is not None else rss_end
    return (
        f"soak: {served} mixed requests from {clients} clients in "
        f"{time.perf_counter() - started:.0f} s, 0 errors; RSS {warm:.0f} MB after warm-up, "
        f"{rss_end:.0f} MB at the end ({(rss_end / warm - 1) * 100:+.1f}%)"
    )


def http_table(model_uri: str, texts: Sequence[str], documents: list[dict[str, str]]) -> str:
    compare = [(b"/compare", json.dumps({"documents": documents}).encode())]
    lines = [
        f"{'micro-batch':<12}{'ready s':>8}{'RSS MB':>8}{'1c p50':>8}{'1c p99':>8}"
        f"{'1c r/s':>8}{'8c r/s':>8}{'32c r/s':>8}{'32c p50':>8}{'32c p99':>8}"
        f"{f'{REQUEST_SENTENCES}/req s/s':>12}{'compare s':>10}{'RSS MB':>8}"
    ]
    for micro_batch in ("true", "false"):
        with running_service(model_uri, micro_batch=micro_batch) as (port, pid, ready_s):
            rss_start = rss_mb(pid)
            _load(port, texts, 1, 20)  # warm-up
            _, single = _load(port, texts, 1, 200)
            rate_1, _ = _load(port, texts, 1, 200)
            rate_8, _ = _load(port, texts, 8, 400)
            rate_32, lat_32 = _load(port, texts, 32, 800)
            _load_requests_of(port, texts, REQUEST_SENTENCES, 2)  # warm-up
            per_request = _load_requests_of(port, texts, REQUEST_SENTENCES, 20)
            asyncio.run(_run_load(port, list(compare), 1))  # warm-up
            _, compare_ms = asyncio.run(_run_load(port, compare * 5, 1))
            rss_end = rss_mb(pid)
        lines.append(
            f"{'on' if micro_batch == 'true' else 'off':<12}{ready_s:>8.1f}{rss_start:>8.0f}"
            f"{np.percentile(single, 50):>8.1f}{np.percentile(single, 99):>8.1f}{rate_1:>8.0f}"
            f"{rate_8:>8.0f}{rate_32:>8.0f}{np.percentile(lat_32, 50):>8.1f}"
            f"{np.percentile(lat_32, 99):>8.1f}{per_request:>12.0f}"
            f"{np.median(compare_ms) / 1000:>10.2f}{rss_end:>8.0f}"
        )
    return "\n".join(lines)


def soak_report(
    model_uri: str,
    texts: Sequence[str],
    documents: list[dict[str, str]],
    seconds: float,
    clients: int = 16,
) -> str:
    articles = [document["text"] for document in documents]
    with running_service(model_uri) as (port, pid, _):
        return soak(port, pid, mixed_requests(texts, articles, documents, 400), clients, seconds)


if __name__ == "__main__":
    # The child side of in_process_table: one path, one JSON line on stdout.
    path_name, model_path, data_path = sys.argv[1:4]
    print(json.dumps(asdict(run_path(path_name, Path(model_path), Path(data_path)))))
