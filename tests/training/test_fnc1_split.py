"""fnc1.split_body is frozen: the annotations address sentences by their index in its output."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from training.corpus.fnc1 import read_bodies, split_body
from training.corpus.natural import LABELS_FILE as NATURAL_FILE
from training.corpus.news_gold import NEWS_GOLD_FILE


def test_split_body_keeps_its_exact_output() -> None:
    body = (
        "Moscow denied the reports. U.S. officials said the deal was done.\n\n"
        'He said: "We never sold them." Mr. Kirby disagreed.\nA new paragraph, no full stop'
    )
    assert split_body(body) == [
        "Moscow denied the reports.",
        "U.S. officials said the deal was done.",
        'He said: "We never sold them."',
        "Mr. Kirby disagreed.",
        "A new paragraph, no full stop",
    ]


def test_annotations_still_point_at_their_sentences(shared_dir: Path) -> None:
    bodies = read_bodies(shared_dir / "data" / "raw" / "fnc1")
    rows = []
    for path in (NEWS_GOLD_FILE, NATURAL_FILE):
        with path.open(encoding="utf-8", newline="") as handle:
            rows.extend(csv.DictReader(handle))
    # A seeded sample keeps the test to a few seconds; any change of the split shows in it.
    for row in random.Random(0).sample(rows, 120):
        sentences = split_body(bodies[int(row["body_id"])])
        assert sentences[int(row["sentence_index"])] == row["text"], row
