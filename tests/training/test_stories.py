"""Stories: near-copy detection, story merging, and the split every telling of a story shares."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.labels import Label
from tests.training.conftest import write_raw_news
from training.corpus.build import drop_near_copies
from training.corpus.emergent import load_emergent
from training.corpus.near_copies import NearCopyIndex
from training.corpus.stories import (
    STORIES_FILE,
    find_stories,
    read_stories,
    story_placement,
    write_stories,
)
from training.data import Example, Split

STORY = (
    "The ministry said on Tuesday that the convoy of forty trucks had crossed the border "
    "near the village of Izvaryne without any inspection."
)


def test_near_copy_index_finds_retold_sentences_only() -> None:
    other_name = STORY.replace("Izvaryne", "Donetsk")
    unrelated = "A local football club announced a new coach after a long and difficult season."
    index = NearCopyIndex([STORY, unrelated, "Short one."])
    assert index.copies_of(other_name) == [0]
    assert index.copies_of(STORY.upper()) == [0]
    assert index.copies_of("short ONE") == [2]
    # Half the sentence is not a copy.
    assert not index.has_copy(" ".join(STORY.split()[:12]))
    assert not index.has_copy("The minister said nothing at all about any convoy today.")


def test_training_near_copies_of_held_out_sentences_are_dropped() -> None:
    copy = Example(STORY.replace("forty", "fifty"), Label.ASSERTION, "news", "s1", Split.TRAIN)
    distinct = Example(
        "Residents said they heard a loud boom.", Label.CAVEAT, "news", "s2", Split.TRAIN
    )
    assert drop_near_copies([copy, distinct], index=NearCopyIndex([STORY])) == [distinct]


def _sentences(topic: str, count: int) -> str:
    """``count`` sentences no other topic's sentences resemble, the same in every body."""
    return "\n".join(
        " ".join(f"{topic}{index}x{word}" for word in range(12)) + "." for index in range(count)
    )


def test_stories_merge_retold_bodies_and_near_identical_claims(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    hoax = "Fans mourned after a fake news site reported the star had died in a crash on Sunday."
    formula = "He did not immediately respond to a request for comment on Monday."
    bodies = {
        1: f"{_sentences('convoy', 2)}\n{formula}",
        2: f"{_sentences('convoy', 2)}",  # a syndicated copy, no claim headline of its own
        3: f"{hoax}\n{_sentences('singer', 1)}",
        4: f"{hoax.replace('Sunday', 'Monday')}\n{_sentences('singer', 1)}",  # template reused
        5: formula,  # one short formula shared proves nothing
        # A round-up quoting the convoy, singer and whale stories links none of them.
        6: f"{_sentences('convoy', 1)}\n{hoax}\n{_sentences('whale', 2)}\n{_sentences('singer', 1)}",
        7: _sentences("whale", 2),
    }
    write_raw_news(raw, bodies, {1: "c1", 3: "c2", 4: "c3", 7: "t2"})
    stories = find_stories(raw)
    story = {
        group: stories.get(group, group)
        for group in [
            "emergent:c1",
            "fnc1-body:2",
            "emergent:c2",
            "emergent:c3",
            "fnc1-body:5",
            "fnc1-body:6",
            "emergent:t2",
            "emergent:c4",
            "emergent:t1",
        ]
    }
    assert story["fnc1-body:2"] == story["emergent:c1"]
    assert story["emergent:c2"] == story["emergent:c3"]
    assert story["emergent:c4"] == story["emergent:t1"]  # near-identical claim headlines
    assert story["fnc1-body:5"] == "fnc1-body:5"
    assert story["fnc1-body:6"] == "fnc1-body:6"
    assert story["emergent:t2"] != story["emergent:c2"] != story["emergent:c1"]

    write_stories(stories, tmp_path / "stories.csv")
    assert read_stories(tmp_path / "stories.csv") == stories
    placement = story_placement(raw, validation_fraction=0.3, test_fraction=0.3, stories=stories)
    # The training-file claim told like an official test claim is test with it ...
    assert placement.place("emergent:c4")[1] is Split.TEST
    # ... and its headlines are neither trained on nor added to the official benchmark.
    headlines = load_emergent(raw / "emergent", reviewed=False, place=placement.place)
    assert {e.group for e in headlines if e.split is Split.TEST} == {
        story["emergent:t1"],
        story["emergent:t2"],
    }
    assert len([e for e in headlines if e.split is Split.TEST]) == 2
    assert "headline about c4" not in {e.text for e in headlines}


def test_committed_story_file_is_well_formed() -> None:
    stories = read_stories(STORIES_FILE)
    assert len(stories) > 100
    # Each story is named after its smallest group, which belongs to it.
    for group, story in stories.items():
        assert stories[story] == story
        assert story <= group


@pytest.mark.slow
def test_committed_story_file_matches_a_rebuild(shared_dir: Path) -> None:
    assert find_stories(shared_dir / "data" / "raw") == read_stories(STORIES_FILE)
