"""The service under measurement: ``python -m service`` on a free loopback port, and its RSS.

The backends table's HTTP mode and the load test both start it this way, so what they
measure is the same process as ``make serve`` runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path


def free_port() -> int:
    """A loopback port nothing listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status_kb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return float(line.split()[1])
    return float("nan")


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB, from Linux's /proc; NaN where it has no VmRSS line."""
    return _status_kb(pid, "VmRSS") / 1024


def peak_rss_mb(pid: int) -> float:
    """The most resident memory ``pid`` has had (VmHWM) in MB, since it started or since
    ``reset_peak_rss``; NaN where /proc has no such line."""
    return _status_kb(pid, "VmHWM") / 1024


def reset_peak_rss(pid: int) -> bool:
    """Start ``pid``'s peak RSS afresh from its RSS now (Linux 4.0+, same user); False where
    the kernel refuses, so a peak then counts from the process's start."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def cpu_seconds(pid: int) -> float:
    """CPU time ``pid`` has used, user and system, all threads, from /proc/<pid>/stat."""
    # The command name (field 2) may hold spaces: count the fields after its ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


@contextmanager
def running_service(
    model_uri: str,
    *,
    until: str = "/ready",
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    **settings: str,
) -> Iterator[tuple[int, int, float]]:
    """``python -m service`` on a free loopback port: yields (port, pid, seconds to ``until``).

    ``until`` is the path whose 200 means started: /ready (a model is loaded), or /health
    for a service meant to start without one. ``env`` adds variables that are not
    settings; ``log`` keeps the service's output (else it is dropped).
    """
    import httpx

    port = free_port()
    variables = {**os.environ, **(env or {}), "CLAIMSTANCE_MODEL_URI": model_uri}
    variables.update({f"CLAIMSTANCE_{name.upper()}": value for name, value in settings.items()})
    with ExitStack() as stack:
        output = stack.enter_context(log.open("wb")) if log is not None else subprocess.DEVNULL
        started = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "service", "--port", str(port)],
            env=variables,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            while True:
                try:
                    answer = httpx.get(f"http://127.0.0.1:{port}{until}", timeout=1)
                except httpx.HTTPError:
                    answer = None
                if answer is not None and answer.status_code == 200:
                    break
                # The model loads before the service answers anything: a 503 then is final.
                if answer is not None and answer.status_code == 503:
                    raise RuntimeError(f"the service has no model: {answer.text}")
                if server.poll() is not None or time.perf_counter() - started > 300:
                    raise RuntimeError("the service did not become ready")
                time.sleep(0.02)
            yield port, server.pid, time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
