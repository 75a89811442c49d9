"""Size limits: one 413 for every one of them, checked on the parsed JSON before validation.

A request's count and length limits (``max_texts``, ``max_documents``, ``max_chars``,
``max_request_chars``) are settings, so the request models cannot carry them. They are
checked here on the body as ``json.loads`` left it, before pydantic validates a single
item: a body of 600,000 wrong-typed items is refused for its count in microseconds,
rather than validated into 600,000 errors first (88 MB of answer and 1 GB of memory).

Every size limit, the body's bytes and the claims and compute a request needs included,
answers the same way: 413, ``detail`` saying what was sent and the limit, ``limit`` and
``unit``, and the advice to split the work into pieces of at most that size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import HTTPException, Request, status
from fastapi.responses import JSONResponse

from service.schemas import (
    MAX_ID_CHARS,
    ClassifyItem,
    ClassifyRequest,
    CompareRequest,
    FeedbackRequest,
    StoryDocument,
)
from service.settings import Settings
from service.state import service_state

# At most this many validation errors are described and listed; the rest are counted.
MAX_ERRORS = 20


class TooLargeError(HTTPException):
    """A request past a size limit: 413 naming the limit and how to split the work.

    An ``HTTPException`` so that FastAPI passes it through when it is raised while the
    body is read (``service.body_limit``) instead of turning it into a 400.
    """

    def __init__(
        self, what: str, limit: float, unit: str, *, split: str = "requests", advice: str = ""
    ) -> None:
        detail = f"{what}; {advice or f'split into {split} of at most {limit:g} {unit}'}"
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, detail=detail)
        self.limit = limit
        self.unit = unit

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail, "limit": self.limit, "unit": self.unit}


async def too_large_handler(request: Request, exc: TooLargeError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status_code)


def _too_many(what: str, sent: int, limit: int, setting: str) -> TooLargeError:
    return TooLargeError(
        f"too many {what}: {sent} sent, the limit is {limit} per request ({setting})", limit, what
    )


def _check_lengths(named: Sequence[tuple[str, str]], what: str, settings: Settings) -> None:
    for name, value in named:
        if len(value) > settings.max_chars:
            raise TooLargeError(
                f"{name} is too long: {len(value)} characters, "
                f"the limit is {settings.max_chars} characters per text (max_chars)",
                settings.max_chars,
                "characters",
                split="texts",
            )
    chars = sum(len(value) for _, value in named)
    if chars > settings.max_request_chars:
        raise TooLargeError(
            f"too much text: the {what} hold {chars} characters together, "
            f"the limit is {settings.max_request_chars} per request (max_request_chars)",
            settings.max_request_chars,
            "characters",
        )


def _check_unknown_fields(data: dict[str, Any], known: type[Any], where: str, usage: str) -> None:
    """422 at once for an object with more unknown keys than errors are listed.

    No limit counts keys, and pydantic would make an error of each: a megabyte of them
    took 0.6 s of the event loop to validate and describe. A few go to the schema.
    """
    if len(data) <= MAX_ERRORS:
        return
    unknown = [key for key in data if key not in known.model_fields]
    if len(unknown) <= MAX_ERRORS:
        return
    named = ", ".join(f'"{key[:40]}"' for key in unknown[:MAX_ERRORS])
    raise HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=f"unknown fields {where}{named} and {len(unknown) - MAX_ERRORS} more: {usage}",
    )


def _shown_id(item: dict[str, Any]) -> str:
    """`` ('bbc')`` after a text's name; the id is not validated yet, so only a short string."""
    id_ = item.get("id")
    return f" ({id_!r})" if isinstance(id_, str) and len(id_) <= MAX_ID_CHARS else ""


def check_classify_body(data: object, settings: Settings) -> None:
    """Raise ``TooLargeError`` when a /classify body, as parsed, is past a size limit.

    Only what is already the right type is measured; the schema reports the rest.
    """
    if not isinstance(data, dict):
        return
    _check_unknown_fields(data, ClassifyRequest, "", ClassifyRequest.usage)
    named: list[tuple[str, str]] = []
    texts = data.get("texts")
    if isinstance(texts, list):
        if len(texts) > settings.max_texts:
            raise _too_many("texts", len(texts), settings.max_texts, "max_texts")
        for index, entry in enumerate(texts):
            if isinstance(entry, str):
                named.append((f"texts[{index}]", entry))
            elif isinstance(entry, dict):
                _check_unknown_fields(
                    entry, ClassifyItem, f"in texts[{index}]: ", ClassifyRequest.usage
                )
                if isinstance(text := entry.get("text"), str):
                    named.append((f"texts[{index}].text{_shown_id(entry)}", text))
    text = data.get("text")
    if isinstance(text, str):
        named.append(("text", text))
    _check_lengths(named, "texts", settings)


def check_compare_body(data: object, settings: Settings) -> None:
    """Raise ``TooLargeError`` when a /compare body, as parsed, is past a size limit."""
    if not isinstance(data, dict):
        return
    _check_unknown_fields(data, CompareRequest, "", CompareRequest.usage)
    documents = data.get("documents")
    if not isinstance(documents, list):
        return
    if len(documents) > settings.max_documents:
        raise _too_many("documents", len(documents), settings.max_documents, "max_documents")
    named = []
    for index, document in enumerate(documents):
        if not isinstance(document, dict):
            continue
        where = f"in documents[{index}]: "
        _check_unknown_fields(document, StoryDocument, where, CompareRequest.usage)
        if isinstance(text := document.get("text"), str):
            named.append((f"documents[{index}].text{_shown_id(document)}", text))
    _check_lengths(named, "documents", settings)


def check_feedback_body(data: object, settings: Settings) -> None:
    """Raise ``TooLargeError`` when a /feedback claim is longer than a text may be anywhere."""
    if not isinstance(data, dict):
        return
    _check_unknown_fields(data, FeedbackRequest, "", FeedbackRequest.usage)
    text = data.get("text")
    if isinstance(text, str):
        _check_lengths([("text", text)], "texts", settings)


async def _parsed_body(request: Request) -> object:
    """The body as FastAPI parsed it before resolving dependencies (Request caches it);
    None for an empty or unparsable one, which the schema's errors then describe."""
    if not await request.body():
        return None
    try:
        return await request.json()
    except ValueError:
        return None


async def classify_limits(request: Request) -> None:
    """Dependency: /classify's size limits, checked before its body is validated."""
    check_classify_body(await _parsed_body(request), service_state(request.app).settings)


async def compare_limits(request: Request) -> None:
    """Dependency: /compare's size limits, checked before its body is validated."""
    check_compare_body(await _parsed_body(request), service_state(request.app).settings)


async def feedback_limits(request: Request) -> None:
    """Dependency: /feedback's size limits, checked before its body is validated."""
    check_feedback_body(await _parsed_body(request), service_state(request.app).settings)
