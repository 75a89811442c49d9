from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from model.claims import extract_claims
from model.classifier import ClaimClassifier, Prediction
from model.embeddings import SentenceEmbedder
from model.labels import LABELS, Label
from model.story import (
    ADAPTIVE_MAX,
    ADAPTIVE_MIN,
    SMALL_STORY_THRESHOLD,
    ClaimGroup,
    ClaimKey,
    PairwiseScores,
    StoryComparison,
    claim_similarities,
    cluster_claims,
    cluster_similarities,
    compare_documents,
    group_claims,
    group_similar,
    pairwise_scores,
    story_threshold,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
GROUPS_JSON = REPO_ROOT / "tests" / "fixtures" / "example_groups.json"

SECOND_STORY_JSON = REPO_ROOT / "tests" / "fixtures" / "second_story_groups.json"

GROUPING_GOLD_JSON = REPO_ROOT / "tests" / "fixtures" / "grouping_gold.json"

# The grouping setting (story-word overlap, same-document penalty, adaptive threshold) was
# chosen by cross-validation on the nine "tune" stories of grouping_gold.json
# (`python -m training bench-grouping`). Measured with the packaged all-MiniLM-L6-v2:
# - the four "check" stories, never used to choose anything: pairwise F1 0.629, 0.541,
#   0.278 and 0.400 (mean 0.462);
# - the five example articles: precision 0.855, recall 0.730 (the former setting, tuned on
#   them: 0.696 / 0.803);
# - the Baghdadi story (second_story_groups.json): precision 0.395, recall 0.448 (former:
#   0.417 / 0.299).
# Every floor sits a little below its measure so float noise across machines does not fail
# it; they guard against regressions, the targets (F1 0.70, no story below 0.5) are not met.
EXAMPLES_PRECISION_FLOOR = 0.82
EXAMPLES_RECALL_FLOOR = 0.70
HELD_OUT_PRECISION_FLOOR = 0.36
HELD_OUT_RECALL_FLOOR = 0.42
CHECK_MEAN_F1_FLOOR = 0.44
CHECK_STORY_F1_FLOOR = 0.25
NEVER_EXPORTED_QUOTE = (
    '"We have never exported weapons or ammunition to Russia before and we will not plan to '
    "export them,\" an official at the Defence Ministry's General Bureau of Equipment said in "
    "a statement on Thursday carried by the official Korean Central News Agency (KCNA)."
)


def _documents(group: ClaimGroup) -> list[str]:
    return [cell.document for cell in group.members]


def _labels(group: ClaimGroup) -> dict[str, Label]:
    return {cell.document: cell.label for cell in group.members}


@pytest.fixture(scope="module")
def embedder() -> SentenceEmbedder:
    """The packaged sentence encoder: loaded from the installed wheel, never downloaded."""
    return SentenceEmbedder.from_directory(device="cpu")


@pytest.fixture(scope="module")
def classifier(tiny_model_dir: Path) -> ClaimClassifier:
    return ClaimClassifier.from_directory(tiny_model_dir, device="cpu")


@pytest.fixture(scope="module")
def articles(example_articles: dict[str, str]) -> list[tuple[str, str]]:
    return sorted(example_articles.items())


@pytest.fixture(scope="module")
def gold_groups() -> list[set[ClaimKey]]:
    raw = json.loads(GROUPS_JSON.read_text(encoding="utf-8"))
    return [{(member["document"], member["text"]) for member in group["members"]} for group in raw]


class CountingClassifier:
    """Wraps a classifier and records every batch it is asked to label."""

    def __init__(self, inner: ClaimClassifier) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        self.calls.append(list(texts))
        return self.inner.predict(texts)


class CountingEmbedder:
    def __init__(self, inner: SentenceEmbedder) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.embed(texts)


class ScriptedClassifier:
    """Labels each text as told, so group labels are under the test's control."""

    def __init__(self, labels: dict[str, tuple[Label, float]]) -> None:
        self.labels = labels

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        predictions = []
        for text in texts:
            label, confidence = self.labels[text]
            rest = (1.0 - confidence) / (len(LABELS) - 1)
            scores = {other: confidence if other is label else rest for other in LABELS}
            predictions.append(Prediction(label=label, scores=scores))
        return predictions


class ScriptedEmbedder:
    """Texts sharing a topic get the same unit vector; topics are orthogonal."""

    def __init__(self, topics: dict[str, int], dim: int = 8) -> None:
        self.topics = topics
        self.dim = dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.eye(self.dim, dtype=np.float32)[[self.topics[text] for text in texts]]


def _predicted_keys(comparison: StoryComparison) -> list[set[ClaimKey]]:
    return [
        {(cell.document, claim.text) for cell in group.members for claim in cell.claims}
        for group in comparison.groups
    ]


@dataclass(frozen=True)
class CountedRun:
    comparison: StoryComparison
    classifier_calls: list[list[str]]
    embedder_calls: list[list[str]]


@pytest.fixture(scope="module")
def example_run(
    embedder: SentenceEmbedder, classifier: ClaimClassifier, articles: list[tuple[str, str]]
) -> CountedRun:
    """The five articles compared once at the default threshold; several tests read it."""
    counting_classifier = CountingClassifier(classifier)
    counting_embedder = CountingEmbedder(embedder)
    comparison = compare_documents(articles, counting_classifier, counting_embedder)
    return CountedRun(comparison, counting_classifier.calls, counting_embedder.calls)


# --- embeddings -------------------------------------------------------------------


def test_embedder_gives_unit_vectors_independent_of_batching(tiny_model_dir: Path) -> None:
    texts = ["Moscow denied the reports.", "Russia bought shells.", "No.", "We will not export."]
    one_by_one = SentenceEmbedder.from_directory(tiny_model_dir, device="cpu", batch_size=1)
    batched = SentenceEmbedder.from_directory(tiny_model_dir, device="cpu", batch_size=3)
    vectors = batched.embed(texts)
    assert vectors.shape == (len(texts), 32)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(one_by_one.embed(texts), vectors, atol=1e-5)
    assert batched.embed([]).shape == (0, 32)


def test_packaged_embedder_puts_paraphrases_closer_than_other_claims(
    embedder: SentenceEmbedder,
) -> None:
    anchor, paraphrase, other = embedder.embed(
        [
            "Moscow denied the reports at the time.",
            "Russia rejected the reports back then.",
            "Many of North Korea's Russian-designed weapons hail from the Soviet era.",
        ]
    )
    assert embedder.dim == 384
    assert float(anchor @ paraphrase) > float(anchor @ other) + 0.2


# --- grouping quality on the five example articles --------------------------------


def test_grouping_matches_hand_made_groups(
    example_run: CountedRun, gold_groups: list[set[ClaimKey]]
) -> None:
    comparison = example_run.comparison
    # No threshold given: the story's own, within its bounds.
    assert ADAPTIVE_MIN <= comparison.threshold <= ADAPTIVE_MAX
    scores = pairwise_scores(_predicted_keys(comparison), gold_groups)
    assert scores.precision >= EXAMPLES_PRECISION_FLOOR, scores
    assert scores.recall >= EXAMPLES_RECALL_FLOOR, scores


def _fnc1_bodies(shared_dir: Path) -> dict[str, str]:
    bodies: dict[str, str] = {}
    for name in ("train_bodies.csv", "competition_test_bodies.csv"):
        with (shared_dir / "data/raw/fnc1" / name).open(encoding="utf-8", newline="") as f:
            bodies |= {
                f"fnc1-body:{row['Body ID']}": row["articleBody"] for row in csv.DictReader(f)
            }
    return bodies


def test_grouping_holds_on_a_story_it_was_not_tuned_on(
    embedder: SentenceEmbedder, classifier: ClaimClassifier, shared_dir: Path
) -> None:
    fixture = json.loads(SECOND_STORY_JSON.read_text(encoding="utf-8"))
    bodies = _fnc1_bodies(shared_dir)
    documents = [(name, bodies[name]) for name in fixture["documents"]]
    gold = [{(m["document"], m["text"]) for m in group["members"]} for group in fixture["groups"]]
    comparison = compare_documents(documents, classifier, embedder)
    scores = pairwise_scores(_predicted_keys(comparison), gold)
    assert scores.precision >= HELD_OUT_PRECISION_FLOOR, scores
    assert scores.recall >= HELD_OUT_RECALL_FLOOR, scores


def test_grouping_holds_on_check_stories_no_setting_was_chosen_on(
    embedder: SentenceEmbedder, classifier: ClaimClassifier, shared_dir: Path
) -> None:
    bodies = _fnc1_bodies(shared_dir)
    stories = json.loads(GROUPING_GOLD_JSON.read_text(encoding="utf-8"))["stories"]
    check = [story for story in stories if story["fold"] == "check"]
    assert len(check) == 4
    f1s = []
    for story in check:
        documents = [(name, bodies[name]) for name in story["documents"]]
        gold = [{(doc, text) for doc, _, text in group["members"]} for group in story["groups"]]
        comparison = compare_documents(documents, classifier, embedder)
        scores = pairwise_scores(_predicted_keys(comparison), gold)
        assert scores.f1 >= CHECK_STORY_F1_FLOOR, (story["name"], scores)
        f1s.append(scores.f1)
    assert sum(f1s) / len(f1s) >= CHECK_MEAN_F1_FLOOR, f1s


def test_never_exported_denial_is_one_group_across_outlets(example_run: CountedRun) -> None:
    [group] = [
        group
        for group in example_run.comparison.groups
        if any(
            claim.text == NEVER_EXPORTED_QUOTE for cell in group.members for claim in cell.claims
        )
    ]
    assert len(_documents(group)) >= 4
    assert "never exported" in group.representative.casefold()


def test_stricter_threshold_gives_fewer_grouped_pairs(
    embedder: SentenceEmbedder, articles: list[tuple[str, str]], gold_groups: list[set[ClaimKey]]
) -> None:
    claims = [[claim.text for claim in extract_claims(raw).claims] for _, raw in articles]
    keys = [
        (doc_id, text)
        for (doc_id, _), texts in zip(articles, claims, strict=True)
        for text in texts
    ]
    texts = [text for _, text in keys]
    positions = [(d, i) for d, texts_ in enumerate(claims) for i in range(len(texts_))]
    key_at = dict(zip(positions, keys, strict=True))
    embeddings = embedder.embed(texts)

    def scores(threshold: float) -> PairwiseScores:
        clusters = cluster_claims(embeddings, positions, threshold=threshold, texts=texts)
        return pairwise_scores([[key_at[m] for m in c.members] for c in clusters], gold_groups)

    loose, strict = scores(0.3), scores(0.6)
    assert strict.predicted_pairs < loose.predicted_pairs
    assert strict.precision > loose.precision
    assert strict.recall < loose.recall
    # group_claims is the same clustering behind one embed call.
    size = len(claims[0]) + len(claims[1])
    grouped = group_claims(claims[:2], embedder)
    assert grouped == group_similar(embeddings[:size], positions[:size], texts[:size])


# --- the similarity and the story's threshold -------------------------------------


def test_words_every_claim_shares_count_less_than_a_rare_detail() -> None:
    texts = [
        "IBM will cut 111,800 jobs.",
        "IBM cut 60,000 jobs in 1993.",
        "IBM will cut 111,800 staff this week.",
    ]
    # Orthogonal embeddings: only the word overlap and the penalty speak.
    similarities = claim_similarities(np.eye(3), [(0, 0), (1, 0), (2, 0)], texts)
    # "IBM", "cut" and "jobs" are in two or three claims; "111,800" in only the first and third.
    assert similarities[0, 2] > similarities[0, 1]
    np.testing.assert_allclose(np.diag(similarities), 1.0)
    np.testing.assert_allclose(similarities, similarities.T)


def test_claims_of_one_document_are_pushed_apart() -> None:
    vectors = np.eye(2)[[0, 0, 0]]
    across = claim_similarities(vectors, [(0, 0), (1, 0), (2, 0)], same_document_penalty=0.2)
    within = claim_similarities(vectors, [(0, 0), (0, 1), (1, 0)], same_document_penalty=0.2)
    assert across[0, 1] == pytest.approx(1.0)
    assert within[0, 1] == pytest.approx(0.8)
    assert within[0, 2] == pytest.approx(1.0)


def test_story_threshold_adapts_to_the_spread_and_keeps_to_its_bounds() -> None:
    rng = np.random.default_rng(0)
    positions = [(document, index) for document in range(4) for index in range(6)]
    noise = rng.normal(0.2, 0.05, (24, 24))
    similarities = (noise + noise.T) / 2
    threshold = story_threshold(similarities, positions, spread=1.75)
    documents = np.array([d for d, _ in positions])
    upper = np.triu_indices(24, 1)
    cross = similarities[upper][documents[upper[0]] != documents[upper[1]]]
    assert threshold == pytest.approx(cross.mean() + 1.75 * cross.std(), abs=1e-3)
    # A story whose claims all look alike cannot push the cut above copies' reach ...
    assert story_threshold(similarities + 0.9, positions) == ADAPTIVE_MAX
    # ... nor below the floor, and a story too small for a spread takes the fixed value.
    assert story_threshold(similarities - 0.9, positions) == ADAPTIVE_MIN
    assert story_threshold(np.eye(2), [(0, 0), (1, 0)]) == SMALL_STORY_THRESHOLD


def test_given_threshold_is_used_as_it_is() -> None:
    vectors = np.eye(2)[[0, 0, 1]]
    grouping = group_similar(vectors, [(0, 0), (1, 0), (2, 0)], threshold=0.9)
    assert grouping.threshold == 0.9
    assert [cluster.members for cluster in grouping.clusters] == [((0, 0), (1, 0))]


# --- structure of a comparison ----------------------------------------------------


def test_comparison_structure_and_single_model_calls(
    example_run: CountedRun, articles: list[tuple[str, str]]
) -> None:
    comparison = example_run.comparison
    all_claims = [claim for document in comparison.documents for claim in document.claims]
    # One batch each over every claim of every document, in document order.
    assert example_run.classifier_calls == [[claim.text for claim in all_claims]]
    assert example_run.embedder_calls == example_run.classifier_calls
    assert [document.id for document in comparison.documents] == [doc_id for doc_id, _ in articles]

    for document in comparison.documents:
        assert document.claims, document.id
        assert list(document.counts) == list(LABELS)
        assert sum(document.counts.values()) == len(document.claims)
        for index, claim in enumerate(document.claims):
            assert claim.index == index
            assert document.text[claim.start : claim.end] == claim.text
            assert isinstance(claim.label, Label)
            assert list(claim.scores) == list(LABELS)
            assert sum(claim.scores.values()) == pytest.approx(1.0, abs=1e-5)
            assert document.counts[claim.label] >= 1

    by_id = {document.id: document for document in comparison.documents}
    assert comparison.groups
    for group in comparison.groups:
        # Singletons and same-document repeats are not groups.
        assert len(group.members) >= 2
        assert len(set(_documents(group))) == len(_documents(group))
        for cell in group.members:
            assert cell.claims
            for claim in cell.claims:
                assert by_id[cell.document].claims[claim.index] == claim
        representative = by_id[group.representative_document].claims[group.representative_index]
        assert representative.text == group.representative
        assert group.representative_document in _documents(group)
        assert group.disagreement == (len(set(_labels(group).values())) > 1)

    order = [(not group.disagreement, -len(group.members)) for group in comparison.groups]
    assert order == sorted(order)


def test_disagreement_majority_and_tie_break_on_a_hand_built_story() -> None:
    documents = [
        ("a", "Iran denied sending drones to Russia. Russia bought shells from North Korea."),
        ("b", "Russia did not buy shells from North Korea. Iran denied sending drones to Russia."),
        (
            "c",
            "Russia may have bought shells from North Korea. "
            "Officials said Russia bought shells from North Korea. Kim met Putin in Vladivostok.",
        ),
    ]
    labels = {
        "Iran denied sending drones to Russia.": (Label.DENIAL, 0.9),
        "Russia bought shells from North Korea.": (Label.ASSERTION, 0.8),
        "Russia did not buy shells from North Korea.": (Label.DENIAL, 0.9),
        "Russia may have bought shells from North Korea.": (Label.CAVEAT, 0.9),
        "Officials said Russia bought shells from North Korea.": (Label.ASSERTION, 0.6),
        "Kim met Putin in Vladivostok.": (Label.ASSERTION, 0.7),
    }
    topics = {text: 0 if "shells" in text else 1 if "Iran" in text else 2 for text in labels}

    comparison = compare_documents(
        documents, ScriptedClassifier(labels), ScriptedEmbedder(topics), threshold=0.5
    )

    assert [len(document.claims) for document in comparison.documents] == [2, 2, 3]
    shells, iran = comparison.groups  # Kim's claim is a singleton: no group
    # The shells group appears later in the input but disagrees, so it comes first.
    assert shells.disagreement
    # Document c has one caveat (0.9) and one assertion (0.6): the tie goes to the caveat.
    assert _labels(shells) == {"a": Label.ASSERTION, "b": Label.DENIAL, "c": Label.CAVEAT}
    assert [len(cell.claims) for cell in shells.members] == [1, 1, 2]
    assert (shells.representative_document, shells.representative_index) == ("a", 1)
    assert shells.representative == "Russia bought shells from North Korea."
    assert shells.proposition == "Russia bought shells from North Korea."
    assert shells.outlets == {Label.ASSERTION: 1, Label.DENIAL: 1, Label.CAVEAT: 1}
    assert iran.outlets == {Label.ASSERTION: 0, Label.DENIAL: 2, Label.CAVEAT: 0}
    assert not iran.disagreement
    assert _labels(iran) == {"a": Label.DENIAL, "b": Label.DENIAL}
    assert comparison.documents[2].counts == {
        Label.ASSERTION: 2,
        Label.DENIAL: 0,
        Label.CAVEAT: 1,
    }


def test_majority_beats_confidence() -> None:
    documents = [
        ("a", "Russia bought shells. Russia purchased shells. Russia denied buying shells."),
        ("b", "Russia denied buying shells from North Korea."),
    ]
    labels = {
        "Russia bought shells.": (Label.ASSERTION, 0.4),
        "Russia purchased shells.": (Label.ASSERTION, 0.4),
        "Russia denied buying shells.": (Label.DENIAL, 0.99),
        "Russia denied buying shells from North Korea.": (Label.DENIAL, 0.99),
    }
    comparison = compare_documents(
        documents, ScriptedClassifier(labels), ScriptedEmbedder(dict.fromkeys(labels, 0))
    )
    [group] = comparison.groups
    assert _labels(group) == {"a": Label.ASSERTION, "b": Label.DENIAL}
    assert group.disagreement


def test_claims_alike_within_one_document_only_are_not_a_group() -> None:
    vectors = np.eye(3, dtype=np.float32)[[0, 0, 1]]
    assert cluster_claims(vectors, [(0, 0), (0, 1), (1, 0)], threshold=0.5) == []
    assert cluster_claims(vectors[:1], [(0, 0)], threshold=0.5) == []


def test_identical_documents_group_every_claim_with_its_copy(
    embedder: SentenceEmbedder, classifier: ClaimClassifier, articles: list[tuple[str, str]]
) -> None:
    raw = articles[0][1]
    comparison = compare_documents([("x", raw), ("y", raw)], classifier, embedder)
    x, y = comparison.documents
    assert x.claims and [c.text for c in x.claims] == [c.text for c in y.claims]
    grouped = {
        (claim.index, cell.document): id(group)
        for group in comparison.groups
        for cell in group.members
        for claim in cell.claims
    }
    for claim in x.claims:
        assert grouped[(claim.index, "x")] == grouped[(claim.index, "y")]
    # The same model labels the same text the same way, so copies never disagree.
    assert not any(group.disagreement for group in comparison.groups)


def test_empty_documents_give_no_claims_and_no_model_calls(
    embedder: SentenceEmbedder, classifier: ClaimClassifier
) -> None:
    counting_classifier = CountingClassifier(classifier)
    counting_embedder = CountingEmbedder(embedder)
    comparison = compare_documents(
        [("blank", ""), ("spaces", "  \n\n "), ("furniture", "Read more\n\n© 2022 BBC")],
        counting_classifier,
        counting_embedder,
    )
    assert [document.id for document in comparison.documents] == ["blank", "spaces", "furniture"]
    for document in comparison.documents:
        assert document.claims == []
        assert document.counts == dict.fromkeys(LABELS, 0)
    assert comparison.groups == []
    assert counting_classifier.calls == counting_embedder.calls == []

    nothing = compare_documents([], counting_classifier, counting_embedder)
    assert nothing.documents == [] and nothing.groups == []


def test_one_empty_document_beside_others_is_kept(
    embedder: SentenceEmbedder, classifier: ClaimClassifier
) -> None:
    statement = "Moscow denied the reports at the time."
    comparison = compare_documents(
        [("a", statement), ("empty", ""), ("b", statement)], classifier, embedder
    )
    assert [len(document.claims) for document in comparison.documents] == [1, 0, 1]
    [group] = comparison.groups
    assert _documents(group) == ["a", "b"]


def test_unsegmented_documents_are_one_claim_each(
    embedder: SentenceEmbedder, classifier: ClaimClassifier
) -> None:
    text = "Russia bought shells. Moscow denied it."
    comparison = compare_documents([("a", text), ("b", text)], classifier, embedder, segment=False)
    for document in comparison.documents:
        assert [(claim.text, claim.start, claim.end) for claim in document.claims] == [
            (text, 0, len(text))
        ]
    [group] = comparison.groups
    assert _documents(group) == ["a", "b"]


@pytest.mark.parametrize("threshold", [-0.1, 0.0, 1.5, float("nan")])
def test_threshold_outside_its_bounds_is_refused(
    threshold: float, embedder: SentenceEmbedder, classifier: ClaimClassifier
) -> None:
    with pytest.raises(ValueError, match="threshold"):
        compare_documents([("a", "Text.")], classifier, embedder, threshold=threshold)


def test_repeated_document_ids_are_refused(
    embedder: SentenceEmbedder, classifier: ClaimClassifier
) -> None:
    with pytest.raises(ValueError, match="unique"):
        compare_documents([("a", "One."), ("a", "Two.")], classifier, embedder)


# --- the metric --------------------------------------------------------------------


def test_pairwise_scores_count_only_cross_document_pairs() -> None:
    gold = [{("d1", "x"), ("d2", "x"), ("d3", "x")}, {("d1", "y"), ("d2", "y")}]
    predicted = [
        # d1:x-d2:x right; d1:x-d2:y wrong; d2:x-d2:y is within d2 and ignored.
        {("d1", "x"), ("d2", "x"), ("d2", "y")},
        {("d1", "y"), ("d1", "z")},  # within d1 only: no pairs
    ]
    scores = pairwise_scores(predicted, gold)
    assert (scores.predicted_pairs, scores.gold_pairs, scores.correct_pairs) == (2, 4, 1)
    assert scores.precision == pytest.approx(0.5)
    assert scores.recall == pytest.approx(0.25)
    assert scores.f1 == pytest.approx(2 * 0.5 * 0.25 / 0.75)


def test_cluster_similarities_cuts_a_given_similarity_and_keeps_cross_document_groups() -> None:
    positions = [(0, 0), (0, 1), (1, 0), (1, 1)]
    similarities = np.array(
        [
            [1.0, 0.9, 0.8, 0.1],  # 0 and 1 share a document: alone they are no group
            [0.9, 1.0, 0.1, 0.1],
            [0.8, 0.1, 1.0, 0.1],
            [0.1, 0.1, 0.1, 1.0],
        ]
    )
    grouping = cluster_similarities(similarities, positions, threshold=0.85, method="single")
    assert grouping.clusters == []
    grouping = cluster_similarities(similarities, positions, threshold=0.75, method="single")
    [cluster] = grouping.clusters
    assert cluster.members == ((0, 0), (0, 1), (1, 0))
    assert cluster.representative == (0, 0)
    assert grouping.threshold == 0.75
    with pytest.raises(ValueError, match="similarity rows"):
        cluster_similarities(similarities, positions[:3])
