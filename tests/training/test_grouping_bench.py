"""The grouping benchmark's cross-validation, and the integrity of the grouping gold."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from model.alignment import ClaimTokens
from model.claims import extract_claims
from model.story import BLEND, SIMILARITIES, PairwiseScores
from training.bench.grouping import (
    ALIGNMENT_CANDIDATE_NAME,
    CHECK,
    CLAIM,
    CORE,
    GROUPING_GOLD,
    PROPOSITION,
    TUNE,
    Candidate,
    CandidateResult,
    EmbeddedStory,
    GoldStory,
    HeldOut,
    bootstrap_interval,
    candidate_similarities,
    candidates,
    choose_parameter,
    core_proposition,
    embed_stories,
    leave_one_story_out,
    paired_difference,
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
    return EmbeddedStory(story, keys, positions, {("minilm", CLAIM): vectors})


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
            "one",
            [("a", "Police said the man fled. He was caught."), ("b", "He fled.")],
            [],
            TUNE,
        ),
        GoldStory("two", [("c", "Shares rose.")], [], CHECK),
    ]
    tokenised: list[tuple[str, list[str]]] = []

    def tokens_of(name: str, axis: int) -> Callable[[Sequence[str]], ClaimTokens]:
        """One token per claim, on ``axis``: the second claim's on another axis for "int8",
        so its alignment differs from "enc"'s."""

        def tokens(texts: Sequence[str]) -> ClaimTokens:
            tokenised.append((name, list(texts)))
            count = len(texts)
            vectors = np.zeros((count, 2), dtype=np.float32)
            vectors[:, 0] = 1.0
            vectors[1] = np.eye(2)[axis]
            return ClaimTokens(
                vectors, np.arange(count), np.ones(count, dtype=bool), np.ones(count, np.int64)
            )

        return tokens

    embedded = embed_stories(
        stories, {"enc": embed}, tokens={"enc": tokens_of("enc", 0), "int8": tokens_of("int8", 1)}
    )
    # One call per input kind (the claims, their propositions, their cores), over every story.
    assert calls[0] == ["Police said the man fled.", "He was caught.", "He fled.", "Shares rose."]
    assert calls[1][0] == "The man fled."
    assert len(calls) == 3
    # Each encoder's token states are read once, over the claims of every story.
    assert tokenised == [("enc", calls[0]), ("int8", calls[0])]
    assert [story.keys for story in embedded] == [
        [("a", "Police said the man fled."), ("a", "He was caught."), ("b", "He fled.")],
        [("c", "Shares rose.")],
    ]
    assert embedded[0].positions == [(0, 0), (0, 1), (1, 0)]
    assert embedded[1].vectors[("enc", CLAIM)][0, 0] == 3.0
    assert set(embedded[0].vectors) == {("enc", CLAIM), ("enc", PROPOSITION), ("enc", CORE)}
    # Each story aligns its own claims only, on each encoder's own states.
    assert {name: a.shape for name, a in embedded[0].alignments.items()} == {
        "enc": (3, 3),
        "int8": (3, 3),
    }
    assert embedded[1].alignments["int8"].shape == (1, 1)
    assert embedded[0].alignments["enc"][0, 1] == pytest.approx(1.0)
    assert embedded[0].alignments["int8"][0, 1] == pytest.approx(0.0)


def test_core_takes_stance_and_frame_words_off_so_a_denial_meets_its_claim() -> None:
    # The reporting frame goes (model.propositions), then negations, hedges and frame words.
    assert core_proposition("The man has fled to Nigeria, police said.") == (
        "The man has fled to Nigeria."
    )
    assert core_proposition("He may not be dead.") == "He be dead."
    denial = core_proposition("The hospital denied rumours the patient has Ebola.")
    assert denial == "The hospital the patient has Ebola."
    # Fewer than three words left: the proposition stays whole.
    assert core_proposition("Not true.") == "Not true."


def test_candidate_similarities_mix_the_shares_and_push_one_documents_claims_apart() -> None:
    story = _story("s", 0.5)
    alignment = np.full((4, 4), 0.2)
    np.fill_diagonal(alignment, 1.0)
    story = EmbeddedStory(
        story.story, story.keys, story.positions, story.vectors, {"minilm": alignment}
    )
    cosine = story.vectors[("minilm", CLAIM)] @ story.vectors[("minilm", CLAIM)].T
    mixed = candidate_similarities(
        story, Candidate("c", "minilm", alignment_weight=0.5, same_document_penalty=0.1)
    )
    # (0, 2) are from two documents, (0, 1) from one.
    assert mixed[0, 2] == pytest.approx(0.5 * cosine[0, 2] + 0.5 * 0.2)
    assert mixed[0, 1] == pytest.approx(0.5 * cosine[0, 1] + 0.5 * 0.2 - 0.1)
    assert np.allclose(np.diag(mixed), 1.0)
    only = candidate_similarities(story, Candidate("a", "minilm", alignment_weight=1.0))
    assert only[0, 2] == pytest.approx(0.2)
    with pytest.raises(ValueError, match="token alignments"):
        candidate_similarities(_story("t", 0.5), Candidate("a", "minilm", alignment_weight=1.0))
    # Another encoder's candidate reads that encoder's alignment, never MiniLM's.
    with pytest.raises(ValueError, match="int8's token alignments"):
        candidate_similarities(story, Candidate("b", "int8", alignment_weight=1.0))


def test_an_encoder_with_token_states_gets_the_blend_row() -> None:
    rows = {row.name: row for row in candidates(["minilm", "int8", "mpnet"], aligned={"int8"})}
    blend = SIMILARITIES[BLEND]
    row = rows["int8: blend"]
    assert (row.encoder, row.alignment_weight, row.lexical_weight) == (
        "int8",
        blend.alignment_weight,
        blend.lexical_weight,
    )
    assert (row.same_document_penalty, row.adaptive) == (blend.same_document_penalty, True)
    assert rows[ALIGNMENT_CANDIDATE_NAME].encoder == "minilm"
    assert "mpnet: blend" not in rows
    assert not any(row.alignment_weight for row in candidates(["minilm", "int8"], alignment=False))


def test_paired_difference_compares_the_same_stories() -> None:
    def result(name: str, f1s: Sequence[float]) -> CandidateResult:
        rows = [
            HeldOut(f"s{i}", 0.5, PairwiseScores(f1, f1, f1, 1, 1, 1)) for i, f1 in enumerate(f1s)
        ]
        return CandidateResult(Candidate(name, "minilm"), rows)

    better = result("b", [0.6, 0.5, 0.7, 0.4])
    reference = result("r", [0.5, 0.5, 0.6, 0.5])
    diff = paired_difference(better, reference)
    assert diff.mean == pytest.approx(0.025)
    assert (diff.better, diff.worse) == (2, 1)
    assert diff.low <= diff.mean <= diff.high
    with pytest.raises(ValueError, match="different stories"):
        paired_difference(better, result("x", [0.5, 0.5]))


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
