"""Back-pressure: a bound on the work in flight, refused at once past it.

Every /classify, /compare and reload request counts while it runs. Past
``max_in_flight`` a request is answered 503 with ``Retry-After`` before its
body is read, so an overloaded service sheds load in microseconds instead of
growing a queue that every client then waits in.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import Gauge
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from service.body_limit import drain_body, expects_continue
from service.budget import RETRY_AFTER_S

logger = logging.getLogger(__name__)

# The request's time.monotonic() arrival, for its time budget (service.budget).
ARRIVED_KEY = "claimstance.arrived"
# A refused request's body is read (up to this) before the 503, so a client that sent
# Connection: close gets the answer rather than a reset (service.body_limit).
REFUSED_BODY_DRAIN = 1024 * 1024


class InFlightLimit:
    """Pure ASGI: counts requests to ``paths`` while they run; refuses past ``limit``."""

    def __init__(
        self, app: ASGIApp, *, limit: int, paths: frozenset[str], gauge: Gauge | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        self.paths = paths
        self.gauge = gauge
        # One event loop runs every request, so a plain counter needs no lock.
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        scope[ARRIVED_KEY] = time.monotonic()
        if self.in_flight >= self.limit:
            logger.warning("refused %s: %d requests in flight", scope["path"], self.in_flight)
            response = JSONResponse(
                {
                    "detail": f"the service is busy: {self.in_flight} requests are in flight, "
                    f"the limit is {self.limit} (max_in_flight); retry after {RETRY_AFTER_S} s"
                },
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
            if not expects_continue(scope):
                await drain_body(receive, max_bytes=REFUSED_BODY_DRAIN)
            await response(scope, receive, send)
            return
        self.in_flight += 1
        if self.gauge is not None:
            self.gauge.set(self.in_flight)
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            if self.gauge is not None:
                self.gauge.set(self.in_flight)
