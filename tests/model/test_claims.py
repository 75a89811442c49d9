from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from model.claims import Claim, ExtractedText, clean_text, extract_claims
from model.labels import Label

REPO_ROOT = Path(__file__).resolve().parents[2]
GOLD_CSV = REPO_ROOT / "training" / "corpus" / "annotations" / "examples_gold.csv"
GROUPS_JSON = REPO_ROOT / "tests" / "fixtures" / "example_groups.json"

# Sentences each outlet carries, as extraction must return them.
KNOWN_CLAIMS: dict[str, tuple[str, ...]] = {
    "000_02f8aed9f8ee2673": (
        "US officials had said Russia was in the process of purchasing rockets and artillery "
        "shells from North Korea.",
        "Moscow denied the reports at the time.",
        "On Thursday, in a statement carried by North Korean state media KCNA, an unnamed "
        "official at North Korea's defence ministry said: \"We have never exported weapons or "
        'ammunition to Russia before and we will not plan to export them."',
        "But National Security Council spokesman John Kirby later appeared to caveat that "
        "statement, by saying the purchases had not yet been completed and there was no evidence "
        "to suggest the weapons would be used in the Ukraine war.",
        "Iran has denied delivering weapons.",
    ),
    "001_cdb6142d3699c4d1": (
        "North Korea denies helping Russia replenish its weapon stocks",
        '"We have never exported weapons or ammunition to Russia before and we will not plan to '
        "export them,\" an official at the Defence Ministry's General Bureau of Equipment said in "
        "a statement on Thursday carried by the official Korean Central News Agency (KCNA).",
        "However, citing declassified US intelligence, he stressed at the time that the purchases "
        "were not yet completed and that there was no indication the weapons were being used in "
        "Ukraine.",
    ),
    "002_cf7a61948d7c4840": (
        "Moscow denied the reports at that time.",
        "But National Security Council spokesperson John Kirby later appeared to caveat that "
        "statement, saying the purchases had not yet been completed and there was no evidence to "
        "suggest the weapons would be used in the Ukraine war.",
        "Iran denied delivering weapons",
        "North Korea has also said that it will deepen its \u201ccomrade friendship\u201d with "
        "Moscow.",
    ),
    "003_4a64d65ff45e9120": (
        '"We warn the U.S. to stop making reckless remarks."',
        "The North Korean denial comes weeks after Moscow described the US intelligence finding "
        'as "fake".',
        "The U.N. Security Council sanctions ban North Korea from exporting or importing weapons.",
    ),
    "004_813e1fd6a0543539": (
        "He stressed that the United States had no evidence that such purchases had actually "
        "taken place.",
        "The government in Pyongyang denies and speaks of rumors.",
    ),
}

EXAMPLE_STEMS = tuple(KNOWN_CLAIMS)

# Page furniture in each file that must not reach any claim.
BOILERPLATE: dict[str, tuple[str, ...]] = {
    "000_02f8aed9f8ee2673": (
        "2022 BBC",
        "not responsible for the content of external sites",
        "external linking",
        "ssrcss",
        "<",
        "\u00c2",
    ),
    "001_cdb6142d3699c4d1": ("READ MORE", "AP Archive", "Route 6", "Russia facing problems"),
    "002_cf7a61948d7c4840": (
        "Leave a Reply",
        "Your email address will not be published",
        "Required fields",
    ),
    "003_4a64d65ff45e9120": ("KEY POINTS", "\u2022", "KCNA VIA KNS", "AFP / STR"),
    "004_813e1fd6a0543539": ("source site-34", "site-34"),
}


def _assert_spans_exact(result: ExtractedText) -> None:
    previous_end = 0
    for claim in result.claims:
        assert result.text[claim.start : claim.end] == claim.text
        assert claim.text == claim.text.strip() and claim.text
        assert claim.start >= previous_end, "claims are in reading order and do not overlap"
        previous_end = claim.end


def test_all_examples_are_covered(example_articles: dict[str, str]) -> None:
    assert set(example_articles) == set(EXAMPLE_STEMS)


@pytest.mark.parametrize("stem", EXAMPLE_STEMS)
def test_example_spans_are_exact(example_articles: dict[str, str], stem: str) -> None:
    result = extract_claims(example_articles[stem])
    assert len(result.claims) >= 10
    _assert_spans_exact(result)


@pytest.mark.parametrize("stem", EXAMPLE_STEMS)
def test_example_known_claims_are_extracted(example_articles: dict[str, str], stem: str) -> None:
    texts = [claim.text for claim in extract_claims(example_articles[stem]).claims]
    for expected in KNOWN_CLAIMS[stem]:
        assert expected in texts


@pytest.mark.parametrize("stem", EXAMPLE_STEMS)
def test_example_boilerplate_is_dropped(example_articles: dict[str, str], stem: str) -> None:
    claims = extract_claims(example_articles[stem]).claims
    for junk in BOILERPLATE[stem]:
        assert not [claim.text for claim in claims if junk in claim.text], junk


def test_list_literal_page_is_joined_and_decoded(example_articles: dict[str, str]) -> None:
    text = clean_text(example_articles["000_02f8aed9f8ee2673"])
    assert not text.startswith("[")
    assert "<a " not in text and "</b>" not in text
    # The link text stays inside its sentence rather than becoming a fragment.
    assert "US officials had said Russia was in the process" in text
    # "Â©" is UTF-8 read as Latin-1; it is repaired, not kept.
    assert "\u00a9 2022 BBC" in text and "\u00c2" not in text
    assert text.count("\n\n") == 16


def test_doubled_headline_appears_once(example_articles: dict[str, str]) -> None:
    texts = [
        claim.text for claim in extract_claims(example_articles["002_cf7a61948d7c4840"]).claims
    ]
    assert texts.count("North Korea has denied supplying Russia with weapons") == 1


def test_repeated_captions_appear_once(example_articles: dict[str, str]) -> None:
    texts = [
        claim.text for claim in extract_claims(example_articles["001_cdb6142d3699c4d1"]).claims
    ]
    caption = '"We warn the US to stop making reckless remarks," North Korea says while emphasising'
    assert sum(text.startswith(caption) for text in texts) == 1
    texts = [
        claim.text for claim in extract_claims(example_articles["003_4a64d65ff45e9120"]).claims
    ]
    assert sum("two tactical guided missiles" in text for text in texts) == 1


def test_key_points_bullets_become_claims(example_articles: dict[str, str]) -> None:
    texts = [
        claim.text for claim in extract_claims(example_articles["003_4a64d65ff45e9120"]).claims
    ]
    assert texts[:3] == [
        'Under pressure from the U.S., most countries are "treading carefully" in dealing with '
        "Russia",
        "Kyiv continues to receive billions of dollars worth of western military equipment",
        "North Korea has been seeking to strengthen its relations with Russia",
    ]


def test_abbreviations_and_initials_do_not_split() -> None:
    raw = (
        "The U.S. said Russia was buying shells from North Korea. "
        "John F. Kennedy met Dr. J. R. Smith at 5 p.m. in Washington, D.C. on Monday. "
        "Moscow denied it."
    )
    texts = [claim.text for claim in extract_claims(raw).claims]
    assert texts == [
        "The U.S. said Russia was buying shells from North Korea.",
        "John F. Kennedy met Dr. J. R. Smith at 5 p.m. in Washington, D.C. on Monday.",
        "Moscow denied it.",
    ]


def test_quoted_sentence_stays_with_its_attribution() -> None:
    raw = 'An official said: "We have never exported weapons." It accused the U.S. of lying.'
    texts = [claim.text for claim in extract_claims(raw).claims]
    assert texts == [
        'An official said: "We have never exported weapons."',
        "It accused the U.S. of lying.",
    ]


def test_bullet_lines_become_claims_without_the_bullet() -> None:
    raw = "Officials said:\n- Russia bought shells.\n* Moscow denied it.\n\u2022 Kirby hedged."
    result = extract_claims(raw)
    _assert_spans_exact(result)
    assert [claim.text for claim in result.claims] == [
        "Officials said:",
        "Russia bought shells.",
        "Moscow denied it.",
        "Kirby hedged.",
    ]


def test_plain_sentence_is_one_claim() -> None:
    raw = "Moscow denied the reports at the time."
    assert extract_claims(raw) == ExtractedText(text=raw, claims=[Claim(raw, 0, len(raw))])


def test_unsegmented_text_is_one_claim(example_articles: dict[str, str]) -> None:
    result = extract_claims(example_articles["004_813e1fd6a0543539"], segment=False)
    assert len(result.claims) == 1
    assert result.claims[0] == Claim(result.text, 0, len(result.text))


@pytest.mark.parametrize("raw", ["", "   ", "\n\n\t \n", "<p>  </p>", "['', ' ']"])
@pytest.mark.parametrize("segment", [True, False])
def test_empty_input_has_no_claims(raw: str, segment: bool) -> None:
    result = extract_claims(raw, segment=segment)
    assert result.text == ""
    assert result.claims == []


def test_html_markup_and_entities_are_removed() -> None:
    raw = (
        "<html><head><style>p {color: red}</style></head><body>"
        "<h1>Russia is buying North Korean shells</h1>"
        "<p>By John Smith</p><p>Published 12 September 2022</p>"
        "<p>The U.S. said Russia was buying shells &amp; rockets from "
        "<a href='https://example.com'>North Korea</a>.&nbsp;Moscow denied it.</p>"
        "<script>var tracking = 1;</script>"
        "<p>Photo: Getty Images</p><p>&copy; 2022 Example Ltd. All rights reserved.</p>"
        "</body></html>"
    )
    result = extract_claims(raw)
    _assert_spans_exact(result)
    assert "color: red" not in result.text and "tracking" not in result.text
    assert [claim.text for claim in result.claims] == [
        "Russia is buying North Korean shells",
        "The U.S. said Russia was buying shells & rockets from North Korea.",
        "Moscow denied it.",
    ]


def test_list_literal_is_never_executed() -> None:
    raw = "[__import__('os').system('echo pwned')]"
    # Not a literal, so it is treated as ordinary text rather than evaluated.
    assert clean_text(raw) == raw


@pytest.mark.parametrize(
    "junk",
    [
        "Copyright 2022 Example Media",
        "\u00a9 Example Media 2022",
        "All material Example Ltd. All rights reserved.",
        "Read more: Russia to buy rockets",
        "Published: Sept. 23, 2022 at 5:03 a.m.",
        "Updated on 12 September",
        "Photo: Jane Doe/Example",
        "(Reuters)",
        "Getty Images",
        "Name*",
        "Save my name, email, and website in this browser for the next time I comment.",
    ],
)
def test_boilerplate_lines_are_dropped(junk: str) -> None:
    raw = f"Moscow denied the reports.\n{junk}"
    assert [claim.text for claim in extract_claims(raw).claims] == ["Moscow denied the reports."]


@pytest.mark.parametrize(
    "sentence",
    [
        "Copyright lawyers said the reports were false.",
        "Published reports said Russia was buying shells.",
        "Updated figures show the purchases were not completed.",
        "Iran denied it",
    ],
)
def test_boilerplate_lookalikes_are_kept(sentence: str) -> None:
    assert [claim.text for claim in extract_claims(sentence).claims] == [sentence]


def test_sentence_starting_with_by_is_not_a_byline() -> None:
    raw = "By Jane Doe and Ali Khan, Reuters\nBy Thursday, Russia had bought the shells."
    assert [claim.text for claim in extract_claims(raw).claims] == [
        "By Thursday, Russia had bought the shells."
    ]


def test_agency_dateline_is_left_out_of_the_claim() -> None:
    raw = "SEOUL, Sept 22 (Reuters) - North Korea denied selling arms to Russia."
    result = extract_claims(raw)
    _assert_spans_exact(result)
    assert [claim.text for claim in result.claims] == ["North Korea denied selling arms to Russia."]


def test_hard_wrapped_prose_is_rejoined() -> None:
    raw = (
        "US officials said Russia was buying rockets\nand shells from Pyongyang.\nMoscow denied it."
    )
    assert [claim.text for claim in extract_claims(raw).claims] == [
        "US officials said Russia was buying rockets and shells from Pyongyang.",
        "Moscow denied it.",
    ]


def _extracted(example_articles: dict[str, str]) -> dict[str, list[str]]:
    return {
        stem: [claim.text for claim in extract_claims(raw).claims]
        for stem, raw in example_articles.items()
    }


def test_gold_labels_cover_exactly_the_extracted_claims(example_articles: dict[str, str]) -> None:
    # The gold file was labelled from this extractor's output; a change to the
    # extractor that moves a sentence boundary must come with a relabel.
    with GOLD_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    labelled: dict[str, list[str]] = {}
    for row in rows:
        Label.parse(row["label"])
        labelled.setdefault(row["document"], []).append(row["text"])
    assert labelled == _extracted(example_articles)


def test_group_fixture_matches_extracted_claims(example_articles: dict[str, str]) -> None:
    extracted = _extracted(example_articles)
    groups = json.loads(GROUPS_JSON.read_text(encoding="utf-8"))
    seen: set[tuple[str, str]] = set()
    for group in groups:
        members = [(member["document"], member["text"]) for member in group["members"]]
        assert len({document for document, _ in members}) >= 2, group["name"]
        for document, text in members:
            assert text in extracted[document], (group["name"], text)
            assert (document, text) not in seen, "a claim belongs to one group at most"
            seen.add((document, text))
    assert len({group["name"] for group in groups}) == len(groups)


def test_claim_before_a_copyright_notice_on_one_line_is_kept() -> None:
    extracted = extract_claims("Kirby said there was no evidence. © 2022 BBC. All rights reserved.")
    assert [c.text for c in extracted.claims] == ["Kirby said there was no evidence."]
    assert extract_claims("2022 The Associated Press. All rights reserved.").claims == []
