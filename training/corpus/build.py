"""Merge every enabled source into one de-duplicated, group-split corpus."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from training.config import DataConfig
from training.corpus.active import (
    ACTIVE_FILE,
    ACTIVE_SOURCE,
    OPENINGS_FILE,
    load_active_gold,
    load_openings,
)
from training.corpus.cue_sentences import (
    CONTRAST_FILE,
    CONTRAST_SOURCE,
    CUE_SOURCE,
    load_contrast_sets,
    load_cue_sentences,
)
from training.corpus.emergent import SOURCE as EMERGENT
from training.corpus.emergent import load_emergent
from training.corpus.natural import LABELS_FILE as NATURAL_LABELS_FILE
from training.corpus.natural import load_news_natural
from training.corpus.near_copies import NearCopyIndex
from training.corpus.news_gold import (
    COUNTERFACTUAL_FILE,
    COUNTERFACTUAL_SOURCE,
    EXAMPLES_GOLD_FILE,
    NEWS_SOURCE,
    load_examples_gold,
    load_news_gold,
    load_news_sentences,
)
from training.corpus.stories import story_placement
from training.corpus.szeged import load_szeged
from training.corpus.user_data import USER_SOURCE, USER_TEST_SET, UserData, read_user_file
from training.data import (
    DataError,
    Example,
    Split,
    data_hash,
    deduplicate,
    normalise,
    validate_examples,
)

logger = logging.getLogger(__name__)

# Evaluation sets, each named after what it measures.
NEWS_TEST = "news_test"
NEWS_NATURAL = "news_natural"
# news_natural by source family: the 2014-15 rumour corpora (FNC-1) and recent Wikinews.
NEWS_NATURAL_RUMOUR = "news_natural_rumour"
NEWS_NATURAL_WIKINEWS = "news_natural_wikinews"
EMERGENT_TEST = "emergent_test"
EXAMPLES = "examples"


@dataclass(frozen=True)
class Corpus:
    train: list[Example]
    validation: list[Example]
    evaluation: dict[str, list[Example]] = field(default_factory=dict)
    # The user's own file (data.extra), checked; its rows are among the others.
    extra: UserData | None = None

    @property
    def all_examples(self) -> list[Example]:
        rows = [*self.train, *self.validation]
        for examples in self.evaluation.values():
            rows.extend(examples)
        return rows

    @property
    def hash(self) -> str:
        return data_hash(self.all_examples)


def build_corpus(config: DataConfig, *, seed: int) -> Corpus:
    """Load the enabled sources, drop duplicates and split by group.

    Evaluation rows are de-duplicated first, so a training copy of a test
    sentence is what gets dropped, never the test sentence.
    """
    raw = config.raw_dir
    fractions = _fractions(config)
    loaders: list[tuple[str, Callable[[], list[Example]]]] = []
    if config.news_gold:
        loaders.append(
            (
                NEWS_SOURCE,
                lambda: load_news_gold(raw, **fractions),
            )
        )
    if config.counterfactual:
        loaders.append(
            (
                COUNTERFACTUAL_SOURCE,
                lambda: load_news_sentences(
                    raw,
                    COUNTERFACTUAL_FILE,
                    COUNTERFACTUAL_SOURCE,
                    **fractions,
                    training_only=True,
                ),
            )
        )
    if config.active_gold and ACTIVE_FILE.is_file():
        loaders.append(
            (
                ACTIVE_SOURCE,
                lambda: load_active_gold(raw, **fractions),
            )
        )
    if config.cue_sentences:
        loaders.append((CUE_SOURCE, load_cue_sentences))
    if config.contrast_sets and CONTRAST_FILE.is_file():
        loaders.append((CONTRAST_SOURCE, load_contrast_sets))
    if config.emergent:
        loaders.append(
            (
                EMERGENT,
                lambda: load_emergent(
                    raw / "emergent",
                    reviewed=config.emergent_labels == "reviewed",
                    place=story_placement(raw, **fractions).place,
                ),
            )
        )
    if config.szeged:
        loaders.append(
            (
                "szeged",
                lambda: load_szeged(raw / "szeged_uncertainty", cap=config.szeged_cap, seed=seed),
            )
        )
    # The user's file is read first: a bad one fails before any source loads.
    extra = _read_extra(config)
    if not config.builtin:
        loaders.clear()
    loaded = [example for _, load in loaders for example in load()]
    if extra is not None:
        # First, so the user's label wins over a built-in copy of the same text.
        loaded = [*extra.examples, *loaded]
    evaluation: dict[str, list[Example]] = {}
    if config.builtin and EXAMPLES_GOLD_FILE.is_file():
        evaluation[EXAMPLES] = load_examples_gold()
    # Benchmarks keep every official row (duplicates included) so scores compare with the papers.
    evaluation[EMERGENT_TEST] = [
        e for e in loaded if e.source == EMERGENT and e.split is Split.TEST
    ]
    news_test = deduplicate(e for e in loaded if e.source == NEWS_SOURCE and e.split is Split.TEST)
    evaluation[NEWS_TEST] = news_test
    if config.builtin and config.news_natural:
        evaluation.update(_news_natural(config))
    evaluation[USER_TEST_SET] = deduplicate(
        e for e in loaded if e.source == USER_SOURCE and e.split is Split.TEST
    )
    evaluation = {name: rows for name, rows in evaluation.items() if rows}
    held_out_keys = {normalise(e.text) for rows in evaluation.values() for e in rows}
    trainable = [
        e
        for e in deduplicate(e for e in loaded if e.split is not Split.TEST)
        if normalise(e.text) not in held_out_keys
    ]
    validate_examples([*loaded, *trainable])
    held_out = NearCopyIndex(evaluation_texts(evaluation))
    validation = drop_near_copies(
        [e for e in trainable if e.split is Split.VALIDATION], index=held_out
    )
    # Training may not nearly copy a validation sentence either: one index grows to hold both.
    held_out.add(e.text for e in validation)
    train = drop_near_copies([e for e in trainable if e.split is Split.TRAIN], index=held_out)
    if extra is not None:
        _report_extra(extra, train, validation, builtin=config.builtin)
    corpus = Corpus(train=train, validation=validation, evaluation=evaluation, extra=extra)
    logger.info(
        "corpus: %d train, %d validation, %s",
        len(corpus.train),
        len(corpus.validation),
        ", ".join(f"{name} {len(rows)}" for name, rows in evaluation.items()),
    )
    return corpus


def _read_extra(config: DataConfig) -> UserData | None:
    if config.extra is None:
        return None
    return read_user_file(
        config.extra, validation_fraction=config.validation_fraction, max_mb=config.extra_max_mb
    )


def _report_extra(
    extra: UserData, train: list[Example], validation: list[Example], *, builtin: bool
) -> None:
    """Log how many of the user's rows reached training; refuse a file that leaves none."""
    kept = {
        split: sum(e.source == USER_SOURCE for e in rows)
        for split, rows in (("train", train), ("validation", validation))
    }
    given = {
        split: sum(n for (_, s), n in extra.counts.items() if s == split)
        for split in ("train", "validation")
    }
    logger.info(
        "%s: %d of %d train and %d of %d validation rows kept (the rest copy a held-out "
        "sentence, exactly or nearly)",
        extra.name,
        kept["train"],
        given["train"],
        kept["validation"],
        given["validation"],
    )
    if not builtin and not kept["train"]:
        raise DataError(f"{extra.path} leaves no training rows (data.builtin=false) (line 1)")
    if not builtin and not kept["validation"]:
        raise DataError(
            f"{extra.path} leaves no validation rows (data.builtin=false): mark some rows "
            "split=validation, or add more stories (line 1)"
        )


def _fractions(config: DataConfig) -> dict[str, float]:
    """The split shares every story-placing loader takes."""
    return {
        "validation_fraction": config.validation_fraction,
        "test_fraction": config.news_test_fraction,
    }


def _news_natural(config: DataConfig) -> dict[str, list[Example]]:
    """news_natural whole, and by source family: the uniform FNC-1 draw and the openings."""
    raw = config.raw_dir
    fractions = _fractions(config)
    rumour = load_news_natural(raw, **fractions) if NATURAL_LABELS_FILE.is_file() else []
    wikinews: list[Example] = []
    if OPENINGS_FILE.is_file():
        openings = load_openings(raw, **fractions)
        rumour += openings["rumour"]
        wikinews = openings["wikinews"]
    if not wikinews:
        # One family only: the split by family would repeat news_natural under another name.
        return {NEWS_NATURAL: deduplicate(rumour)}
    return {
        NEWS_NATURAL: deduplicate([*rumour, *wikinews]),
        NEWS_NATURAL_RUMOUR: deduplicate(rumour),
        NEWS_NATURAL_WIKINEWS: deduplicate(wikinews),
    }


def evaluation_texts(evaluation: dict[str, list[Example]]) -> list[str]:
    return [example.text for rows in evaluation.values() for example in rows]


def drop_near_copies(examples: list[Example], *, index: NearCopyIndex) -> list[Example]:
    """``examples`` less those that nearly copy a text of ``index`` (held-out sets' texts).

    Exact copies are gone already; this catches the syndicated copy with another
    byline or the hoax retold about another name, which would let a model
    answer the held-out sentence from memory.
    """
    kept = [example for example in examples if not index.has_copy(example.text)]
    if len(kept) < len(examples):
        logger.info("dropped %d near-copies of held-out sentences", len(examples) - len(kept))
    return kept
