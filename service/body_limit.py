"""Refuse an oversized request body with a JSON message naming the limit.

Written here rather than FastAPI's ``max_body_size`` because that one answers
a plain-text "Content Too Large" that replaces any JSON error, and every
error of this API is ``{"detail": "..."}`` saying what the limit is.

The refused body is read and thrown away before the answer goes out. A client
that sent ``Connection: close`` (Python's urllib does) otherwise has its
connection closed while it is still sending, and sees a broken pipe or a reset
instead of the 413. Draining stops after ``DRAIN_BYTES`` or ``DRAIN_SECONDS``.
"""

from __future__ import annotations

import anyio
from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.limits import TooLargeError


def too_large_message(
    limit_bytes: int,
    max_texts: int,
    max_documents: int,
    max_chars: int,
    max_request_chars: int | None = None,
) -> str:
    total = "" if max_request_chars is None else f", {max_request_chars} in all"
    return (
        f"request body too large: the limit is {limit_bytes} bytes ({max_texts} texts to "
        f"/classify or {max_documents} documents to /compare, of at most {max_chars} "
        f"characters each{total})"
    )


# How much of a refused body is read before answering: the 50 MB upload and then
# some. Past either bound the connection closes with the answer, as before.
DRAIN_BYTES = 128 * 1024 * 1024
DRAIN_SECONDS = 10.0


async def drain_body(receive: Receive, *, max_bytes: int = DRAIN_BYTES) -> None:
    """Read and discard the rest of a request body, within ``max_bytes`` and ``DRAIN_SECONDS``."""
    drained = 0
    with anyio.move_on_after(DRAIN_SECONDS):
        while drained <= max_bytes:
            try:
                message = await receive()
            except HTTPException:
                return  # the body's deadline passed (service.admission): answer now

            if message["type"] != "http.request":
                return  # the client went away
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                return


def expects_continue(scope: Scope) -> bool:
    """The client waits for "100 Continue" before sending its body: then there is none to drain."""
    return "100-continue" in Headers(scope=scope).get("expect", "").lower()


class BodyLimitMiddleware:
    """Checks Content-Length up front, and counts the bytes of bodies sent without one."""

    def __init__(self, app: ASGIApp, limit_bytes: int, message: str) -> None:
        self.app = app
        self.limit_bytes = limit_bytes
        self.message = message

    def _error(self) -> TooLargeError:
        return TooLargeError(self.message, self.limit_bytes, "bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.limit_bytes:
            # Refused before a byte of the body is parsed; a client that waits for
            # "100 Continue" is answered without sending its body at all.
            if not expects_continue(scope):
                await drain_body(receive)
            error = self._error()
            await JSONResponse(error.body(), status_code=error.status_code)(scope, receive, send)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit_bytes:
                    if message.get("more_body", False):
                        await drain_body(receive)
                    # FastAPI re-raises an HTTPException met while reading the body, so the
                    # app's handler answers it as JSON like any other size limit.
                    raise self._error()
            return message

        await self.app(scope, counting_receive, send)
