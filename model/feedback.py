"""Label corrections from users: written by the service's ``POST /feedback``, read back by
``python -m training feedback-export``.

The store is one table in a database SQLAlchemy can reach: by default a local SQLite file,
or any SQLAlchemy URL (PostgreSQL, MySQL, ... with its driver installed). A SQLite file is
in WAL mode with ``synchronous=FULL``: a correction the service answered for is on disk,
and a process killed between two requests loses nothing. Each correction has a key (the
client's id, or a digest of its content) that is the table's primary key, so a retried
request stores it once on every database, whoever writes at the same time.

SQLAlchemy is imported on first use, so reading the settings costs nothing. A SQLite file
gets a fresh connection per call (no pool): the store holds no handle open between
requests, and SQLite's own locking orders concurrent writers. Reading never creates a
file or a table.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model.labels import Label

if TYPE_CHECKING:
    from sqlalchemy import Engine, Table

FEEDBACK_FILE = "feedback.db"
TABLE = "corrections"
# Seconds a SQLite writer waits for another's lock before the request fails.
BUSY_TIMEOUT_S = 5.0
# Client ids are at most service.schemas.MAX_ID_CHARS (200); content keys are 71.
KEY_CHARS = 255
# An ISO timestamp with microseconds and offset is 32 characters.
CREATED_CHARS = 40


def default_feedback_path(directory: Path | None = None) -> Path:
    """``feedback.db`` where the command runs, beside the default ``mlflow.db`` (model.store)."""
    return (directory or Path.cwd()).resolve() / FEEDBACK_FILE


def is_url(location: str | Path) -> bool:
    """A SQLAlchemy URL (``dialect[+driver]://...``) rather than a file path."""
    return isinstance(location, str) and "://" in location


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


class StoreUnavailableError(RuntimeError):
    """The store cannot be read or written now (locked, full, unreachable, not writable)."""


def _table() -> Table:
    from sqlalchemy import Column, MetaData, String, Table, Text

    return Table(
        TABLE,
        MetaData(),
        Column("key", String(KEY_CHARS), primary_key=True),
        Column("text", Text, nullable=False),
        Column("model_label", String(16), nullable=False),
        Column("correct_label", String(16), nullable=False),
        Column("note", Text, nullable=False, default=""),
        Column("model_version", String(KEY_CHARS), nullable=False, default=""),
        # Microseconds, so that "oldest first" (which export's latest-per-text relies on)
        # has no ties in practice; an ISO string in UTC sorts as the time does.
        Column("created", String(CREATED_CHARS), nullable=False),
    )


class FeedbackStore:
    """The corrections in a SQLite file (a path) or any database (a SQLAlchemy URL).

    Nothing is opened or written until the first call.
    """

    def __init__(self, location: Path | str) -> None:
        if is_url(location):
            self.url = str(location)
            self.path = _sqlite_file(self.url)
        else:
            self.path = Path(location)
            self.url = f"sqlite:///{self.path}"
        self._table = _table()
        self._engine: Engine | None = None
        self._prepared = False
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        """The store for messages and logs: the file, or the URL without its password."""
        if self.path is not None:
            return str(self.path)
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    def _connect(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = _engine(self.url, sqlite_file=self.path is not None)
            return self._engine

    def _prepare(self) -> Engine:
        """The engine, with the file's folder, WAL mode and the table made on first write."""
        engine = self._connect()
        with self._lock:
            if self._prepared:
                return engine
            from sqlalchemy.schema import CreateTable

            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with engine.begin() as connection:
                if self.path is not None:
                    # WAL is a property of the file, kept once set: readers (export) never
                    # block the service's writes. Set by a writer only, so pointing the
                    # export at another SQLite file never changes that file.
                    connection.exec_driver_sql("PRAGMA journal_mode=WAL")
                # IF NOT EXISTS: two processes starting on a new store both succeed.
                connection.execute(CreateTable(self._table, if_not_exists=True))
            self._prepared = True
        return engine

    def exists(self) -> bool:
        """Whether the store holds a corrections table; never creates a file or a table."""
        if self.path is not None and not self.path.is_file():
            return False
        from sqlalchemy import inspect

        with _unavailable(self):
            return inspect(self._connect()).has_table(TABLE)

    def add(self, correction: Correction) -> tuple[Correction, bool]:
        """Store ``correction`` unless its key is there; return the stored one and whether it
        is new. Raises KeyConflictError when a client id was used for another correction,
        and StoreUnavailableError when the store cannot be written."""
        from sqlalchemy import select
        from sqlalchemy.exc import IntegrityError

        key = correction.key or correction.content_key()
        created = datetime.now(UTC).isoformat(timespec="microseconds")
        row = {
            "key": key,
            "text": correction.text,
            "model_label": correction.model_label.value,
            "correct_label": correction.correct_label.value,
            "note": correction.note,
            "model_version": correction.model_version,
            "created": created,
        }
        with _unavailable(self):
            engine = self._prepare()
            try:
                # Committed (and for SQLite synced) before the caller answers anyone.
                with engine.begin() as connection:
                    connection.execute(self._table.insert().values(**row))
            except IntegrityError:
                # The key is taken: by a retry of this correction, or by another one. The
                # primary key decides on every database, however writers interleave.
                with engine.connect() as connection:
                    found = connection.execute(
                        select(self._table).where(self._table.c.key == key)
                    ).one_or_none()
                if found is None:
                    raise
                stored = _correction(found._mapping)
            else:
                return _correction(row), True
        # A content key names its content: a repeat with another note is the same correction.
        if correction.key and not stored.same_content(correction):
            raise KeyConflictError(f"id {key!r} already names another correction")
        return stored, False

    def all(self) -> list[Correction]:
        """Every correction, oldest first (an empty list when there is no store yet)."""
        if not self.exists():
            return []
        from sqlalchemy import select

        table = self._table
        with _unavailable(self), self._connect().connect() as connection:
            rows = connection.execute(select(table).order_by(table.c.created, table.c.key))
            return [_correction(row._mapping) for row in rows]

    def pair_counts(self) -> Counter[tuple[str, str]]:
        """(model label, correct label) -> corrections."""
        return Counter((c.model_label.value, c.correct_label.value) for c in self.all())

    def close(self) -> None:
        """Let go of pooled connections (a server database's); the store opens again on use."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None
                self._prepared = False


def check_url(url: str) -> None:
    """Raise ValueError, without the URL's password, unless SQLAlchemy can open ``url``:
    a URL it parses, a dialect it knows and that dialect's driver installed. Connects to
    nothing."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(
            "is not a SQLAlchemy URL (dialect[+driver]://user:password@host/database, "
            "or sqlite:///path)"
        ) from None
    shown = parsed.render_as_string(hide_password=True)
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        raise ValueError(f"{shown}: SQLAlchemy has no dialect {parsed.drivername!r}") from None
    try:
        dialect.import_dbapi()
    except ImportError as error:
        raise ValueError(
            f"{shown}: its driver is not installed ({error.name or error}); install it beside "
            "the service"
        ) from None


def _sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL; None for another database or an in-memory one."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _engine(url: str, *, sqlite_file: bool) -> Engine:
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

    if not sqlite_file:
        # A server may drop idle connections; a pooled one is checked before use.
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _durable(connection: Any, _record: Any) -> None:
        # FULL: a commit is synced before the request is answered, so an answered
        # correction survives a crash of the process or the machine.
        connection.execute("PRAGMA synchronous=FULL")

    return engine


@contextmanager
def _unavailable(store: FeedbackStore) -> Iterator[None]:
    """The database's and the file system's errors as StoreUnavailableError, naming the store."""
    from sqlalchemy.exc import IntegrityError, SQLAlchemyError

    try:
        yield
    except IntegrityError:
        raise
    except (SQLAlchemyError, OSError) as error:
        reason = getattr(error, "orig", None) or error
        raise StoreUnavailableError(f"feedback store {store.where}: {reason}") from error


def _correction(row: Any) -> Correction:
    return Correction(
        text=row["text"],
        model_label=Label(row["model_label"]),
        correct_label=Label(row["correct_label"]),
        note=row["note"],
        model_version=row["model_version"],
        key=row["key"],
        created=row["created"],
    )
