"""news_natural: real test-story sentences drawn uniformly at random, labelled by hand.

news_test was drawn by cue words, so its label mix is the annotators' choice,
not the news. This set is what a user sends: every sentence of every FNC-1
body in a test story is equally likely to be drawn, whatever its words, and an
annotator labels each under the guide, or ``skip`` for a line that carries no
claim (a byline, a quote lead-in that only announces a quote, a bare headline,
an embedded tweet's handle and date). Skipped lines are left out of the scores.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from training.corpus.fnc1 import read_bodies, split_body
from training.corpus.news_gold import ANNOTATIONS, body_placement
from training.data import Example, Split, normalise, parse_label, read_csv_rows

SOURCE = "news_natural"
SAMPLE_FILE = ANNOTATIONS / "news_natural_sample.csv"
LABELS_FILE = ANNOTATIONS / "news_natural.csv"
SECOND_PASS_FILE = ANNOTATIONS / "news_natural_second_pass.csv"
SKIP = "skip"
SAMPLE_COLUMNS = ("body_id", "sentence_index", "text", "before", "after")


@dataclass(frozen=True, slots=True)
class SampledSentence:
    body_id: int
    sentence_index: int
    text: str
    # The neighbouring sentences, so an annotator can see who is speaking.
    before: str
    after: str


def sample_natural(
    raw_dir: Path,
    *,
    count: int,
    seed: int,
    validation_fraction: float,
    test_fraction: float,
) -> list[SampledSentence]:
    """``count`` distinct sentences drawn uniformly from the bodies of test stories."""
    place = body_placement(
        raw_dir, validation_fraction=validation_fraction, test_fraction=test_fraction
    )
    candidates: list[SampledSentence] = []
    seen: set[str] = set()
    for body_id, body in sorted(read_bodies(raw_dir / "fnc1").items()):
        if place(body_id)[1] is not Split.TEST:
            continue
        sentences = split_body(body)
        for index, text in enumerate(sentences):
            key = normalise(text)
            if not key or key in seen:
                continue
            seen.add(key)
            candidates.append(
                SampledSentence(
                    body_id,
                    index,
                    text,
                    sentences[index - 1] if index else "",
                    sentences[index + 1] if index + 1 < len(sentences) else "",
                )
            )
    drawn = random.Random(seed).sample(candidates, min(count, len(candidates)))
    return sorted(drawn, key=lambda s: (s.body_id, s.sentence_index))


def write_sample(sample: list[SampledSentence], path: Path = SAMPLE_FILE) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SAMPLE_COLUMNS)
        for s in sample:
            writer.writerow([s.body_id, s.sentence_index, s.text, s.before, s.after])


def label_or_skip(value: str, *, where: str) -> str:
    """An annotator's answer: a label's name, or ``skip`` for a line with no claim."""
    label = value.strip().lower()
    if label != SKIP:
        parse_label(label, where=where)
    return label


def read_natural_labels(path: Path = LABELS_FILE) -> list[tuple[int, int, str, str]]:
    """(body id, sentence index, text, label or ``skip``) for every labelled sentence."""
    rows = read_csv_rows(path, ("body_id", "sentence_index", "text", "label"))
    return [
        (
            int(row["body_id"]),
            int(row["sentence_index"]),
            row["text"],
            label_or_skip(row["label"], where=f"{path} row {index + 2}"),
        )
        for index, row in enumerate(rows)
    ]


def load_news_natural(
    raw_dir: Path, *, validation_fraction: float, test_fraction: float, path: Path = LABELS_FILE
) -> list[Example]:
    """The labelled sentences (skips left out), each in its story; test only."""
    place = body_placement(
        raw_dir, validation_fraction=validation_fraction, test_fraction=test_fraction
    )
    examples = []
    for body_id, index, text, label in read_natural_labels(path):
        if label == SKIP:
            continue
        story, split = place(body_id)
        if split is not Split.TEST:
            # A later change of the story rule moved this body: it may no longer be scored on.
            continue
        examples.append(
            Example(
                text, parse_label(label, where=f"{path} {body_id}:{index}"), SOURCE, story, split
            )
        )
    return examples
