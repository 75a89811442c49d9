"""Grouping quality of /compare, cross-validated over hand-grouped stories.

Gold: ``tests/fixtures/grouping_gold.json``, 13 stories of FNC-1 articles from evaluation
stories of the story split (nine ``tune``, four ``check``; data card in docs/data.md),
plus the two older groupings: the five example articles (``example_groups.json``, which
the former threshold was tuned on) and a five-article FNC-1 story
(``second_story_groups.json``).

A *candidate* is a way to group: an encoder, what it reads (the claim; its proposition
with the reporting frame taken off; or its *core*, the proposition without negation, hedge
and frame words, so "X denied the rumour that Y" meets "Y"), how the similarity is built
(weights of the embedding cosine, the story-IDF word overlap and a token alignment, and a
same-document penalty), a linkage, and a threshold rule (one fixed similarity, or the
story-adaptive mean + k standard deviations) with a grid for its one free parameter.

The token alignment (``model.alignment``) is BERTScore-like: every content token of one
claim is matched to its most similar token of the other (contextual token states of the
encoder's last layer, from the same forward pass as the sentence vectors), weighted by the
token's rarity within the story. It is the implementation /compare serves when the
service's ``grouping`` setting (CLAIMSTANCE_GROUPING) names it. Every encoder that returns
token states is aligned with its own states, so an int8 ONNX export of the encoder (what
the service runs) is scored on its own alignment, not on torch's.
Each candidate is scored by leave-one-story-out: for every gold story, the parameter that
scores best (mean pairwise F1) on the other stories is applied to it. Pairwise precision,
recall and F1 count pairs of claims from different documents
(``model.story.pairwise_scores``); the interval is a story-level bootstrap of the mean F1.

Grouping does not depend on labels, so only the sentence encoder runs, once per encoder
and input over every claim. ``paired_difference`` compares a candidate with the default
story by story (the same held-out stories), which is tighter than comparing two intervals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.alignment import ClaimTokens, token_alignment
from model.claims import extract_claims
from model.propositions import proposition
from model.story import (
    ADAPTIVE_SPREAD,
    ALIGNMENT,
    BLEND,
    LEXICAL_WEIGHT,
    SAME_DOCUMENT_PENALTY,
    SIMILARITIES,
    ClaimKey,
    ClaimPosition,
    PairwiseScores,
    claim_similarities,
    cluster_similarities,
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


# --- inputs -------------------------------------------------------------------------

CLAIM, PROPOSITION, CORE = "claim", "proposition", "core"
INPUTS = (CLAIM, PROPOSITION, CORE)

# Words that say how a proposition is held rather than what it is: negations, hedges,
# reporting verbs, and nouns and adjectives that frame it as a rumour, a claim or a falsehood.
# Gone from the core, "Reports that X are false" and "X" read alike, which is what a group
# of one proposition across stances needs.
_STANCE_WORDS = re.compile(
    r"\b(?:not|never|no longer|no|nor|neither|denied|denies|deny|false|falsely|untrue|"
    r"may|might|could|possibly|probably|likely|unlikely|perhaps|reportedly|allegedly|"
    r"apparently|purportedly|supposedly|unconfirmed|rumou?red|rumou?rs?|claims?|claimed|"
    r"reports?|reported|said|says|say|according to)\b",
    re.IGNORECASE,
)
_MIN_CORE_WORDS = 3


def core_proposition(text: str) -> str:
    """The proposition of ``text`` without negation, hedge and frame words; the
    proposition itself when fewer than three words would be left."""
    framed = proposition(text)
    core = re.sub(r"\s+", " ", _STANCE_WORDS.sub(" ", framed)).strip()
    return core if len(core.split()) >= _MIN_CORE_WORDS else framed


def candidate_inputs(texts: Sequence[str], kind: str) -> list[str]:
    if kind == CLAIM:
        return list(texts)
    if kind == PROPOSITION:
        return [proposition(text) for text in texts]
    if kind == CORE:
        return [core_proposition(text) for text in texts]
    raise ValueError(f"unknown input {kind!r}; expected one of {', '.join(INPUTS)}")


# --- token alignment ------------------------------------------------------------------

# Texts -> their token states, packed (``SentenceEmbedder.embed_tokens``'s second half): the
# same reader and the same ``model.alignment.token_alignment`` as /compare.
Tokenise = Callable[[Sequence[str]], ClaimTokens]


# --- candidates -------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    name: str
    encoder: str  # a key of the encoders handed to ``embed_stories``
    inputs: str = CLAIM  # what the encoder reads: CLAIM, PROPOSITION or CORE
    # Shares of the similarity; the embedding cosine takes the rest.
    lexical_weight: float = 0.0
    alignment_weight: float = 0.0
    same_document_penalty: float = 0.0
    method: str = "average"
    adaptive: bool = False  # the free parameter is the spread, not a fixed threshold

    @property
    def grid(self) -> tuple[float, ...]:
        return SPREAD_GRID if self.adaptive else FIXED_GRID


DEFAULT_CANDIDATE_NAME = "default: story words + same-doc penalty, adaptive"
# model.story.SIMILARITIES["blend"]: the best alignment candidate on the five examples, which
# still misses their recall floor by 0.007 (docs/model-quality.md), so not the default.
ALIGNMENT_CANDIDATE_NAME = "cosine + token alignment + story words, penalty 0.3, adaptive"


def blend_candidate(encoder: str) -> Candidate:
    """``model.story.SIMILARITIES["blend"]`` on ``encoder``'s vectors and token states."""
    blend = SIMILARITIES[BLEND]
    return Candidate(
        ALIGNMENT_CANDIDATE_NAME if encoder == "minilm" else f"{encoder}: blend",
        encoder,
        lexical_weight=blend.lexical_weight,
        alignment_weight=blend.alignment_weight,
        same_document_penalty=blend.same_document_penalty,
        adaptive=True,
    )


# The former setting first, then one change at a time, then the default, then what the
# default could become. ``aligned``: the other encoders with token states, which also get
# the blend row.
def candidates(
    encoders: Sequence[str], *, alignment: bool = True, aligned: Collection[str] = ()
) -> list[Candidate]:
    recipe = {
        "lexical_weight": LEXICAL_WEIGHT,
        "same_document_penalty": SAME_DOCUMENT_PENALTY,
        "adaptive": True,
    }
    rows = [
        Candidate("cosine, fixed (former)", "minilm"),
        Candidate("propositions, fixed", "minilm", inputs=PROPOSITION),
        Candidate("cosine, complete linkage", "minilm", method="complete"),
        Candidate("cosine, single linkage", "minilm", method="single"),
        Candidate("cosine, adaptive", "minilm", adaptive=True),
        Candidate("propositions, adaptive", "minilm", inputs=PROPOSITION, adaptive=True),
        Candidate("+ story words, fixed", "minilm", lexical_weight=LEXICAL_WEIGHT),
        Candidate(
            "+ story words + same-doc penalty, fixed",
            "minilm",
            lexical_weight=LEXICAL_WEIGHT,
            same_document_penalty=SAME_DOCUMENT_PENALTY,
        ),
        Candidate("default on propositions", "minilm", inputs=PROPOSITION, **recipe),
        Candidate("default on cores (no negation, hedge, frame)", "minilm", inputs=CORE, **recipe),
        Candidate("default, complete linkage", "minilm", method="complete", **recipe),
        Candidate(DEFAULT_CANDIDATE_NAME, "minilm", **recipe),
    ]
    if alignment:
        only = SIMILARITIES[ALIGNMENT]
        rows += [
            Candidate(
                "token alignment, adaptive",
                "minilm",
                alignment_weight=only.alignment_weight,
                adaptive=True,
                same_document_penalty=only.same_document_penalty,
            ),
            Candidate(
                "token alignment + story words, adaptive",
                "minilm",
                lexical_weight=0.5,
                alignment_weight=0.5,
                same_document_penalty=SAME_DOCUMENT_PENALTY,
                adaptive=True,
            ),
            blend_candidate("minilm"),
        ]
    for encoder in encoders:
        if encoder == "minilm":
            continue
        rows += [
            Candidate(f"{encoder}: cosine, fixed", encoder),
            Candidate(f"{encoder}: default recipe", encoder, **recipe),
        ]
        if alignment and encoder in aligned:
            rows.append(blend_candidate(encoder))
    return rows


# --- scoring ------------------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddedStory:
    story: GoldStory
    keys: list[ClaimKey]
    positions: list[ClaimPosition]
    vectors: dict[tuple[str, str], np.ndarray]  # (encoder, inputs) -> unit rows
    # encoder -> token_alignment of the claims on its own token states, when asked for
    alignments: dict[str, np.ndarray] = field(default_factory=dict)


Embed = Callable[[Sequence[str]], np.ndarray]


def embed_stories(
    stories: Sequence[GoldStory],
    encoders: Mapping[str, Embed],
    *,
    inputs: Sequence[str] = INPUTS,
    tokens: Mapping[str, Tokenise] | None = None,
) -> list[EmbeddedStory]:
    """Cut every story into claims as /compare does, and embed all of them once per encoder
    and input; with ``tokens`` (encoder name -> its token states), also align every story's
    claims token by token on each of those encoders' states."""
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
    vectors = {
        (name, kind): embed(candidate_inputs(texts, kind))
        for name, embed in encoders.items()
        for kind in inputs
    }
    states = {name: tokenise(texts) for name, tokenise in (tokens or {}).items()}
    embedded, start = [], 0
    for story, keys, positions in cut:
        end = start + len(keys)
        rows = {key: matrix[start:end] for key, matrix in vectors.items()}
        alignments = {
            name: token_alignment(packed.claims(start, end)) for name, packed in states.items()
        }
        embedded.append(EmbeddedStory(story, keys, positions, rows, alignments))
        start = end
    return embedded


def candidate_similarities(story: EmbeddedStory, candidate: Candidate) -> np.ndarray:
    """The pairwise similarity ``candidate`` groups ``story`` on."""
    alignment = story.alignments.get(candidate.encoder)
    if candidate.alignment_weight and alignment is None:
        raise ValueError(
            f"{candidate.name!r} needs {candidate.encoder}'s token alignments: embed with tokens="
        )
    return claim_similarities(
        story.vectors[(candidate.encoder, candidate.inputs)],
        story.positions,
        [text for _, text in story.keys],
        lexical_weight=candidate.lexical_weight,
        same_document_penalty=candidate.same_document_penalty,
        alignment=alignment,
        alignment_weight=candidate.alignment_weight,
    )


def score_story(story: EmbeddedStory, candidate: Candidate, parameter: float) -> PairwiseScores:
    """One story grouped by ``candidate`` with its free parameter at ``parameter``."""
    grouping = cluster_similarities(
        candidate_similarities(story, candidate),
        story.positions,
        threshold=None if candidate.adaptive else parameter,
        method=candidate.method,
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


@dataclass(frozen=True)
class PairedDifference:
    mean: float  # mean over stories of (candidate F1 - reference F1)
    low: float
    high: float
    better: int  # stories where the candidate scores higher
    worse: int


def paired_difference(result: CandidateResult, reference: CandidateResult) -> PairedDifference:
    """Held-out F1 of ``result`` minus ``reference``'s, story by story, with a story
    bootstrap interval of the mean difference."""
    ours = {row.story: row.scores.f1 for row in result.held_out}
    theirs = {row.story: row.scores.f1 for row in reference.held_out}
    if ours.keys() != theirs.keys():
        raise ValueError("the two results were held out on different stories")
    differences = [ours[story] - theirs[story] for story in theirs]
    low, high = bootstrap_interval(differences)
    return PairedDifference(
        mean=float(np.mean(differences)),
        low=low,
        high=high,
        better=sum(value > 0 for value in differences),
        worse=sum(value < 0 for value in differences),
    )


def cross_validate(
    stories: Sequence[EmbeddedStory], rows: Sequence[Candidate]
) -> list[CandidateResult]:
    return [
        CandidateResult(candidate, leave_one_story_out(stories, candidate)) for candidate in rows
    ]
