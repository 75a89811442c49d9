"""news_natural's blind audit: the draw hides labels, the merge keeps a label a blind pass
confirms, and only the final labels reach the scored files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from training.cli import app
from training.corpus import natural_audit
from training.corpus.natural_audit import (
    audit_sample,
    audited_rows,
    final_label,
    natural_rows,
    write_batches,
)
from training.data import DataError


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def natural_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    labels = _write(
        tmp_path / "news_natural.csv",
        ["body_id", "sentence_index", "text", "label"],
        [
            [7, 1, "The ministry denied the report.", "denial"],
            [7, 2, "Troops entered the town.", "assertion"],
            [9, 0, "It may have been a drill.", "caveat"],
        ],
    )
    sample = _write(
        tmp_path / "news_natural_sample.csv",
        ["body_id", "sentence_index", "text", "before", "after"],
        [
            [7, 1, "The ministry denied the report.", "A report said so.", "Troops entered."],
            [7, 2, "Troops entered the town.", "The ministry denied the report.", ""],
            [9, 0, "It may have been a drill.", "", "Nobody knows."],
        ],
    )
    openings = _write(
        tmp_path / "natural_openings.csv",
        ["id", "text", "label"],
        [
            ["wikinews:12:0", "Police said the claim was false.", "denial"],
            ["wikinews:12:1", "The mayor spoke on Monday.", "assertion"],
            ["wikinews:12:3", "Results are not yet known.", "caveat"],
            ["fnc1:7:1", "The ministry denied the report.", "denial"],
            ["fnc1:8:0", "By Staff Writer", "skip"],
        ],
    )
    return labels, sample, openings


def test_rows_join_both_files_once_with_their_neighbours(
    natural_files: tuple[Path, Path, Path],
) -> None:
    rows = {row.sentence_id: row for row in natural_rows(*natural_files)}
    # The sentence in both files is kept once, with the uniform draw's context.
    assert sorted(rows) == [
        "fnc1:7:1",
        "fnc1:7:2",
        "fnc1:8:0",
        "fnc1:9:0",
        "wikinews:12:0",
        "wikinews:12:1",
        "wikinews:12:3",
    ]
    assert rows["fnc1:7:1"].before == "A report said so."
    assert rows["wikinews:12:1"].before == "Police said the claim was false."
    # Sentence 2 is not in the file: sentence 1 has no known next sentence, 3 no previous.
    assert rows["wikinews:12:1"].after == ""
    assert rows["wikinews:12:3"].before == ""


def test_sample_holds_every_denial_and_hides_labels(
    natural_files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    rows = natural_rows(*natural_files)
    sample = audit_sample(rows, others=2, seed=3)
    assert sum(row.label == "denial" for row in sample) == 2
    assert len(sample) == 4
    assert sample == audit_sample(rows, others=2, seed=3)
    paths = write_batches(sample, tmp_path / "audit", batches=2)
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            batch = list(csv.DictReader(handle))
        assert {row["label"] for row in batch} == {""}
        assert "original" not in batch[0]
    with (tmp_path / "audit" / "key.csv").open(encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 4


@pytest.mark.parametrize(
    ("original", "a", "b", "adjudicated", "expected"),
    [
        ("denial", "denial", "assertion", "", "denial"),  # one blind pass confirms it
        ("denial", "assertion", "assertion", "", "assertion"),  # both passes overrule it
        ("denial", "assertion", "caveat", "caveat", "caveat"),  # the adjudicator decides
        ("denial", "assertion", "assertion", "denial", "denial"),  # ...even over both passes
        ("caveat", "caveat", "assertion", "assertion", "caveat"),  # only where none confirms
    ],
)
def test_final_label(original: str, a: str, b: str, adjudicated: str, expected: str) -> None:
    assert final_label(original, a, b, adjudicated) == expected


def test_split_passes_without_adjudication_are_an_error() -> None:
    with pytest.raises(DataError, match="no adjudication"):
        final_label("denial", "assertion", "caveat", "")


def _answer(sample_dir: Path, out_dir: Path, answers: dict[str, str]) -> None:
    """Copy the batches into ``out_dir`` and answer each row by its original label's name
    in ``answers`` (the key says which), as an annotator's pass would."""
    out_dir.mkdir()
    with (sample_dir / "key.csv").open(encoding="utf-8") as handle:
        original = {row["audit_id"]: row["original"] for row in csv.DictReader(handle)}
    for path in sorted(sample_dir.glob("batch_*.csv")):
        with path.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        for row in rows:
            row["label"] = answers.get(original[row["audit_id"]], original[row["audit_id"]])
        _write(out_dir / path.name, list(rows[0]), [list(row.values()) for row in rows])


def test_merge_records_the_audit_and_applies_only_overruled_labels(
    natural_files: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels, _, openings = natural_files
    sample_dir = tmp_path / "audit"
    write_batches(
        audit_sample(natural_rows(*natural_files), others=10, seed=1), sample_dir, batches=2
    )
    # Pass A reads every denial as an assertion; pass B agrees only on the caveat's.
    _answer(sample_dir, tmp_path / "a", {"denial": "assertion", "caveat": "assertion"})
    _answer(sample_dir, tmp_path / "b", {"caveat": "assertion"})
    audit_file = tmp_path / "news_natural_audit.csv"
    monkeypatch.setattr(natural_audit, "AUDIT_FILE", audit_file)
    monkeypatch.setattr(natural_audit, "LABELS_FILE", labels)
    monkeypatch.setattr(natural_audit, "OPENINGS_FILE", openings)
    result = CliRunner().invoke(
        app,
        [
            "natural-audit-merge",
            str(sample_dir),
            str(tmp_path / "a"),
            str(tmp_path / "b"),
            "--apply",
        ],
    )
    assert result.exit_code == 0, result.output
    # The two caveats both passes read as assertions: one in each file.
    assert "2 labels changed" in result.output
    audited = {
        row.sentence_id: row for row in audited_rows(sample_dir, tmp_path / "a", tmp_path / "b")
    }
    assert audited["fnc1:7:1"].final == "denial"  # pass B confirmed it
    assert audited["fnc1:9:0"].final == "assertion"
    assert audited["wikinews:12:3"].final == "assertion"
    with labels.open(encoding="utf-8") as handle:
        by_text = {row["text"]: row["label"] for row in csv.DictReader(handle)}
    assert by_text["It may have been a drill."] == "assertion"
    assert by_text["The ministry denied the report."] == "denial"
    with audit_file.open(encoding="utf-8") as handle:
        record = list(csv.DictReader(handle))
    assert len(record) == 7
    assert {row["original"] for row in record if row["final"] != row["original"]} == {"caveat"}


def test_merge_refuses_an_unanswered_row(
    natural_files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    sample_dir = tmp_path / "audit"
    write_batches(
        audit_sample(natural_rows(*natural_files), others=10, seed=1), sample_dir, batches=1
    )
    _answer(sample_dir, tmp_path / "a", {})
    (tmp_path / "b").mkdir()
    with pytest.raises(DataError, match="lacks an answer"):
        audited_rows(sample_dir, tmp_path / "a", tmp_path / "b")
