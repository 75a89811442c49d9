from __future__ import annotations

import pytest

from model.propositions import proposition


@pytest.mark.parametrize(
    ("claim", "expected"),
    [
        # A leading attribution, with or without "that".
        ("Police said the man had travelled to Nigeria.", "The man had travelled to Nigeria."),
        ("Iran has denied that it delivered drones to Russia.", "It delivered drones to Russia."),
        (
            "Sources told the Wall Street Journal that Apple has been studying platinum casings.",
            "Apple has been studying platinum casings.",
        ),
        ("It is claimed that the ship sank off Crete.", "The ship sank off Crete."),
        # A trailing attribution, keeping the full stop.
        ("He had travelled to Nigeria, according to officials.", "He had travelled to Nigeria."),
        (
            "“They do not flinch at killing anyone,” he said.",
            "They do not flinch at killing anyone.",
        ),
        (
            "The wife has been arrested in Lebanon, security officials said on Tuesday.",
            "The wife has been arrested in Lebanon.",
        ),
        # Connectives and hedging adverbs.
        (
            "However, some commentators have said they doubt the size of the cuts.",
            "They doubt the size of the cuts.",
        ),
        ("IBM is reportedly planning 111,800 job cuts.", "IBM is planning 111,800 job cuts."),
    ],
)
def test_reporting_frame_is_taken_off(claim: str, expected: str) -> None:
    assert proposition(claim) == expected


@pytest.mark.parametrize(
    "claim",
    [
        # A denial with an object, not a clause: nothing to take off.
        "Moscow denied the reports at the time.",
        "He said nothing.",
        # "claims" as a noun at the end of a clause is content.
        "Readers shared the news on social media, without verifying the claims in the report.",
        # A verb inside the subject does not start a frame.
        "The hospital says some local reports that the patient has Ebola are false.",
        "Many of North Korea's Russian-designed weapons hail from the Soviet era.",
        # Too little would be left.
        '"It\'s madness," he told the Mirror.',
    ],
)
def test_claims_without_a_removable_frame_stay_as_they_are(claim: str) -> None:
    assert proposition(claim) == claim
