"""POST /compare: the response contract on the tiny model, grouping and labels on stand-ins."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import service.serving
from model.classifier import ClaimClassifier
from model.embeddings import SentenceEmbedder
from model.labels import LABELS
from model.story import SMALL_STORY_THRESHOLD
from service.app import create_app
from service.schemas import CompareResponse
from tests.service.support import (
    KeywordClassifier,
    WordEmbedder,
    make_settings,
    metric_samples,
    metric_value,
)

LABEL_NAMES = [label.value for label in LABELS]
SHARED = "Moscow denied the reports at the time."

# Three outlets: a denial all three carry, and a US claim two carry with different
# stances (assertion vs caveat). The disagreement appears later in the texts but
# must come first; the weather line is B's alone, so it belongs to no group.
DENIAL = "North Korea said it had never sold weapons to Russia."
ASSERTED = "Russia is buying artillery shells from North Korea."
HEDGED = "Russia may be buying artillery shells from North Korea."
STORY = [
    {"id": "a", "text": f"{DENIAL} {ASSERTED}"},
    {"id": "b", "text": f"{DENIAL}\n\nThe weather in Pyongyang was mild."},
    {"id": "c", "text": f"{DENIAL} {HEDGED}"},
]


def _cells(body: dict) -> list[tuple[bool, dict[str, str]]]:
    """Each group as (disagreement, {document: label}), in response order."""
    return [
        (group["disagreement"], {m["document"]: m["label"] for m in group["members"]})
        for group in body["groups"]
    ]


# --- the contract, on the tiny model loaded as production loads it ----------------------


def test_response_is_consistent_with_itself(client: TestClient) -> None:
    documents = [
        {"id": "bbc", "text": f"<p>US officials said Russia was buying shells.</p><p>{SHARED}</p>"},
        {"id": "cnn", "text": f"{SHARED} Kirby said there was no evidence."},
    ]
    response = client.post("/compare", json={"documents": documents})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"model", "threshold", "grouping", "documents", "groups"}
    assert body["grouping"] == "words"  # the default setting
    assert set(body["model"]) == {"name", "version", "run_id"}
    # No threshold set anywhere: the story's own; two short documents are too few claims
    # for a spread, so it is the small-story value.
    assert body["threshold"] == SMALL_STORY_THRESHOLD
    CompareResponse.model_validate(body)

    assert [document["id"] for document in body["documents"]] == ["bbc", "cnn"]
    claims_by_id = {}
    for document in body["documents"]:
        assert "<p>" not in document["text"]  # cleaned, as /classify cleans
        assert [claim["index"] for claim in document["claims"]] == list(
            range(len(document["claims"]))
        )
        for claim in document["claims"]:
            assert document["text"][claim["start"] : claim["end"]] == claim["text"]
            assert claim["label"] == max(claim["scores"], key=claim["scores"].__getitem__)
            assert list(claim["scores"]) == LABEL_NAMES
        counts = Counter(claim["label"] for claim in document["claims"])
        assert document["counts"] == {name: counts[name] for name in LABEL_NAMES}
        claims_by_id[document["id"]] = document["claims"]
    assert [claim["text"] for claim in claims_by_id["cnn"]] == [
        SHARED,
        "Kirby said there was no evidence.",
    ]

    assert body["groups"], "the shared sentence must group"
    shared_groups = [
        group
        for group in body["groups"]
        if any(claim["text"] == SHARED for m in group["members"] for claim in m["claims"])
    ]
    assert len(shared_groups) == 1  # both copies in one group, not split
    assert [m["document"] for m in shared_groups[0]["members"]] == ["bbc", "cnn"]
    for group in body["groups"]:
        assert len(group["members"]) >= 2
        labels = []
        for member in group["members"]:
            # Members are the documents' own claims, by index, with the same label and scores.
            for claim in member["claims"]:
                assert claims_by_id[member["document"]][claim["index"]] == claim
            votes = Counter(claim["label"] for claim in member["claims"])
            assert votes[member["label"]] == max(votes.values())
            labels.append(member["label"])
        assert group["disagreement"] == (len(set(labels)) > 1)
        representative = claims_by_id[group["representative_document"]][
            group["representative_index"]
        ]
        assert representative["text"] == group["representative"]
    flags = [group["disagreement"] for group in body["groups"]]
    assert flags == sorted(flags, reverse=True)  # disagreements first


def test_the_encoder_is_loaded_once_at_startup(
    tiny_model_dir: Path,
    tiny_classifier: ClaimClassifier,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loads: list[object] = []
    real = service.serving.load_embedder

    def counting(settings: object, model_dir: Path | None = None) -> SentenceEmbedder:
        loads.append(settings)
        return real(settings, model_dir)  # type: ignore[arg-type]

    monkeypatch.setattr(service.serving, "load_embedder", counting)
    app = create_app(make_settings(tiny_model_dir, tmp_path), classifier=tiny_classifier)
    with TestClient(app) as client:
        assert len(loads) == 1  # in the lifespan, before any request
        embedder = app.state.embedder
        assert isinstance(embedder, SentenceEmbedder)
        assert embedder.dim == 32  # the tiny BERT named by embedder_dir, not the packaged one
        for _ in range(2):
            assert client.post("/compare", json={"documents": STORY}).status_code == 200
        assert len(loads) == 1
        assert app.state.embedder is embedder

    injected = WordEmbedder()
    app = create_app(
        make_settings(tiny_model_dir, tmp_path), classifier=tiny_classifier, embedder=injected
    )
    with TestClient(app):
        assert app.state.embedder is injected
    assert len(loads) == 1  # an injected encoder is used as it is


# --- grouping and labels, on stand-ins a test can predict -------------------------------


def test_groups_carry_each_outlets_label_with_disagreements_first(
    story_client: TestClient, tiny_model_dir: Path
) -> None:
    body = story_client.post("/compare", json={"documents": STORY}).json()
    assert _cells(body) == [
        (True, {"a": "assertion", "c": "caveat"}),
        (False, {"a": "denial", "b": "denial", "c": "denial"}),
    ]
    disagreement, agreement = body["groups"]
    assert agreement["representative"] == DENIAL
    assert {disagreement["representative"]} <= {ASSERTED, HEDGED}
    [a_member, c_member] = disagreement["members"]
    assert [claim["text"] for claim in a_member["claims"]] == [ASSERTED]
    assert [claim["text"] for claim in c_member["claims"]] == [HEDGED]
    assert c_member["claims"][0]["scores"] == {
        "assertion": pytest.approx(0.1),
        "denial": pytest.approx(0.1),
        "caveat": pytest.approx(0.8),
    }
    b = body["documents"][1]
    assert b["counts"] == {"assertion": 1, "denial": 1, "caveat": 0}
    assert body["model"] == {"name": tiny_model_dir.name, "version": None, "run_id": None}


def test_threshold_in_the_request_overrides_the_setting(story_client: TestClient) -> None:
    # The two US sentences' similarity (bag-of-words cosine 0.82 blended with their
    # story-IDF word overlap, model.story.claim_similarities) is 0.91: they group at 0.9,
    # not at 0.95.
    loose = story_client.post("/compare", json={"documents": STORY, "threshold": 0.9}).json()
    strict = story_client.post("/compare", json={"documents": STORY, "threshold": 0.95}).json()
    assert (loose["threshold"], strict["threshold"]) == (0.9, 0.95)
    assert len(loose["groups"]) == 2
    assert _cells(strict) == [(False, {"a": "denial", "b": "denial", "c": "denial"})]


def test_threshold_setting_is_the_default(tiny_model_dir: Path, tmp_path: Path) -> None:
    settings = make_settings(tiny_model_dir, tmp_path, similarity_threshold=0.95)
    app = create_app(settings, classifier=KeywordClassifier(), embedder=WordEmbedder())
    with TestClient(app) as client:
        body = client.post("/compare", json={"documents": STORY}).json()
    assert body["threshold"] == 0.95
    assert len(body["groups"]) == 1


def test_segment_false_compares_whole_statements(story_client: TestClient) -> None:
    documents = [
        {"id": "kcna", "text": f"{DENIAL} We warn the US."},
        {"id": "tass", "text": f"{DENIAL} We warn the US."},
        {"id": "us", "text": ASSERTED},
    ]
    body = story_client.post("/compare", json={"documents": documents, "segment": False}).json()
    assert [len(document["claims"]) for document in body["documents"]] == [1, 1, 1]
    assert _cells(body) == [(False, {"kcna": "denial", "tass": "denial"})]


def test_documents_without_claims_are_kept_in_order(story_client: TestClient) -> None:
    documents = [{"id": "rights", "text": "© 2022 BBC. All rights reserved."}, *STORY[:2]]
    body = story_client.post("/compare", json={"documents": documents}).json()
    assert [document["id"] for document in body["documents"]] == ["rights", "a", "b"]
    assert body["documents"][0]["claims"] == []
    assert body["documents"][0]["counts"] == dict.fromkeys(LABEL_NAMES, 0)
    assert _cells(body) == [(False, {"a": "denial", "b": "denial"})]


def test_metrics_count_documents_groups_and_claims(story_client: TestClient) -> None:
    before = metric_samples(story_client)
    assert story_client.post("/compare", json={"documents": STORY}).status_code == 200
    assert story_client.post("/compare", json={"documents": STORY[:1]}).status_code == 422
    after = metric_samples(story_client)

    def delta(name: str, **labels: str) -> float:
        return metric_value(after, name, **labels) - metric_value(before, name, **labels)

    assert delta("claimstance_documents_total") == 3
    assert delta("claimstance_claim_groups_total", disagreement="true") == 1
    assert delta("claimstance_claim_groups_total", disagreement="false") == 1
    # a: denial + assertion; b: denial + assertion; c: denial + caveat.
    assert delta("claimstance_claims_total", label="denial") == 3
    assert delta("claimstance_claims_total", label="assertion") == 2
    assert delta("claimstance_claims_total", label="caveat") == 1
    assert delta("claimstance_texts_total") == 0  # /classify's counter stays its own
    ok = {"method": "POST", "route": "/compare", "status": "200"}
    bad = {"method": "POST", "route": "/compare", "status": "422"}
    assert delta("claimstance_http_requests_total", **ok) == 1
    assert delta("claimstance_http_requests_total", **bad) == 1


def test_openapi_documents_compare(story_client: TestClient) -> None:
    schema = story_client.get("/openapi.json").json()
    operation = schema["paths"]["/compare"]["post"]
    assert {"200", "422", "503"} <= set(operation["responses"])
    request = schema["components"]["schemas"]["CompareRequest"]
    assert request["required"] == ["documents"]
    assert set(request["properties"]) == {"documents", "threshold", "segment"}
