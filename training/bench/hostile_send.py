"""How each hostile request is sent and its reply read: plain HTTP, and raw sockets for
what an HTTP client cannot do (stall a body, leave mid-request).

Everything goes to 127.0.0.1 only. The timings a raw-socket attack reports are its own:
``slow_bodies`` the seconds until every stalled socket was answered, ``leave_mid_request``
the seconds from the client leaving until the server's CPU went quiet.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from training.bench.hostile_checks import Reply
from training.bench.server import cpu_seconds

LOOPBACK = "127.0.0.1"
# Longer than any answer a protected service takes: past it the attack counts as unanswered.
ANSWER_TIMEOUT_S = 120.0
# The CPU is free once the service uses under QUIET_SHARE of one core over QUIET_WINDOW_S.
QUIET_WINDOW_S = 0.25
QUIET_SHARE = 0.1
# The work must have begun before the client leaves, or leaving proves nothing.
WORK_STARTED_CPU_S = 0.3


@dataclass(frozen=True)
class Target:
    """The service under attack and what the attacker knows of it."""

    port: int
    pid: int
    key: str
    client: httpx.Client
    log: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def auth(self) -> dict[str, str]:
        return {"x-api-key": self.key}


def honest_sentences(count: int, start: int = 0) -> list[str]:
    """``count`` distinct news sentences (the service de-duplicates claims)."""
    return [
        f"Officials said report {index} on the border crossing was accurate."
        for index in range(start, start + count)
    ]


def json_body(payload: object) -> bytes:
    return json.dumps(payload).encode()


def filled(head: bytes, item: bytes, tail: bytes, size: int) -> bytes:
    """``head``, as many ``item``s as fit in ``size`` bytes comma-separated, ``tail``."""
    room = size - len(head) - len(tail)
    return head + b",".join([item] * (room // (len(item) + 1))) + tail


def unknown_fields(head: bytes, tail: bytes, size: int) -> bytes:
    room = size - len(head) - len(tail)
    keys = b"".join(b',"k%d":0' % index for index in range(room // 8))
    return head + keys[: keys.rfind(b",", 0, room)] + tail


def shape_text(shape: str, chars: int) -> str:
    if shape == "\u0301":  # marks need a letter to sit on: one letter, then only marks
        return "a" + shape * (chars - 1)
    return (shape * (chars // len(shape) + 1))[:chars]


def texts_of(sentences: Sequence[str], max_chars: int) -> list[str]:
    """The sentences as texts of at most ``max_chars`` characters each."""
    texts: list[str] = []
    for sentence in sentences:
        if texts and len(texts[-1]) + 1 + len(sentence) <= max_chars:
            texts[-1] += " " + sentence
        else:
            texts.append(sentence)
    return texts


def _reply(response: httpx.Response, seconds: float) -> Reply:
    return Reply(response.status_code, seconds, response.content, dict(response.headers))


def request(
    method: str,
    path: str,
    body: bytes | Callable[[], Iterator[bytes]] | None = None,
    *,
    authed: bool = True,
    headers: Mapping[str, str] | None = None,
) -> Callable[[Target], Reply]:
    def send(target: Target) -> Reply:
        sent = {**(target.auth if authed else {}), **(headers or {})}
        if body is not None:
            sent.setdefault("content-type", "application/json")
        content = body() if callable(body) else body
        started = time.perf_counter()
        response = target.client.request(method, path, content=content, headers=sent)
        return _reply(response, time.perf_counter() - started)

    return send


def _read_answer(sock: socket.socket) -> tuple[int | None, bytes]:
    """The status and body of the one answer on ``sock``; (None, b"") when it closes first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65_536)
        if not chunk:
            return None, b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65_536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), body


def _raw_post(target: Target, path: str, length: int, first: bytes) -> socket.socket:
    """A socket that announces a ``length``-byte body and sends ``first`` of it."""
    sock = socket.create_connection((LOOPBACK, target.port), timeout=ANSWER_TIMEOUT_S)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: {LOOPBACK}\r\nContent-Type: application/json\r\n"
        f"X-API-Key: {target.key}\r\nContent-Length: {length}\r\n\r\n".encode()
        + first
    )
    return sock


def slow_bodies(count: int, honest: bytes, deadline_s: float) -> Callable[[Target], Reply]:
    """``count`` sockets announce 100 body bytes and send 10; one honest request meanwhile."""

    def send(target: Target) -> Reply:
        started = time.perf_counter()
        stalled = [_raw_post(target, "/classify", 100, b'{"text": "') for _ in range(count)]
        try:
            time.sleep(0.2)  # every stalled request has arrived
            honest_reply = request("POST", "/classify", honest)(target)
            answers = []
            for sock in stalled:
                sock.settimeout(max(0.1, started + deadline_s - time.perf_counter()))
                try:
                    answers.append(_read_answer(sock))
                except OSError:  # no answer by the deadline
                    answers.append((None, b""))
            seconds = time.perf_counter() - started
        finally:
            for sock in stalled:
                sock.close()
        statuses = [status for status, _ in answers]
        worst = next((status for status in statuses if status != 408), 408)
        body = next((body for status, body in answers if status == worst), b"")
        facts = {
            "cut": float(statuses.count(408)),
            "honest_status": float(honest_reply.status or 0),
            "honest_s": honest_reply.seconds,
        }
        return Reply(worst, seconds, body, {"content-type": "application/json"}, facts)

    return send


def _quiet_after(pid: int, left: float, limit_s: float = 30.0) -> float:
    """Seconds from ``left`` until ``pid`` used under QUIET_SHARE of a core over a window."""
    samples = [(time.monotonic(), cpu_seconds(pid))]
    step = QUIET_WINDOW_S / 5
    while time.monotonic() - left < limit_s:
        time.sleep(step)
        samples.append((time.monotonic(), cpu_seconds(pid)))
        window = [sample for sample in samples if sample[0] >= samples[-1][0] - QUIET_WINDOW_S]
        (first_at, first_cpu), (last_at, last_cpu) = window[0], window[-1]
        if last_at - first_at >= QUIET_WINDOW_S * 0.8 and (last_cpu - first_cpu) < (
            QUIET_SHARE * (last_at - first_at)
        ):
            return max(0.0, first_at - left)
    return limit_s


def _answered(sock: socket.socket) -> bool:
    """Whether a non-blocking ``sock`` has an answer waiting, or was closed by the server."""
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return False
    return True


def leave_mid_request(body: bytes) -> Callable[[Target], Reply]:
    """Send a big honest request, leave once the server works on it, time until CPU is free."""

    def send(target: Target) -> Reply:
        before = cpu_seconds(target.pid)
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        sock = _raw_post(target, "/classify", len(body), body)
        try:
            sock.setblocking(False)
            while cpu_seconds(target.pid) - before < WORK_STARTED_CPU_S:
                if _answered(sock) or time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            # Checked again as the client leaves: work already done proves nothing.
            finished = _answered(sock) or time.monotonic() > deadline
        finally:
            sock.close()
        if finished:
            return Reply(
                None,
                0.0,
                skipped=f"the service answered before the client left (after "
                f"{WORK_STARTED_CPU_S} s of its CPU): nothing to cancel; send more work",
            )
        left = time.monotonic()
        quiet = _quiet_after(target.pid, left)
        return Reply(None, quiet, facts={"cpu_before_leaving_s": cpu_seconds(target.pid) - before})

    return send


def read_log(target: Target) -> Reply:
    text = target.log.read_bytes() if target.log is not None else b""
    return Reply(None, 0.0, text)
