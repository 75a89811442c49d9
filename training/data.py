"""Labelled examples, their validation, group-aware splits and the data hash."""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from model.labels import LABELS, Label

if TYPE_CHECKING:
    import pandas as pd


class Split(StrEnum):
    TRAIN = "train"
    VALIDATION = "validation"
    TEST = "test"


class DataError(ValueError):
    """Training data that cannot be used; the message names the file, row and problem."""


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: Label
    source: str
    # Examples about the same underlying claim share a group and always share a split.
    group: str
    split: Split
    # The source's own label where a reviewer corrected it (Emergent `observing`).
    original_label: Label | None = None
    # Loss weight of this row, times its source's (a user file's ``weight`` column).
    weight: float = 1.0


_NON_WORD = re.compile(r"\W+")


def normalise(text: str) -> str:
    """The key used for de-duplication: case, punctuation and spacing ignored."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def read_csv_rows(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in required if column not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path} lacks column(s) {', '.join(missing)}")
        return list(reader)


def parse_label(value: str, *, where: str) -> Label:
    try:
        return Label.parse(value)
    except ValueError as error:
        raise DataError(f"{where}: {error}") from None


def read_labelled_csv(path: Path, *, source: str, group_column: str, split: Split) -> list[Example]:
    """Rows of ``text`` and ``label`` that all go to one split, grouped by ``group_column``.

    The group is ``<source>:<value>``, so groups of different sources never collide.
    """
    rows = read_csv_rows(path, ("text", "label", group_column))
    return [
        Example(
            row["text"],
            parse_label(row["label"], where=f"{path} row {index + 2}"),
            source,
            f"{source}:{row[group_column]}",
            split,
        )
        for index, row in enumerate(rows)
    ]


def group_split(
    group: str, *, validation_fraction: float, test_fraction: float = 0.0, salt: str = ""
) -> Split:
    """Assign a whole group to a split by a stable hash of its name.

    Hashing (rather than shuffling) keeps a group's split fixed when other
    data is added, so a later corpus never moves test material into training.
    """
    digest = hashlib.sha256(f"{salt}{group}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    if position < test_fraction:
        return Split.TEST
    if position < test_fraction + validation_fraction:
        return Split.VALIDATION
    return Split.TRAIN


def validate_examples(examples: Sequence[Example]) -> None:
    """Refuse empty texts and a group split across two sides."""
    split_of_group: dict[str, Split] = {}
    for example in examples:
        if not example.text.strip():
            raise DataError(f"empty text in source {example.source!r}, group {example.group!r}")
        if not isinstance(example.label, Label):
            raise DataError(f"label {example.label!r} is not one of {[str(x) for x in LABELS]}")
        seen = split_of_group.setdefault(example.group, example.split)
        if seen != example.split:
            raise DataError(f"group {example.group!r} is in both {seen} and {example.split}")


def deduplicate(examples: Iterable[Example]) -> list[Example]:
    """Keep the first of each normalised text; later copies are dropped.

    Callers order sources so that the most trusted (and evaluation) rows come first.
    """
    seen: set[str] = set()
    kept: list[Example] = []
    for example in examples:
        key = normalise(example.text)
        if key and key not in seen:
            seen.add(key)
            kept.append(example)
    return kept


def data_hash(examples: Iterable[Example]) -> str:
    """A short fingerprint of exactly what was trained and evaluated on."""
    digest = hashlib.sha256()
    for example in examples:
        # A weight enters the hash only when set, so corpora without weights keep their hash.
        weight = f"\t{example.weight:g}" if example.weight != 1.0 else ""
        digest.update(
            f"{example.text}\t{example.label}\t{example.split}\t{example.source}{weight}\n".encode()
        )
    return digest.hexdigest()[:16]


def counts(examples: Iterable[Example]) -> Counter[tuple[str, str, str]]:
    """(source, label, split) -> number of examples, for the data card and the run log."""
    return Counter((e.source, e.label.value, e.split.value) for e in examples)


def examples_frame(examples: Sequence[Example]) -> pd.DataFrame:
    """The rows as a table (text, label, split, source, group, weight): what the run logs
    as an MLflow dataset."""
    import pandas as pd

    return pd.DataFrame(
        {
            "text": [e.text for e in examples],
            "label": [e.label.value for e in examples],
            "split": [e.split.value for e in examples],
            "source": [e.source for e in examples],
            "group": [e.group for e in examples],
            "weight": [e.weight for e in examples],
        }
    )
