"""A blind relabelling audit of news_natural, the yardstick of running news.

news_natural is the set users' text most resembles, and its denials are where the fast
model fails. Before more data is drawn to fix that, the labels themselves are checked:
every denial of the set, and a seeded draw of its other rows (assertions, caveats and
skips, so an annotator cannot tell a row's label from its being drawn), shuffled, go to two
annotators who see the sentence, its neighbours and the guide, never the label. A row
keeps its label when either blind pass agrees with it; where neither does, an adjudicator
who sees all three answers decides under the guide. The adjudicated label replaces the
scored one, and ``annotations/news_natural_audit.csv`` keeps every answer beside the
original, so each change can be read back.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path

from training.corpus.active import OPENINGS_FILE, id_order, labelled_rows
from training.corpus.attribution import write_rows
from training.corpus.natural import LABELS_FILE, SAMPLE_FILE, SKIP, label_or_skip
from training.corpus.news_gold import ANNOTATIONS
from training.corpus.selection import FNC1
from training.data import DataError, read_csv_rows

AUDIT_FILE = ANNOTATIONS / "news_natural_audit.csv"
AUDIT_COLUMNS = ("id", "text", "original", "pass_a", "pass_b", "adjudicated", "final")
BATCH_COLUMNS = ("audit_id", "text", "before", "after", "label")
DENIAL = "denial"


@dataclass(frozen=True, slots=True)
class AuditRow:
    sentence_id: str  # fnc1:<body>:<index> or wikinews:<article>:<index>
    text: str
    label: str
    before: str
    after: str


def uniform_draw_id(body_id: int, sentence_index: int) -> str:
    return f"{FNC1}:{body_id}:{sentence_index}"


def natural_rows(
    labels_file: Path = LABELS_FILE, sample_file: Path = SAMPLE_FILE, openings: Path = OPENINGS_FILE
) -> list[AuditRow]:
    """Every labelled row of news_natural (the uniform draw and the openings), with the
    sentences around it; a sentence in both files is kept once, as the uniform draw has it."""
    context = {
        uniform_draw_id(int(row["body_id"]), int(row["sentence_index"])): (
            row["before"],
            row["after"],
        )
        for row in read_csv_rows(sample_file, ("body_id", "sentence_index", "before", "after"))
    }
    rows: dict[str, AuditRow] = {}
    for index, row in enumerate(
        read_csv_rows(labels_file, ("body_id", "sentence_index", "text", "label"))
    ):
        sentence_id = uniform_draw_id(int(row["body_id"]), int(row["sentence_index"]))
        before, after = context.get(sentence_id, ("", ""))
        label = label_or_skip(row["label"], where=f"{labels_file} row {index + 2}")
        rows[sentence_id] = AuditRow(sentence_id, row["text"], label, before, after)
    opening_rows = sorted(labelled_rows(openings), key=lambda row: id_order(row[0]))
    for position, (sentence_id, text, label) in enumerate(opening_rows):
        if sentence_id in rows:
            continue
        rows[sentence_id] = AuditRow(
            sentence_id,
            text,
            label,
            _neighbour(opening_rows, position, -1),
            _neighbour(opening_rows, position, +1),
        )
    return sorted(rows.values(), key=lambda row: id_order(row.sentence_id))


def _neighbour(rows: Sequence[tuple[str, str, str]], position: int, step: int) -> str:
    """The text of the row ``step`` away when it is the next sentence of the same document."""
    other = position + step
    if not 0 <= other < len(rows):
        return ""
    family, document, index = id_order(rows[position][0])
    other_family, other_document, other_index = id_order(rows[other][0])
    same = (family, document) == (other_family, other_document) and other_index == index + step
    return rows[other][1] if same else ""


def audit_sample(rows: Iterable[AuditRow], *, others: int, seed: int) -> list[AuditRow]:
    """Every denial and ``others`` other rows drawn at random, shuffled."""
    rows = list(rows)
    denials = [row for row in rows if row.label == DENIAL]
    rest = [row for row in rows if row.label != DENIAL]
    generator = random.Random(seed)
    drawn = denials + generator.sample(rest, min(others, len(rest)))
    generator.shuffle(drawn)
    return drawn


def write_batches(sample: Sequence[AuditRow], out_dir: Path, *, batches: int) -> list[Path]:
    """``batch_<n>.csv`` files without labels (the annotators' copies) and ``key.csv``
    (audit id -> sentence id and original label), which annotators must not see."""
    paths = []
    for number in range(batches):
        path = out_dir / f"batch_{number + 1}.csv"
        write_rows(
            path,
            BATCH_COLUMNS,
            (
                [
                    str(audit_id),
                    sample[audit_id].text,
                    sample[audit_id].before,
                    sample[audit_id].after,
                    "",
                ]
                for audit_id in range(number, len(sample), batches)
            ),
        )
        paths.append(path)
    write_rows(
        out_dir / "key.csv",
        ["audit_id", "id", "original"],
        ([str(audit_id), row.sentence_id, row.label] for audit_id, row in enumerate(sample)),
    )
    return paths


def read_answers(paths: Iterable[Path]) -> dict[int, str]:
    """audit id -> label from answered batch files; every row must be answered."""
    answers: dict[int, str] = {}
    for path in paths:
        for index, row in enumerate(read_csv_rows(path, ("audit_id", "label"))):
            where = f"{path} row {index + 2}"
            if not row["label"].strip():
                raise DataError(f"{where}: no label")
            answers[int(row["audit_id"])] = label_or_skip(row["label"], where=where)
    return answers


def final_label(original: str, pass_a: str, pass_b: str, adjudicated: str) -> str:
    """The original stands when a blind pass agrees with it; otherwise the adjudicator's
    answer, and without one the two passes' shared answer (never a single pass alone)."""
    if original in (pass_a, pass_b):
        return original
    if adjudicated:
        return adjudicated
    if pass_a == pass_b:
        return pass_a
    raise DataError(f"no pass agrees with {original!r} and no adjudication ({pass_a}, {pass_b})")


@dataclass(frozen=True, slots=True)
class AuditedRow:
    sentence_id: str
    text: str
    original: str
    pass_a: str
    pass_b: str
    adjudicated: str
    final: str


def audited_rows(
    sample_dir: Path,
    pass_a: Path,
    pass_b: Path,
    adjudication: Path | None = None,
) -> list[AuditedRow]:
    """Join the key (``sample_dir/key.csv``), both passes' answered batches and the
    adjudicator's answers (``audit_id,label`` for rows no pass agrees with)."""
    key = read_csv_rows(sample_dir / "key.csv", ("audit_id", "id", "original"))
    texts = {
        int(row["audit_id"]): row["text"]
        for path in sorted(sample_dir.glob("batch_*.csv"))
        for row in read_csv_rows(path, ("audit_id", "text"))
    }
    answers_a = read_answers(sorted(pass_a.glob("batch_*.csv")))
    answers_b = read_answers(sorted(pass_b.glob("batch_*.csv")))
    adjudicated = read_answers([adjudication]) if adjudication else {}
    rows = []
    for entry in key:
        audit_id = int(entry["audit_id"])
        if audit_id not in answers_a or audit_id not in answers_b:
            raise DataError(f"audit row {audit_id} lacks an answer from one of the passes")
        original = entry["original"]
        a, b = answers_a[audit_id], answers_b[audit_id]
        decided = adjudicated.get(audit_id, "")
        rows.append(
            AuditedRow(
                entry["id"],
                texts[audit_id],
                original,
                a,
                b,
                decided,
                final_label(original, a, b, decided),
            )
        )
    return sorted(rows, key=lambda row: id_order(row.sentence_id))


def write_audit(rows: Sequence[AuditedRow], path: Path | None = None) -> None:
    # AuditedRow's fields are AUDIT_COLUMNS, in order.
    write_rows(path or AUDIT_FILE, AUDIT_COLUMNS, (astuple(row) for row in rows))


def apply_audit(
    audit: Path | None = None, labels_file: Path | None = None, openings: Path | None = None
) -> int:
    """Write each audited row's final label into the news_natural files; the number changed."""
    # Resolved when called, so a test can point the module at its own files.
    audit, labels_file = audit or AUDIT_FILE, labels_file or LABELS_FILE
    openings = openings or OPENINGS_FILE
    final = {row["id"]: row["final"] for row in read_csv_rows(audit, ("id", "final"))}
    changed = 0
    for path, id_of in (
        (labels_file, lambda row: uniform_draw_id(int(row["body_id"]), int(row["sentence_index"]))),
        (openings, lambda row: row["id"]),
    ):
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            fields = list(reader.fieldnames or [])
            rows = list(reader)
        for row in rows:
            label = final.get(id_of(row))
            if label and label != row["label"]:
                row["label"] = label
                changed += 1
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return changed


__all__ = [
    "AUDIT_COLUMNS",
    "AUDIT_FILE",
    "SKIP",
    "AuditRow",
    "AuditedRow",
    "apply_audit",
    "audit_sample",
    "audited_rows",
    "final_label",
    "natural_rows",
    "read_answers",
    "write_audit",
    "write_batches",
]
