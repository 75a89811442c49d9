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
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from model.labels import LABELS

PATHS = ("pipeline", "torch-fp32", "torch-int8", "onnx-fp32", "onnx-int8")
SENTENCES = 2000
LATENCY_SAMPLES = 200
BATCH_SIZE = 32


@dataclass
class PathResult:
    path: str
    sentences_per_s: float
    p50_ms: float
    p99_ms: float
    validation_f1: float
    news_test_f1: float
    peak_rss_mb: float


def bench_sentences(config_path: Path | None, overrides: list[str]) -> dict[str, object]:
    """Real news sentences for speed, and the labelled validation and news_test sets."""
    from training.config import load_config
    from training.corpus.build import NEWS_TEST, build_corpus

    config = load_config(config_path, overrides)
    corpus = build_corpus(config.data, seed=config.seed)
    news = corpus.evaluation.get(NEWS_TEST, [])
    pool = list(dict.fromkeys(e.text for e in [*news, *corpus.validation]))
    random.Random(0).shuffle(pool)
    return {
        "speed": pool[:SENTENCES],
        "validation": [[e.text, e.label.value] for e in corpus.validation],
        NEWS_TEST: [[e.text, e.label.value] for e in news],
    }


def _macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    from sklearn.metrics import f1_score

    return float(
        f1_score(truth, predicted, labels=[label.value for label in LABELS], average="macro")
    )


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

    classifier = ClaimClassifier.from_directory(
        model_dir, device="cpu", backend="torch", batch_size=BATCH_SIZE
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
    elif path == "onnx-int8":
        classifier = ClaimClassifier.from_directory(
            model_dir, device="cpu", backend="onnx", batch_size=BATCH_SIZE
        )

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
        scores = {}
        for name in ("validation", "news_test"):
            rows = data[name]
            scores[name] = (
                _macro_f1([label for _, label in rows], predict([text for text, _ in rows]))
                if rows
                else float("nan")
            )
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return PathResult(
        path=path,
        sentences_per_s=throughput,
        p50_ms=float(np.percentile(latencies, 50)),
        p99_ms=float(np.percentile(latencies, 99)),
        validation_f1=scores["validation"],
        news_test_f1=scores["news_test"],
        peak_rss_mb=peak_kb / 1024,
    )


def in_process_table(model_dir: Path, data: dict[str, object], paths: Sequence[str]) -> str:
    results: list[PathResult] = []
    with tempfile.TemporaryDirectory() as scratch:
        data_file = Path(scratch) / "data.json"
        data_file.write_text(json.dumps(data), encoding="utf-8")
        for path in paths:
            print(f"bench: {path} ...", file=sys.stderr, flush=True)
            child = subprocess.run(
                [sys.executable, "-m", "training.bench", path, str(model_dir), str(data_file)],
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
        f"{os.cpu_count()} CPUs; ratios are to {base.path}",
        f"{'path':<12}{'sent/s':>9}{'x':>7}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'val F1':>9}{'test F1':>9}{'RSS MB':>9}{'x':>7}",
    ]
    for r in results:
        lines.append(
            f"{r.path:<12}{r.sentences_per_s:>9.0f}{r.sentences_per_s / base.sentences_per_s:>7.2f}"
            f"{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}{r.validation_f1:>9.4f}{r.news_test_f1:>9.4f}"
            f"{r.peak_rss_mb:>9.0f}{r.peak_rss_mb / base.peak_rss_mb:>7.2f}"
        )
    return "\n".join(lines)


# --- HTTP mode --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _load(
    base_url: str, texts: Sequence[str], clients: int, requests: int
) -> tuple[float, list[float]]:
    import httpx

    latencies: list[float] = []
    queue = list(range(requests))

    async def client(http: httpx.AsyncClient) -> None:
        while queue:
            index = queue.pop()
            started = time.perf_counter()
            response = await http.post("/classify", json={"text": texts[index % len(texts)]})
            response.raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return requests / elapsed, latencies


def http_table(model_uri: str, texts: Sequence[str], examples: Sequence[Path]) -> str:
    import httpx

    documents = [{"id": path.stem, "text": path.read_text(encoding="utf-8")} for path in examples]
    lines = [
        f"{'micro-batch':<12}{'ready s':>8}{'RSS MB':>8}{'1c p50':>8}{'1c p99':>8}"
        f"{'1c r/s':>8}{'8c r/s':>8}{'32c r/s':>8}{'32c p50':>8}{'compare s':>10}{'RSS MB':>8}"
    ]
    for micro_batch in (True, False):
        port = _free_port()
        env = {
            **os.environ,
            "CLAIMSTANCE_MODEL_URI": model_uri,
            "CLAIMSTANCE_MICRO_BATCH": str(micro_batch).lower(),
        }
        started = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "service", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            while True:
                try:
                    if httpx.get(f"{base_url}/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None or time.perf_counter() - started > 300:
                    raise RuntimeError("the service did not become ready")
                time.sleep(0.05)
            ready_s = time.perf_counter() - started
            rss_start = _rss_mb(server.pid)
            asyncio.run(_load(base_url, texts, 1, 20))  # warm-up
            _, single = asyncio.run(_load(base_url, texts, 1, 200))
            rate_1, _ = asyncio.run(_load(base_url, texts, 1, 200))
            rate_8, _ = asyncio.run(_load(base_url, texts, 8, 400))
            rate_32, lat_32 = asyncio.run(_load(base_url, texts, 32, 800))
            httpx.post(f"{base_url}/compare", json={"documents": documents}, timeout=120)
            compare_started = time.perf_counter()
            httpx.post(
                f"{base_url}/compare", json={"documents": documents}, timeout=120
            ).raise_for_status()
            compare_s = time.perf_counter() - compare_started
            rss_end = _rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        lines.append(
            f"{'on' if micro_batch else 'off':<12}{ready_s:>8.1f}{rss_start:>8.0f}"
            f"{np.percentile(single, 50):>8.1f}{np.percentile(single, 99):>8.1f}{rate_1:>8.0f}"
            f"{rate_8:>8.0f}{rate_32:>8.0f}{np.percentile(lat_32, 50):>8.1f}"
            f"{compare_s:>10.2f}{rss_end:>8.0f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    # The child side of in_process_table: one path, one JSON line on stdout.
    path_name, model_path, data_path = sys.argv[1:4]
    print(json.dumps(asdict(run_path(path_name, Path(model_path), Path(data_path)))))
