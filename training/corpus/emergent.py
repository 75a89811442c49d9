"""Emergent headlines (Ferreira & Vlachos, 2016) with their official train/test split."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from model.labels import Label
from training.data import DataError, Example, Split, parse_label, read_csv_rows

SOURCE = "emergent"
TRAIN_FILE = "url-versions-2015-06-14-clean-train.csv"
TEST_FILE = "url-versions-2015-06-14-clean-test.csv"
STANCE_TO_LABEL = {"for": Label.ASSERTION, "against": Label.DENIAL, "observing": Label.CAVEAT}
REVIEW_FILE = Path(__file__).resolve().parent / "annotations" / "emergent_observing_review.csv"
_COLUMNS = ("claimHeadline", "articleHeadline", "articleHeadlineStance", "articleId", "claimId")


def read_review(path: Path = REVIEW_FILE) -> dict[str, Label]:
    """article id -> the label a reviewer gave an `observing` headline under the label guide."""
    rows = read_csv_rows(path, ("article_id", "label"))
    return {
        row["article_id"]: parse_label(row["label"], where=f"{path} row {index + 2}")
        for index, row in enumerate(rows)
    }


def _stance_label(stance: str, where: str) -> Label:
    try:
        return STANCE_TO_LABEL[stance.strip()]
    except KeyError:
        raise DataError(f"{where}: unknown Emergent stance {stance!r}") from None


# group -> (story, split): the story rule in ``stories.StoryPlacement.place``.
PlaceGroup = Callable[[str], tuple[str, Split]]


def load_emergent(emergent_dir: Path, *, reviewed: bool, place: PlaceGroup) -> list[Example]:
    """All Emergent headlines; the official test file stays the test split with original labels.

    Each headline takes its claim's story as its group. A training-file
    headline whose story also holds an official test claim is left out: it
    may not be trained on, and the benchmark stays the official file.
    With ``reviewed``, training and validation headlines take the reviewed
    label (the original kept beside it); the benchmark never does.
    """
    review = read_review() if reviewed else {}
    examples: list[Example] = []
    for name, official_split in ((TRAIN_FILE, Split.TRAIN), (TEST_FILE, Split.TEST)):
        path = emergent_dir / name
        for index, row in enumerate(read_csv_rows(path, _COLUMNS)):
            where = f"{path} row {index + 2}"
            original = _stance_label(row["articleHeadlineStance"], where)
            group, split = place(f"emergent:{row['claimId']}")
            if official_split is Split.TEST:
                split, label = Split.TEST, original
            elif split is Split.TEST:
                continue
            else:
                label = review.get(row["articleId"], original)
            examples.append(
                Example(
                    text=row["articleHeadline"].strip(),
                    label=label,
                    source=SOURCE,
                    group=group,
                    split=split,
                    original_label=original if label != original else None,
                )
            )
    return examples


def emergent_claims(emergent_dir: Path) -> tuple[dict[str, str], set[str]]:
    """(normalised article headline -> claim id, ids of the official test claims)."""
    from training.corpus.fnc1 import normalise_headline

    by_headline: dict[str, str] = {}
    test_claims: set[str] = set()
    for name in (TRAIN_FILE, TEST_FILE):
        for row in read_csv_rows(emergent_dir / name, _COLUMNS):
            by_headline[normalise_headline(row["articleHeadline"])] = row["claimId"]
            if name == TEST_FILE:
                test_claims.add(row["claimId"])
    return by_headline, test_claims


def claim_headlines(emergent_dir: Path) -> dict[str, str]:
    """claim id -> the claim's own headline (what the story is about)."""
    return {
        row["claimId"]: row["claimHeadline"]
        for name in (TRAIN_FILE, TEST_FILE)
        for row in read_csv_rows(emergent_dir / name, _COLUMNS)
    }
