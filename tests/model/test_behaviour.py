"""Slow tier: behaviour of the trained champion on the label guide's cases.

Minimum-functionality tests take the guide's own examples; invariance tests
change what should not matter (names, places); directional tests add what
should change the label (a denial verb, a hedge).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from model.classifier import ClaimClassifier
from model.labels import Label

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def champion() -> ClaimClassifier:
    from model.resolve import ModelNotFoundError, resolve_model
    from model.store import default_tracking_uri, missing_sqlite_store

    uri = default_tracking_uri(REPO)
    if missing_sqlite_store(uri) is not None:
        pytest.skip("no MLflow store: run `make train` first")
    try:
        directory = resolve_model("models:/claimstance@champion", uri).directory
    except ModelNotFoundError as error:
        pytest.skip(f"no champion model: run `make train` first ({error})")
    return ClaimClassifier.from_directory(directory, device="cpu")


GUIDE_EXAMPLES = [
    (
        "US officials had said Russia was in the process of purchasing rockets and artillery shells from North Korea.",
        Label.ASSERTION,
    ),
    ("Moscow denied the reports at the time.", Label.DENIAL),
    (
        '"We have never exported weapons or ammunition to Russia before and we will not plan to export them."',
        Label.DENIAL,
    ),
    (
        "But John Kirby later appeared to caveat that statement, saying the purchases had not yet been completed.",
        Label.CAVEAT,
    ),
    (
        "He stressed that the United States had no evidence that such purchases had actually taken place.",
        Label.CAVEAT,
    ),
    ("Many of North Korea's Russian-designed weapons hail from the Soviet era.", Label.ASSERTION),
    ("Iran has denied delivering weapons.", Label.DENIAL),
    ("The ministry did not comment.", Label.ASSERTION),
    ("Unconfirmed reports say the shipment could include millions of shells.", Label.CAVEAT),
    ("The company dismissed the allegations as fabricated.", Label.DENIAL),
]


@pytest.mark.parametrize(("text", "label"), GUIDE_EXAMPLES)
def test_guide_examples(champion: ClaimClassifier, text: str, label: Label) -> None:
    assert champion.predict([text])[0].label is label


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Moscow denied the reports.", "Tehran denied the reports."),
        (
            "Police said the suspect was arrested on Monday.",
            "Police said the suspect was arrested on Friday.",
        ),
        ("The ministry said the photo was fake.", "The agency said the photo was fake."),
    ],
)
def test_invariance(champion: ClaimClassifier, first: str, second: str) -> None:
    a, b = champion.predict([first, second])
    assert a.label is b.label


@pytest.mark.parametrize(
    ("plain", "changed", "label"),
    [
        (
            "The company is buying the startup.",
            "The company denied it is buying the startup.",
            Label.DENIAL,
        ),
        (
            "The company is buying the startup.",
            "The company may be buying the startup, reports say.",
            Label.CAVEAT,
        ),
        ("The singer died on Sunday.", "The singer's death was a hoax.", Label.DENIAL),
    ],
)
def test_directional(champion: ClaimClassifier, plain: str, changed: str, label: Label) -> None:
    before, after = champion.predict([plain, changed])
    assert before.label is Label.ASSERTION
    assert after.label is label
