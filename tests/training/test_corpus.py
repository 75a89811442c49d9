from __future__ import annotations

from pathlib import Path

from model.labels import Label
from tests.training.conftest import emergent_only
from training.config import load_config
from training.corpus.build import (
    EMERGENT_TEST,
    EXAMPLES,
    NEWS_NATURAL,
    NEWS_NATURAL_RUMOUR,
    NEWS_NATURAL_WIKINEWS,
    NEWS_TEST,
    build_corpus,
)
from training.corpus.near_copies import NearCopyIndex
from training.data import Split, normalise


def test_merged_corpus_keeps_evaluation_sets_out_of_training(shared_dir: Path) -> None:
    config = load_config(overrides=[f"data.shared_dir={shared_dir}", "data.szeged_cap=200"])
    corpus = build_corpus(config.data, seed=config.seed)
    assert set(corpus.evaluation) == {
        NEWS_TEST,
        NEWS_NATURAL,
        NEWS_NATURAL_RUMOUR,
        NEWS_NATURAL_WIKINEWS,
        EMERGENT_TEST,
        EXAMPLES,
    }
    # news_natural is its two families, each a whole set of its own.
    natural = corpus.evaluation[NEWS_NATURAL]
    families = corpus.evaluation[NEWS_NATURAL_RUMOUR] + corpus.evaluation[NEWS_NATURAL_WIKINEWS]
    assert len(natural) >= 1200
    assert {normalise(e.text) for e in natural} == {normalise(e.text) for e in families}
    assert all(e.group.startswith("wikinews:") for e in corpus.evaluation[NEWS_NATURAL_WIKINEWS])
    # Nothing trained on nearly copies a held-out sentence.
    near = NearCopyIndex(e.text for rows in corpus.evaluation.values() for e in rows)
    assert not [e.text for e in corpus.train if near.has_copy(e.text)]
    # The official benchmark is kept whole, with its original labels.
    assert len(corpus.evaluation[EMERGENT_TEST]) == 524
    assert all(e.original_label is None for e in corpus.evaluation[EMERGENT_TEST])
    trainable = corpus.train + corpus.validation
    held_out = {normalise(e.text) for rows in corpus.evaluation.values() for e in rows}
    assert not held_out & {normalise(e.text) for e in trainable}
    test_groups = {e.group for rows in corpus.evaluation.values() for e in rows}
    assert not test_groups & {e.group for e in trainable}
    assert not {e.group for e in corpus.train} & {e.group for e in corpus.validation}
    # Written cue sentences train only: every score comes from real sentences.
    assert any(e.source == "news_cues" for e in corpus.train)
    assert not any(e.source == "news_cues" for e in corpus.validation)
    assert any(e.source == "contrast" for e in corpus.train)
    assert not any(e.source == "contrast" for e in corpus.validation)
    # The second gold wave reaches training and validation, from both families.
    active = [e for e in trainable if e.source == "active_gold"]
    assert {e.split for e in active} == {Split.TRAIN, Split.VALIDATION}
    assert any(e.group.startswith("wikinews:") for e in active)
    # Reviewed Emergent labels are used for training only.
    assert any(e.original_label is Label.CAVEAT for e in corpus.train if e.source == "emergent")
    assert {e.split for e in corpus.train} == {Split.TRAIN}
    assert sum(e.source == "szeged" for e in corpus.train) == 200
    assert len(corpus.hash) == 16


def test_sources_can_be_switched_off(shared_dir: Path) -> None:
    # The conftest's list switches every other source off: a new source must join it there.
    config = load_config(overrides=emergent_only(shared_dir))
    corpus = build_corpus(config.data, seed=config.seed)
    assert {e.source for e in corpus.train} == {"emergent"}
    assert NEWS_TEST not in corpus.evaluation
