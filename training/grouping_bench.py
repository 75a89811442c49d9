"""Grouping quality of /compare against hand-made groupings, threshold by threshold.

Two gold groupings: the five example articles (``tests/fixtures/example_groups.json``),
which the default threshold was tuned on, and a held-out story of five FNC-1 articles
(``tests/fixtures/second_story_groups.json``), which shows what the threshold is worth
on a story it never saw. Grouping does not depend on labels, so only the sentence
encoder runs. Pairwise precision and recall count pairs of claims from different
documents (``model.story.pairwise_scores``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from model.claims import extract_claims
from model.embeddings import SentenceEmbedder
from model.story import ClaimKey, PairwiseScores, cluster_claims, pairwise_scores
from training.config import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures"
EXAMPLE_GROUPS = FIXTURES / "example_groups.json"
SECOND_STORY_GROUPS = FIXTURES / "second_story_groups.json"
SWEEP = (0.5, 0.55, 0.6, 0.62, 0.65, 0.7, 0.75, 0.8)


@dataclass(frozen=True)
class GoldStory:
    name: str
    documents: list[tuple[str, str]]
    groups: list[set[ClaimKey]]


def _groups(raw: list[dict]) -> list[set[ClaimKey]]:
    return [{(m["document"], m["text"]) for m in group["members"]} for group in raw]


def gold_stories(shared_dir: Path) -> list[GoldStory]:
    examples = sorted((shared_dir / "examples").glob("*.txt"))
    with (shared_dir / "data/raw/fnc1/train_bodies.csv").open(encoding="utf-8", newline="") as f:
        bodies = {f"fnc1-body:{row['Body ID']}": row["articleBody"] for row in csv.DictReader(f)}
    second = json.loads(SECOND_STORY_GROUPS.read_text(encoding="utf-8"))
    return [
        GoldStory(
            "examples (tuned on)",
            [(path.stem, path.read_text(encoding="utf-8")) for path in examples],
            _groups(json.loads(EXAMPLE_GROUPS.read_text(encoding="utf-8"))),
        ),
        GoldStory(
            "held-out story",
            [(name, bodies[name]) for name in second["documents"]],
            _groups(second["groups"]),
        ),
    ]


def sweep(
    story: GoldStory, embedder: SentenceEmbedder, thresholds: Sequence[float]
) -> list[tuple[float, PairwiseScores, int]]:
    """(threshold, scores, number of groups) for each threshold, one embedding pass."""
    claims = {doc: [c.text for c in extract_claims(text).claims] for doc, text in story.documents}
    keys = [(doc, text) for doc, texts in claims.items() for text in texts]
    positions = [(d, i) for d, texts in enumerate(claims.values()) for i in range(len(texts))]
    key_at = dict(zip(positions, keys, strict=True))
    embeddings = embedder.embed([text for _, text in keys])
    rows = []
    for threshold in thresholds:
        clusters = cluster_claims(embeddings, positions, threshold=threshold)
        predicted = [[key_at[member] for member in cluster.members] for cluster in clusters]
        rows.append((threshold, pairwise_scores(predicted, story.groups), len(clusters)))
    return rows
