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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A loopback port nothing listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB, from Linux's /proc; NaN where it has no VmRSS line."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def running_service(model_uri: str, **settings: str) -> Iterator[tuple[int, int, float]]:
    """``python -m service`` on a free loopback port: yields (port, pid, seconds to /ready)."""
    import httpx

    port = free_port()
    env = {**os.environ, "CLAIMSTANCE_MODEL_URI": model_uri}
    env.update({f"CLAIMSTANCE_{name.upper()}": value for name, value in settings.items()})
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "service", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.perf_counter() - started > 300:
                raise RuntimeError("the service did not become ready")
            time.sleep(0.02)
        yield port, server.pid, time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
