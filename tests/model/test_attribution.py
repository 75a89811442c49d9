"""The rule attributor on invented sentences: each kind, each null case, and the
conventions of docs/attribution.md (minimal phrases, appositives, cues with particles)."""

from __future__ import annotations

import time

import pytest

from model.attribution import (
    NO_ATTRIBUTION,
    Attribution,
    Attributor,
    RuleAttributor,
    Source,
    SourceKind,
    Span,
    source_kind,
)
from model.labels import Label

RULES = RuleAttributor()
LQ, RQ = "\u201c", "\u201d"  # curly double quotes, as outlets print them


def attribute(text: str, label: Label | None = None) -> tuple[str, SourceKind, str] | None:
    """(source, kind, cue) with their offsets checked against ``text``; None when null."""
    found = RULES.attribute_one(text, label)
    if found.source is None or found.cue is None:
        assert found == NO_ATTRIBUTION
        return None
    for span in (found.source, found.cue):
        assert text[span.start : span.end] == span.text
    return found.source.text, found.source.kind, found.cue.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The conventions' own examples.
        (
            'The ministry dismissed the report as "fabricated".',
            ("The ministry", SourceKind.ORGANISATION, "dismissed"),
        ),
        (
            "Lena Ortiz, the club's chairwoman, said no offer had been received.",
            ("Lena Ortiz", SourceKind.PERSON, "said"),
        ),
        (
            "People familiar with the talks said a deal could come this week.",
            ("People familiar with the talks", SourceKind.UNNAMED, "said"),
        ),
        ("He has played down talk of a rift.", ("He", SourceKind.PRONOUN, "played down")),
        (
            'A spokesperson told reporters the company "does not comment on rumours".',
            ("A spokesperson", SourceKind.ROLE, "told reporters"),
        ),
        # Persons: a title that is part of the name stays; a bare surname is a name.
        (
            "Trade Minister Piet Valk said the tariff would stay.",
            ("Trade Minister Piet Valk", SourceKind.PERSON, "said"),
        ),
        ("Valk insisted the figures were right.", ("Valk", SourceKind.PERSON, "insisted")),
        # Organisations: a marker word, a known state or seat of power, an outlet, an acronym.
        (
            "Brindle Corp confirmed the sale.",
            ("Brindle Corp", SourceKind.ORGANISATION, "confirmed"),
        ),
        ("The Kremlin rejected the claims.", ("The Kremlin", SourceKind.ORGANISATION, "rejected")),
        ("Canberra says it was never asked.", ("Canberra", SourceKind.ORGANISATION, "says")),
        ("Reuters reported the merger.", ("Reuters", SourceKind.ORGANISATION, "reported")),
        (
            "The Ministry of Fisheries denied the quota had been cut.",
            ("The Ministry of Fisheries", SourceKind.ORGANISATION, "denied"),
        ),
        # Roles: a role or group without a name, capitalised or not at the sentence's start.
        ("Officials said the ferry would sail.", ("Officials", SourceKind.ROLE, "said")),
        ("Police said two men were held.", ("Police", SourceKind.ROLE, "said")),
        (
            "The head of the port authority said berths were free.",
            ("The head of the port authority", SourceKind.ROLE, "said"),
        ),
        (
            "Officials in Lisbon said the ferry would sail.",
            ("Officials in Lisbon", SourceKind.ROLE, "said"),
        ),
        # Pronouns.
        ("They warned of delays.", ("They", SourceKind.PRONOUN, "warned")),
        # Anonymous sourcing.
        ("Sources said the deal was close.", ("Sources", SourceKind.UNNAMED, "said")),
        (
            "An unnamed official at the harbour office said the berth was closed.",
            ("An unnamed official at the harbour office", SourceKind.UNNAMED, "said"),
        ),
    ],
)
def test_each_kind_of_source(text: str, expected: tuple[str, SourceKind, str]) -> None:
    assert attribute(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The bridge reopened on Monday.",  # the outlet's own voice
        "The figures could not be independently verified.",
        "The claim has not been verified.",
        f"{LQ}We never sold them anything.{RQ}",  # a quotation naming nobody
        '"We said it before and we say it again: no."',  # cues inside a quotation
        "'We never denied it.'",
        f"{LQ}The plan, as we said, is dead.",  # a quotation going on past the claim
        "He was denied entry at the border.",  # a passive with no agent
        "The newspaper's claims spread quickly.",  # an owner, not a speaker
        "The council shut down the pool for repairs.",  # an act, not a stance
        "The firm added to its losses in March.",
        "Ferries are said to be running late.",  # hearsay without a speaker
    ],
)
def test_null_when_nobody_in_the_sentence_makes_the_move(text: str) -> None:
    assert attribute(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Piet Valk, the trade minister, said the tariff would stay.",
            ("Piet Valk", SourceKind.PERSON, "said"),
        ),
        (
            "The minister, who took office in May, said the tariff would stay.",
            ("The minister", SourceKind.ROLE, "said"),
        ),
        (
            "The harbour master, 61, has repeatedly denied any wrongdoing.",
            ("The harbour master", SourceKind.ROLE, "denied"),
        ),
    ],
)
def test_appositives_and_relative_clauses_are_dropped(
    text: str, expected: tuple[str, SourceKind, str]
) -> None:
    assert attribute(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "According to the newspaper, the plant will close.",
            ("the newspaper", SourceKind.ORGANISATION, "According to"),
        ),
        (
            "The plant will close, according to people familiar with the plans.",
            ("people familiar with the plans", SourceKind.UNNAMED, "according to"),
        ),
        (
            "The plant will close next year, according to Mira Holt.",
            ("Mira Holt", SourceKind.PERSON, "according to"),
        ),
    ],
)
def test_according_to_takes_the_phrase_after_it(
    text: str, expected: tuple[str, SourceKind, str]
) -> None:
    assert attribute(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '"We have no plans to sell," said the minister.',
            ("the minister", SourceKind.ROLE, "said"),
        ),
        (
            f"{LQ}Nothing was signed,{RQ} said Mira Holt, the agency's director.",
            ("Mira Holt", SourceKind.PERSON, "said"),
        ),
        (
            "The ferries will sail, said a harbour spokeswoman.",
            ("a harbour spokeswoman", SourceKind.ROLE, "said"),
        ),
        ('"Nothing was signed," she said.', ("she", SourceKind.PRONOUN, "said")),
    ],
)
def test_a_source_after_its_cue(text: str, expected: tuple[str, SourceKind, str]) -> None:
    assert attribute(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She laughed off suggestions of a rift.", ("She", SourceKind.PRONOUN, "laughed off")),
        (
            "The opposition hit out at the budget.",
            ("The opposition", SourceKind.ROLE, "hit out at"),
        ),
        (
            "The mayor shut down speculation about a merger.",
            ("The mayor", SourceKind.ROLE, "shut down"),
        ),
        (
            "The regulator ruled out a fine.",
            ("The regulator", SourceKind.ORGANISATION, "ruled out"),
        ),
        (
            "Mira Holt has since cast doubt on the figures.",
            ("Mira Holt", SourceKind.PERSON, "cast doubt on"),
        ),
    ],
)
def test_particle_verbs_keep_their_particles_not_their_objects(
    text: str, expected: tuple[str, SourceKind, str]
) -> None:
    assert attribute(text) == expected


def test_in_a_statement_only_when_nothing_else_attributes() -> None:
    assert attribute("In a statement, the ministry called the report baseless.") == (
        "the ministry",
        SourceKind.ORGANISATION,
        "In a statement",
    )
    assert attribute("The ministry, in a statement, called the report baseless.") == (
        "The ministry",
        SourceKind.ORGANISATION,
        "in a statement",
    )
    assert attribute("The ministry said in a statement that the report was baseless.") == (
        "The ministry",
        SourceKind.ORGANISATION,
        "said",
    )


def test_the_move_that_decides_the_label_wins() -> None:
    text = "Port officials said the ministry denied any leak."
    assert attribute(text) == ("Port officials", SourceKind.ROLE, "said")
    assert attribute(text, Label.ASSERTION) == ("Port officials", SourceKind.ROLE, "said")
    assert attribute(text, Label.DENIAL) == ("the ministry", SourceKind.ORGANISATION, "denied")
    hedged = "Valk said the auditors conceded the count was incomplete."
    assert attribute(hedged, Label.CAVEAT) == ("the auditors", SourceKind.ROLE, "conceded")
    # With no denying cue, the main clause's speaker denies: the conventions' example.
    denial = "The minister said the newspaper's claim was false."
    assert attribute(denial, Label.DENIAL) == ("The minister", SourceKind.ROLE, "said")


def test_a_participle_reports_the_sentence_subject() -> None:
    text = "But Mira Holt later appeared to soften the claim, saying the count was early."
    assert attribute(text, Label.CAVEAT) == ("Mira Holt", SourceKind.PERSON, "saying")


def test_auxiliaries_adverbs_and_passive_agents() -> None:
    assert attribute("The club on Tuesday flatly denied the report.") == (
        "The club",
        SourceKind.ORGANISATION,
        "denied",
    )
    assert attribute("The report was confirmed by the harbour office.") == (
        "the harbour office",
        SourceKind.ORGANISATION,
        "confirmed",
    )
    assert attribute("Officials are saying the berth is safe.") == (
        "Officials",
        SourceKind.ROLE,
        "saying",
    )


def test_offsets_are_into_the_claim_and_shift_into_the_text() -> None:
    claim = "Ortiz said no offer had come."
    found = RULES.attribute_one(claim)
    assert found == Attribution(Source("Ortiz", 0, 5, SourceKind.PERSON), Span("said", 6, 10))
    shifted = found.shifted(100)
    text = " " * 100 + claim
    assert shifted.source is not None and shifted.cue is not None
    assert text[shifted.source.start : shifted.source.end] == "Ortiz"
    assert text[shifted.cue.start : shifted.cue.end] == "said"
    assert NO_ATTRIBUTION.shifted(100) == NO_ATTRIBUTION


def test_a_source_needs_its_cue() -> None:
    with pytest.raises(ValueError, match="both a source and a cue"):
        Attribution(Source("He", 0, 2, SourceKind.PRONOUN), None)


def test_batches_keep_order_and_labels() -> None:
    attributor: Attributor = RULES  # the seam a learned head will fill
    texts = ["The bridge reopened.", "Valk said it reopened.", "Ortiz denied it, Valk said."]
    found = attributor.attribute(texts, [Label.ASSERTION, Label.ASSERTION, Label.DENIAL])
    assert [a.cue.text if a.cue else None for a in found] == [None, "said", "denied"]
    with pytest.raises(ValueError):
        attributor.attribute(texts, [Label.DENIAL])


def test_kind_of_a_phrase_alone() -> None:
    assert source_kind("Officials", opens_sentence=True) is SourceKind.ROLE
    assert source_kind("Valk", opens_sentence=True) is SourceKind.PERSON
    assert source_kind("US officials") is SourceKind.ROLE
    assert source_kind("Acme Corp spokesman Jon Bell") is SourceKind.PERSON
    assert source_kind("the North's state broadcaster KBC") is SourceKind.ORGANISATION


@pytest.mark.parametrize("unit", ["said ", '" said ', "'a ", ", saying ", "Valk Holt ", "a, "])
def test_time_stays_linear_in_the_text(unit: str) -> None:
    # Hostile claims (one "sentence" of 200,000 characters): well under a second each.
    text = unit * (200_000 // len(unit))
    started = time.perf_counter()
    RULES.attribute_one(text)
    assert time.perf_counter() - started < 1.0
