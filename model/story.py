"""One story across outlets: label every claim of several documents, group the claims
that say the same thing, and flag the groups where the documents disagree.

``compare_documents`` cuts each document into claims (``extract_claims``), labels
all claims of all documents in one classifier call, embeds them in one encoder
call, and clusters the claims with average-linkage hierarchical clustering (scipy) on a
similarity that blends three things (``claim_similarities``):

- the cosine of the claims' sentence embeddings;
- their word overlap, weighted by how rare each word is *within this story* (TF-IDF
  fitted on the story's own claims): the words every outlet uses for the story (its
  names, its topic) count for little, the details that single out one fact (a figure, a
  place, a quoted phrase) count for much;
- a penalty on pairs from one document, so a group forms across outlets rather than by
  chaining an outlet's own neighbouring sentences;
- optionally (``SIMILARITIES``), a token alignment of the claims (``model.alignment``),
  which reads the encoder's token states from the same forward pass as the vectors.

Clusters merge while their average similarity is above a threshold. Unless the caller
gives one, the threshold adapts to the story: its cross-document similarities' mean plus
``ADAPTIVE_SPREAD`` standard deviations (``story_threshold``), because how alike two
unrelated claims of one story look depends on the story (one about a single hoax is far
more uniform than one about a war). The setting was chosen by leave-stories-out
cross-validation over hand-grouped stories (``python -m training bench-grouping``).

A group is a cluster with claims from at least two documents; a claim that only
resembles claims of its own document, or nothing at all, is left ungrouped. A
document may have several claims in one group (an outlet repeating a quote in
its summary and its body), so each document's cell lists all of its members and
takes one label for the group: the majority of its members' labels.

Everything is deterministic for a given input: clusters are numbered by first
appearance, not by the clustering's arbitrary ids.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal, Protocol, cast, get_args

import numpy as np

from model.alignment import ClaimTokens, token_alignment
from model.classifier import StanceClassifier
from model.labelling import LabelledClaim, label_texts
from model.labels import LABELS, Label
from model.propositions import proposition

logger = logging.getLogger(__name__)

# The grouping setting, chosen by leave-stories-out cross-validation on the nine "tune"
# stories of tests/fixtures/grouping_gold.json with the packaged all-MiniLM-L6-v2
# (`python -m training bench-grouping`; table in docs/model-quality.md). Against the former
# setting (embedding cosine alone, one threshold of 0.62 tuned on the five example
# articles) held-out pairwise F1 rose from 0.37 to 0.44 over 13 stories. Every candidate's
# number is in that table; the few that score higher held out break a floor of the five
# examples' or another story's grouping (the token-alignment ones are servable: SIMILARITIES).
# Weight of the story-IDF word overlap against the embedding cosine: 0.3 and 0.7 both
# scored lower (0.41-0.46 held out, against 0.49, in exploration before the furniture rules).
LEXICAL_WEIGHT = 0.5
# Subtracted from the similarity of two claims of one document; 0.3 scored about the same.
SAME_DOCUMENT_PENALTY = 0.15
# The adaptive threshold: mean + ADAPTIVE_SPREAD x standard deviation of the story's
# cross-document similarities. Chosen on the nine tune stories; leave-one-story-out folds
# chose 0.75 to 1.75 (the F1 curve is flat there).
ADAPTIVE_SPREAD = 1.75
# On the 13 gold stories the adaptive threshold falls between 0.30 and 0.47. The bounds
# only keep a degenerate story inside sense: at most 0.6, so claims that are copies of each
# other always group; at least 0.25, so a story of near-identical claims is not one group.
ADAPTIVE_MIN = 0.25
ADAPTIVE_MAX = 0.6
# Fewer cross-document pairs than this give no usable spread (two one-line statements):
# the threshold is then the adaptive one of a typical gold story.
ADAPTIVE_MIN_PAIRS = 20
SMALL_STORY_THRESHOLD = 0.35


@dataclass(frozen=True, slots=True)
class GroupingSimilarity:
    """How one story's pairwise similarity is built; the embedding cosine takes the weight
    the word overlap and the token alignment leave."""

    lexical_weight: float
    alignment_weight: float
    same_document_penalty: float
    spread: float  # the adaptive threshold's spread, chosen for this similarity

    @property
    def needs_tokens(self) -> bool:
        return self.alignment_weight > 0


# The choices of the service's `grouping` setting (CLAIMSTANCE_GROUPING), written once here.
GroupingSetting = Literal["words", "alignment", "blend"]
WORDS, ALIGNMENT, BLEND = get_args(GroupingSetting)
# Each spread was chosen on the nine tune stories (`python -m training bench-grouping`); the
# table in docs/model-quality.md has their held-out scores. "alignment" and "blend" need an
# encoder that returns token states.
SIMILARITIES: dict[str, GroupingSimilarity] = {
    # cosine + story words (0.5) + same-doc penalty: held out 0.439 [0.382, 0.500].
    WORDS: GroupingSimilarity(LEXICAL_WEIGHT, 0.0, SAME_DOCUMENT_PENALTY, ADAPTIVE_SPREAD),
    # token alignment alone: 0.497 [0.451, 0.545], but precision 0.68 on the five examples
    # and 0.19 on the Baghdadi story.
    ALIGNMENT: GroupingSimilarity(0.0, 1.0, SAME_DOCUMENT_PENALTY, 1.0),
    # a third each of cosine, story words and alignment, penalty 0.3: 0.492 [0.426, 0.556].
    BLEND: GroupingSimilarity(1 / 3, 1 / 3, 0.3, 1.5),
}
# The served choice: the cross-validated winner among the similarities that hold every
# floor of tests/model/test_story.py (see docs/model-quality.md for which floor the others
# break and by how much).
DEFAULT_SIMILARITY: GroupingSetting = WORDS

# The one statement of the threshold's bounds, read by the settings, the API schema and the
# CLI: above 0 and at most 1. At 1 only identical sentences group; at 0 or below, claims
# that share nothing (orthogonal embeddings) would still merge, which is no grouping at all.
SIMILARITY_THRESHOLD_GT = 0.0
SIMILARITY_THRESHOLD_LE = 1.0


class Embedder(Protocol):
    """What grouping needs of an encoder (``SentenceEmbedder`` fits): unit-length rows."""

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class TokenEmbedder(Embedder, Protocol):
    """An encoder that may also return token states (``SentenceEmbedder`` fits), for the
    similarities that align tokens; ``has_token_states`` says whether it does."""

    @property
    def has_token_states(self) -> bool: ...

    def embed_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, ClaimTokens]: ...


# --- results --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocumentSummary:
    id: str
    text: str  # the cleaned text the claim spans point into
    claims: list[LabelledClaim]
    counts: dict[Label, int]  # claims per label, every label present (zero included)


@dataclass(frozen=True, slots=True)
class GroupCell:
    """One document's part of a group."""

    document: str
    claims: list[LabelledClaim]  # this document's members, in document order
    label: Label  # majority of the members' labels; a tie goes to the most confident


@dataclass(frozen=True, slots=True)
class ClaimGroup:
    representative: str  # text of the most central member (highest mean similarity to the rest)
    representative_document: str
    representative_index: int  # LabelledClaim.index of that member in its document
    members: list[GroupCell]  # one cell per document, in input document order
    disagreement: bool  # the cells' labels are not all the same
    # The representative without its reporting frame ("X said that ..."): the group's
    # one-line summary in the story view.
    proposition: str
    outlets: dict[Label, int]  # documents per cell label, every label present (zero included)


@dataclass(frozen=True, slots=True)
class StoryComparison:
    documents: list[DocumentSummary]  # in input order
    # Disagreements first, then more documents first, then by first appearance.
    groups: list[ClaimGroup]
    threshold: float  # the similarity threshold the groups were cut at (given or the story's own)


# --- grouping --------------------------------------------------------------------

ClaimPosition = tuple[int, int]  # (document position, claim position) in the inputs


@dataclass(frozen=True, slots=True)
class ClaimCluster:
    """Claims, by position, that say the same thing in at least two documents."""

    members: tuple[ClaimPosition, ...]  # sorted: document order, then claim order
    representative: ClaimPosition  # the member closest to the centroid

    @property
    def documents(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(document for document, _ in self.members))


def _check_threshold(threshold: float | None) -> None:
    if threshold is None:
        return
    # Written as "not (... < x <= ...)" so NaN is refused too.
    if not SIMILARITY_THRESHOLD_GT < threshold <= SIMILARITY_THRESHOLD_LE:
        raise ValueError(
            f"similarity threshold must be greater than {SIMILARITY_THRESHOLD_GT:g} and at most "
            f"{SIMILARITY_THRESHOLD_LE:g}, got {threshold}"
        )


def _story_word_overlap(texts: Sequence[str]) -> np.ndarray:
    """Cosine of TF-IDF vectors whose IDF comes from ``texts`` alone (one story's claims)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    # Sublinear tf so a word repeated in one long claim does not swamp it; English stop
    # words out, since "the" and "said" are in every claim of every story.
    vectorizer = TfidfVectorizer(
        stop_words="english", sublinear_tf=True, token_pattern=r"(?u)\b\w[\w'\u2019-]*\b"
    )
    try:
        vectors = vectorizer.fit_transform(texts)
    except ValueError:  # nothing but stop words and punctuation: no overlap to measure
        return np.zeros((len(texts), len(texts)))
    return np.asarray((vectors @ vectors.T).todense(), dtype=np.float64)


def claim_similarities(
    embeddings: np.ndarray,
    positions: Sequence[ClaimPosition],
    texts: Sequence[str] | None = None,
    *,
    lexical_weight: float = LEXICAL_WEIGHT,
    same_document_penalty: float = SAME_DOCUMENT_PENALTY,
    alignment: np.ndarray | None = None,
    alignment_weight: float = 0.0,
) -> np.ndarray:
    """Pairwise similarity of one story's claims: see the module docstring.

    Without ``texts`` the word overlap is left out and the embedding cosine takes its
    weight (for callers that have vectors only). ``alignment`` (``token_alignment`` of the
    same claims) takes ``alignment_weight`` of the similarity.
    """
    vectors = np.asarray(embeddings, dtype=np.float64)
    if not 0.0 <= lexical_weight + alignment_weight <= 1.0:
        raise ValueError("the word overlap and alignment weights must sum to between 0 and 1")
    if alignment_weight and (alignment is None or alignment.shape != (len(vectors),) * 2):
        raise ValueError(f"alignment_weight needs a {len(vectors)}-square token alignment")
    if texts is None:
        lexical_weight = 0.0
    elif len(texts) != len(vectors):
        raise ValueError(f"{len(texts)} texts for {len(vectors)} embeddings")
    cosine_weight = 1.0 - lexical_weight - alignment_weight
    similarities = np.zeros((len(vectors), len(vectors)))
    # The cosine is skipped at weight 0 so an alignment-only similarity needs no vectors.
    if cosine_weight > 0:
        similarities += cosine_weight * (vectors @ vectors.T)
    if lexical_weight and texts is not None:
        similarities += lexical_weight * _story_word_overlap(texts)
    if alignment_weight and alignment is not None:
        similarities += alignment_weight * alignment
    documents = np.array([document for document, _ in positions])
    if same_document_penalty:
        similarities = similarities - same_document_penalty * (
            documents[:, None] == documents[None, :]
        )
    np.fill_diagonal(similarities, 1.0)
    return similarities


def story_threshold(
    similarities: np.ndarray,
    positions: Sequence[ClaimPosition],
    *,
    spread: float = ADAPTIVE_SPREAD,
) -> float:
    """The story's own cut: mean + ``spread`` standard deviations of its cross-document
    similarities, within [``ADAPTIVE_MIN``, ``ADAPTIVE_MAX``]."""
    documents = np.array([document for document, _ in positions])
    upper = np.triu_indices(len(documents), 1)
    cross = similarities[upper][documents[upper[0]] != documents[upper[1]]]
    if len(cross) < ADAPTIVE_MIN_PAIRS:
        return SMALL_STORY_THRESHOLD
    threshold = float(cross.mean() + spread * cross.std())
    return round(min(max(threshold, ADAPTIVE_MIN), ADAPTIVE_MAX), 4)


@dataclass(frozen=True, slots=True)
class StoryGrouping:
    clusters: list[ClaimCluster]
    threshold: float  # the similarity the clusters were cut at (the story's own, unless given)


def group_similar(
    embeddings: np.ndarray,
    positions: Sequence[ClaimPosition],
    texts: Sequence[str] | None = None,
    *,
    threshold: float | None = None,
    method: str = "average",
    lexical_weight: float = LEXICAL_WEIGHT,
    same_document_penalty: float = SAME_DOCUMENT_PENALTY,
    spread: float = ADAPTIVE_SPREAD,
) -> StoryGrouping:
    """Cluster one story's claims (one unit-length embedding row and, optionally, one text
    per entry of ``positions``); ``threshold=None`` adapts it to the story.

    Returns only clusters that span two or more documents, ordered by their
    first member. Split from ``group_claims`` so a benchmark sweep embeds once.
    """
    _check_threshold(threshold)
    if len(embeddings) != len(positions):
        raise ValueError(f"{len(embeddings)} embeddings for {len(positions)} claim positions")
    # One claim is no group (and linkage needs two observations).
    if len(positions) < 2:
        return StoryGrouping([], threshold if threshold is not None else SMALL_STORY_THRESHOLD)
    similarities = claim_similarities(
        embeddings,
        positions,
        texts,
        lexical_weight=lexical_weight,
        same_document_penalty=same_document_penalty,
    )
    return cluster_similarities(
        similarities, positions, threshold=threshold, method=method, spread=spread
    )


def cluster_similarities(
    similarities: np.ndarray,
    positions: Sequence[ClaimPosition],
    *,
    threshold: float | None = None,
    method: str = "average",
    spread: float = ADAPTIVE_SPREAD,
) -> StoryGrouping:
    """Cluster one story's claims on a ready pairwise similarity (symmetric, 1 on the
    diagonal); ``threshold=None`` adapts it to the story.

    ``group_similar`` builds the similarity the service uses; the grouping benchmark
    hands other similarities here, so every candidate is cut and scored the same way.
    """
    _check_threshold(threshold)
    if len(similarities) != len(positions):
        raise ValueError(
            f"{len(similarities)} similarity rows for {len(positions)} claim positions"
        )
    if len(positions) < 2:
        return StoryGrouping([], threshold if threshold is not None else SMALL_STORY_THRESHOLD)
    # Imported on first use: scipy's clustering costs half a second to import, and a
    # service that never compares should not pay it at start.
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    if threshold is None:
        threshold = story_threshold(similarities, positions, spread=spread)
    distances = np.clip(1.0 - similarities, 0.0, None)
    np.fill_diagonal(distances, 0.0)
    # Symmetric by construction; averaging removes float asymmetry squareform would refuse.
    distances = (distances + distances.T) / 2
    tree = linkage(squareform(distances, checks=False), method=method)
    # Clusters merge while their (average) distance stays within 1 - threshold.
    assignment = fcluster(tree, t=1.0 - threshold, criterion="distance")

    rows_by_cluster: dict[int, list[int]] = {}
    for row, cluster in enumerate(assignment):
        rows_by_cluster.setdefault(int(cluster), []).append(row)

    clusters: list[ClaimCluster] = []
    for rows in rows_by_cluster.values():
        rows.sort(key=lambda row: positions[row])
        if len({positions[row][0] for row in rows}) < 2:
            continue
        # The most central member: the highest mean similarity to the other members
        # (argmax keeps the earliest member on a tie).
        within = similarities[np.ix_(rows, rows)]
        closest = int(np.argmax(within.sum(axis=1)))
        clusters.append(
            ClaimCluster(
                members=tuple(positions[row] for row in rows),
                representative=positions[rows[closest]],
            )
        )
    clusters.sort(key=lambda cluster: cluster.members[0])
    return StoryGrouping(clusters, threshold)


def cluster_claims(
    embeddings: np.ndarray,
    positions: Sequence[ClaimPosition],
    *,
    threshold: float | None = None,
    texts: Sequence[str] | None = None,
) -> list[ClaimCluster]:
    """The clusters of ``group_similar`` with the default setting."""
    return group_similar(embeddings, positions, texts, threshold=threshold).clusters


def _flatten(claims_per_doc: Sequence[Sequence[str]]) -> tuple[list[str], list[ClaimPosition]]:
    texts: list[str] = []
    positions: list[ClaimPosition] = []
    for document, claims in enumerate(claims_per_doc):
        for index, text in enumerate(claims):
            texts.append(text)
            positions.append((document, index))
    return texts, positions


def _similarity(name: str) -> GroupingSimilarity:
    try:
        return SIMILARITIES[name]
    except KeyError:
        raise ValueError(
            f"unknown grouping similarity {name!r}; expected one of {', '.join(SIMILARITIES)}"
        ) from None


def served_similarity(name: str, embedder: Embedder) -> GroupingSetting:
    """``name``, or the word-overlap similarity when ``name`` needs token states the
    embedder does not give (an ONNX export made before they were added). Says nothing:
    for a caller that has already said so once (``similarity_for``)."""
    if _similarity(name).needs_tokens and not getattr(embedder, "has_token_states", False):
        return WORDS
    return name  # type: ignore[return-value]  # a key of SIMILARITIES, checked above


def similarity_for(name: str, embedder: Embedder) -> GroupingSetting:
    """``served_similarity``, with a warning when it is not ``name``."""
    served = served_similarity(name, embedder)
    if served != name:
        logger.warning(
            "grouping similarity %r needs the encoder's token states, which this encoder does "
            "not return (re-export it with `python -m training export`); using %r",
            name,
            served,
        )
    return served


def group_claims(
    claims_per_doc: Sequence[Sequence[str]],
    embedder: Embedder,
    *,
    threshold: float | None = None,
    similarity: str = DEFAULT_SIMILARITY,
) -> StoryGrouping:
    """Group claim texts across documents with one encoder call over all of them.

    ``similarity`` names an entry of ``SIMILARITIES``; one that needs token states reads
    them from that same call (``embed_tokens``).
    """
    _check_threshold(threshold)
    recipe = _similarity(similarity_for(similarity, embedder))
    texts, positions = _flatten(claims_per_doc)
    if len(texts) < 2:
        return StoryGrouping([], threshold if threshold is not None else SMALL_STORY_THRESHOLD)
    alignment = None
    if recipe.needs_tokens:
        # similarity_for chose a token similarity only for an encoder that has token states.
        embeddings, tokens = cast(TokenEmbedder, embedder).embed_tokens(texts)
        alignment = token_alignment(tokens)
    else:
        embeddings = embedder.embed(texts)
    similarities = claim_similarities(
        embeddings,
        positions,
        texts,
        lexical_weight=recipe.lexical_weight,
        same_document_penalty=recipe.same_document_penalty,
        alignment=alignment,
        alignment_weight=recipe.alignment_weight,
    )
    return cluster_similarities(similarities, positions, threshold=threshold, spread=recipe.spread)


# --- labels per group --------------------------------------------------------------


def _cell_label(claims: Sequence[LabelledClaim]) -> Label:
    """Majority label; on a tie, the tied label held with the highest probability."""
    votes = Counter(claim.label for claim in claims)

    def strength(label: Label) -> tuple[int, float, int]:
        confidence = max(claim.scores[label] for claim in claims if claim.label == label)
        # LABELS order is the last resort so the result never depends on set order.
        return votes[label], confidence, -LABELS.index(label)

    return max(votes, key=strength)


def _build_group(cluster: ClaimCluster, documents: Sequence[DocumentSummary]) -> ClaimGroup:
    cells: list[GroupCell] = []
    for document in cluster.documents:
        summary = documents[document]
        members = [summary.claims[index] for doc, index in cluster.members if doc == document]
        cells.append(GroupCell(document=summary.id, claims=members, label=_cell_label(members)))
    rep_document, rep_index = cluster.representative
    representative = documents[rep_document].claims[rep_index].text
    labels = Counter(cell.label for cell in cells)
    return ClaimGroup(
        representative=representative,
        representative_document=documents[rep_document].id,
        representative_index=rep_index,
        members=cells,
        disagreement=len(labels) > 1,
        proposition=proposition(representative),
        outlets={label: labels[label] for label in LABELS},
    )


def compare_documents(
    documents: Sequence[tuple[str, str]],
    classifier: StanceClassifier,
    embedder: Embedder,
    *,
    threshold: float | None = None,
    segment: bool = True,
    checkpoint: Callable[[], None] | None = None,
    similarity: str = DEFAULT_SIMILARITY,
) -> StoryComparison:
    """Label the claims of each ``(id, raw text)`` document and group them across documents.

    ``threshold=None`` adapts the similarity threshold to the story (``story_threshold``).
    ``segment=False`` keeps each document whole as a single claim (short statements).
    ``checkpoint`` is called between steps and may raise to stop the work.
    ``similarity`` names how claims are compared (``SIMILARITIES``).
    The classifier and the embedder are each called at most once, over every claim
    of every document, so batching covers the whole story.
    """
    _check_threshold(threshold)
    _similarity(similarity)
    ids = [document_id for document_id, _ in documents]
    if duplicates := sorted(id_ for id_, n in Counter(ids).items() if n > 1):
        raise ValueError(f"document ids must be unique; repeated: {duplicates}")

    labelled = label_texts(
        classifier, [raw for _, raw in documents], segment=segment, checkpoint=checkpoint
    )
    claims_per_doc = [[claim.text for claim in item.claims] for item in labelled]
    summaries: list[DocumentSummary] = []
    for document_id, item in zip(ids, labelled, strict=True):
        counts = Counter(claim.label for claim in item.claims)
        summaries.append(
            DocumentSummary(
                id=document_id,
                text=item.text,
                claims=item.claims,
                counts={label: counts[label] for label in LABELS},
            )
        )

    if checkpoint is not None:
        checkpoint()
    grouping = group_claims(claims_per_doc, embedder, threshold=threshold, similarity=similarity)
    groups = [_build_group(cluster, summaries) for cluster in grouping.clusters]
    # Python's sort is stable and clusters arrive in first-appearance order.
    groups.sort(key=lambda group: (not group.disagreement, -len(group.members)))
    logger.info(
        "compared %d documents: %d claims, %d groups, %d with disagreement",
        len(summaries),
        sum(len(claims) for claims in claims_per_doc),
        len(groups),
        sum(group.disagreement for group in groups),
    )
    return StoryComparison(documents=summaries, groups=groups, threshold=grouping.threshold)


# --- evaluation --------------------------------------------------------------------

ClaimKey = tuple[str, str]  # (document id, claim text): how hand-made groupings name claims


@dataclass(frozen=True, slots=True)
class PairwiseScores:
    precision: float
    recall: float
    f1: float
    predicted_pairs: int
    gold_pairs: int
    correct_pairs: int


def _cross_document_pairs(groups: Iterable[Collection[ClaimKey]]) -> set[frozenset[ClaimKey]]:
    pairs: set[frozenset[ClaimKey]] = set()
    for group in groups:
        for a, b in combinations(sorted(set(group)), 2):
            if a[0] != b[0]:
                pairs.add(frozenset((a, b)))
    return pairs


def pairwise_scores(
    predicted: Iterable[Collection[ClaimKey]], gold: Iterable[Collection[ClaimKey]]
) -> PairwiseScores:
    """Pairwise precision and recall over pairs of claims from *different* documents.

    A pair counts when both claims share a group. Pairs within one document are
    left out: grouping is about agreement across outlets, and an outlet repeating
    itself says nothing about that. Claims absent from ``gold`` are singletons.
    """
    predicted_pairs = _cross_document_pairs(predicted)
    gold_pairs = _cross_document_pairs(gold)
    correct = len(predicted_pairs & gold_pairs)
    # An empty side scores 1.0: nothing predicted cannot be wrong, nothing to find is found.
    precision = correct / len(predicted_pairs) if predicted_pairs else 1.0
    recall = correct / len(gold_pairs) if gold_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairwiseScores(
        precision=precision,
        recall=recall,
        f1=f1,
        predicted_pairs=len(predicted_pairs),
        gold_pairs=len(gold_pairs),
        correct_pairs=correct,
    )
