"""Schemathesis hooks for the contract test (loaded through SCHEMATHESIS_HOOKS).

JSON Schema cannot say "document ids are unique" (only "documents are unique",
which the schema does say), so generated /compare bodies get unique ids here:
the one rule of the service that the schema cannot carry. Every other rule is
in the schema itself (service.openapi).
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook("map_body").apply_to(path="/compare")
def unique_document_ids(context: Any, body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("documents"), list):
        seen: set[str] = set()
        for index, document in enumerate(body["documents"]):
            if isinstance(document, dict) and isinstance(document.get("id"), str):
                if document["id"] in seen:
                    document["id"] = f"{document['id']}-{index}"
                seen.add(document["id"])
    return body
