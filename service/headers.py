"""Security headers: every answer says "do not sniff, send no referrer"; HTML also forbids
framing and says where its scripts, styles and calls may come from.

The page loads only its own files, so its policy is "self" throughout. The interactive
docs (/docs, /redoc) are FastAPI's pages: Swagger UI and ReDoc come from jsDelivr, pinned
by version and hash (service/routes/docs.py), and start from an inline script, so their
policy names that CDN and allows inline code; they carry no user data.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EVERY_ANSWER = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {CDN}; "
    f"style-src 'self' 'unsafe-inline' {CDN}; img-src 'self' data: https:; "
    f"worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})


class SecurityHeaders:
    """Pure ASGI: adds the headers to each response as it starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in EVERY_ANSWER.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    docs = scope["path"] in DOCS_PATHS
                    headers["Content-Security-Policy"] = DOCS_POLICY if docs else PAGE_POLICY
                    headers["X-Frame-Options"] = "DENY"
            await send(message)

        await self.app(scope, receive, with_headers)


def _name(host_header: str) -> str:
    """The name of a Host header, without its port: ``[::1]:8000`` -> ``[::1]``."""
    if host_header.startswith("["):
        return host_header.split("]", 1)[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class AllowedHosts:
    """Pure ASGI: 400 for a Host header not among ``names``, before any other work."""

    def __init__(self, app: ASGIApp, names: list[str]) -> None:
        self.app = app
        self.names = frozenset(name.lower() for name in names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        host = _name(Headers(scope=scope).get("host", "").lower())
        if host in self.names:
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {
                "detail": f"this service does not answer to the host {host[:100]!r}: "
                "call it by a local name (localhost, 127.0.0.1), or list the name in "
                "CLAIMSTANCE_ALLOWED_HOSTS"
            },
            status_code=400,
        )
        await response(scope, receive, send)
