"""The grouping benchmark's cross-validation, and the integrity of the grouping gold."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from model.claims import extract_claims
from training.bench.grouping import (
    CHECK,
    GROUPING_GOLD,
    TUNE,
    Candidate,
    EmbeddedStory,
    GoldStory,
    bootstrap_interval,
    choose_parameter,
    embed_stories,
    leave_one_story_out,
    score_story,
)
from training.corpus.fnc1 import read_bodies
from training.corpus.news_gold import body_placement
from training.data import Split

# Two articles, two facts each, and a third claim in the second article that belongs to
# no group. Embeddings are scripted: a fact's claims share a direction, plus a tilt.
FACT_A = ("IBM will cut jobs.", "Jobs will be cut at IBM.")
FACT_B = ("Shares rose two percent.", "The stock gained two percent.")


def _story(name: str, tilt: float) -> EmbeddedStory:
    """Claims of one fact have cosine 1 - tilt-ish: a story where the cut must sit lower."""
    keys = [("x", FACT_A[0]), ("x", FACT_B[0]), ("y", FACT_A[1]), ("y", FACT_B[1])]
    positions = [(0, 0), (0, 1), (1, 0), (1, 1)]
    base = np.eye(3)
    rows = [base[0], base[1], base[0] + tilt * base[2], base[1] + tilt * base[2]]
    vectors = np.array([row / np.linalg.norm(row) for row in rows])
    groups = [{keys[0], keys[2]}, {keys[1], keys[3]}]
    story = GoldStory(name, [("x", ""), ("y", "")], groups, TUNE)
    return EmbeddedStory(story, keys, positions, {("minilm", False): vectors})


def test_each_story_is_scored_with_the_parameter_chosen_on_the_others() -> None:
    # The tilted story's facts sit at cosine 0.71, the flat ones' at 0.99: a cut chosen on
    # the flat stories alone is too high for the tilted one, which is what held-out shows.
    stories = [_story("flat-1", 0.1), _story("flat-2", 0.1), _story("tilted", 1.0)]
    candidate = Candidate("cosine", "minilm")
    held_out = leave_one_story_out(stories, candidate)
    assert [row.story for row in held_out] == ["flat-1", "flat-2", "tilted"]
    for position, row in enumerate(held_out):
        others = stories[:position] + stories[position + 1 :]
        assert row.parameter == choose_parameter(others, candidate)
        assert row.scores == score_story(stories[position], candidate, row.parameter)
    flat_1, _, tilted = held_out
    assert flat_1.scores.f1 == 1.0
    # Chosen on the flat stories (ties go to the lowest perfect cut) ...
    assert tilted.parameter == choose_parameter(stories[:2], candidate)
    # ... and scored on the tilted story at that cut, not at the tilted story's own best.
    best_own = max(score_story(stories[2], candidate, v).f1 for v in candidate.grid)
    assert tilted.scores.f1 <= best_own


def test_bootstrap_interval_is_deterministic_and_brackets_the_mean() -> None:
    values = [0.2, 0.4, 0.6, 0.8]
    low, high = bootstrap_interval(values)
    assert (low, high) == bootstrap_interval(values)
    assert low < np.mean(values) < high
    assert bootstrap_interval([0.5, 0.5, 0.5]) == (0.5, 0.5)


def test_embed_stories_cuts_claims_as_compare_does_and_slices_one_embed_call() -> None:
    calls: list[list[str]] = []

    def embed(texts: Sequence[str]) -> np.ndarray:
        calls.append(list(texts))
        return np.arange(len(texts), dtype=np.float64)[:, None] * np.ones((1, 2))

    stories = [
        GoldStory(
            "one", [("a", "Police said the man fled. He was caught."), ("b", "He fled.")], [], TUNE
        ),
        GoldStory("two", [("c", "Shares rose.")], [], CHECK),
    ]
    embedded = embed_stories(stories, {"enc": embed})
    # One call per input kind (the claims, then their propositions), over every story.
    assert calls[0] == ["Police said the man fled.", "He was caught.", "He fled.", "Shares rose."]
    assert calls[1][0] == "The man fled."
    assert [story.keys for story in embedded] == [
        [("a", "Police said the man fled."), ("a", "He was caught."), ("b", "He fled.")],
        [("c", "Shares rose.")],
    ]
    assert embedded[0].positions == [(0, 0), (0, 1), (1, 0)]
    assert embedded[1].vectors[("enc", False)][0, 0] == 3.0


# --- the gold itself ------------------------------------------------------------------


@pytest.fixture(scope="module")
def gold() -> dict:
    return json.loads(GROUPING_GOLD.read_text(encoding="utf-8"))


def test_grouping_gold_comes_from_evaluation_stories_and_matches_extraction(
    gold: dict, shared_dir: Path
) -> None:
    raw_dir = shared_dir / "data/raw"
    place = body_placement(raw_dir, validation_fraction=0.1, test_fraction=0.2)
    bodies = read_bodies(raw_dir / "fnc1")
    examples = {
        path.read_text(encoding="utf-8") for path in (shared_dir / "examples").glob("*.txt")
    }
    stories = gold["stories"]
    assert len(stories) >= 12
    assert {story["fold"] for story in stories} == {TUNE, CHECK}
    for story in stories:
        documents = story["documents"]
        assert 4 <= len(documents) <= 10, story["name"]
        ids = [int(document.split(":")[1]) for document in documents]
        placements = {place(body) for body in ids}
        # One story of the split, and an evaluation one: never trained on.
        assert len(placements) == 1, story["name"]
        [(_, split)] = placements
        assert split in (Split.TEST, Split.VALIDATION), story["name"]
        assert not {bodies[body] for body in ids} & examples
        claims = {
            doc: [c.text for c in extract_claims(bodies[body]).claims]
            for doc, body in zip(documents, ids, strict=True)
        }
        seen: set[tuple[str, int]] = set()
        for group in story["groups"]:
            assert len({doc for doc, _, _ in group["members"]}) >= 2, group["name"]
            for doc, index, text in group["members"]:
                # The text is what /compare cuts today, at the index recorded.
                assert claims[doc][index] == text, (story["name"], doc, index)
                assert (doc, index) not in seen, (story["name"], doc, index)
                seen.add((doc, index))


def test_second_pass_covers_two_stories_of_the_gold(gold: dict) -> None:
    names = {story["name"]: story for story in gold["stories"]}
    assert len(gold["second_pass"]) == 2
    for name, groups in gold["second_pass"].items():
        documents = set(names[name]["documents"])
        for group in groups:
            assert {doc for doc, _ in group} <= documents
            assert len({doc for doc, _ in group}) >= 2
