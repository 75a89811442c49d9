"""Grouping quality of /compare, cross-validated over hand-grouped stories.

Gold: ``tests/fixtures/grouping_gold.json``, 13 stories of FNC-1 articles from evaluation
stories of the story split (nine ``tune``, four ``check``; data card in docs/data.md),
plus the two older groupings: the five example articles (``example_groups.json``, which
the former threshold was tuned on) and a five-article FNC-1 story
(``second_story_groups.json``).

A *candidate* is a way to group: an encoder, what it reads (the claim, or its proposition
with the reporting frame taken off), how the similarity is built (word-overlap weight,
same-document penalty), a linkage, and a threshold rule (one fixed similarity, or the
story-adaptive mean + k standard deviations) with a grid for its one free parameter.
Each candidate is scored by leave-one-story-out: for every gold story, the parameter that
scores best (mean pairwise F1) on the other stories is applied to it. Pairwise precision,
recall and F1 count pairs of claims from different documents
(``model.story.pairwise_scores``); the interval is a story-level bootstrap of the mean F1.

Grouping does not depend on labels, so only the sentence encoder runs, once per encoder
and input over every claim.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.claims import extract_claims
from model.propositions import proposition
from model.story import (
    ADAPTIVE_SPREAD,
    LEXICAL_WEIGHT,
    SAME_DOCUMENT_PENALTY,
    ClaimKey,
    ClaimPosition,
    PairwiseScores,
    group_similar,
    pairwise_scores,
)
from training.config import REPO_ROOT
from training.corpus.fnc1 import read_bodies

FIXTURES = REPO_ROOT / "tests" / "fixtures"
GROUPING_GOLD = FIXTURES / "grouping_gold.json"
EXAMPLE_GROUPS = FIXTURES / "example_groups.json"
SECOND_STORY_GROUPS = FIXTURES / "second_story_groups.json"
TUNE, CHECK = "tune", "check"
FIXED_GRID = tuple(round(0.1 + 0.025 * step, 3) for step in range(31))  # 0.10 .. 0.85
SPREAD_GRID = tuple(round(0.5 + 0.25 * step, 2) for step in range(19))  # 0.5 .. 5.0
BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 25


@dataclass(frozen=True)
class GoldStory:
    name: str
    documents: list[tuple[str, str]]  # (id, raw text)
    groups: list[set[ClaimKey]]
    fold: str  # TUNE, CHECK, or "" for the two older groupings


def _group_sets(raw: list[dict]) -> list[set[ClaimKey]]:
    return [{(m["document"], m["text"]) for m in group["members"]} for group in raw]


def _fnc1_bodies(shared_dir: Path) -> dict[str, str]:
    return {
        f"fnc1-body:{key}": text for key, text in read_bodies(shared_dir / "data/raw/fnc1").items()
    }


def gold_stories(shared_dir: Path, path: Path = GROUPING_GOLD) -> list[GoldStory]:
    """The hand-grouped stories, their article texts read from the shared FNC-1 data."""
    bodies = _fnc1_bodies(shared_dir)
    stories = []
    for story in json.loads(path.read_text(encoding="utf-8"))["stories"]:
        groups = [{(doc, text) for doc, _, text in group["members"]} for group in story["groups"]]
        documents = [(doc, bodies[doc]) for doc in story["documents"]]
        stories.append(GoldStory(story["name"], documents, groups, story["fold"]))
    return stories


def older_stories(shared_dir: Path) -> list[GoldStory]:
    """The five example articles (the former threshold's tuning set) and the first held-out story."""
    examples = sorted((shared_dir / "examples").glob("*.txt"))
    bodies = _fnc1_bodies(shared_dir)
    second = json.loads(SECOND_STORY_GROUPS.read_text(encoding="utf-8"))
    return [
        GoldStory(
            "examples",
            [(path.stem, path.read_text(encoding="utf-8")) for path in examples],
            _group_sets(json.loads(EXAMPLE_GROUPS.read_text(encoding="utf-8"))),
            "",
        ),
        GoldStory(
            "baghdadi-wife",
            [(name, bodies[name]) for name in second["documents"]],
            _group_sets(second["groups"]),
            "",
        ),
    ]


# --- candidates -------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    name: str
    encoder: str  # a key of the encoders handed to ``embed_stories``
    propositions: bool = False  # embed the claim without its reporting frame
    lexical_weight: float = 0.0
    same_document_penalty: float = 0.0
    method: str = "average"
    adaptive: bool = False  # the free parameter is the spread, not a fixed threshold

    @property
    def grid(self) -> tuple[float, ...]:
        return SPREAD_GRID if self.adaptive else FIXED_GRID


# The former setting first, then one change at a time, then the chosen combination.
def candidates(encoders: Sequence[str]) -> list[Candidate]:
    default = Candidate(
        "default: story words + same-doc penalty, adaptive",
        "minilm",
        lexical_weight=LEXICAL_WEIGHT,
        same_document_penalty=SAME_DOCUMENT_PENALTY,
        adaptive=True,
    )
    rows = [
        Candidate("cosine, fixed (former)", "minilm"),
        Candidate("propositions, fixed", "minilm", propositions=True),
        Candidate("cosine, complete linkage", "minilm", method="complete"),
        Candidate("cosine, single linkage", "minilm", method="single"),
        Candidate("cosine, adaptive", "minilm", adaptive=True),
        Candidate("propositions, adaptive", "minilm", propositions=True, adaptive=True),
        Candidate("+ story words, fixed", "minilm", lexical_weight=LEXICAL_WEIGHT),
        Candidate(
            "+ story words + same-doc penalty, fixed",
            "minilm",
            lexical_weight=LEXICAL_WEIGHT,
            same_document_penalty=SAME_DOCUMENT_PENALTY,
        ),
        Candidate(
            "default on propositions",
            "minilm",
            propositions=True,
            lexical_weight=LEXICAL_WEIGHT,
            same_document_penalty=SAME_DOCUMENT_PENALTY,
            adaptive=True,
        ),
        default,
    ]
    for encoder in encoders:
        if encoder == "minilm":
            continue
        rows += [
            Candidate(f"{encoder}: cosine, fixed", encoder),
            Candidate(
                f"{encoder}: default recipe",
                encoder,
                lexical_weight=LEXICAL_WEIGHT,
                same_document_penalty=SAME_DOCUMENT_PENALTY,
                adaptive=True,
            ),
        ]
    return rows


DEFAULT_CANDIDATE_NAME = "default: story words + same-doc penalty, adaptive"


# --- scoring ------------------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddedStory:
    story: GoldStory
    keys: list[ClaimKey]
    positions: list[ClaimPosition]
    vectors: dict[tuple[str, bool], np.ndarray]  # (encoder, propositions) -> unit rows


Embed = Callable[[Sequence[str]], np.ndarray]


def embed_stories(
    stories: Sequence[GoldStory], encoders: Mapping[str, Embed], *, propositions: bool = True
) -> list[EmbeddedStory]:
    """Cut every story into claims as /compare does, and embed all of them once per encoder."""
    cut = []
    for story in stories:
        keys: list[ClaimKey] = []
        positions: list[ClaimPosition] = []
        for document, (doc_id, raw) in enumerate(story.documents):
            for index, claim in enumerate(extract_claims(raw).claims):
                keys.append((doc_id, claim.text))
                positions.append((document, index))
        cut.append((story, keys, positions))
    texts = [text for _, keys, _ in cut for _, text in keys]
    inputs = (
        {False: texts, True: [proposition(text) for text in texts]}
        if propositions
        else {False: texts}
    )
    vectors = {
        (name, framed): embed(inputs[framed])
        for name, embed in encoders.items()
        for framed in inputs
    }
    embedded, start = [], 0
    for story, keys, positions in cut:
        end = start + len(keys)
        rows = {key: matrix[start:end] for key, matrix in vectors.items()}
        embedded.append(EmbeddedStory(story, keys, positions, rows))
        start = end
    return embedded


def score_story(story: EmbeddedStory, candidate: Candidate, parameter: float) -> PairwiseScores:
    """One story grouped by ``candidate`` with its free parameter at ``parameter``."""
    grouping = group_similar(
        story.vectors[(candidate.encoder, candidate.propositions)],
        story.positions,
        [text for _, text in story.keys],
        threshold=None if candidate.adaptive else parameter,
        method=candidate.method,
        lexical_weight=candidate.lexical_weight,
        same_document_penalty=candidate.same_document_penalty,
        spread=parameter if candidate.adaptive else ADAPTIVE_SPREAD,
    )
    key_at = dict(zip(story.positions, story.keys, strict=True))
    predicted = [[key_at[member] for member in cluster.members] for cluster in grouping.clusters]
    return pairwise_scores(predicted, story.story.groups)


@dataclass(frozen=True)
class HeldOut:
    story: str
    parameter: float  # chosen on the other stories
    scores: PairwiseScores


def _score_grid(
    stories: Sequence[EmbeddedStory], candidate: Candidate
) -> list[dict[float, PairwiseScores]]:
    return [
        {value: score_story(story, candidate, value) for value in candidate.grid}
        for story in stories
    ]


def _best(grid_scores: Sequence[dict[float, PairwiseScores]], grid: Sequence[float]) -> float:
    # Ties go to the first (lowest) value of the grid, so the choice is deterministic.
    return max(grid, key=lambda value: np.mean([scores[value].f1 for scores in grid_scores]))


def choose_parameter(stories: Sequence[EmbeddedStory], candidate: Candidate) -> float:
    """The grid value with the best mean pairwise F1 over ``stories``."""
    return _best(_score_grid(stories, candidate), candidate.grid)


def leave_one_story_out(stories: Sequence[EmbeddedStory], candidate: Candidate) -> list[HeldOut]:
    """Every story scored with the parameter chosen on all the others."""
    grid_scores = _score_grid(stories, candidate)
    held_out = []
    for position, story in enumerate(stories):
        others = grid_scores[:position] + grid_scores[position + 1 :]
        chosen = _best(others, candidate.grid)
        held_out.append(HeldOut(story.story.name, chosen, grid_scores[position][chosen]))
    return held_out


def bootstrap_interval(
    values: Sequence[float], *, draws: int = BOOTSTRAP_DRAWS, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """95% interval of the mean of ``values`` (one per story), resampling stories."""
    array = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = array[rng.integers(0, len(array), (draws, len(array)))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


@dataclass(frozen=True)
class CandidateResult:
    candidate: Candidate
    held_out: list[HeldOut]

    def mean(self, field: str) -> float:
        return float(np.mean([getattr(row.scores, field) for row in self.held_out]))

    @property
    def interval(self) -> tuple[float, float]:
        return bootstrap_interval([row.scores.f1 for row in self.held_out])

    @property
    def worst(self) -> HeldOut:
        return min(self.held_out, key=lambda row: row.scores.f1)


def cross_validate(
    stories: Sequence[EmbeddedStory], rows: Sequence[Candidate]
) -> list[CandidateResult]:
    return [
        CandidateResult(candidate, leave_one_story_out(stories, candidate)) for candidate in rows
    ]
