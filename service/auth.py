"""Optional API keys: when any is set, every route but the probes and the page needs one.

Keys come from ``CLAIMSTANCE_API_KEYS`` (comma-separated) or from a file of
their SHA-256 hex digests (``CLAIMSTANCE_API_KEYS_FILE``, one a line, ``#``
comments), so the file never holds a key itself. A request sends its key as
``Authorization: Bearer KEY`` or ``X-API-Key: KEY``.

Only digests are kept in memory. A presented key is hashed and compared with
every digest by ``hmac.compare_digest``, all of them every time, so neither a
key's content nor its position shows in the response time. Keys are never
logged: refusals log the path and the reason only.

/health and /ready stay open for load balancers and orchestrators. So do the
web page and its static files: they hold no data, and every call the page
makes to the API sends the key its user typed in.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Iterable
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({"/health", "/ready", "/"})
PUBLIC_PREFIXES = ("/static/",)
ADMIN_PREFIX = "/admin/"
KEY_HEADER = "x-api-key"
REALM = 'Bearer realm="claimstance"'
_DIGEST = re.compile(r"^[0-9a-fA-F]{64}$")
MISSING_KEY = (
    "this service needs an API key: send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"
)
WRONG_KEY = "the API key is not valid"


class ApiKeyFileError(ValueError):
    """The keys file cannot be used; the message names the file and the line."""


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def read_digest_file(path: Path) -> list[bytes]:
    """The digests in a keys file: a 64-hex-digit SHA-256 per line, then anything (a name)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ApiKeyFileError(f"cannot read the API keys file {path}: {error}") from None
    digests = []
    for number, line in enumerate(lines, start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        value = content.split()[0]
        if not _DIGEST.match(value):
            # The line is not echoed: it may be a key pasted by mistake.
            raise ApiKeyFileError(
                f"{path} line {number} is not a SHA-256 hex digest (64 hex digits); "
                "write `printf %s KEY | sha256sum` there, never the key itself"
            )
        digests.append(bytes.fromhex(value))
    if not digests:
        raise ApiKeyFileError(f"the API keys file {path} holds no key digest")
    return digests


class ApiKeys:
    """The digests of the accepted keys; empty means no key is needed."""

    def __init__(self, digests: Iterable[bytes] = ()) -> None:
        self.digests = list(digests)

    @classmethod
    def from_settings(cls, keys: Iterable[str], keys_file: Path | None) -> ApiKeys:
        digests = [digest(key) for key in keys]
        if keys_file is not None:
            digests += read_digest_file(keys_file)
        return cls(digests)

    @property
    def enabled(self) -> bool:
        return bool(self.digests)

    def accepts(self, key: str) -> bool:
        presented = digest(key)
        matched = False
        for known in self.digests:
            # No early exit: every digest is compared, whichever matches.
            matched |= hmac.compare_digest(presented, known)
        if not matched and _DIGEST.match(key) and bytes.fromhex(key) in self.digests:
            # A 64-hex key written into the keys file as it is reads as a digest, and no
            # key opens it: the client sent exactly what the file holds. Say why it fails
            # (once per try, never the key), rather than have it look like a wrong key.
            logger.warning(
                "a key was refused that the API keys file holds as it is: the file must hold "
                "its SHA-256 digest (`printf %%s KEY | python -m service hash-key`)"
            )
        return matched


def presented_key(headers: Headers) -> str | None:
    """The key from ``Authorization: Bearer KEY`` or ``X-API-Key``, or None."""
    authorization = headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    key = headers.get(KEY_HEADER, "").strip()
    return key or None


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class ApiKeyMiddleware:
    """Pure ASGI: 401 with ``WWW-Authenticate`` for a protected path without a valid key.

    Paths under ``/admin/`` take only an admin key when admin keys are set (an ordinary
    key could reload the model, issue 24); without admin keys the route refuses (403).
    """

    def __init__(self, app: ASGIApp, keys: ApiKeys, admin: ApiKeys | None = None) -> None:
        self.app = app
        self.keys = keys
        self.admin = admin or ApiKeys()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        keys = self.admin if scope["path"].startswith(ADMIN_PREFIX) and self.admin.enabled else None
        keys = keys or self.keys
        if not keys.enabled:
            await self.app(scope, receive, send)
            return
        key = presented_key(Headers(scope=scope))
        if key is not None and keys.accepts(key):
            await self.app(scope, receive, send)
            return
        reason = MISSING_KEY if key is None else WRONG_KEY
        if keys is self.admin:
            reason = f"{reason} (this route takes an admin key)"
        logger.info("refused %s %s: %s", scope["method"], scope["path"], reason)
        response = JSONResponse(
            {"detail": reason}, status_code=401, headers={"WWW-Authenticate": REALM}
        )
        await response(scope, receive, send)
