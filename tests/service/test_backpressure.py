"""Back-pressure: a bound on work in flight, a 413 the client can read, a bounded shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from service.app import create_app
from tests.service.support import (
    SlowClassifier,
    WordEmbedder,
    make_settings,
    read_head,
    sentences,
    served,
)

REPO = Path(__file__).resolve().parents[2]


def test_past_max_in_flight_is_503_at_once(tmp_path: Path) -> None:
    gate = threading.Event()
    classifier = SlowClassifier(gate=gate)
    settings = make_settings(tmp_path / "unused", tmp_path, max_in_flight=1)
    app = create_app(settings, classifier=classifier, embedder=WordEmbedder())
    first: dict[str, int] = {}

    def hold(base_url: str) -> None:
        response = httpx.post(f"{base_url}/classify", json={"text": "Held."}, timeout=30)
        first["status"] = response.status_code

    with served(app) as base_url:
        holder = threading.Thread(target=hold, args=(base_url,))
        holder.start()
        try:
            assert classifier.entered.wait(timeout=10)
            started = time.perf_counter()
            refused = httpx.post(f"{base_url}/classify", json={"text": "Next."}, timeout=30)
            waited = time.perf_counter() - started
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "1"
            assert "the limit is 1 (max_in_flight)" in refused.json()["detail"]
            assert waited < 0.5  # refused at once, not queued behind the held request
            assert httpx.get(f"{base_url}/health").status_code == 200  # probes are not bounded
        finally:
            gate.set()
            holder.join(timeout=10)
        assert first["status"] == 200
        assert httpx.post(f"{base_url}/classify", json={"text": "After."}).status_code == 200


def _post_raw(port: int, head: bytes, body_chunks: int, chunked: bool) -> bytes:
    """Send a large body slowly over a small send buffer; return what the server answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16_384)
        sock.sendall(head)
        piece = b"x" * 65_536
        for _ in range(body_chunks):
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            sock.sendall(b"0\r\n\r\n")
        return read_head(sock)


@pytest.mark.parametrize("chunked", [False, True])
def test_an_oversized_body_is_answered_413_even_on_connection_close(
    tmp_path: Path, chunked: bool
) -> None:
    """Python's urllib sends Connection: close: the refused body must be read before the
    answer, or the connection closes under the client and it sees a reset, not the 413."""
    settings = make_settings(tmp_path / "unused", tmp_path, max_texts=1, max_chars=1_000)
    app = create_app(settings, classifier=SlowClassifier(), embedder=WordEmbedder())
    chunks = 64  # 4 MiB, some fifty times the limit
    framing = (
        b"Transfer-Encoding: chunked\r\n"
        if chunked
        else b"Content-Length: %d\r\n" % (chunks * 65_536)
    )
    head = (
        b"POST /classify HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\n" + framing + b"\r\n"
    )
    with served(app) as base_url:
        answer = _post_raw(int(base_url.rsplit(":", 1)[1]), head, chunks, chunked)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_shutdown_ends_within_the_grace_period_whatever_is_in_flight(signum: int) -> None:
    """SIGTERM (an orchestrator) or Ctrl-C: answered after the grace period, the work stopped.

    After Ctrl-C the interpreter waits for the worker thread: only the budget's stop
    ends the work in time."""
    port, grace = _free_port(), 1.0
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.service.slow_server", str(port), str(grace)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    answer: dict[str, object] = {}

    def runaway() -> None:
        # 2,000 claims at 10 ms: 20 s of work if nothing stops it.
        try:
            response = httpx.post(
                f"{base_url}/classify", json={"text": sentences(2_000)}, timeout=60
            )
            answer["status"] = response.status_code
            answer["type"] = response.headers.get("content-type", "")
        except httpx.HTTPError as error:
            answer["error"] = type(error).__name__

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "no server"
            time.sleep(0.1)
        client = threading.Thread(target=runaway)
        client.start()
        time.sleep(1.5)  # well into the request's 20 s
        stopped = time.perf_counter()
        server.send_signal(signum)
        server.wait(timeout=30)
        took = time.perf_counter() - stopped
        client.join(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    log = server.stderr.read() if server.stderr else ""
    assert took < grace + 3.0, f"shutdown took {took:.1f} s with a {grace} s grace:\n{log[-2000:]}"
    assert "timeout graceful shutdown exceeded" in log
    assert answer  # the client was answered or its connection closed; it did not hang
    if "status" in answer:  # answered: JSON, never uvicorn's plain-text 500
        assert answer["status"] == 503 and answer["type"] == "application/json", answer
