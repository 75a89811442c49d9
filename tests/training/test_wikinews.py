"""Wikinews as a corpus family: stable ids, stories, splits, and its place in the pool."""

from __future__ import annotations

from pathlib import Path

from tests.training.conftest import write_csv, write_emergent, write_fnc1
from training.corpus import wikinews
from training.corpus.pool import training_pool
from training.data import Split

BODY = (
    "Friday, January 4, 2019 \n\n\n"
    "The council approved the new bridge budget on Thursday after a long debate. "
    "Officials said work would start in the spring.\n\n\n"
    "Critics called the plan too expensive for a town of its size."
)


def write_wikinews(raw: Path, rows: list[tuple[str, str, str, str]]) -> None:
    write_csv(raw / "wikinews" / "wikinews_2019.csv", ["url", "date", "title", "text"], rows)


def article(number: int, date: str, title: str) -> tuple[str, str, str, str]:
    return (f"https://en.wikinews.org/wiki/Article_{number}", date, title, BODY)


def test_articles_lose_the_dateline_and_keep_stable_ids(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_wikinews(raw, [article(1, "2019-01-04", "Town approves bridge budget")])
    (only,) = wikinews.read_articles(raw)
    assert only.id == wikinews.article_id("https://en.wikinews.org/wiki/Article_1")
    assert only.sentences == (
        "The council approved the new bridge budget on Thursday after a long debate.",
        "Officials said work would start in the spring.",
        "Critics called the plan too expensive for a town of its size.",
    )


def test_a_raw_folder_without_wikinews_has_no_articles(tmp_path: Path) -> None:
    assert wikinews.read_articles(tmp_path) == []


def test_articles_that_follow_one_story_share_it_and_others_do_not(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_wikinews(
        raw,
        [
            article(1, "2020-03-02", "Springfield mayor Quimby wins council recall vote"),
            article(2, "2020-03-09", "Quimby recall: Springfield council certifies vote count"),
            article(3, "2020-05-30", "Springfield council recall Quimby appeal heard"),
            article(4, "2020-03-03", "Storm floods coastal villages"),
        ],
    )
    articles = wikinews.read_articles(raw)
    story = wikinews.story_of_article(articles)
    first, second, late, other = (a.id for a in articles)
    assert story[first] == story[second] == f"wikinews:{first}"
    assert story[late] == f"wikinews:{late}"  # same words, but months later
    assert story[other] == f"wikinews:{other}"


def test_the_pool_takes_training_articles_only_with_family_ids(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_emergent(raw / "emergent")
    write_fnc1(raw, {}, [])
    write_wikinews(raw, [article(n, "2019-01-04", f"Headline {n}") for n in range(30)])
    place = wikinews.WikinewsPlacement(
        wikinews.story_of_article(wikinews.read_articles(raw)), validation_fraction=0.2
    )
    splits = {a.id: place.place(a.id)[1] for a in wikinews.read_articles(raw)}
    assert {Split.TRAIN, Split.TEST} <= set(splits.values())
    pool = training_pool(raw, validation_fraction=0.2, test_fraction=0.2)
    pooled = {item.id.split(":")[1] for item in pool}
    assert all(item.id.startswith("wikinews:") for item in pool)
    # The body repeats, so its sentences are pooled once, from a training article.
    assert len(pool) == 3
    assert pooled <= {a for a, split in splits.items() if split is Split.TRAIN}
