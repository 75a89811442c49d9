"""Refuse an oversized request body with a JSON message naming the limit.

Written here rather than FastAPI's ``max_body_size`` because that one answers
a plain-text "Content Too Large" that replaces any JSON error, and every
error of this API is ``{"detail": "..."}`` saying what the limit is.
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large_message(limit_bytes: int, max_texts: int, max_documents: int, max_chars: int) -> str:
    return (
        f"request body too large: the limit is {limit_bytes} bytes ({max_texts} texts to "
        f"/classify or {max_documents} documents to /compare, of at most {max_chars} "
        "characters each)"
    )


class BodyLimitMiddleware:
    """Checks Content-Length up front, and counts the bytes of bodies sent without one."""

    def __init__(self, app: ASGIApp, limit_bytes: int, message: str) -> None:
        self.app = app
        self.limit_bytes = limit_bytes
        self.message = message

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.limit_bytes:
            # Answered before a byte of the body is read.
            await JSONResponse({"detail": self.message}, status_code=413)(scope, receive, send)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit_bytes:
                    # FastAPI re-raises an HTTPException met while reading the body, so the
                    # app's handler answers it as JSON like any other error.
                    raise HTTPException(413, detail=self.message)
            return message

        await self.app(scope, counting_receive, send)
