"""POST /classify: the response contract, on the tiny random model."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from model.labels import LABELS
from service.schemas import MAX_ID_CHARS

ARTICLE = (
    "<p>US officials said Russia was buying rockets and artillery shells from North Korea.</p>"
    "<p>Moscow denied the reports at the time. The purchases had not yet been completed.</p>"
    "<p>© 2022 BBC. All rights reserved.</p>"
)
PLAIN = "We have never exported weapons to Russia.  Kirby said there was no evidence."
LABEL_NAMES = {label.value for label in LABELS}


def _assert_claims_well_formed(result: dict) -> None:
    for claim in result["claims"]:
        assert result["text"][claim["start"] : claim["end"]] == claim["text"]
        assert claim["label"] in LABEL_NAMES
        assert set(claim["scores"]) == LABEL_NAMES
        assert sum(claim["scores"].values()) == pytest.approx(1.0, abs=1e-5)
        assert all(0.0 <= score <= 1.0 for score in claim["scores"].values())
        # The label is the most probable one.
        assert claim["label"] == max(claim["scores"], key=claim["scores"].__getitem__)


def test_one_text_is_cleaned_segmented_and_labelled(client: TestClient) -> None:
    response = client.post("/classify", json={"text": ARTICLE})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"model", "results"}
    assert set(body["model"]) == {"name", "version", "run_id"}
    [result] = body["results"]
    # Markup is gone from the text the offsets point into.
    assert "<p>" not in result["text"]
    assert "Moscow denied the reports at the time." in result["text"]
    texts = [claim["text"] for claim in result["claims"]]
    assert texts == [
        "US officials said Russia was buying rockets and artillery shells from North Korea.",
        "Moscow denied the reports at the time.",
        "The purchases had not yet been completed.",
    ]  # and the copyright line is dropped, not labelled
    _assert_claims_well_formed(result)
    starts = [claim["start"] for claim in result["claims"]]
    assert starts == sorted(starts)


def test_offsets_are_exact_after_non_ascii_text(client: TestClient) -> None:
    text = "Zürich — «quoted» 😀 claim one is here. Ещё одно утверждение здесь."
    [result] = client.post("/classify", json={"text": text}).json()["results"]
    assert len(result["claims"]) == 2
    _assert_claims_well_formed(result)


def test_segment_false_gives_one_claim_per_text(client: TestClient) -> None:
    response = client.post("/classify", json={"texts": [PLAIN, ARTICLE], "segment": False})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [len(result["claims"]) for result in results] == [1, 1]
    for result in results:
        [claim] = result["claims"]
        # The whole cleaned text is the claim.
        assert (claim["start"], claim["end"]) == (0, len(result["text"]))
        _assert_claims_well_formed(result)


def test_texts_batch_keeps_order_and_matches_single_requests(client: TestClient) -> None:
    texts = [PLAIN, ARTICLE, "Moscow denied the reports."]
    batch = client.post("/classify", json={"texts": texts}).json()["results"]
    assert len(batch) == len(texts)
    for text, batched in zip(texts, batch, strict=True):
        [single] = client.post("/classify", json={"text": text}).json()["results"]
        assert batched["text"] == single["text"]
        assert [c["text"] for c in batched["claims"]] == [c["text"] for c in single["claims"]]
        for ours, theirs in zip(batched["claims"], single["claims"], strict=True):
            assert ours["label"] == theirs["label"]
            for label in LABEL_NAMES:
                # Padding differs between a batch and a single text; probabilities may not.
                assert ours["scores"][label] == pytest.approx(theirs["scores"][label], abs=1e-4)


def test_boilerplate_only_text_gives_an_empty_claim_list(client: TestClient) -> None:
    response = client.post(
        "/classify", json={"texts": ["© 2022 BBC. All rights reserved.\nRead more", PLAIN]}
    )
    assert response.status_code == 200
    empty, full = response.json()["results"]
    assert empty["claims"] == []
    assert empty["text"]  # the cleaned text still comes back
    assert len(full["claims"]) == 2


def test_openapi_schema_names_the_three_labels(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/classify" in schema["paths"]
    label_schema = schema["components"]["schemas"]["Label"]
    assert label_schema["enum"] == [label.value for label in LABELS]


def test_items_with_ids_come_back_keyed_and_labelled_as_plain_strings(client: TestClient) -> None:
    texts = [PLAIN, ARTICLE, "Moscow denied the reports."]
    ids = ["row-7", "bbc/2022/11", "row-7b"]
    keyed = client.post(
        "/classify", json={"texts": [{"id": i, "text": t} for i, t in zip(ids, texts, strict=True)]}
    )
    assert keyed.status_code == 200, keyed.text
    plain = client.post("/classify", json={"texts": texts}).json()["results"]
    results = keyed.json()["results"]
    assert [result["id"] for result in results] == ids
    # Apart from the id, each result is the plain string's result.
    for result, same in zip(results, plain, strict=True):
        assert {key: value for key, value in result.items() if key != "id"} == same
    # A plain string's result has no id field: its shape is as it was.
    assert all("id" not in result for result in plain)


def test_the_schema_shows_both_forms_of_an_item(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    forms = schemas["ClassifyRequest"]["properties"]["texts"]["anyOf"]
    assert [form["items"].get("type") or form["items"]["$ref"] for form in forms] == [
        "string",
        "#/components/schemas/ClassifyItem",
    ]
    item = schemas["ClassifyItem"]
    assert set(item["required"]) == {"id", "text"} and item["additionalProperties"] is False
    assert item["properties"]["id"]["maxLength"] == MAX_ID_CHARS
    assert schemas["TextResult"]["properties"]["id"]["type"] == "string"
    assert "id" not in schemas["TextResult"]["required"]
