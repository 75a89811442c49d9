"""A user's own labelled claims (``data.extra=PATH``, ``evaluate --data PATH``): read and check.

One file of ``text`` and ``label`` (assertion/denial/caveat) in CSV, JSON Lines or Parquet,
with optional ``story`` (or ``group``), ``split`` and ``weight``. Every problem is a
``DataError`` that names the file and the line (the row, for Parquet) before anything
trains, so a bad file changes nothing.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from model.labels import LABELS, Label
from training.data import DataError, Example, Split, group_split, normalise
from training.jsonl import JsonLineError, json_objects

# The source name of a user's rows: their groups, loss weights and evaluation set go by it.
USER_SOURCE = "extra"
# The user's rows marked split=test, scored as their own evaluation set.
USER_TEST_SET = "extra_test"
REQUIRED_COLUMNS = ("text", "label")
OPTIONAL_COLUMNS = ("story", "group", "split", "weight")
FORMATS = (".csv", ".jsonl", ".parquet")
# Files are read whole (with their digest) before training starts; 256 MB of claims is a
# million or so rows, more than a newsroom labels, and a bound a typo'd path cannot exceed
# by gigabytes. ``data.extra_max_mb`` raises it.
DEFAULT_MAX_MB = 256
_SPLITS = {split.value: split for split in Split}


@dataclass(frozen=True)
class UserData:
    """A checked user file: its rows as examples and what the run log says about it."""

    path: Path
    examples: list[Example]
    # sha256 of the file's bytes: two versions of one file tell apart by it.
    digest: str
    has_stories: bool
    # (label, split) -> rows, before de-duplication against the corpus.
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def name(self) -> str:
        return self.path.name

    def count_tags(self) -> dict[str, str]:
        """Rows per split and label as ``<split>.<label>`` strings (MLflow dataset tags)."""
        tags = {"rows": str(len(self.examples))}
        for (label, split), n in sorted(self.counts.items()):
            tags[f"{split}.{label}"] = str(n)
        return tags


def _suggest(value: str) -> str:
    """``did you mean 'denial'?`` for a near miss such as ``Denial`` or ``denail``."""
    names = [label.value for label in LABELS]
    cleaned = value.strip().lower()
    close = [cleaned] if cleaned in names else difflib.get_close_matches(cleaned, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}labels are {', '.join(names)}"


def _where(line: int, parquet: bool) -> str:
    return f"({'row' if parquet else 'line'} {line})"


def _check_size(path: Path, max_mb: int) -> bytes:
    if not path.is_file():
        raise DataError(f"{path} does not exist or is not a file")
    if path.suffix.lower() not in FORMATS:
        raise DataError(f"{path}: unknown format {path.suffix!r}: use {', '.join(FORMATS)}")
    size = path.stat().st_size
    if size > max_mb * 1024 * 1024:
        raise DataError(
            f"{path} is {size / 1024**2:,.0f} MB, over the limit data.extra_max_mb={max_mb}: "
            "split the file or raise the limit (line 1)"
        )
    if size == 0:
        raise DataError(f"{path} is empty: it needs a header with text and label (line 1)")
    return path.read_bytes()


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DataError(
            f"{path} is not UTF-8: byte {raw[error.start]:#04x} at offset {error.start} "
            f"cannot be read; save it as UTF-8 (line {line})"
        ) from None


def _csv_rows(path: Path, raw: bytes) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    reader = csv.DictReader(io.StringIO(_decode(path, raw), newline=""))
    columns = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = columns

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        start = reader.line_num + 1
        for row in reader:
            # A quoted text may span lines: a row is named by the line it starts on.
            yield start, row
            start = reader.line_num + 1

    return columns, rows()


def _jsonl_rows(path: Path, raw: bytes) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    records: list[tuple[int, dict[str, str]]] = []
    columns: dict[str, None] = {}
    try:
        for number, record in json_objects(_decode(path, raw).splitlines()):
            columns.update(dict.fromkeys(record))
            records.append((number, {k: "" if v is None else str(v) for k, v in record.items()}))
    except JsonLineError as error:
        if error.reason is None:
            raise DataError(
                f"{path}: each line must be a JSON object (line {error.number})"
            ) from None
        raise DataError(
            f"{path}: not a JSON object: {error.reason} (line {error.number})"
        ) from None
    return list(columns), iter(records)


def _parquet_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as error:  # pyarrow's own errors for a file that is not Parquet
        raise DataError(f"{path} cannot be read as Parquet: {error} (row 1)") from None
    columns = table.column_names
    rows = (
        (number, {k: "" if v is None else str(v) for k, v in record.items()})
        for number, record in enumerate(table.to_pylist(), start=1)
    )
    return columns, rows


def _parse_split(value: str, path: Path, where: str) -> Split | None:
    cleaned = value.strip().lower()
    if not cleaned:
        return None
    if cleaned not in _SPLITS:
        raise DataError(
            f"{path}: unknown split {value!r}: use {', '.join(_SPLITS)} or leave it empty {where}"
        )
    return _SPLITS[cleaned]


def _parse_weight(value: str, path: Path, where: str) -> float:
    if not value.strip():
        return 1.0
    try:
        weight = float(value)
    except ValueError:
        weight = math.nan
    if not math.isfinite(weight) or weight <= 0:
        raise DataError(f"{path}: weight {value!r} is not a positive number {where}")
    return weight


@dataclass
class _Row:
    line: int
    text: str
    label: Label
    group: str
    split: Split | None
    weight: float


def read_user_file(
    path: Path,
    *,
    validation_fraction: float = 0.0,
    max_mb: int = DEFAULT_MAX_MB,
    default_split: Split | None = None,
) -> UserData:
    """Read and check a user's labelled file; every row becomes an ``Example``.

    A row's split is its ``split`` column; else its story's split where another row of the
    story names one; else ``default_split`` (``evaluate`` reads every row as test); else a
    stable hash of its story (or of its text) sends it to validation with probability
    ``validation_fraction``, to train otherwise. Rows without a story are each their own.
    """
    raw = _check_size(path, max_mb)
    parquet = path.suffix.lower() == ".parquet"
    if parquet:
        columns, records = _parquet_rows(path)
    elif path.suffix.lower() == ".jsonl":
        columns, records = _jsonl_rows(path, raw)
    else:
        columns, records = _csv_rows(path, raw)
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        found = ", ".join(repr(name) for name in columns) or "none"
        raise DataError(
            f"{path} lacks column(s) {', '.join(missing)} (found {found}); it needs text and "
            f"label, and may have {', '.join(OPTIONAL_COLUMNS)} (line 1)"
        )
    story_column = "story" if "story" in columns else "group" if "group" in columns else None
    rows = _check_rows(path, records, story_column, parquet)
    if not rows:
        raise DataError(f"{path} has a header but no rows (line 2)")
    split_of_group = _group_splits(path, rows, parquet)
    examples: list[Example] = []
    counts: Counter[tuple[str, str]] = Counter()
    for row in rows:
        split = (
            split_of_group.get(row.group)
            or default_split
            or group_split(row.group, validation_fraction=validation_fraction, salt=USER_SOURCE)
        )
        examples.append(
            Example(row.text, row.label, USER_SOURCE, row.group, split, weight=row.weight)
        )
        counts[(row.label.value, split.value)] += 1
    return UserData(
        path=path,
        examples=examples,
        digest=hashlib.sha256(raw).hexdigest(),
        has_stories=story_column is not None,
        counts=counts,
    )


def _check_rows(
    path: Path,
    records: Iterator[tuple[int, dict[str, str]]],
    story_column: str | None,
    parquet: bool,
) -> list[_Row]:
    rows: list[_Row] = []
    # normalised text -> (label, line): one text may not carry two labels.
    first_seen: dict[str, tuple[Label, int]] = {}
    for line, record in records:
        where = _where(line, parquet)
        text = (record.get("text") or "").strip()
        if not text:
            raise DataError(f"{path}: empty text {where}")
        value = (record.get("label") or "").strip()
        # Exact names only: a file is the contract a correction round writes back, and
        # "Denial" or "refute" is more likely another scheme than a typo to guess at.
        if value not in {label.value for label in LABELS}:
            raise DataError(f"{path}: unknown label {value!r}: {_suggest(value)} {where}")
        label = Label(value)
        key = normalise(text)
        if key in first_seen and first_seen[key][0] is not label:
            other, other_line = first_seen[key]
            raise DataError(
                f"{path}: the same text has two labels, {other.value!r} on line {other_line} "
                f"and {label.value!r} here {where}"
            )
        if key in first_seen:
            continue  # the same text and label twice: one row is kept
        first_seen[key] = (label, line)
        story = (record.get(story_column) or "").strip() if story_column else ""
        group = f"{USER_SOURCE}:{story or hashlib.sha256(key.encode()).hexdigest()[:12]}"
        rows.append(
            _Row(
                line,
                text,
                label,
                group,
                _parse_split(record.get("split") or "", path, where),
                _parse_weight(record.get("weight") or "", path, where),
            )
        )
    return rows


def _group_splits(path: Path, rows: Sequence[_Row], parquet: bool) -> dict[str, Split]:
    """The split each story names; a story named in two splits is an error (it would leak)."""
    named: dict[str, tuple[Split, int]] = {}
    for row in rows:
        if row.split is None:
            continue
        seen = named.setdefault(row.group, (row.split, row.line))
        if seen[0] is not row.split:
            story = row.group.removeprefix(f"{USER_SOURCE}:")
            raise DataError(
                f"{path}: story {story!r} is in {seen[0].value} on line {seen[1]} and in "
                f"{row.split.value} here; a story stays in one split {_where(row.line, parquet)}"
            )
    return {group: split for group, (split, _) in named.items()}
