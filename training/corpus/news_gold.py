"""Hand-annotated FNC-1 news sentences, their counterfactual rewrites, and the example-article claims.

Each news sentence keeps its provenance (FNC-1 body id and sentence index).
Its group is the story the body tells (``stories.py``), so a sentence and the
headlines and other articles about the same story always fall in the same split.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from training.corpus.emergent import emergent_claims
from training.corpus.fnc1 import body_groups
from training.corpus.stories import body_group, claim_group, story_placement
from training.data import (
    Example,
    Split,
    parse_label,
    read_csv_rows,
    read_labelled_csv,
)

NEWS_SOURCE = "news_gold"
EXAMPLES_SOURCE = "examples"
COUNTERFACTUAL_SOURCE = "counterfactual"
ANNOTATIONS = Path(__file__).resolve().parent / "annotations"
NEWS_GOLD_FILE = ANNOTATIONS / "news_gold.csv"
EXAMPLES_GOLD_FILE = ANNOTATIONS / "examples_gold.csv"
COUNTERFACTUAL_FILE = ANNOTATIONS / "news_counterfactual.csv"


def load_news_sentences(
    raw_dir: Path,
    path: Path,
    source: str,
    *,
    validation_fraction: float,
    test_fraction: float,
    training_only: bool = False,
) -> list[Example]:
    """Rows keyed by FNC-1 body, each placed in the group and split of its body.

    ``training_only`` is for sentences that may only be trained on, such as
    counterfactual rewrites of gold sentences: a row whose body sits in a
    validation or test group is dropped, because scores must come from real
    sentences and a near-twin in training would leak the original's answer.
    """
    place = body_placement(
        raw_dir, validation_fraction=validation_fraction, test_fraction=test_fraction
    )
    examples: list[Example] = []
    rows = read_csv_rows(path, ("body_id", "sentence_index", "text", "label"))
    for index, row in enumerate(rows):
        label = parse_label(row["label"], where=f"{path} row {index + 2}")
        group, split = place(int(row["body_id"]))
        if split is Split.TRAIN or not training_only:
            examples.append(Example(row["text"], label, source, group, split))
    return examples


def body_placement(
    raw_dir: Path, *, validation_fraction: float, test_fraction: float
) -> Callable[[int], tuple[str, Split]]:
    """body id -> (story, split): the one rule every FNC-1 sentence is placed by.

    A body about an Emergent claim belongs to that claim's group, any other
    body is a group of its own, and each group goes where its story goes
    (``stories.StoryPlacement``), so every telling of a story shares a split.
    """
    claim_by_headline, _ = emergent_claims(raw_dir / "emergent")
    claim_of_body = body_groups(raw_dir / "fnc1", claim_by_headline)
    placement = story_placement(
        raw_dir, validation_fraction=validation_fraction, test_fraction=test_fraction
    )

    def place(body_id: int) -> tuple[str, Split]:
        claim = claim_of_body.get(body_id)
        return placement.place(claim_group(claim) if claim is not None else body_group(body_id))

    return place


def load_news_gold(
    raw_dir: Path,
    *,
    validation_fraction: float,
    test_fraction: float,
    path: Path = NEWS_GOLD_FILE,
) -> list[Example]:
    return load_news_sentences(
        raw_dir,
        path,
        NEWS_SOURCE,
        validation_fraction=validation_fraction,
        test_fraction=test_fraction,
    )


def load_examples_gold(path: Path = EXAMPLES_GOLD_FILE) -> list[Example]:
    """Every claim of the five example articles: evaluation only, never trained on."""
    return read_labelled_csv(
        path, source=EXAMPLES_SOURCE, group_column="document", split=Split.TEST
    )
