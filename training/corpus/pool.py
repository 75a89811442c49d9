"""The unlabelled real-news pool the fast model learns the teacher's distributions on.

Every sentence of every FNC-1 body and every Wikinews article whose story is a training
story (placed by the same rules as the gold sentences, ``news_gold.body_placement`` and
``wikinews.placement``), never one of a validation or test story; 6-70 words; each text
once; none that appears in a labelled set, and none that nearly copies a held-out one.
Ids are ``<body id>:<sentence index>`` for FNC-1 (as before Wikinews joined, so older
soft-label files still match) and ``wikinews:<article id>:<sentence index>``, both from
``fnc1.split_body``, so the soft-label file needs no texts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from training.config import DataConfig
from training.corpus import wikinews
from training.corpus.build import Corpus
from training.corpus.fnc1 import iter_pool
from training.corpus.near_copies import NearCopyIndex
from training.corpus.news_gold import body_placement
from training.data import Split, normalise

MIN_WORDS = 6
MAX_WORDS = 70


@dataclass(frozen=True, slots=True)
class PoolText:
    id: str
    text: str


def training_pool(
    raw_dir: Path,
    *,
    validation_fraction: float,
    test_fraction: float,
    exclude: Collection[str] = (),
    held_out: Collection[str] = (),
) -> list[PoolText]:
    """The pool in body and sentence order.

    ``exclude`` holds labelled texts to leave out; ``held_out`` the validation
    and test texts, whose near-copies are left out too.
    """
    near_held_out = NearCopyIndex(held_out)
    place = body_placement(
        raw_dir, validation_fraction=validation_fraction, test_fraction=test_fraction
    )
    excluded = {normalise(text) for text in exclude}
    seen: set[str] = set()
    pool: list[PoolText] = []
    place_article = wikinews.placement(raw_dir, validation_fraction=validation_fraction)

    def candidates() -> Iterator[tuple[str, str, Split]]:
        for sentence in iter_pool(raw_dir / "fnc1"):
            _, split = place(sentence.body_id)
            yield f"{sentence.body_id}:{sentence.sentence_index}", sentence.text, split
        for item in wikinews.iter_sentences(raw_dir):
            _, split = place_article.place(item.article_id)
            yield f"{wikinews.SOURCE}:{item.id}", item.text, split

    for sentence_id, text, split in candidates():
        if not MIN_WORDS <= len(text.split()) <= MAX_WORDS:
            continue
        key = normalise(text)
        if split is not Split.TRAIN or key in excluded or key in seen:
            continue
        if near_held_out.has_copy(text):
            continue
        seen.add(key)
        pool.append(PoolText(sentence_id, text))
    return pool


def pool_hash(pool: Collection[PoolText]) -> str:
    digest = hashlib.sha256()
    for item in pool:
        digest.update(f"{item.id}\t{item.text}\n".encode())
    return digest.hexdigest()[:16]


def corpus_pool(data: DataConfig, corpus: Corpus) -> list[PoolText]:
    """The pool for a built corpus: its split rule, none of its labelled texts."""
    return training_pool(
        data.raw_dir,
        validation_fraction=data.validation_fraction,
        test_fraction=data.news_test_fraction,
        exclude=[example.text for example in corpus.all_examples],
        held_out=[
            *(example.text for example in corpus.validation),
            *(text for rows in corpus.evaluation.values() for text in (e.text for e in rows)),
        ],
    )
