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
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from model.attribution import SourceKind, Span
from model.labels import Label
from training.corpus.active import ACTIVE_FILE, OPENINGS_FILE, id_order
from training.corpus.active import ACTIVE_SOURCE as ACTIVE_GOLD_SOURCE
from training.corpus.natural import LABELS_FILE as NATURAL_FILE
from training.corpus.natural import SKIP
from training.corpus.natural import SOURCE as NATURAL_SOURCE
from training.corpus.news_gold import ANNOTATIONS, NEWS_GOLD_FILE, NEWS_SOURCE
from training.corpus.selection import FNC1
from training.data import DataError, Example, Split, normalise, read_csv_rows

logger = logging.getLogger(__name__)

ATTRIBUTION_GOLD_FILE = ANNOTATIONS / "attribution_gold.csv"
# The corpus sources whose sentences are real news labelled by hand; written sentences
# (cue sentences, contrast sets, counterfactuals) and headlines (Emergent, Szeged) are not.
NEWS_SOURCES = frozenset({NEWS_SOURCE, ACTIVE_GOLD_SOURCE, NATURAL_SOURCE})
ANSWER_COLUMNS = ("id", "source", "source_kind", "cue")
GOLD_COLUMNS = (
    "id",
    "source_text",
    "source_start",
    "source_end",
    "source_kind",
    "cue_text",
    "cue_start",
    "cue_end",
)
# OUT_DIR's layout: the batches handed out, and the answers that come back.
BATCHES_DIR = "in"
SECOND_BATCHES_DIR = "second_in"
FIRST_ANSWERS_DIR = "out"
SECOND_ANSWERS_DIR = "second_out"
ADJUDICATED_FILE = "adjudicated.csv"
MAX_PROBLEMS_SHOWN = 40


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


@dataclass(frozen=True, slots=True)
class Attribution:
    """One sentence's answer: a source, its kind and a cue, or all three ``None`` (null)."""

    source: Span | None
    source_kind: SourceKind | None
    cue: Span | None

    @property
    def has_source(self) -> bool:
        return self.source is not None


NULL_ATTRIBUTION = Attribution(None, None, None)


@dataclass(frozen=True, slots=True)
class AttributionSpan:
    """A gold sentence of the stance corpus with its source and cue (both ``None``: null)."""

    id: str
    text: str
    label: Label
    story: str
    split: Split
    source: Span | None
    source_kind: SourceKind | None
    cue: Span | None

    @property
    def attribution(self) -> Attribution:
        return Attribution(self.source, self.source_kind, self.cue)


class AttributionError(ValueError):
    """Annotators' answers that cannot be used; the message names each file, id and problem."""


_OCCURRENCE = re.compile(r"^(?P<span>.+)#(?P<n>[1-9][0-9]*)$", re.DOTALL)


def occurrences(text: str, span: str) -> list[int]:
    """Start of every occurrence of ``span`` in ``text``, overlapping ones included."""
    starts = []
    start = text.find(span)
    while start != -1:
        starts.append(start)
        start = text.find(span, start + 1)
    return starts


def resolve_span(text: str, value: str) -> Span:
    """An annotator's copied span (``said``, or ``said#2`` for the second "said") as
    offsets into ``text``; a ValueError says why it cannot be placed."""
    value = value.strip()
    occurrence = 1
    matched = _OCCURRENCE.match(value)
    # A "#2" that the sentence itself holds (a hashtag, a ranking) is read literally.
    if matched and value not in text:
        value, occurrence = matched["span"], int(matched["n"])
    starts = occurrences(text, value)
    if not starts:
        raise ValueError(f"{value!r} is not in the sentence (copy it character for character)")
    if occurrence > len(starts):
        raise ValueError(f"{value!r} occurs {len(starts)} time(s), not {occurrence}")
    start = starts[occurrence - 1]
    return Span(value, start, start + len(value))


def span_value(text: str, span: Span) -> str:
    """The span as an annotator writes it: its words, with ``#n`` unless it is the first."""
    position = occurrences(text, span.text).index(span.start) + 1
    return span.text if position == 1 else f"{span.text}#{position}"


def parse_answer(text: str, source: str, kind: str, cue: str) -> Attribution:
    """One answer row checked against its sentence; a ValueError names the problem."""
    source, kind, cue = source.strip(), kind.strip().lower(), cue.strip()
    if "null" in (source.lower(), kind, cue.lower()):
        raise ValueError("write null as empty cells, not the word 'null'")
    if not source and not cue:
        if kind:
            raise ValueError(f"source_kind {kind!r} given with no source")
        return NULL_ATTRIBUTION
    if not source or not cue:
        missing = "cue" if source else "source"
        raise ValueError(f"{missing} is empty but the other is not (both empty, or both filled)")
    if kind not in {k.value for k in SourceKind}:
        valid = ", ".join(k.value for k in SourceKind)
        raise ValueError(f"source_kind {kind!r} is not one of {valid}")
    return Attribution(resolve_span(text, source), SourceKind(kind), resolve_span(text, cue))


@dataclass(frozen=True, slots=True)
class BatchRow:
    """A sentence as annotators read it (``in/batch_NN.csv``)."""

    id: str
    text: str
    label: str


def read_batches(folder: Path) -> dict[str, BatchRow]:
    """id -> row, over every batch file of ``folder``."""
    rows: dict[str, BatchRow] = {}
    for path in sorted(folder.glob("*.csv")):
        for row in read_csv_rows(path, ("id", "text", "label")):
            rows[row["id"]] = BatchRow(row["id"], row["text"], row["label"])
    return rows


def read_answers(paths: Sequence[Path], batches: Mapping[str, BatchRow]) -> dict[str, Attribution]:
    """id -> checked answer over ``paths``; every problem of every file is gathered first and
    then refused at once, each named by file, id and problem, so nothing half-checked merges."""
    answers: dict[str, Attribution] = {}
    where: dict[str, str] = {}
    problems: list[str] = []
    for path in paths:
        batch = f"{path.parent.name}/{path.name}"
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in ANSWER_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                problems.append(f"{batch}: lacks column(s) {', '.join(missing)}")
                continue
            for line, row in enumerate(reader, start=2):
                sentence_id = (row["id"] or "").strip()
                name = f"{batch} id {sentence_id or '(empty)'} (line {line})"
                if sentence_id not in batches:
                    problems.append(f"{name}: unknown id (not in any batch that was handed out)")
                    continue
                if sentence_id in where:
                    problems.append(f"{name}: id answered twice (also in {where[sentence_id]})")
                    continue
                where[sentence_id] = batch
                try:
                    answers[sentence_id] = parse_answer(
                        batches[sentence_id].text,
                        row["source"] or "",
                        row["source_kind"] or "",
                        row["cue"] or "",
                    )
                except ValueError as error:
                    problems.append(f"{name}: {error}")
    if problems:
        shown = "\n  ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = len(problems) - MAX_PROBLEMS_SHOWN
        tail = f"\n  ... and {more} more" if more > 0 else ""
        raise AttributionError(f"{len(problems)} bad answer row(s):\n  {shown}{tail}")
    return answers


@dataclass(frozen=True)
class MergeResult:
    answers: dict[str, Attribution]
    # Ids whose first-pass answer the adjudicated file replaced.
    adjudicated: int
    # Ids handed out that nobody has answered yet (left out of the gold file).
    unanswered: int


def merge_answers(out_dir: Path) -> MergeResult:
    """Every first-pass answer in ``out_dir/out``, checked, with ``out_dir/adjudicated.csv``
    (same columns) replacing the rows an adjudicator decided."""
    batches = read_batches(out_dir / BATCHES_DIR)
    if not batches:
        raise AttributionError(f"no batch files in {out_dir / BATCHES_DIR}")
    paths = sorted((out_dir / FIRST_ANSWERS_DIR).glob("*.csv"))
    if not paths:
        raise AttributionError(f"no answer files in {out_dir / FIRST_ANSWERS_DIR}")
    answers = read_answers(paths, batches)
    adjudicated_path = out_dir / ADJUDICATED_FILE
    decided = read_answers([adjudicated_path], batches) if adjudicated_path.is_file() else {}
    return MergeResult(
        answers={**answers, **decided},
        adjudicated=len(decided.keys() & answers.keys()),
        unanswered=len(batches.keys() - answers.keys() - decided.keys()),
    )


def _span_cells(span: Span | None) -> list[str]:
    return ["", "", ""] if span is None else [span.text, str(span.start), str(span.end)]


def write_gold(answers: Mapping[str, Attribution], path: Path = ATTRIBUTION_GOLD_FILE) -> None:
    """The gold file, rewritten whole, one row per id in corpus-id order."""
    write_rows(
        path,
        GOLD_COLUMNS,
        (
            [
                sentence_id,
                *_span_cells(answers[sentence_id].source),
                answers[sentence_id].source_kind or "",
                *_span_cells(answers[sentence_id].cue),
            ]
            for sentence_id in sort_ids(answers)
        ),
    )


def read_gold(path: Path = ATTRIBUTION_GOLD_FILE) -> dict[str, Attribution]:
    """id -> answer as stored (offsets unchecked: ``load_attribution_gold`` checks them)."""

    def span(row: dict[str, str], prefix: str) -> Span | None:
        if not row[f"{prefix}_start"]:
            return None
        return Span(row[f"{prefix}_text"], int(row[f"{prefix}_start"]), int(row[f"{prefix}_end"]))

    return {
        row["id"]: Attribution(
            span(row, "source"),
            SourceKind(row["source_kind"]) if row["source_kind"] else None,
            span(row, "cue"),
        )
        for row in read_csv_rows(path, GOLD_COLUMNS)
    }


def load_attribution_gold(
    corpus_examples: Iterable[Example],
    *,
    path: Path = ATTRIBUTION_GOLD_FILE,
    sentences: Iterable[LabelledSentence] | None = None,
) -> dict[Split, list[AttributionSpan]]:
    """The gold spans joined to the stance corpus (``Corpus.all_examples``), by split.

    Each sentence takes the corpus's label, story and split now, so train, validation and
    test follow the stance corpus's story split. A gold id the corpus no longer holds is
    left out and logged; an offset that no longer reads its span (the sentence's text
    changed) is refused.
    """
    gold = read_gold(path)
    text_of = {
        row.id: row.text for row in (labelled_sentences() if sentences is None else sentences)
    }
    news = corpus_news(corpus_examples)
    by_split: dict[Split, list[AttributionSpan]] = {split: [] for split in Split}
    dropped = 0
    for sentence_id in sort_ids(gold):
        text = text_of.get(sentence_id)
        example = None if text is None else news.get(normalise(text))
        if text is None or example is None:
            dropped += 1
            continue
        answer = gold[sentence_id]
        for span in (answer.source, answer.cue):
            if span is not None and text[span.start : span.end] != span.text:
                raise DataError(
                    f"{path} {sentence_id}: characters {span.start}-{span.end} read "
                    f"{text[span.start : span.end]!r}, not {span.text!r}"
                )
        by_split[example.split].append(
            AttributionSpan(
                sentence_id,
                text,
                example.label,
                example.group,
                example.split,
                answer.source,
                answer.source_kind,
                answer.cue,
            )
        )
    if dropped:
        logger.warning("%s: %d sentence(s) not in the stance corpus, left out", path, dropped)
    return by_split


def read_passes(
    out_dir: Path,
) -> tuple[dict[str, Attribution], dict[str, Attribution], dict[str, BatchRow]]:
    """Both passes' checked answers (``out/``, ``second_out/``) and the batches handed out."""
    batches = read_batches(out_dir / BATCHES_DIR)
    passes = []
    for name in (FIRST_ANSWERS_DIR, SECOND_ANSWERS_DIR):
        paths = sorted((out_dir / name).glob("*.csv"))
        if not paths:
            raise AttributionError(f"no answer files in {out_dir / name}")
        passes.append(read_answers(paths, batches))
    return passes[0], passes[1], batches
