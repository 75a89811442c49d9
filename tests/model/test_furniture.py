"""Page furniture yields no claim; news sentences that look like it keep theirs.

The furniture lines come from many page layouts: newsletter boxes and share bars of
news sites, navigation and breadcrumbs, tabloid captions, agency photo credits, blog
sign-offs and acronym glosses; most are copied from the FNC-1 articles.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.claims import extract_claims
from model.furniture import is_furniture_line, is_furniture_sentence

CLAIM = "Moscow denied the reports at the time."

FURNITURE = [
    # calls to action
    "Subscribe to our newsletter.",
    "Subscribe now!",
    "Sign up for our newsletter here.",
    "Sign up to receive our daily briefing in your inbox.",
    "Click here to sign up for TechFlash, the free daily email newsletter.",
    "Click here to watch the video.",
    "CLICK HERE TO SEE THE VIDEO.",
    "Click below to see some cute animals who got along much better than these owls",
    "Follow us on Twitter",
    "Follow Reuters on Twitter.",
    "—— >> Follow Evan McMurry (@evanmcmurry) on Twitter",
    "Follow the rest of our March 2015 event coverage for the latest Apple Watch information.",
    "Like us on Facebook",
    "Check out HuffPost Weddings on Facebook, Twitter and Pinterest.",
    "Keep in touch!",
    "Stay tuned for updates.",
    "Join the conversation on Twitter.",
    "Download our free app.",
    "Share your thoughts in the comments section below.",
    "Let us know in the comments.",
    "Continue reading.",
    "Scroll down for video",
    "Get the latest headlines delivered to your inbox.",
    "Sponsored links",
    "H/T BuzzFeed",
    "(Via)",
    "This article originally appeared on Slate and was republished with permission.",
    # share bars and navigation
    "Share this article | Facebook | Twitter | Email",
    "Home | World | Sport",
    "News > World > Europe",
    "Home » Politics » Elections",
    "Like Us On Facebook | Follow Us On Twitter | Contact The Author",
    "Facebook • Twitter • WhatsApp • Email",
    # related-link teasers
    "MORE: Sisters kicked out of Cambodia over 'porn shoot' at sacred temple",
    "READ: Who's Haider al-Abadi, the man who will lead Iraq?",
    "WATCH: White House Fence Jumper Arrested",
    "Related roundup: Apple Watch , Tag: March 2015 event",
    "Tags: Apple, iPhone, rumours",
    # photo credits
    "[Image via Nikola Spasenoski / Shutterstock.com]",
    "(AP Photo/Felix Marquez)",
    "Photo by Neilson Barnard/Getty Images for Disney",
    "AFP/Getty Images",
    "Rick Wilking / Reuters",
    "Image courtesy of NASA",
    # captions
    "Lebanese soldiers are pictured here patrolling the area",
    "Tribute: flowers, candles and a placard are displayed in Paris (Picture: Reuters)",
    "Lover: Zhang Hung (left) visited Fan (right) in hospital",
    "Khairullah Khairkhwa (left) and Abdul Haq Wasiq (right)",
    "MOCK: Former Sydney resident Mohamed Elomar took to Twitter [FACEBOOK]",
    "Getty Murderer: The lonely female owl killed her mate",
    "Pictured: the damaged pipeline near Riyadh",
    "(ABOVE: A mugshot claiming to have been taken by London Police today)",
    # glosses
    "ISIL stands for Islamic State of Iraq and the Levant.",
    "KCNA is short for Korean Central News Agency.",
    "CPWD: Central Public Works Department",
    "(KCNA = Korean Central News Agency)",
]

LOOKALIKES = [
    # News about the same words, written as news.
    "More than 200 people signed up for the march on Sunday.",
    "Share prices fell 3% in early trading.",
    "Follow-up talks will be held in Geneva next week.",
    "Like us, the French government has refused to pay ransoms.",
    "Click Here, the studio's first film, opened in 2014.",
    "Police said the photo was taken in 2013.",
    "Subscribers were told the service would end in March.",
    "The newsletter said the company would cut 1,000 jobs.",
    "Twitter said the account had been suspended.",
    "He asked readers to share the video, which has been viewed a million times.",
    "Facebook, Twitter and YouTube removed the footage on Tuesday.",
    "The mayor is pictured in a photo released on Monday.",
    "Update: False alarm!",
    "Poland: Some birds want the whole package.",
    "ISIS, also known as ISIL, seized Mosul in June.",
    "The CPWD dismissed him for unauthorised absence.",
    "Getty Images said it had licensed the photograph to 40 outlets.",
    "The Syrian Observatory for Human Rights says militants were killed in Al-Bukamal",
]


@pytest.mark.parametrize("line", FURNITURE)
def test_furniture_line_yields_no_claim(line: str) -> None:
    assert is_furniture_line(line), line
    raw = f"{CLAIM}\n\n{line}\n\nKirby said there was no evidence."
    claims = [claim.text for claim in extract_claims(raw).claims]
    assert claims == [CLAIM, "Kirby said there was no evidence."], claims


@pytest.mark.parametrize("line", LOOKALIKES)
def test_news_that_looks_like_furniture_is_kept(line: str) -> None:
    assert not is_furniture_line(line), line
    raw = f"{CLAIM}\n\n{line}"
    assert [claim.text for claim in extract_claims(raw).claims][1:] == [line]


def test_a_label_and_colon_opening_the_page_is_its_headline_not_a_caption() -> None:
    headline = "Pyongyang: All just rumors: North Korea denies arms deliveries to Moscow"
    assert [claim.text for claim in extract_claims(f"{headline}\n\n{CLAIM}").claims] == [
        headline,
        CLAIM,
    ]
    # Further down the page the same form is a tabloid caption's label.
    assert extract_claims(f"{CLAIM}\n\n{headline}").claims[1:] == []


def test_a_call_to_action_inside_a_paragraph_goes_alone() -> None:
    raw = f"{CLAIM} Sign up for our newsletter here. Kirby said there was no evidence."
    assert [claim.text for claim in extract_claims(raw).claims] == [
        CLAIM,
        "Kirby said there was no evidence.",
    ]
    assert is_furniture_sentence("Sign up for our newsletter here.")
    assert not is_furniture_sentence(CLAIM)


def test_a_paragraph_ending_in_a_glued_credit_keeps_its_sentences() -> None:
    raw = (
        "Relatives marched to protest the disappearance of 43 students. Authorities said "
        "police were working with a local drug gang. (AP Photo/Eduardo Verdugo)"
    )
    assert [claim.text for claim in extract_claims(raw).claims] == [
        "Relatives marched to protest the disappearance of 43 students.",
        "Authorities said police were working with a local drug gang.",
    ]


def test_a_calls_to_action_sentence_of_news_length_is_news() -> None:
    sentence = (
        "Sign up forms for the new health insurance exchanges were taken down on Friday after "
        "officials found that thousands of applications had been lost, the department said in "
        "a statement released late on Thursday night."
    )
    assert not is_furniture_sentence(sentence)


def test_extraction_of_the_five_examples_is_unchanged(
    example_articles: dict[str, str],
) -> None:
    # The hand-made groups of the examples name every claim they use by its text: none
    # of them is furniture, so the furniture rules must leave them all in place.
    groups = json.loads(
        (Path(__file__).resolve().parents[1] / "fixtures" / "example_groups.json").read_text(
            encoding="utf-8"
        )
    )
    extracted = {
        stem: {claim.text for claim in extract_claims(raw).claims}
        for stem, raw in example_articles.items()
    }
    for group in groups:
        for member in group["members"]:
            assert member["text"] in extracted[member["document"]], member
