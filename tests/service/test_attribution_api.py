"""Every claim of /classify and /compare names its source and cue: in the schema, and in
responses with offsets into the same cleaned text as the claim's own."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from model.attribution import SourceKind
from service.app import create_app
from tests.conftest import keyword_head_classifier
from tests.service.support import make_settings

# Markup and an entity before the claims, so the cleaned text's offsets differ from the raw.
ARTICLE = (
    "<h1>Ferry row</h1><p>The ferry sailed at noon &amp; docked late.</p>"
    "<p>Lena Ortiz, the harbour master, denied the reports, officials said.</p>"
    "<p>\u201cWe never sold the berth.\u201d</p>"
    "<p>The plan will be shelved, according to people familiar with the talks.</p>"
)
# (source, kind, cue) of each claim of ARTICLE, in order (the verbless headline is page
# furniture, not a claim); None where the outlet speaks or the quotation names nobody.
EXPECTED = [
    None,
    ("Lena Ortiz", "person", "denied"),
    None,
    ("people familiar with the talks", "unnamed", "according to"),
]


def _attributions(result: dict) -> list[tuple[str, str, str] | None]:
    """Each claim's (source, kind, cue), after checking every span against the cleaned text."""
    found = []
    for claim in result["claims"]:
        assert {"source", "cue"} <= set(claim)
        source, cue = claim["source"], claim["cue"]
        assert (source is None) == (cue is None)
        if source is None:
            found.append(None)
            continue
        for span in (source, cue):
            assert result["text"][span["start"] : span["end"]] == span["text"]
            assert claim["start"] <= span["start"] < span["end"] <= claim["end"]
        found.append((source["text"], source["kind"], cue["text"]))
    return found


def test_classify_claims_carry_source_and_cue_in_the_cleaned_text(client: TestClient) -> None:
    response = client.post("/classify", json={"text": ARTICLE})
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert result["claims"][0]["text"] == "The ferry sailed at noon & docked late."
    assert _attributions(result) == EXPECTED


def test_unsegmented_text_is_attributed_as_one_claim(client: TestClient) -> None:
    text = "<p>Valk said the berth was sold.</p><p>The ferry sailed.</p>"
    body = client.post("/classify", json={"text": text, "segment": False}).json()
    [result] = body["results"]
    assert _attributions(result) == [("Valk", "person", "said")]


def test_compare_claims_carry_source_and_cue_in_documents_and_groups(
    story_client: TestClient,
) -> None:
    documents = [
        {"id": "a", "text": "<p>North Korea denied selling shells to Russia.</p>"},
        {"id": "b", "text": "Pyongyang denied selling shells to Russia, officials said."},
    ]
    response = story_client.post("/compare", json={"documents": documents})
    assert response.status_code == 200, response.text
    body = response.json()
    texts = {document["id"]: document["text"] for document in body["documents"]}
    assert [_attributions(document) for document in body["documents"]] == [
        [("North Korea", "organisation", "denied")],
        [("Pyongyang", "organisation", "denied")],
    ]
    [group] = body["groups"]
    for member in group["members"]:
        _attributions({"text": texts[member["document"]], "claims": member["claims"]})
    sources = {m["document"]: m["claims"][0]["source"]["text"] for m in group["members"]}
    assert sources == {"a": "North Korea", "b": "Pyongyang"}


def test_the_schema_states_and_documents_the_fields(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("ClaimResult", "StoryClaim"):
        claim = schemas[name]
        # Always sent, null or not.
        assert {"source", "cue"} <= set(claim["required"])
        for field in ("source", "cue"):
            assert claim["properties"][field]["description"]
            refs = [option.get("$ref") for option in claim["properties"][field]["anyOf"]]
            assert {"type": "null"} in claim["properties"][field]["anyOf"]
            assert any(ref for ref in refs)
    span, source = schemas["SpanResult"], schemas["SourceResult"]
    assert set(span["required"]) == {"text", "start", "end"}
    assert set(source["required"]) == {"text", "start", "end", "kind"}
    assert source["properties"]["kind"]["description"]
    assert schemas["SourceKind"]["enum"] == [kind.value for kind in SourceKind]


def test_a_model_with_an_attribution_head_serves_its_spans(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    # The rules find no cue in "Kirby hoax ..."; the head tags both words.
    head = keyword_head_classifier(tiny_model_dir, {"kirby": "B-source-person", "hoax": "B-cue"})
    app = create_app(make_settings(tiny_model_dir, tmp_path), classifier=head)
    text = "<p>The ferry sailed.</p><p>Kirby hoax the reports.</p>"
    with TestClient(app) as test_client:
        assert test_client.get("/model").json()["attribution"] == "head"
        response = test_client.post("/classify", json={"text": text})
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert _attributions(result) == [None, ("Kirby", "person", "hoax")]


@pytest.mark.parametrize("setting", ["auto", "rules"])
def test_the_attribution_setting_can_hold_a_model_with_a_head_to_the_rules(
    setting: str, tiny_joint_dir: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    settings = make_settings(
        tiny_joint_dir, tmp_path, embedder_dir=str(tiny_model_dir), attribution=setting
    )
    with TestClient(create_app(settings)) as test_client:
        info = test_client.get("/model").json()
        body = test_client.post("/classify", json={"text": ARTICLE}).json()
    assert info["attribution"] == ("rules" if setting == "rules" else "head")
    [result] = body["results"]
    found = _attributions(result)  # valid spans inside their claims, whoever found them
    if setting == "rules":
        assert found == EXPECTED


def test_a_model_without_a_head_is_attributed_by_the_rules(client: TestClient) -> None:
    assert client.get("/model").json()["attribution"] == "rules"
