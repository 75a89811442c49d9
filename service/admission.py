"""Back-pressure: a bound on the work in flight, and a deadline on reading a body.

Every /classify, /compare and reload request counts while its work runs. A slot is
taken when the request's body has arrived, not when its headers did: a client that
announces a body and sends it a byte at a time holds no slot, and 64 of them could
otherwise hold every one (issue 24). Past ``max_in_flight`` the request is answered
503 with ``Retry-After`` at once, so an overloaded service sheds load instead of
growing a queue every client then waits in.

A body must arrive within ``body_timeout_s`` per 100 kB (and at least that long);
past it the request is answered 408 and its connection closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import anyio
from fastapi import HTTPException, status
from prometheus_client import Gauge
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.budget import RETRY_AFTER_S

logger = logging.getLogger(__name__)

# The request's time.monotonic() arrival, for its time budget (service.budget).
ARRIVED_KEY = "claimstance.arrived"
# body_timeout_s is the time allowed per this many bytes of body.
BODY_TIMEOUT_PER_BYTES = 100_000


class BodyTimeoutError(HTTPException):
    """The body did not arrive in time. An ``HTTPException`` so FastAPI, reading the body
    when it is raised, answers it as JSON rather than as a parse error."""

    def __init__(self, allowed_s: float) -> None:
        super().__init__(
            status.HTTP_408_REQUEST_TIMEOUT,
            detail=f"the request body did not arrive within {allowed_s:.3g} s (body_timeout_s "
            f"per {BODY_TIMEOUT_PER_BYTES // 1000} kB): send it without pausing",
            headers={"Connection": "close"},
        )


class CancelledAsJson:
    """Pure ASGI: a request cancelled before it was answered (the server is stopping after
    its grace period) gets a JSON 503, not uvicorn's plain-text 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except asyncio.CancelledError:
            if not started:
                response = JSONResponse(
                    {"detail": "the server is shutting down: retry against another instance"},
                    status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                    headers={"Retry-After": str(RETRY_AFTER_S), "Connection": "close"},
                )
                # The cancellation was delivered: this await runs. If the connection is
                # gone too, there is no one to answer.
                with contextlib.suppress(Exception):
                    await response(scope, receive, send)
            raise


class InFlightLimit:
    """Pure ASGI: a deadline on every body; a slot for requests to ``paths`` once theirs is in."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        paths: frozenset[str],
        gauge: Gauge | None = None,
        body_timeout_s: float = 5.0,
    ) -> None:
        self.app = app
        self.limit = limit
        self.paths = paths
        self.gauge = gauge
        self.body_timeout_s = body_timeout_s
        # One event loop runs every request, so a plain counter needs no lock.
        self.in_flight = 0

    def _set_gauge(self) -> None:
        if self.gauge is not None:
            self.gauge.set(self.in_flight)

    def _take(self, path: str) -> None:
        if self.in_flight >= self.limit:
            logger.warning("refused %s: %d requests in flight", path, self.in_flight)
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                detail=f"the service is busy: {self.in_flight} requests are in flight, "
                f"the limit is {self.limit} (max_in_flight); retry after {RETRY_AFTER_S} s",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        self.in_flight += 1
        self._set_gauge()

    def _allowed_s(self, body_bytes: int) -> float:
        return self.body_timeout_s * max(1.0, body_bytes / BODY_TIMEOUT_PER_BYTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        arrived = scope[ARRIVED_KEY] = time.monotonic()
        length = Headers(scope=scope).get("content-length", "")
        announced = int(length) if length.isdigit() else 0
        counted = scope["path"] in self.paths
        received = 0
        complete = False
        holding = False

        async def bounded_receive() -> Message:
            nonlocal received, complete, holding
            if complete:
                return await receive()  # after the body: only a disconnect comes
            # A chunked body's deadline grows with what has arrived.
            allowed = self._allowed_s(max(announced, received))
            with anyio.move_on_after(arrived + allowed - time.monotonic()) as waiting:
                message = await receive()
            if waiting.cancelled_caught:
                logger.info("408 %s: %d bytes of body in %.3g s", scope["path"], received, allowed)
                raise BodyTimeoutError(allowed)
            if message["type"] != "http.request":
                return message
            received += len(message.get("body", b""))
            if not message.get("more_body", False):
                complete = True
                if counted:
                    self._take(scope["path"])  # the work starts now
                    holding = True
            return message

        try:
            await self.app(scope, bounded_receive, send)
        finally:
            if holding:
                self.in_flight -= 1
                self._set_gauge()
