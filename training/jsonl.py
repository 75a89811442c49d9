"""JSON Lines read one object a line, each with its line number, for every reader of user files."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any


class JsonLineError(ValueError):
    """Line ``number`` is not JSON (``reason`` says why) or is JSON but not an object
    (``reason`` is None); each caller words the error for its own command."""

    def __init__(self, number: int, reason: str | None) -> None:
        super().__init__(f"line {number}: {reason or 'not a JSON object'}")
        self.number = number
        self.reason = reason


def json_objects(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; blank lines are skipped."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise JsonLineError(number, error.msg) from None
        if not isinstance(record, dict):
            raise JsonLineError(number, None)
        yield number, record
