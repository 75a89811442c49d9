"""Attribution spans: who makes each labelled move (the source) and the words that attribute
it (the cue), as exact character spans of the stance corpus's news sentences.

The rules are ``../shared/docs/attribution.md``. Sentences are addressed by the corpus ids of
the labelled files (``<family>:<document>:<index>``, as ``selection.py`` writes them); the
gold file stores ids and offsets only, and every reader joins it back to the stance corpus
by the sentence's text, so each sentence takes the corpus's own label, story and split (a
later change of the story rule moves the span with its sentence).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from model.labels import Label
from training.corpus.active import ACTIVE_FILE, OPENINGS_FILE, id_order
from training.corpus.active import ACTIVE_SOURCE as ACTIVE_GOLD_SOURCE
from training.corpus.natural import LABELS_FILE as NATURAL_FILE
from training.corpus.natural import SKIP
from training.corpus.natural import SOURCE as NATURAL_SOURCE
from training.corpus.news_gold import ANNOTATIONS, NEWS_GOLD_FILE, NEWS_SOURCE
from training.corpus.selection import FNC1
from training.data import Example, Split, normalise, read_csv_rows

ATTRIBUTION_GOLD_FILE = ANNOTATIONS / "attribution_gold.csv"
# The corpus sources whose sentences are real news labelled by hand; written sentences
# (cue sentences, contrast sets, counterfactuals) and headlines (Emergent, Szeged) are not.
NEWS_SOURCES = frozenset({NEWS_SOURCE, ACTIVE_GOLD_SOURCE, NATURAL_SOURCE})


class SourceKind(StrEnum):
    """What the source is (attribution.md): the one place the names are defined."""

    PERSON = "person"
    ORGANISATION = "organisation"
    ROLE = "role"
    PRONOUN = "pronoun"
    UNNAMED = "unnamed"


SOURCE_KINDS: tuple[SourceKind, ...] = tuple(SourceKind)


@dataclass(frozen=True, slots=True)
class LabelledSentence:
    """A row of a labelled file: its corpus id and text (the label is the corpus's)."""

    id: str
    text: str


@dataclass(frozen=True, slots=True)
class GoldSentence:
    """A labelled news sentence as the stance corpus holds it."""

    id: str
    text: str
    label: Label
    story: str
    split: Split


def labelled_sentences(
    *,
    news_gold: Path = NEWS_GOLD_FILE,
    natural: Path = NATURAL_FILE,
    active: Path = ACTIVE_FILE,
    openings: Path = OPENINGS_FILE,
) -> list[LabelledSentence]:
    """Every labelled news row, skips left out, in the order the corpus reads the files
    (first news_gold, then news_natural, then the second wave's files)."""
    rows: list[LabelledSentence] = []
    for path in (news_gold, natural):
        if path.is_file():
            rows.extend(
                LabelledSentence(f"{FNC1}:{row['body_id']}:{row['sentence_index']}", row["text"])
                for row in read_csv_rows(path, ("body_id", "sentence_index", "text", "label"))
                if row["label"].strip().lower() != SKIP
            )
    for path in (active, openings):
        if path.is_file():
            rows.extend(
                LabelledSentence(row["id"], row["text"])
                for row in read_csv_rows(path, ("id", "text", "label"))
                if row["label"].strip().lower() != SKIP
            )
    return rows


def corpus_news(examples: Iterable[Example]) -> dict[str, Example]:
    """Normalised text -> the corpus's example, for its labelled news sentences.

    ``examples`` is the corpus's whole content (``Corpus.all_examples``): a text the corpus
    dropped (a duplicate, a near-copy of a held-out sentence, a test row of a training-only
    file) is absent, so nothing is annotated that the stance corpus does not hold.
    """
    kept: dict[str, Example] = {}
    for example in examples:
        if example.source in NEWS_SOURCES:
            kept.setdefault(normalise(example.text), example)
    return kept


def gold_sentences(
    rows: Iterable[LabelledSentence], corpus: dict[str, Example]
) -> list[GoldSentence]:
    """The rows the corpus holds, one id per text (the first, in file order), each with the
    corpus's label, story and split."""
    seen: set[str] = set()
    sentences: list[GoldSentence] = []
    for row in rows:
        key = normalise(row.text)
        example = corpus.get(key)
        if example is None or key in seen:
            continue
        seen.add(key)
        sentences.append(
            GoldSentence(row.id, row.text, example.label, example.group, example.split)
        )
    return sentences


def write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """A CSV as every annotation file is written: UTF-8, one header, ``\\n`` line ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def sort_ids(ids: Iterable[str]) -> list[str]:
    return sorted(ids, key=id_order)
