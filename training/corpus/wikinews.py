"""Wikinews 2019-2020 articles (CC BY 2.5): recent news on many topics, read in place.

The rumour corpora (FNC-1, Emergent) are 2014-15 hoaxes; users send 2020s politics,
health, courts, sport and science. These articles broaden the unlabelled pool, the
hand-labelled gold and news_natural. Sentences are cut by ``fnc1.split_body`` (frozen),
after the dateline ("Friday, January 4, 2019") that opens most bodies is removed, and
addressed as ``<article id>:<sentence index>``: the article id is a hash of the URL, so
the annotation files need no row numbers of the raw files.

A story is an article, except that articles published within a fortnight whose titles
share three or more content words (the same court case or outbreak followed over days)
are one story; each story goes to one split by hash, like every other source.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from training.corpus.fnc1 import split_body
from training.data import Split, group_split

SOURCE = "wikinews"
FILES = ("wikinews_2019.csv", "wikinews_2020.csv")
# More of these articles go to test than of FNC-1's: they are the evaluation material
# the project most lacks (news_natural's second half).
TEST_FRACTION = 0.3
_SAME_STORY_DAYS = 14
_SAME_STORY_WORDS = 3
_DATELINE = re.compile(
    r"^\s*(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday),\s+\w+\s+\d{1,2},\s+\d{4}\s*"
)
_TITLE_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
_TITLE_STOPWORDS = frozenset(
    [
        "with",
        "from",
        "after",
        "over",
        "into",
        "says",
        "said",
        "amid",
        "about",
        "their",
        "than",
        "this",
        "that",
        "were",
        "have",
        "been",
        "will",
        "more",
        "first",
        "news",
        "report",
        "reports",
        "year",
        "years",
        "people",
        "new",
    ]
)


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    url: str
    date: dt.date
    title: str
    sentences: tuple[str, ...]


def article_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:10]


def _body(text: str) -> str:
    return _DATELINE.sub("", text, count=1)


def read_articles(raw_dir: Path) -> list[Article]:
    """Every article of the raw files, in file order; ``raw_dir`` is the ``raw`` folder.

    A raw folder without Wikinews (an older ``shared``, the tests' miniature) has none.
    """
    csv.field_size_limit(1 << 24)
    articles: list[Article] = []
    for name in FILES:
        path = raw_dir / "wikinews" / name
        if not path.is_file():
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                articles.append(
                    Article(
                        id=article_id(row["url"]),
                        url=row["url"],
                        date=dt.date.fromisoformat(row["date"][:10]),
                        title=row["title"].strip(),
                        sentences=tuple(split_body(_body(row["text"]))),
                    )
                )
    return articles


def _title_words(title: str) -> frozenset[str]:
    words = {w.lower() for w in _TITLE_WORD.findall(title)}
    return frozenset(words - _TITLE_STOPWORDS)


def story_of_article(articles: list[Article]) -> dict[str, str]:
    """article id -> story id (the earliest article of its story)."""
    parent = {a.id: a.id for a in articles}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    ordered = sorted(articles, key=lambda a: (a.date, a.id))
    words = {a.id: _title_words(a.title) for a in ordered}
    date = {a.id: a.date for a in ordered}
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if (second.date - first.date).days > _SAME_STORY_DAYS:
                break
            if len(words[first.id] & words[second.id]) >= _SAME_STORY_WORDS:
                a, b = root(first.id), root(second.id)
                if a != b:
                    # The earlier article names the story, whatever order links arrive in.
                    earlier, later = sorted((a, b), key=lambda node: (date[node], node))
                    parent[later] = earlier
    return {a.id: f"{SOURCE}:{root(a.id)}" for a in articles}


@dataclass(frozen=True)
class WikinewsPlacement:
    story_of: dict[str, str]
    validation_fraction: float
    test_fraction: float = TEST_FRACTION

    def place(self, article: str) -> tuple[str, Split]:
        story = self.story_of[article]
        return story, group_split(
            story,
            validation_fraction=self.validation_fraction,
            test_fraction=self.test_fraction,
            salt="wikinews",
        )


@cache
def _cached_articles(raw_dir: Path) -> tuple[Article, ...]:
    return tuple(read_articles(raw_dir))


def articles(raw_dir: Path) -> tuple[Article, ...]:
    """The articles, read once a process (several loaders ask for them)."""
    return _cached_articles(raw_dir.resolve())


def placement(raw_dir: Path, *, validation_fraction: float) -> WikinewsPlacement:
    return WikinewsPlacement(story_of_article(list(articles(raw_dir))), validation_fraction)


@dataclass(frozen=True, slots=True)
class WikinewsSentence:
    article_id: str
    sentence_index: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.article_id}:{self.sentence_index}"


def iter_sentences(raw_dir: Path) -> Iterator[WikinewsSentence]:
    for article in articles(raw_dir):
        for index, text in enumerate(article.sentences):
            yield WikinewsSentence(article.id, index, text)
