"""The corrections store: idempotent keys, and nothing lost or doubled across a kill."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from model.feedback import Correction, FeedbackStore, KeyConflictError
from model.labels import Label


def correction(text: str = "The report was fake.", key: str = "", note: str = "") -> Correction:
    return Correction(text, Label.ASSERTION, Label.DENIAL, note=note, model_version="4", key=key)


def test_a_key_stores_a_correction_once(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.db")
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


def test_the_file_is_in_wal_mode_and_survives_a_new_store(tmp_path: Path) -> None:
    path = tmp_path / "feedback.db"
    FeedbackStore(path).add(correction())
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [c.text for c in FeedbackStore(path).all()] == ["The report was fake."]


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
    tmp_path: Path,
) -> None:
    path = tmp_path / "feedback.db"
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
