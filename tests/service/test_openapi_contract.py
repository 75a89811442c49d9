"""The OpenAPI schema says what the service enforces, and schemathesis finds no gap.

The schemathesis run (all checks, bounded by examples per operation) goes
against the tiny-model app with API keys set, so the auth checks run too. Its
limits are small so the generated bodies reach them; the limits JSON Schema
cannot state (characters of a whole request, claims) are set out of reach and
have tests of their own (test_limits.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from model.classifier import ClaimClassifier
from service.app import create_app
from service.schemas import NOT_BLANK, is_blank
from tests.service.support import make_settings, served

REPO = Path(__file__).resolve().parents[2]
KEY = "contract-test-key"
LIMITS = {"max_texts": 4, "max_chars": 300, "max_documents": 3}
# Enough for every case the schema allows: these limits are tested in test_limits.py.
OUT_OF_REACH = {"max_request_chars": 10_000, "max_claims": 10_000, "max_story_claims": 10_000}
# Per operation; about 600 cases and 15 s in all on 2 cores.
MAX_EXAMPLES = 100


@pytest.fixture(scope="module")
def contract_app(
    tiny_model_dir: Path, tiny_classifier: ClaimClassifier, tmp_path_factory: pytest.TempPathFactory
) -> TestClient:
    settings = make_settings(
        tiny_model_dir,
        tmp_path_factory.mktemp("contract"),
        api_keys=[KEY],
        **LIMITS,
        **OUT_OF_REACH,
    )
    return create_app(settings, classifier=tiny_classifier)


def _schema(app: object) -> dict:
    with TestClient(app) as client:  # type: ignore[arg-type]
        response = client.get("/openapi.json", headers={"X-API-Key": KEY})
    assert response.status_code == 200
    return response.json()


def test_classify_schema_states_one_of_and_the_limits(contract_app: object) -> None:
    schemas = _schema(contract_app)["components"]["schemas"]
    request = schemas["ClassifyRequest"]
    assert request["oneOf"] == [{"required": ["text"]}, {"required": ["texts"]}]
    assert request["additionalProperties"] is False
    text, texts = request["properties"]["text"], request["properties"]["texts"]
    assert text["type"] == "string"  # not nullable: null is refused
    assert (text["maxLength"], text["pattern"]) == (LIMITS["max_chars"], NOT_BLANK)
    strings, items = texts["anyOf"]  # one kind per request
    for form in (strings, items):
        assert (form["minItems"], form["maxItems"]) == (1, LIMITS["max_texts"])
    assert strings["items"]["maxLength"] == LIMITS["max_chars"]
    assert items["uniqueItems"] is True
    item = schemas["ClassifyItem"]["properties"]
    assert item["text"]["maxLength"] == LIMITS["max_chars"]
    assert item["id"]["pattern"] == item["text"]["pattern"] == NOT_BLANK
    assert str(OUT_OF_REACH["max_claims"]) in request["description"]


def test_compare_schema_states_two_to_max_documents(contract_app: object) -> None:
    schemas = _schema(contract_app)["components"]["schemas"]
    documents = schemas["CompareRequest"]["properties"]["documents"]
    assert (documents["minItems"], documents["maxItems"]) == (2, LIMITS["max_documents"])
    assert documents["uniqueItems"] is True
    document = schemas["StoryDocument"]["properties"]
    assert document["text"]["maxLength"] == LIMITS["max_chars"]
    assert document["id"]["pattern"] == document["text"]["pattern"] == NOT_BLANK


def test_keys_are_in_the_schema_and_the_probes_are_open(contract_app: object) -> None:
    schema = _schema(contract_app)
    assert set(schema["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert schema["paths"]["/health"]["get"]["security"] == []
    assert "401" in schema["paths"]["/classify"]["post"]["responses"]


def test_schema_without_keys_has_no_security(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "securitySchemes" not in schema.get("components", {})
    assert "401" not in schema["paths"]["/classify"]["post"]["responses"]


def test_blank_is_what_the_pattern_says() -> None:
    """The server's "blank" and the schema's pattern agree on every code point."""
    import re

    pattern = re.compile(NOT_BLANK)
    for code in range(0x110000):
        char = chr(code)
        assert is_blank(char) == char.isspace() == (pattern.search(char) is None), hex(code)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"text": None, "texts": ["a claim."]}, "text must be a string, got null"),
        ({"texts": None, "text": "a claim."}, "texts must be a list of strings, or of {"),
        ({"text": "\x1e"}, "text is empty or only whitespace"),
        ({"texts": [{"id": "\x1e", "text": "a claim."}]}, "texts[0].id is empty"),
    ],
)
def test_what_the_schema_refuses_is_refused(client: TestClient, body: dict, expected: str) -> None:
    response = client.post("/classify", json=body)
    assert response.status_code == 422
    assert expected in response.json()["detail"]


# Schemathesis's own list, and 413.
NEGATIVE_DATA_STATUSES = [
    *("400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"),
    "5xx",
]


def test_schemathesis_all_checks_find_no_failure(contract_app: object, tmp_path: Path) -> None:
    report = tmp_path / "schemathesis.json"
    # Read from where schemathesis runs. Past maxItems or maxLength the service answers
    # 413, as for every size limit, which schemathesis does not count as a refusal.
    (tmp_path / "schemathesis.toml").write_text(
        "[checks.negative_data_rejection]\n"
        f"expected-statuses = {json.dumps(NEGATIVE_DATA_STATUSES)}\n",
        encoding="utf-8",
    )
    with served(contract_app) as base_url:  # type: ignore[arg-type]
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{base_url}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                "0",
                "--header",
                f"Authorization: Bearer {KEY}",
                "--report",
                "json",
                "--report-json-path",
                str(report),
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env={
                **os.environ,
                "SCHEMATHESIS_HOOKS": "tests.service.schemathesis_hooks",
                "PYTHONPATH": str(REPO),
            },
            # Schemathesis keeps a cache where it runs: not in the repository.
            cwd=tmp_path,
            check=False,
        )
    assert report.is_file(), run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(report.read_text(encoding="utf-8"))
    cases = result["test_cases"]
    print(f"schemathesis: {cases['generated']} cases generated, all checks")
    assert result["failures"] == [], run.stdout[-6000:]
    assert result["errors"] == [], run.stdout[-6000:]
    assert cases["generated"] >= 300
    assert result["operations"]["tested"] == result["operations"]["total"]
    assert run.returncode == 0
