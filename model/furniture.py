"""Page furniture that survives cleaning: lines and sentences that carry no claim.

``model.claims`` already drops copyright lines, "Read more", comment forms, bylines,
datelines and stray labels. These rules add what a scraped page still brings along and
what users pasted as claims in practice ("Subscribe to our newsletter." came back as an
assertion at 0.79):

- calls to action: subscribe, sign up, follow us, share this, click here, download the app;
- share bars and navigation: "Share this article | Facebook | Twitter | Email",
  "Home | World | Sport", "News > World > Europe";
- related-link teasers: "MORE: ...", "READ: ...", "Related roundup: ...", "Tags: ...";
- photo credits: "[Image via X / Shutterstock.com]", "Photo by X/AP", "AFP/Getty Images";
- captions: a line that does not end like a sentence and reads as one ("Lebanese soldiers are
  pictured here patrolling the area", "Tribute: flowers ... (Picture: Reuters)",
  "Lover: Zhang (left) visited Fan (right) in hospital");
- glosses: a line or sentence that only spells out a name ("ISIL stands for ...",
  "CPWD: Central Public Works Department").

Every rule needs a cue that running prose does not have (a separator bar, a credit, an
imperative aimed at the reader, a caption label with no full stop), so a sentence of news
stays: ``tests/model/test_furniture.py`` pins both sides.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")
_LEADING_JUNK = re.compile(r"^[\W_]*")

# --- calls to action ------------------------------------------------------------------

# An imperative aimed at the reader, spelt out with what it points at: "Follow the money",
# "Like us, the French ..." and "Share prices fell" are not calls to action.
_SOCIAL = (
    r"(?:facebook|twitter|x|instagram|pinterest|youtube|linkedin|whatsapp|tiktok|snapchat|"
    r"reddit|telegram|threads|bluesky|flipboard)"
)
_CALL_TO_ACTION = re.compile(
    "|".join(
        (
            r"subscribe\b(?:\s+(?:to|for|now|today|here)\b|\W*$)",
            r"sign(?:\s|-)?up\b.{0,60}\b(?:newsletters?|alerts|updates|e-?mails?|inbox|"
            r"here|now|free|today)\b",
            rf"(?:follow|find|join|like|friend)\s+(?:us|me|[A-Z][\w.]*(?:\s+[A-Z][\w.]*){{0,2}}"
            rf"(?:\s+\(@\w+\))?|@\w+)\s+on\s+{_SOCIAL}\b",
            r"follow (?:the rest of |all of )?(?:our|the latest|live)\b",
            r"join (?:us|our|the (?:conversation|discussion|debate))\b",
            r"(?:download|get|install) (?:our|the)(?: free| new)? (?:[\w-]+ )?apps?\b",
            r"(?:click|tap|press)\s+(?:here|below|above|on the|the link|this link|to (?:see|"
            r"read|watch|view|share|subscribe|continue|enlarge|play))\b(?!,)",
            r"share (?:this|on|via|the (?:article|story|post|video)|your (?:thoughts|views))\b",
            rf"check out\b.{{0,60}}\bon\s+{_SOCIAL}\b",
            r"keep in touch\b",
            r"stay (?:tuned|connected|in touch|up to date|informed)\b",
            r"get (?:our|the latest|breaking news|free|daily|weekly|more)\b.{0,60}\b"
            r"(?:newsletters?|inbox|e-?mails?|alerts|updates|app)\b",
            r"(?:continue|keep) reading\b",
            r"scroll (?:down|up)\b",
            r"(?:email|e-mail|print|tweet|save|bookmark) (?:this|the) (?:article|story|page|post)\b",
            r"(?:tell|let) us (?:what you think|know)\b",
            r"(?:don['\u2019]t|never) miss (?:a|an|our|the)\b.{0,40}\b(?:story|update|newsletter|"
            r"episode|thing)\b",
        )
    ),
    re.I,
)
# Calls to action are short; a 30-word sentence opening with "Sign up" is news about it.
_CTA_MAX_WORDS = 30
# A call to action must point somewhere unless it is one of these stock lines.
_CTA_ALONE = re.compile(
    r"^(?:keep in touch|stay tuned|subscribe(?: now)?|sign up(?: now)?|share(?: this)?|"
    r"tweet(?: this)?|e-?mail(?: this)?|print(?: this)?|follow us|like us|comments?|"
    r"sponsored(?: links?| content)?|h/t\b.*|hat tip\b.*|\(?via\)?(?:\s*:.*)?|"
    r"this (?:article|story) (?:originally )?appeared (?:on|in)\b.*)\W*$",
    re.I,
)

# --- bars, teasers, credits, captions, glosses -------------------------------------------

# "Home | World | Sport", "Share this article | Facebook | Twitter | Email", "News > World".
_BAR_SEPARATOR = re.compile(r"\s*(?:\||\u2022|\u00bb|\u203a|>|\u00b7|/)\s*")
_BAR_ITEM_WORDS = 6
# "MORE: ...", "READ MORE: ...", "WATCH: ...", "Related roundup: ...", "Tags: ...".
_TEASER = re.compile(
    r"^(?:more|read|read more|watch|watch more|see|see also|related|related roundup|"
    r"related links?|related stories|recommended|tags?|topics?|trending|popular|"
    r"most (?:read|popular|shared))\s*:",
    re.I,
)
_CREDIT_AGENCIES = (
    r"(?:getty(?: images)?|shutterstock(?:\.com)?|ap(?: photos?)?|afp|reuters|epa|alamy|"
    r"rex(?: features)?|pa(?: wire)?|istock(?:photo)?|corbis|bloomberg|xinhua|yonhap|"
    r"facebook|twitter|instagram|youtube)"
)
_CREDIT = re.compile(
    rf"^(?:(?:image|photo|picture|pic|photograph|video|graphic|illustration)s?\s+"
    rf"(?:via|by|courtesy(?: of)?|credit|from)\b.*|(?:[\w.' -]{{0,40}}/\s*)?{_CREDIT_AGENCIES}"
    rf"(?:\s*/\s*[\w.' -]{{1,40}})?)\W*$",
    re.I,
)
# A caption's own credit at its end: "(Picture: Reuters)", "[FACEBOOK]", "(AP Photo/X)".
_TRAILING_CREDIT = re.compile(
    r"(?:\((?:picture|photo|image|pic|photograph|credit)s?\s*:[^)]*\)|"
    rf"\(\s*{_CREDIT_AGENCIES}\b[^)]*\)|(?-i:\[[A-Z][A-Z ]+\])|\[[^\]]*\b{_CREDIT_AGENCIES}\b[^\]]*\])"
    r"\W*$",
    re.I,
)
# A credit is a few words at the line's end, so only the line's last this many characters
# are searched for one. Searched whole, a line of unclosed brackets ("[x AP [x AP ...")
# cost time growing with the square of its length (every bracket scans to the end): 34 s
# for 20,000 characters, inside one regex call that the service's time budget cannot stop.
_CREDIT_TAIL_CHARS = 200
# Caption cues in a line that does not end like a sentence.
_CAPTION_CUE = re.compile(
    r"^\(?\s*(?:pictured|above|below|left|right|top|bottom|inset|main image|caption|"
    r"file photo)\s*[:,-]|\b(?:is|are|was|were) (?:pictured|seen|shown) (?:here|above|below|"
    r"left|right)\b|\((?:left|right|centre|center|above|below|pictured|inset|top|bottom)\)",
    re.I,
)
# "Lover: Zhang Hung visited Fan in hospital" with no full stop: a tabloid caption's label.
_CAPTION_LABEL = re.compile(r"^(?:Getty\s*)?[A-Z][a-z]+(?: [a-z]+)?:\s+\S")
_GETTY_GLUED = re.compile(r"^Getty(?=[A-Z])")
_INNER_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)]*\s+\S")
_CAPTION_MAX_WORDS = 60
# "ISIL stands for ...", "CPWD: Central Public Works Department", "(KCNA = Korean ...)".
_NAME_GLOSS = re.compile(
    r"^\(?\s*[A-Z][A-Za-z.&-]{1,11}\)?\s+(?:stands for|is short for|is an? (?:acronym|"
    r"abbreviation|initialism) (?:for|of)|is the (?:acronym|abbreviation) (?:for|of))\b",
)
_ACRONYM_EXPANSION = re.compile(
    r"^\(?\s*[A-Z]{2,8}s?\s*(?::|=|\u2013|\u2014| - )\s*(?:the\s+)?[A-Z][\w'&.-]*"
    r"(?:\s+(?:of|for|and|the|de|on|in|[A-Z][\w'&.-]*)){1,9}\s*\)?\.?$"
)


def _is_bar(line: str) -> bool:
    items = [item for item in _BAR_SEPARATOR.split(line) if item]
    separators = len(_BAR_SEPARATOR.findall(line))
    if separators < 2 or len(items) < 3:
        return False
    # A URL or a date is not a bar; every item short and none a sentence is.
    return (
        all(
            len(item.split()) <= _BAR_ITEM_WORDS and _SENTENCE_END.search(item) is None
            for item in items
        )
        and "://" not in line
    )


def _is_caption(line: str, *, headline: bool = False) -> bool:
    """A photo caption: one sentence with its credit, or with caption cues and no full stop.

    A caption is a single unit; a paragraph that ends in a credit glued on by the scraper
    keeps its sentences (the credit alone goes, as a sentence).
    """
    credit = _TRAILING_CREDIT.search(line, max(0, len(line) - _CREDIT_TAIL_CHARS))
    text = line[: credit.start()].strip() if credit is not None else line
    if len(text.split()) > _CAPTION_MAX_WORDS or _INNER_SENTENCE_END.search(text) is not None:
        return False
    if credit is not None:
        return True
    if _SENTENCE_END.search(text) is not None:
        return False
    # A page's first line is its headline, and "Pyongyang: All just rumours: ..." is a
    # headline with a place label, not a caption's.
    return (
        _CAPTION_CUE.search(text) is not None
        or (not headline and _CAPTION_LABEL.match(text) is not None)
        or _GETTY_GLUED.match(text) is not None
    )


def is_furniture_sentence(sentence: str) -> bool:
    """A sentence that carries no claim wherever it stands: a call to action, a credit or a
    gloss."""
    text = _LEADING_JUNK.sub("", sentence.strip())
    if not text:
        return False
    return (
        _CTA_ALONE.match(text) is not None
        or _CREDIT.match(text.strip("[]() ")) is not None
        or _is_call_to_action(text)
        or _NAME_GLOSS.match(text) is not None
        or _ACRONYM_EXPANSION.match(text) is not None
    )


def _is_call_to_action(text: str) -> bool:
    return len(text.split()) <= _CTA_MAX_WORDS and _CALL_TO_ACTION.match(text) is not None


def is_furniture_line(line: str, *, headline: bool = False) -> bool:
    """A whole line of page furniture: bars, teasers, credits, captions, calls to action.

    ``headline``: the line opens the page, so a "Label: ..." form is its headline's.
    """
    text = _LEADING_JUNK.sub("", line.strip())
    if not text:
        return False
    return (
        _is_bar(text)
        or _TEASER.match(text) is not None
        or _is_caption(text, headline=headline)
        or is_furniture_sentence(text)
    )
