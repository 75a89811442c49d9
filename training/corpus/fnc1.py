"""FNC-1 article bodies as a pool of real news sentences.

FNC-1's labels are body-vs-headline stances, not sentence labels, so the bodies
are only used as a source of sentences to annotate by hand. Each body is tied to
the Emergent claim it was written about (through its related headlines) so that
its sentences stay on the same side of every split as that claim.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pysbd

BODY_FILES = ("train_bodies.csv", "competition_test_bodies.csv")
STANCE_FILES = ("train_stances.csv", "competition_test_stances.csv")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class PoolSentence:
    body_id: int
    sentence_index: int
    text: str


def normalise_headline(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip().lower()


def read_bodies(fnc1_dir: Path) -> dict[int, str]:
    bodies: dict[int, str] = {}
    for name in BODY_FILES:
        with (fnc1_dir / name).open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                bodies[int(row["Body ID"])] = row["articleBody"]
    return bodies


def body_groups(fnc1_dir: Path, emergent_claim_by_headline: dict[str, str]) -> dict[int, str]:
    """Map each body to the Emergent claim id of a related headline, where one matches."""
    groups: dict[int, str] = {}
    for name in STANCE_FILES:
        with (fnc1_dir / name).open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["Stance"] == "unrelated":
                    continue
                claim = emergent_claim_by_headline.get(normalise_headline(row["Headline"]))
                if claim is not None:
                    groups.setdefault(int(row["Body ID"]), claim)
    return groups


@cache
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


def split_body(body: str) -> list[str]:
    """Split a body into sentences; paragraphs are split first so no sentence spans two.

    Never change this function (nor the pysbd settings above): every annotation file and the
    soft labels address sentences as ``<body id>:<sentence index>`` in its output, so a
    different split silently re-points thousands of labels at other sentences.
    ``tests/training/test_fnc1_split.py`` pins it against the gold set.
    """
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\n", body):
        paragraph = _WHITESPACE.sub(" ", paragraph).strip()
        if not paragraph:
            continue
        sentences.extend(s.strip() for s in _segmenter().segment(paragraph) if s.strip())
    return sentences


def iter_pool(fnc1_dir: Path) -> Iterator[PoolSentence]:
    for body_id, body in sorted(read_bodies(fnc1_dir).items()):
        for index, sentence in enumerate(split_body(body)):
            yield PoolSentence(body_id=body_id, sentence_index=index, text=sentence)
