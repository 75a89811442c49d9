"""Slow tier: the trained champion on the five example articles labels the key claims right.

Needs `make train` to have registered ``claimstance@champion`` in the repository's
MLflow store (or the store MLFLOW_TRACKING_URI names); skipped otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import DEFAULT_MODEL_URI, Settings

pytestmark = pytest.mark.slow

EXPECTED = [
    # The North Korean defence ministry's statement, quoted or paraphrased by every outlet.
    (re.compile(r"never exported (weapons|arms) or ammunition to Russia", re.I), "denial"),
    (re.compile(r"Moscow denied the reports", re.I), "denial"),
    # Kirby's limits on the US claim.
    (re.compile(r"not yet (been )?completed|no evidence", re.I), "caveat"),
]


@pytest.fixture(scope="module")
def champion() -> Iterator[TestClient]:
    # Only the model is pinned; the store comes from MLFLOW_TRACKING_URI or the repo default.
    settings = Settings(model_uri=DEFAULT_MODEL_URI, allowed_hosts=["testserver"])
    with TestClient(create_app(settings)) as client:
        if client.app.state.model is None:
            pytest.skip(f"no trained champion: {client.app.state.load_error}")
        yield client


def _article_paths() -> list[Path]:
    from tests.conftest import SHARED_DIR

    return sorted((SHARED_DIR / "examples").glob("*.txt"))


@pytest.mark.parametrize("name", [path.name for path in _article_paths()] or ["(none)"])
def test_key_claims_of_each_article(champion: TestClient, examples_dir: Path, name: str) -> None:
    path = examples_dir / name
    if not path.is_file():
        pytest.skip(f"example article {path} not found")
    response = champion.post("/classify", json={"text": path.read_text(encoding="utf-8")})
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]

    checked = 0
    wrong = []
    for claim in result["claims"]:
        for pattern, label in EXPECTED:
            if pattern.search(claim["text"]):
                checked += 1
                if claim["label"] != label:
                    wrong.append(
                        f"{claim['text']!r}: {claim['label']} {claim['scores']}, want {label}"
                    )
    assert checked, f"no key claim found in {name}: claim extraction changed?"
    assert not wrong, "\n".join(wrong)
