"""``make load``: the service under concurrent clients on loopback, and a soak that watches memory.

The load tool starts ``python -m service`` on a free loopback port with a
fresh API key (``training.bench.server.running_service``), or, with ``--port``,
loads a service already running on 127.0.0.1. It never sends a request
anywhere else.

The workload is the mix the service sees from newsroom tools: 70% one claim
(a sentence of the example articles), 25% a whole article, 5% ``/compare`` of
the example articles. Each client is one keep-alive connection that sends its
next request when the previous answer is in, so the number of clients is the
concurrency. Every request ends in one of three ways: answered 200, answered
with another status (an error), or dropped (the connection closed or reset,
or no answer within the timeout). A dropped connection is reopened.

``--soak SECONDS`` runs the mix for that long and reports the service's RSS
at the start, after a warm-up and at the end.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from training.bench.server import rss_mb, running_service

LOOPBACK = "127.0.0.1"
SHARES = (("claim", 0.70), ("article", 0.25), ("compare", 0.05))
# Longer than the service's own request_timeout_s (30 s): a slow answer is the
# service's to give, and only silence past this counts as dropped.
ANSWER_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Workload:
    """What the clients send: single claims, whole articles and one story to compare."""

    claims: Sequence[str]
    articles: Sequence[str]
    documents: Sequence[dict[str, str]]

    @classmethod
    def from_articles(cls, articles: dict[str, str]) -> Workload:
        from model.claims import extract_claims

        claims = [claim.text for text in articles.values() for claim in extract_claims(text).claims]
        if not claims:
            raise ValueError("the example articles hold no claims to send")
        documents = [{"id": name, "text": text} for name, text in articles.items()]
        return cls(claims, list(articles.values()), documents)

    def requests(self, seed: int = 0) -> Iterator[tuple[str, bytes, bytes]]:
        """Endless (kind, path, JSON body) in the mix's proportions."""
        rng = random.Random(seed)
        compare = json.dumps({"documents": list(self.documents)}).encode()
        kinds, weights = zip(*SHARES, strict=True)
        while True:
            kind = rng.choices(kinds, weights)[0]
            if kind == "claim":
                yield kind, b"/classify", json.dumps({"text": rng.choice(self.claims)}).encode()
            elif kind == "article":
                yield kind, b"/classify", json.dumps({"text": rng.choice(self.articles)}).encode()
            else:
                yield kind, b"/compare", compare


@dataclass
class Outcome:
    kind: str
    status: int | None  # None: dropped
    ms: float


@dataclass
class LoadResult:
    clients: int
    seconds: float
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def statuses(self) -> Counter[int]:
        return Counter(o.status for o in self.outcomes if o.status is not None)

    @property
    def errors(self) -> int:
        return sum(1 for o in self.outcomes if o.status not in (None, 200))

    @property
    def dropped(self) -> int:
        return sum(1 for o in self.outcomes if o.status is None)

    def latency(self, kind: str | None = None, q: float = 50) -> float:
        values = [o.ms for o in self.outcomes if o.status == 200 and kind in (None, o.kind)]
        return float(np.percentile(values, q)) if values else float("nan")

    def line(self) -> str:
        served = len(self.outcomes)
        rate = served / self.seconds if self.seconds else 0.0
        per_kind = "  ".join(
            f"{kind} {self.latency(kind):.0f}/{self.latency(kind, 99):.0f}"
            for kind, _ in SHARES
            if any(o.kind == kind for o in self.outcomes)
        )
        others = ", ".join(f"{n}x{status}" for status, n in sorted(self.statuses.items()))
        return (
            f"{self.clients:>3} clients: {served} requests in {self.seconds:.1f} s, "
            f"{rate:.1f} req/s, p50/p99 ms {per_kind}; errors {self.errors}, "
            f"dropped {self.dropped} ({others or 'no answers'})"
        )


class _Connection:
    """One keep-alive HTTP/1.1 connection: a client light enough not to starve the service."""

    def __init__(self, port: int, headers: bytes) -> None:
        self.port = port
        self.headers = headers
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: bytes, body: bytes) -> int:
        """The answer's status; raises OSError or TimeoutError when the request is dropped."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(LOOPBACK, self.port)
        assert self.reader is not None
        self.writer.write(
            b"POST " + path + b" HTTP/1.1\r\nHost: " + LOOPBACK.encode() + b"\r\n"
            b"Content-Type: application/json\r\n"
            + self.headers
            + b"Content-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("the service closed the connection")
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        await self.reader.readexactly(length)
        if close:
            self.close()
        return int(status_line.split()[1])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _client(
    port: int,
    headers: bytes,
    requests: Iterator[tuple[str, bytes, bytes]],
    stop: float | None,
    left: list[int],
    outcomes: list[Outcome],
) -> None:
    connection = _Connection(port, headers)
    try:
        while (stop is None and left[0] > 0) or (stop is not None and time.monotonic() < stop):
            left[0] -= 1
            kind, path, body = next(requests)
            started = time.perf_counter()
            try:
                async with asyncio.timeout(ANSWER_TIMEOUT_S):
                    status = await connection.post(path, body)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
                connection.close()
                status = None
            outcomes.append(Outcome(kind, status, (time.perf_counter() - started) * 1000))
    finally:
        connection.close()


async def _run(
    port: int,
    headers: bytes,
    workload: Workload,
    clients: int,
    count: int | None,
    seconds: float | None,
    seed: int,
) -> LoadResult:
    requests = workload.requests(seed)
    outcomes: list[Outcome] = []
    left = [count if count is not None else 0]
    started = time.monotonic()
    stop = started + seconds if seconds is not None else None
    await asyncio.gather(
        *(_client(port, headers, requests, stop, left, outcomes) for _ in range(clients))
    )
    return LoadResult(clients, time.monotonic() - started, outcomes)


def run_load(
    port: int,
    workload: Workload,
    clients: int,
    *,
    count: int | None = None,
    seconds: float | None = None,
    api_key: str | None = None,
    seed: int = 0,
) -> LoadResult:
    """``count`` requests (or ``seconds`` of them) from ``clients`` concurrent connections."""
    if (count is None) == (seconds is None):
        raise ValueError("give either a request count or a duration")
    headers = f"X-API-Key: {api_key}\r\n".encode() if api_key else b""
    return asyncio.run(_run(port, headers, workload, clients, count, seconds, seed))


@dataclass(frozen=True)
class SoakResult:
    load: LoadResult
    rss_start_mb: float
    rss_warm_mb: float
    rss_end_mb: float

    def line(self) -> str:
        growth = (self.rss_end_mb / self.rss_warm_mb - 1) * 100
        return (
            f"soak: {self.load.line()}\n"
            f"soak RSS: {self.rss_start_mb:.0f} MB at the start, {self.rss_warm_mb:.0f} MB after "
            f"warm-up, {self.rss_end_mb:.0f} MB at the end ({growth:+.1f}% after warm-up)"
        )


def soak(
    port: int,
    pid: int,
    workload: Workload,
    seconds: float,
    *,
    clients: int = 16,
    api_key: str | None = None,
) -> SoakResult:
    """The mix for ``seconds``; RSS at the start, after a fifth of the time (at most 60 s), at the end."""
    start = rss_mb(pid)
    warm_up = min(60.0, seconds / 5)
    first = run_load(port, workload, clients, seconds=warm_up, api_key=api_key, seed=1)
    warm = rss_mb(pid)
    rest = run_load(port, workload, clients, seconds=seconds - warm_up, api_key=api_key, seed=2)
    end = rss_mb(pid)
    load = LoadResult(clients, first.seconds + rest.seconds, first.outcomes + rest.outcomes)
    return SoakResult(load, start, warm, end)


def example_articles(directory: Path) -> dict[str, str]:
    paths = sorted(directory.glob("*.txt"))
    if len(paths) < 2:
        raise ValueError(f"{directory} holds fewer than two example articles (*.txt)")
    return {path.stem: path.read_text(encoding="utf-8") for path in paths}


@contextmanager
def target(model_uri: str, port: int | None) -> Iterator[tuple[int, int | None, str | None]]:
    """(port, service pid or None, API key or None): a service started here, or the one on
    ``port`` of this machine's loopback."""
    if port is not None:
        yield port, None, None
        return
    key = secrets.token_urlsafe(24)
    with running_service(model_uri, api_keys=key) as (started_port, pid, _):
        yield started_port, pid, key


def report(
    model_uri: str,
    workload: Workload,
    levels: Sequence[int],
    requests_per_level: int,
    soak_seconds: float,
    soak_clients: int,
    port: int | None = None,
    api_key: str | None = None,
) -> Iterator[str]:
    """Lines of the report, as each measurement finishes."""
    with target(model_uri, port) as (service_port, pid, started_key):
        key = started_key or api_key
        rss = f", RSS {rss_mb(pid):.0f} MB" if pid is not None else ""
        yield f"service on {LOOPBACK}:{service_port}{rss}; mix {SHARES}"
        run_load(service_port, workload, 1, count=10, api_key=key)  # warm-up
        for clients in levels:
            count = max(requests_per_level, clients * 4)
            yield run_load(service_port, workload, clients, count=count, api_key=key).line()
        if soak_seconds:
            if pid is None:
                yield "soak skipped: RSS needs a service this tool started (no --port)"
            else:
                yield soak(
                    service_port, pid, workload, soak_seconds, clients=soak_clients, api_key=key
                ).line()
