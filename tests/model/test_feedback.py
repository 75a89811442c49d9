"""The corrections store: idempotent keys, and nothing lost or doubled across a kill.

Every test runs on both ways of naming a store: the default SQLite file (a path) and a
SQLAlchemy URL (``sqlite:///``, the same code a server database goes through).
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from model.feedback import (
    Correction,
    FeedbackStore,
    KeyConflictError,
    StoreUnavailableError,
    check_url,
)
from model.labels import Label

Locate = Callable[[Path], "Path | str"]


@pytest.fixture(params=["path", "url"])
def locate(request: pytest.FixtureRequest) -> Locate:
    """How a test names the store's file: as a path, or as a sqlite:/// SQLAlchemy URL."""
    if request.param == "path":
        return lambda path: path
    return lambda path: f"sqlite:///{path}"


def correction(text: str = "The report was fake.", key: str = "", note: str = "") -> Correction:
    return Correction(text, Label.ASSERTION, Label.DENIAL, note=note, model_version="4", key=key)


def test_a_key_stores_a_correction_once(tmp_path: Path, locate: Locate) -> None:
    store = FeedbackStore(locate(tmp_path / "feedback.db"))
    assert not (tmp_path / "feedback.db").exists()  # nothing written until the first call

    first, created = store.add(correction(key="c-1"))
    again, created_again = store.add(correction(key="c-1"))
    assert (created, created_again) == (True, False)
    assert again == first and first.key == "c-1" and first.created

    with pytest.raises(KeyConflictError, match="c-1"):
        store.add(correction("Another claim.", key="c-1"))

    # No client id: the content is the key, and a repeat with another note is the same one.
    derived, _ = store.add(correction("A third claim."))
    repeat, created = store.add(correction("A third claim.", note="still fake"))
    assert not created and repeat.key == derived.key
    assert derived.key.startswith("sha256:")
    assert [c.text for c in store.all()] == ["The report was fake.", "A third claim."]
    assert store.pair_counts() == {("assertion", "denial"): 2}


def test_the_file_is_in_wal_mode_and_survives_a_new_store(tmp_path: Path, locate: Locate) -> None:
    path = tmp_path / "feedback.db"
    FeedbackStore(locate(path)).add(correction())
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [c.text for c in FeedbackStore(locate(path)).all()] == ["The report was fake."]


def test_reading_a_missing_store_creates_nothing(tmp_path: Path, locate: Locate) -> None:
    path = tmp_path / "absent" / "feedback.db"
    store = FeedbackStore(locate(path))
    assert not store.exists() and store.all() == []
    assert not path.parent.exists()
    assert store.where == str(path)


def test_concurrent_writers_of_one_id_store_it_once(tmp_path: Path, locate: Locate) -> None:
    store = FeedbackStore(locate(tmp_path / "feedback.db"))
    outcomes: list[bool] = []
    start = threading.Barrier(6)

    def send() -> None:
        start.wait()
        outcomes.append(store.add(correction(key="same"))[1])

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False] * 5 + [True]
    assert [c.key for c in store.all()] == ["same"]


def test_a_file_written_before_sqlalchemy_is_read_and_added_to(
    tmp_path: Path, locate: Locate
) -> None:
    path = tmp_path / "feedback.db"
    # The schema and a row as the first, sqlite3-only store wrote them.
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE corrections (key TEXT PRIMARY KEY, text TEXT NOT NULL, "
            "model_label TEXT NOT NULL, correct_label TEXT NOT NULL, note TEXT NOT NULL "
            "DEFAULT '', model_version TEXT NOT NULL DEFAULT '', created TEXT NOT NULL)"
        )
        connection.execute(
            "INSERT INTO corrections VALUES ('old', 'An old claim.', 'denial', 'caveat', '', "
            "'3', '2026-01-02T03:04:05+00:00')"
        )
    store = FeedbackStore(locate(path))
    assert not store.add(Correction("An old claim.", Label.DENIAL, Label.CAVEAT, "", "3", "old"))[1]
    store.add(correction())
    assert [c.key for c in store.all()] == ["old", correction().content_key()]


def test_a_store_that_cannot_be_written_says_which(tmp_path: Path, locate: Locate) -> None:
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    path = tmp_path / "a-file" / "feedback.db"
    with pytest.raises(StoreUnavailableError, match=f"feedback store {path}"):
        FeedbackStore(locate(path)).add(correction())


def test_a_url_is_checked_without_showing_its_password() -> None:
    check_url("sqlite:///somewhere/feedback.db")  # parsed, dialect and driver there
    with pytest.raises(ValueError, match="is not a SQLAlchemy URL") as caught:
        check_url("secret-word-and-nothing-else")
    assert "secret" not in str(caught.value)
    with pytest.raises(ValueError, match="no dialect 'nosuch'"):
        check_url("nosuch://h/db")
    with pytest.raises(ValueError, match=r"postgresql\+nosuchdriver://u:\*\*\*@h/db") as caught:
        check_url("postgresql+nosuchdriver://u:hunter2@h/db")
    assert "hunter2" not in str(caught.value)
    assert FeedbackStore("postgresql://u:hunter2@h/db").where == "postgresql://u:***@h/db"


WRITER = textwrap.dedent(
    """
    import sys
    from model.feedback import Correction, FeedbackStore
    from model.labels import Label

    store = FeedbackStore(sys.argv[1])
    for n, _ in enumerate(sys.stdin):  # one line in: one request
        store.add(Correction(f"claim {n}", Label.ASSERTION, Label.CAVEAT, key=f"k{n}"))
        print(n, flush=True)  # answered: the row is committed and synced
    """
)


def test_a_writer_killed_mid_stream_loses_no_answered_row_and_a_retry_doubles_none(
    tmp_path: Path, locate: Locate
) -> None:
    path = locate(tmp_path / "feedback.db")
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert writer.stdin is not None and writer.stdout is not None
    answered = []
    for _ in range(25):
        writer.stdin.write("go\n")
        writer.stdin.flush()
        answered.append(int(writer.stdout.readline()))
    writer.stdin.write("go\n")  # a 26th request, in flight when the process dies
    writer.stdin.flush()
    writer.send_signal(signal.SIGKILL)  # no chance to clean up, possibly mid-transaction
    writer.wait(timeout=30)

    store = FeedbackStore(path)
    keys = {c.key for c in store.all()}
    assert {f"k{n}" for n in answered} <= keys  # every answered correction is there
    assert len(keys) in (25, 26)  # and the one in flight at most
    # The client retries all 26 it sent, as it would after a lost answer: none doubles.
    for n in range(26):
        store.add(Correction(f"claim {n}", Label.ASSERTION, Label.CAVEAT, key=f"k{n}"))
    rows = store.all()
    assert len(rows) == len({c.key for c in rows}) == 26
