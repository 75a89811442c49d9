"""Stories: the unit every split is made by.

An Emergent claim and the FNC-1 bodies about it form a group, but one story
can span several groups: a syndicated article filed under two claims, a hoax
template reused for a second celebrity, a weekly "what was fake" round-up that
quotes five hoaxes, or Emergent's own near-identical claims ("will sell 15
million Apple Watches" / "... 30 million ..."). Splitting by group would put
one telling of such a story in training and another in the test set, so groups
that share near-copy sentences, or whose claim headlines are near-copies, are
merged into one story before splitting.

Finding the stories reads and segments every FNC-1 body (about half a minute),
so the result is a small committed file (``stories.csv``) that
``python -m training stories`` rebuilds; a group missing from it is a story of
its own.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from training.corpus.emergent import TEST_FILE, TRAIN_FILE, claim_headlines, emergent_claims
from training.corpus.fnc1 import body_groups, iter_pool
from training.corpus.near_copies import NearCopyIndex, word_ratio, words
from training.data import Split, group_split, read_csv_rows

STORIES_FILE = Path(__file__).resolve().parent / "annotations" / "stories.csv"
EMERGENT_PREFIX = "emergent:"
BODY_PREFIX = "fnc1-body:"
# Sentences this short are formulae ("He did not respond to a request for comment"),
# so one shared sentence of this length proves nothing; two do, or one long one.
SHORT_SHARED_WORDS = 15
MIN_SHARED_WORDS = 8
# A body sharing sentences with more groups than this is a round-up of several stories.
MAX_LINKED_GROUPS = 2
# Claim headlines this alike (word-sequence ratio and content-word overlap) tell one story.
CLAIM_HEADLINE_RATIO = 0.7
CLAIM_HEADLINE_OVERLAP = 0.5
_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "to",
        "is",
        "was",
        "were",
        "has",
        "have",
        "had",
        "for",
        "and",
        "by",
        "with",
        "be",
        "been",
        "that",
        "at",
        "from",
        "his",
        "her",
        "its",
        "it",
        "as",
        "are",
        "after",
        "will",
        "who",
        "s",
    ]
)


def claim_group(claim_id: str) -> str:
    return f"{EMERGENT_PREFIX}{claim_id}"


def body_group(body_id: int) -> str:
    return f"{BODY_PREFIX}{body_id}"


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        self.parent.setdefault(item, item)
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, first: str, second: str) -> None:
        self.parent[self.find(first)] = self.find(second)


def _content_overlap(first: str, second: str) -> float:
    a = {w for w in words(first) if w not in _FUNCTION_WORDS}
    b = {w for w in words(second) if w not in _FUNCTION_WORDS}
    return len(a & b) / max(1, len(a | b))


def find_stories(raw_dir: Path) -> dict[str, str]:
    """group -> story id (the smallest group name in the story), for every merged group."""
    claim_by_headline, _ = emergent_claims(raw_dir / "emergent")
    claim_of_body = body_groups(raw_dir / "fnc1", claim_by_headline)

    def group_of(body_id: int) -> str:
        claim = claim_of_body.get(body_id)
        return claim_group(claim) if claim is not None else body_group(body_id)

    merged = _UnionFind()
    for first, second in _bodies_sharing_sentences(raw_dir, group_of):
        merged.union(group_of(first), group_of(second))
    # Emergent claims that state the same story in nearly the same words.
    headlines = sorted(claim_headlines(raw_dir / "emergent").items())
    for position, (claim, headline) in enumerate(headlines):
        for other_claim, other_headline in headlines[position + 1 :]:
            if (
                _content_overlap(headline, other_headline) >= CLAIM_HEADLINE_OVERLAP
                and word_ratio(words(headline), words(other_headline)) >= CLAIM_HEADLINE_RATIO
            ):
                merged.union(claim_group(claim), claim_group(other_claim))
    members: dict[str, list[str]] = defaultdict(list)
    for group in list(merged.parent):
        members[merged.find(group)].append(group)
    return {
        group: min(groups) for groups in members.values() if len(groups) > 1 for group in groups
    }


def _bodies_sharing_sentences(
    raw_dir: Path, group_of: Callable[[int], str]
) -> list[tuple[int, int]]:
    """Pairs of bodies that share two near-copy sentences, or one long one.

    A round-up ("what was fake on the internet this week") quotes several
    stories; it would chain them all into one, so a body that shares with
    bodies of more than ``MAX_LINKED_GROUPS`` other groups links nothing. Its
    copied sentences are still kept apart from held-out ones, sentence by
    sentence, by ``build.drop_near_copies``.
    """
    texts: list[str] = []
    owners: list[int] = []
    for sentence in iter_pool(raw_dir / "fnc1"):
        if len(sentence.text.split()) >= MIN_SHARED_WORDS:
            texts.append(sentence.text)
            owners.append(sentence.body_id)
    index = NearCopyIndex(texts)
    shared: dict[tuple[int, int], list[int]] = defaultdict(list)
    for position, text in enumerate(texts):
        for other in index.copies_of(text):
            if owners[position] < owners[other]:
                shared[(owners[position], owners[other])].append(len(text.split()))
    linked = [
        pair
        for pair, lengths in shared.items()
        if len(lengths) >= 2 or max(lengths) >= SHORT_SHARED_WORDS
    ]
    other_groups: dict[int, set[str]] = defaultdict(set)
    for first, second in linked:
        if group_of(first) != group_of(second):
            other_groups[first].add(group_of(second))
            other_groups[second].add(group_of(first))
    return [
        (first, second)
        for first, second in linked
        if max(len(other_groups[first]), len(other_groups[second])) <= MAX_LINKED_GROUPS
    ]


def write_stories(stories: dict[str, str], path: Path = STORIES_FILE) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["group", "story"])
        for group, story in sorted(stories.items(), key=lambda item: (item[1], item[0])):
            writer.writerow([group, story])


def read_stories(path: Path = STORIES_FILE) -> dict[str, str]:
    if not path.is_file():
        return {}
    return {row["group"]: row["story"] for row in read_csv_rows(path, ("group", "story"))}


@dataclass(frozen=True)
class StoryPlacement:
    """Where a group goes: its story, and the split every group of that story shares.

    A story holding one of Emergent's official test claims is test. One holding
    any other Emergent claim is training or validation (Emergent's own train
    file has no test share). Any other story is drawn by hash into training,
    validation or test.
    """

    story_of_group: dict[str, str]
    test_stories: frozenset[str]
    emergent_stories: frozenset[str]
    validation_fraction: float
    test_fraction: float

    def story(self, group: str) -> str:
        return self.story_of_group.get(group, group)

    def place(self, group: str) -> tuple[str, Split]:
        story = self.story(group)
        if story in self.test_stories:
            return story, Split.TEST
        if story in self.emergent_stories:
            return story, group_split(story, validation_fraction=self.validation_fraction)
        return story, group_split(
            story, validation_fraction=self.validation_fraction, test_fraction=self.test_fraction
        )


def story_placement(
    raw_dir: Path,
    *,
    validation_fraction: float,
    test_fraction: float,
    stories: dict[str, str] | None = None,
) -> StoryPlacement:
    story_of_group = read_stories() if stories is None else stories
    by_file = _claims_by_file(raw_dir / "emergent")

    def stories_of(claims: Iterable[str]) -> frozenset[str]:
        return frozenset(story_of_group.get(claim_group(c), claim_group(c)) for c in claims)

    return StoryPlacement(
        story_of_group=story_of_group,
        test_stories=stories_of(by_file[TEST_FILE]),
        emergent_stories=stories_of(by_file[TRAIN_FILE]),
        validation_fraction=validation_fraction,
        test_fraction=test_fraction,
    )


def _claims_by_file(emergent_dir: Path) -> dict[str, set[str]]:
    claims: dict[str, set[str]] = {TRAIN_FILE: set(), TEST_FILE: set()}
    for name in claims:
        for row in read_csv_rows(emergent_dir / name, ("claimId",)):
            claims[name].add(row["claimId"])
    return claims
