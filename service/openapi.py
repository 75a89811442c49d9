"""The OpenAPI schema says what the service enforces, with the limits of its own settings.

pydantic writes the request models' shapes; the rules the validators and the
routes add are written into the schema here, from the same settings the routes
read, so a client (or a fuzzer) generating from the schema sends what the
service accepts and nothing it refuses:

- /classify takes exactly one of ``text`` and ``texts`` (``oneOf``), never null;
  ``texts`` holds 1 to ``max_texts`` strings or ``{"id", "text"}`` objects (``anyOf``
  of the two arrays: one kind per request); each text is at most ``max_chars``
  characters and not blank, and so is each id (at most ``MAX_ID_CHARS``).
- /compare takes 2 to ``max_documents`` documents; ids and texts are not blank,
  texts at most ``max_chars`` characters.
- With API keys, every operation but the probes needs one (``securitySchemes``).

Three limits cannot be written in JSON Schema, and the descriptions say so:
the characters of a whole request (``max_request_chars``), the claims its texts
hold (``max_claims``, ``max_story_claims``) and duplicate ids (of documents, of
/classify's items).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.auth import is_public
from service.schemas import ITEM_FORM, MIN_DOCUMENTS, NOT_BLANK
from service.settings import Settings

UNAUTHORIZED = {
    "description": "No valid API key: send Authorization: Bearer KEY or X-API-Key: KEY",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}


def _text(settings: Settings, description: str) -> dict[str, Any]:
    return {
        "type": "string",
        "maxLength": settings.max_chars,
        "pattern": NOT_BLANK,
        "description": f"{description}; at most {settings.max_chars} characters, not blank",
    }


def _classify(schema: dict[str, Any], item: dict[str, Any], settings: Settings) -> None:
    properties = schema["properties"]
    properties["text"] = _text(settings, "One text to classify")
    bounds = {"minItems": 1, "maxItems": settings.max_texts}
    item["properties"]["id"]["pattern"] = NOT_BLANK
    item["properties"]["text"] = _text(settings, "The text to classify")
    # One kind per request: an array of strings, or of objects (unique, as their ids are).
    properties["texts"] = {
        "anyOf": [
            {"type": "array", "items": _text(settings, "A text"), **bounds},
            {
                "type": "array",
                "items": {"$ref": "#/components/schemas/ClassifyItem"},
                "uniqueItems": True,
                **bounds,
            },
        ],
        "description": f"Several texts, classified together: 1 to {settings.max_texts} strings, "
        f"or 1 to {settings.max_texts} {ITEM_FORM} objects whose ids come back on their results",
    }
    # Exactly one of the two: a body with both matches both branches, one with neither, none.
    schema["oneOf"] = [{"required": ["text"]}, {"required": ["texts"]}]
    schema["description"] = (
        f"{schema.get('description', '')} All texts together hold at most "
        f"{settings.max_request_chars} characters (max_request_chars) and "
        f"{settings.max_claims} claims (max_claims); more is refused with 413. "
        "Item ids must be unique (422)."
    ).strip()


def _compare(request: dict[str, Any], document: dict[str, Any], settings: Settings) -> None:
    documents = request["properties"]["documents"]
    documents["minItems"] = MIN_DOCUMENTS
    documents["maxItems"] = settings.max_documents
    # Unique ids make unique documents; JSON Schema cannot say "unique by id" itself.
    documents["uniqueItems"] = True
    documents["description"] = (
        f"{MIN_DOCUMENTS} to {settings.max_documents} documents with unique ids"
    )
    request["description"] = (
        f"{request.get('description', '')} The documents together hold at most "
        f"{settings.max_request_chars} characters (max_request_chars) and "
        f"{settings.max_story_claims} claims (max_story_claims); more is refused with 413. "
        "Document ids must be unique (422)."
    ).strip()
    document["properties"]["id"]["pattern"] = NOT_BLANK
    document["properties"]["text"] = _text(
        settings, "The article: plain text, HTML or a page's text"
    )


def _security(schema: dict[str, Any]) -> None:
    schema.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }
    schema["security"] = [{"bearer": []}, {"apiKey": []}]
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            if is_public(path):
                operation["security"] = []
            else:
                operation.setdefault("responses", {})["401"] = UNAUTHORIZED


def honest_openapi(app: FastAPI, settings: Settings, *, auth: bool) -> dict[str, Any]:
    """The app's OpenAPI schema with the settings' limits and the key requirement in it."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        components = schema["components"]["schemas"]
        _classify(components["ClassifyRequest"], components["ClassifyItem"], settings)
        _compare(components["CompareRequest"], components["StoryDocument"], settings)
        components["FeedbackRequest"]["properties"]["text"] = _text(
            settings, "The claim as the model labelled it"
        )
        if auth:
            _security(schema)
        app.openapi_schema = schema
    return app.openapi_schema
