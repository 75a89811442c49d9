"""Label corrections from users, kept in a local SQLite file: written by the service's
``POST /feedback``, read back by ``python -m training feedback-export``.

Plain ``sqlite3`` (no server, no ORM). The file is in WAL mode with ``synchronous=FULL``:
a correction the service answered for is on disk, and a process killed between two
requests loses nothing. Each correction has a key (the client's id, or a digest of its
content), so a retried request stores it once.

Every call opens its own short connection: the store holds no handle to close, works from
any thread, and SQLite's own locking orders concurrent writers.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from model.labels import Label

FEEDBACK_FILE = "feedback.db"
# Seconds a writer waits for another's lock before the request fails.
BUSY_TIMEOUT_S = 5.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS corrections (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    model_label TEXT NOT NULL,
    correct_label TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    model_version TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
)
"""
_COLUMNS = "key, text, model_label, correct_label, note, model_version, created"


def default_feedback_path(directory: Path | None = None) -> Path:
    """``feedback.db`` where the command runs, beside the default ``mlflow.db`` (model.store)."""
    return (directory or Path.cwd()).resolve() / FEEDBACK_FILE


@dataclass(frozen=True)
class Correction:
    text: str
    model_label: Label
    correct_label: Label
    note: str = ""
    model_version: str = ""
    # The client's id; empty: derived from the content (content_key).
    key: str = ""
    created: str = ""

    def content_key(self) -> str:
        """The same correction of the same claim by the same model gets the same key."""
        content = "\x1f".join(
            (self.text, self.model_label.value, self.correct_label.value, self.model_version)
        )
        return "sha256:" + hashlib.sha256(content.encode("utf-8")).hexdigest()

    def same_content(self, other: Correction) -> bool:
        return (self.text, self.model_label, self.correct_label, self.note, self.model_version) == (
            other.text,
            other.model_label,
            other.correct_label,
            other.note,
            other.model_version,
        )


class KeyConflictError(ValueError):
    """A client id already names another correction."""


class FeedbackStore:
    """The corrections in one SQLite file; nothing touches the disk until the first call."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(
            sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        ) as connection:
            # WAL: readers (export) never block the service's writes. FULL: a commit is
            # synced before the request is answered, so an answered correction survives.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute(_SCHEMA)
            yield connection

    def add(self, correction: Correction) -> tuple[Correction, bool]:
        """Store ``correction`` unless its key is there; return the stored one and whether it
        is new. Raises KeyConflictError when a client id was used for another correction."""
        key = correction.key or correction.content_key()
        created = datetime.now(UTC).isoformat(timespec="seconds")
        with self._connect() as connection:
            # One transaction: the check and the insert cannot interleave with another writer.
            connection.execute("BEGIN IMMEDIATE")
            try:
                inserted = connection.execute(
                    f"INSERT OR IGNORE INTO corrections ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        correction.text,
                        correction.model_label.value,
                        correction.correct_label.value,
                        correction.note,
                        correction.model_version,
                        created,
                    ),
                ).rowcount
                row = connection.execute(
                    f"SELECT {_COLUMNS} FROM corrections WHERE key = ?", (key,)
                ).fetchone()
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        stored = _correction(row)
        # A content key names its content: a repeat with another note is the same correction.
        if not inserted and correction.key and not stored.same_content(correction):
            raise KeyConflictError(f"id {key!r} already names another correction")
        return stored, bool(inserted)

    def all(self) -> list[Correction]:
        """Every correction, oldest first (an empty list when the file does not exist)."""
        if not self.path.is_file():
            return []
        with self._connect() as connection:
            rows = connection.execute(
                f"SELECT {_COLUMNS} FROM corrections ORDER BY created, rowid"
            ).fetchall()
        return [_correction(row) for row in rows]

    def pair_counts(self) -> Counter[tuple[str, str]]:
        """(model label, correct label) -> corrections."""
        return Counter((c.model_label.value, c.correct_label.value) for c in self.all())


def _correction(row: tuple[str, ...]) -> Correction:
    key, text, model_label, correct_label, note, model_version, created = row
    return Correction(
        text, Label(model_label), Label(correct_label), note, model_version, key, created
    )
