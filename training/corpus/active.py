"""The second gold wave: sentences chosen by the models' doubt and by stance wording, and whole
article openings for news_natural, from FNC-1 and Wikinews (``selection.py`` chose them).

Both files address sentences as ``<family>:<document>:<index>`` and carry the text, so a
reader can see what was labelled without the raw files; the raw files are still needed to
place each sentence in its story's split, which is never stored beside the label (a later
change of the story rule must move the label with its story, not leave it behind).
"""

from __future__ import annotations

import csv
from pathlib import Path

from training.corpus.natural import SKIP, label_or_skip
from training.corpus.news_gold import ANNOTATIONS
from training.corpus.selection import FNC1, WIKINEWS, sentence_placer
from training.data import Example, Split, parse_label, read_csv_rows

ACTIVE_SOURCE = "active_gold"
OPENINGS_SOURCE = "news_natural"
ACTIVE_FILE = ANNOTATIONS / "active_gold.csv"
OPENINGS_FILE = ANNOTATIONS / "natural_openings.csv"
# A blind second pass over a seeded tenth of every batch, with the adjudicated label.
SECOND_PASS_FILE = ANNOTATIONS / "active_gold_second_pass.csv"
FAMILY_OF_SET = {FNC1: "rumour", WIKINEWS: "wikinews"}


def family_of(sentence_id: str) -> str:
    return sentence_id.split(":", 1)[0]


def labelled_rows(path: Path) -> list[tuple[str, str, str]]:
    """(id, text, label or ``skip``) for every row."""
    rows = read_csv_rows(path, ("id", "text", "label"))
    return [
        (row["id"], row["text"], label_or_skip(row["label"], where=f"{path} row {index + 2}"))
        for index, row in enumerate(rows)
    ]


def load_active_gold(
    raw_dir: Path,
    *,
    validation_fraction: float,
    test_fraction: float,
    path: Path = ACTIVE_FILE,
) -> list[Example]:
    """Training and validation sentences of the second wave, each in its story's split.

    The candidates were drawn from training and validation stories only; a row whose story
    a later rule moved to test is dropped, so nothing labelled for training is scored on.
    """
    place = sentence_placer(
        raw_dir, validation_fraction=validation_fraction, test_fraction=test_fraction
    )
    examples = []
    for sentence_id, text, label in labelled_rows(path):
        if label == SKIP:
            continue
        story, split = place(sentence_id)
        if split is Split.TEST:
            continue
        examples.append(
            Example(
                text, parse_label(label, where=f"{path} {sentence_id}"), ACTIVE_SOURCE, story, split
            )
        )
    return examples


def load_openings(
    raw_dir: Path,
    *,
    validation_fraction: float,
    test_fraction: float,
    path: Path = OPENINGS_FILE,
) -> dict[str, list[Example]]:
    """news_natural's article openings (test stories only), by family: ``rumour``, ``wikinews``."""
    place = sentence_placer(
        raw_dir, validation_fraction=validation_fraction, test_fraction=test_fraction
    )
    by_family: dict[str, list[Example]] = {name: [] for name in FAMILY_OF_SET.values()}
    for sentence_id, text, label in labelled_rows(path):
        if label == SKIP:
            continue
        story, split = place(sentence_id)
        if split is not Split.TEST:
            continue
        by_family[FAMILY_OF_SET[family_of(sentence_id)]].append(
            Example(
                text,
                parse_label(label, where=f"{path} {sentence_id}"),
                OPENINGS_SOURCE,
                story,
                split,
            )
        )
    return by_family


def adjudicated_labels(path: Path = SECOND_PASS_FILE) -> dict[str, str]:
    """id -> adjudicated label, for the second-pass rows (where the passes agreed, the same)."""
    if not path.is_file():
        return {}
    rows = read_csv_rows(path, ("id", "adjudicated_label"))
    return {row["id"]: row["adjudicated_label"].strip().lower() for row in rows}


def id_order(sentence_id: str) -> tuple[str, str, int]:
    """Files sort by family, document and sentence position (body 9 before body 10)."""
    family, document, index = sentence_id.split(":")
    return family, document.zfill(12), int(index)


def with_existing(rows: list[list[str]], path: Path) -> list[list[str]]:
    """``rows`` and the rows already in ``path`` whose ids they do not carry: a later wave
    merged from its own batches alone adds to the file instead of replacing it."""
    if not path.is_file():
        return rows
    new = {row[0] for row in rows}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        return [*(row for row in reader if row and row[0] not in new), *rows]


def write_merged(
    openings: list[list[str]],
    training: list[list[str]],
    *,
    openings_path: Path = OPENINGS_FILE,
    active_path: Path = ACTIVE_FILE,
) -> None:
    """Rewrite both annotation files whole from merged rows (``selection.merge_labels``)."""
    for path, header, rows in (
        (openings_path, ["id", "text", "label"], openings),
        (active_path, ["id", "selected_by", "text", "label"], training),
    ):
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(sorted(rows, key=lambda row: id_order(row[0])))
