"""Schemathesis hooks for the contract test (loaded through SCHEMATHESIS_HOOKS).

JSON Schema cannot say "ids are unique" (only "items are unique", which the
schema does say), so generated /compare documents and /classify items get
unique ids here: the one rule of the service that the schema cannot carry.
Every other rule is in the schema itself (service.openapi).
"""

from __future__ import annotations

from typing import Any

import schemathesis


def _unique_ids(items: Any) -> None:
    if not isinstance(items, list):
        return
    seen: set[str] = set()
    for index, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            if item["id"] in seen:
                item["id"] = f"{item['id']}-{index}"
            seen.add(item["id"])


@schemathesis.hook("map_body").apply_to(path="/compare")
def unique_document_ids(context: Any, body: Any) -> Any:
    if isinstance(body, dict):
        _unique_ids(body.get("documents"))
    return body


@schemathesis.hook("map_body").apply_to(path="/classify")
def unique_item_ids(context: Any, body: Any) -> Any:
    if isinstance(body, dict):
        _unique_ids(body.get("texts"))
    return body
