"""Text, HTML or scraped pages -> claims with exact character spans.

``clean_text`` turns whatever a scraper handed us into plain text: a Python-list
literal of HTML fragments becomes paragraphs, markup is stripped, entities are
decoded, mojibake is repaired and whitespace normalised, keeping each paragraph,
headline, caption or bullet on a line of its own with a blank line between
paragraphs. ``extract_claims`` walks those lines, drops page furniture that
carries no claim (copyright lines, "Read more", comment forms, bylines, credits,
repeated captions and headlines, stray labels; and, in ``model.furniture``, calls to
action, share bars, navigation, teasers, captions and glosses) and splits the rest into
sentences with pysbd. Every claim is a span of the cleaned text, so callers can
highlight it in place.

Everything here is rule-based and runs per call without I/O; the pysbd
segmenter is the only costly object and is built on first use.
"""

from __future__ import annotations

import ast
import html
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import ftfy
import pysbd
from bs4 import BeautifulSoup, CData, NavigableString, PageElement, Tag

from model.furniture import is_furniture_line, is_furniture_sentence

# Called between steps of the work; raises to stop it (the service's time budget).
Checkpoint = Callable[[], None]


@dataclass(frozen=True, slots=True)
class Claim:
    text: str
    start: int  # offset into ExtractedText.text
    end: int  # ExtractedText.text[start:end] == text


@dataclass(frozen=True, slots=True)
class ExtractedText:
    text: str  # the cleaned input text (markup stripped, entities decoded)
    claims: list[Claim]


# --- cleaning -----------------------------------------------------------------

# Only treat input as markup when it has something tag-like; running a plain
# sentence such as "a<b and c>d" through an HTML parser would eat text.
_MARKUP = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?>|<!--")
_TEXT_STRINGS = (NavigableString, CData)
_DROPPED_TAGS = ("script", "style", "noscript", "template", "head", "svg", "iframe")
# Block-level tags end a paragraph; inline ones (<a>, <b>, <span>) must not, or
# a linked phrase would be cut out of its sentence.
_BLOCK_TAGS = (
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
)  # fmt: skip
# Entities are decoded before ftfy runs, so ftfy must not decode them again
# ("&amp;lt;" would become "<"); curly quotes are kept as the outlet wrote them.
_FTFY_CONFIG = ftfy.TextFixerConfig(unescape_html=False, uncurl_quotes=False, explain=False)
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_INLINE_SPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Bullet characters: • · ▪ ◦ ‣ ● * - and the en and em dashes.
_BULLET = re.compile(r"[\u2022\u00b7\u25aa\u25e6\u2023\u25cf*\-\u2013\u2014]\s+")
# A line ending in one of these runs on into the next (a hard wrap).
_SOFT_ENDS = frozenset(",;(")
_LINE = re.compile(r"[^\n]+")


def _list_literal_fragments(raw: str) -> list[str] | None:
    """The fragments of a page stored as the repr of a list of strings, else None."""
    stripped = raw.strip()
    if not (stripped.startswith("[") and stripped.endswith("]")):
        return None
    try:
        # literal_eval only builds literals, so a hostile page cannot run code.
        value = ast.literal_eval(stripped)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return list(value)
    return None


def _drop_comments(markup: str) -> str:
    """``markup`` without its HTML comments; an unclosed one runs to the end, as in a browser.

    html.parser looks for the end of every unclosed ``<!--`` from where it starts, so
    ``"<!--" * n`` cost time growing with the square of n; one forward scan here does not.
    """
    if "<!--" not in markup:
        return markup
    pieces: list[str] = []
    position = 0
    while (start := markup.find("<!--", position)) != -1:
        pieces.append(markup[position:start])
        # From start + 2, so the empty comments "<!-->" and "<!--->" close themselves.
        end = markup.find("-->", start + 2)
        position = len(markup) if end == -1 else end + 3
    pieces.append(markup[position:])
    return "".join(pieces)


def _strip_markup(markup: str) -> str:
    """The text of ``markup`` with its block tags as paragraph breaks and ``<br>`` as a newline.

    One walk over the tree, written out rather than edited in place: inserting the breaks
    into the tree costs a walk to the end of each tag's subtree, so ``"<p>" * n`` (every
    tag inside the one before) took time growing with the square of n.
    """
    soup = BeautifulSoup(_drop_comments(markup), "html.parser")
    pieces: list[str] = []
    # Children are pushed in reverse so they pop in document order; a block tag's
    # closing break is pushed beneath its children.
    stack: list[PageElement | str] = list(reversed(soup.contents))
    while stack:
        node = stack.pop()
        if isinstance(node, str) and not isinstance(node, NavigableString):
            pieces.append(node)  # a break pushed below
        elif isinstance(node, Tag):
            if node.name in _DROPPED_TAGS:
                continue
            if node.name == "br":
                pieces.append("\n")
                continue
            if node.name in _BLOCK_TAGS:
                pieces.append("\n\n")
                stack.append("\n\n")
            stack.extend(reversed(node.contents))
        elif type(node) in _TEXT_STRINGS:
            # What get_text() keeps: text and CDATA, not comments, doctypes or <rt> notes.
            pieces.append(str(node))
    return "".join(pieces)


def _normalise_whitespace(text: str) -> str:
    """One space between words, one line per paragraph, one blank line between paragraphs.

    Lines are kept because scraped pages put headlines, captions, credits and
    bullets on lines of their own, and the boilerplate rules work per line.
    Hard-wrapped prose is rejoined first so a sentence is not cut at a wrap.
    """
    # Each line is kept as its parts and joined once at the end: joining a wrap onto a
    # growing string made "A,\n" * n cost time growing with the square of n.
    lines: list[list[str]] = []
    for raw_line in _ZERO_WIDTH.sub("", text).split("\n"):
        line = _INLINE_SPACE.sub(" ", raw_line).strip()
        previous = lines[-1] if lines else []
        is_wrap = (
            line
            and previous
            and not _BULLET.match(line)
            and (line[0].islower() or previous[-1][-1] in _SOFT_ENDS)
        )
        if is_wrap:
            previous.append(line)
        else:
            lines.append([line] if line else [])
    joined = "\n".join(" ".join(parts) for parts in lines)
    return _BLANK_LINES.sub("\n\n", joined).strip()


def _decode(fragment: str) -> str:
    return _strip_markup(fragment) if _MARKUP.search(fragment) else html.unescape(fragment)


def _no_checkpoint() -> None:
    pass


def clean_text(raw: str, *, checkpoint: Checkpoint = _no_checkpoint) -> str:
    """Plain text from plain text, HTML, or a Python-list literal of HTML fragments.

    ``checkpoint`` is called between steps and between fragments, and may raise to stop
    the work (the service's time budget). Every step takes time linear in the input.
    """
    fragments = _list_literal_fragments(raw)
    # Fragments are decoded one by one: the parser would fold the blank line
    # joining two of them into one newline and merge their paragraphs.
    parts = fragments if fragments is not None else [raw]
    decoded = []
    for part in parts:
        checkpoint()
        decoded.append(_decode(part))
    checkpoint()
    # ftfy works a line at a time, some 15 us each: "<p>" * n leaves 4n empty lines, which
    # _normalise_whitespace would fold into one blank line anyway.
    text = _BLANK_LINES.sub("\n\n", "\n\n".join(decoded))
    text = ftfy.fix_text(text, _FTFY_CONFIG)
    checkpoint()
    return _normalise_whitespace(text)


# --- boilerplate ----------------------------------------------------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b"
)
_WEEKDAY = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\b"
# Each pattern is matched at the start of a line and of a sentence: a line
# such as "© 2022 BBC. The BBC is not responsible..." goes as a whole.
_BOILERPLATE = re.compile(
    "|".join(
        (
            # "(c)" and "Copyright" only with a year or symbol, so "(c) the ..." list
            # items and sentences about copyright law stay.
            r"(?:©|(?:\(c\)|copyright)\s*(?:©|\(c\)|\d{4}))",
            # Only with no sentence end before it; see _is_notice_fragment for the rest.
            r"[^.!?]{0,80}\ball rights reserved\b\W*$",
            r"(?:read|see) (?:more|also)\b",
            r"also read\b",
            r"related(?: articles?| stories| coverage| content)?\s*:",
            r"leave a (?:reply|comment)\b",
            r"cancel reply\b",
            r"post comment\b",
            r"your email address will not be published\b",
            r"required fields are marked\b",
            r"save my name,? email\b",
            r"notify me of (?:follow-up comments|new posts)\b",
            r"you must be logged in to post a comment\b",
            r"(?:comment|name|e-?mail|website)\s*\*?\s*:?\s*$",
            r"(?:key points|highlights|in brief|advertisement|listen to this article)\W*$",
            r"source site-\d+\W*$",
            # Trailers of outlets that link out (BBC and others).
            r"the [\w ]{1,40} is not responsible for the content of external sites\b",
            r"read about our approach to external linking\b",
            rf"(?:published|updated|posted|last updated)\s*(?::|on\b|at\b|\d|{_MONTH}|{_WEEKDAY})",
            r"(?:photo|image|picture|video|graphic|photograph)s?(?: credit)?\s*:",
            r"credits?\s*:",
            r"\(?(?:reuters|afp|ap|ap photo|ap archive|epa|efe|dpa|getty images|xinhua|yonhap)"
            r"\)?\W*$",
        )
    ),
    re.IGNORECASE,
)
# "By John Smith" or "By Jane Doe and Ali Khan, Reuters": capitalised words only,
# so a sentence such as "By Thursday, Russia had bought shells." is kept.
_NAME = r"[A-Z][\w.'\u2019-]*"
_BYLINE = re.compile(rf"[Bb][Yy]\s+{_NAME}(?:(?:,?\s+|\s+and\s+){_NAME}){{0,6}}[.,]?$")
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")
# A few-word line without any of these is a heading, a credit or a stray label
# ("KEY POINTS", "AP Archive", "Route 6"), not a claim.
_VERB_LIKE = re.compile(
    r"\b(?:am|is|are|was|were|be|been|being|has|have|had|do|does|did|will|would|shall|"
    r"should|can|could|may|might|must|says?|said|den(?:y|ies|ied)|claim(?:s|ed)?|"
    r"warn(?:s|ed)?|\w{2,}ed)\b|n['\u2019]t\b",
    re.IGNORECASE,
)
_SHORT_LINE_WORDS = 4
# A repeated caption often comes back with its photo credit glued on
# ("... test of the year KCNA VIA KNS via AFP / STR").
_CREDIT_TAIL_WORDS = 8
_KEY_JUNK = re.compile(r"\W+")
# "SEOUL, Sept 22 (Reuters) - North Korea denied..." -> the claim starts at "North".
_DATELINE = re.compile(
    r"[^()\n]{0,60}?\((?:reuters|ap|afp|dpa|upi|yonhap|cnn|bloomberg)\)\s*[-\u2013\u2014:]+\s*",
    re.IGNORECASE,
)


def _is_boilerplate(text: str) -> bool:
    return _BOILERPLATE.match(text) is not None or _BYLINE.match(text) is not None


_RIGHTS_RESERVED = re.compile(r"\ball rights reserved\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_HOLDER_WORDS = 6


def _is_notice_fragment(sentence: str) -> bool:
    """In a line carrying a rights notice, the notice and its holder's name go; a claim before them stays.

    "Kirby said ... evidence. (c) 2022 BBC. All rights reserved." keeps Kirby;
    "All material Example Ltd. All rights reserved." goes whole.
    """
    if _RIGHTS_RESERVED.search(sentence) is not None or _VERB_LIKE.search(sentence) is None:
        return True
    # "2022 The Associated Press.": "-ed" words make holder names look verb-like.
    return len(sentence.split()) <= _HOLDER_WORDS and _YEAR.search(sentence) is not None


def _is_stray_line(line: str) -> bool:
    return (
        len(line.split()) <= _SHORT_LINE_WORDS
        and _SENTENCE_END.search(line) is None
        and _VERB_LIKE.search(line) is None
    )


def _key(text: str) -> str:
    # Quote style and punctuation differ between copies of the same caption.
    return _KEY_JUNK.sub(" ", text.casefold()).strip()


def _repeats_earlier(line: str, key: str, earlier: set[str]) -> bool:
    """A copy of an earlier line, or of an earlier caption with its photo credit appended."""
    if key in earlier:
        return True
    # Credits never end like a sentence; a body sentence that merely opens with
    # the headline's words does, and is kept.
    if _SENTENCE_END.search(line) is not None:
        return False
    words = key.split()
    return any(
        " ".join(words[:-tail]) in earlier
        for tail in range(1, min(_CREDIT_TAIL_WORDS, len(words) - 1) + 1)
    )


# --- segmentation ---------------------------------------------------------------


# pysbd.Segmenter.segment keeps the text being segmented on the instance, so threads
# (the service's worker pool) must not share one. Each thread builds its own: a shared
# one behind a lock let one long request's segmentation stall every other request.
_THREAD_LOCAL = threading.local()

# pysbd's time grows with the square of a block's length (5,000 characters of short
# sentences: 0.1 s; 50,000: 7 s), so longer blocks are segmented a window at a time.
# Real paragraphs are far shorter; a pasted page without line breaks is not.
SEGMENT_WINDOW = 5_000
# More than one sentence end per this many characters is dense; its window is shrunk.
DENSE_CHARS_PER_END = 10
DENSE_SHRINK = 5


# A block pysbd gives back whole, so it is not asked: it starts with a letter or digit,
# holds one sentence mark, at its end, and none of what pysbd splits at or keeps apart
# elsewhere (line breaks, brackets, double quotes, ellipses, a dash before a quote). Half
# of the short lines and sentences of the FNC-1 bodies are such blocks, and pysbd took
# 0.35 ms each: the largest cost of a one-claim /classify outside the forward pass.
# tests/model/test_segmentation_cost.py holds pysbd's answers to this rule on real and
# generated sentences; longer blocks always go to pysbd.
_ONE_SENTENCE = re.compile(
    r"[A-Za-z0-9]"
    r"[^.!?\n\r()\[\]{}\"\u201c\u201d\u00ab\u00bb\u300c\u300d\uff08\uff09\u2026\u3002\uff0e\uff01\uff1f]*"
    r"[.!?]"
)
ONE_SENTENCE_MAX_CHARS = 300


def _is_one_sentence(block: str) -> bool:
    """Whether pysbd would give ``block`` back as one sentence, by the rule above."""
    return (
        len(block) <= ONE_SENTENCE_MAX_CHARS
        and _ONE_SENTENCE.fullmatch(block) is not None
        and "-'" not in block
    )


def _segmenter() -> pysbd.Segmenter:
    segmenter = getattr(_THREAD_LOCAL, "segmenter", None)
    if segmenter is None:
        segmenter = _THREAD_LOCAL.segmenter = pysbd.Segmenter(language="en", clean=False)
    return segmenter


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return None
    start += len(piece) - len(piece.lstrip())
    return start, start + len(stripped)


def _window_spans(block: str) -> list[tuple[int, int]]:
    """Sentence spans within ``block``, found by position so they are exact.

    pysbd can rewrite or drop a fragment it cannot place, so any text left
    between the sentences it returns is kept as a sentence of its own.
    """
    if _is_one_sentence(block):
        return [(0, len(block))]
    return _pysbd_spans(block)


def _pysbd_spans(block: str) -> list[tuple[int, int]]:
    """``_window_spans`` as pysbd finds them, whatever the block."""
    sentences = _segmenter().segment(block)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for sentence in sentences:
        piece = sentence.strip()
        at = block.find(piece, cursor) if piece else -1
        if at < 0:
            continue
        if (gap := _trimmed(block, cursor, at)) is not None:
            spans.append(gap)
        spans.append((at, at + len(piece)))
        cursor = at + len(piece)
    if (tail := _trimmed(block, cursor, len(block))) is not None:
        spans.append(tail)
    return spans


def _window_size(block: str, start: int, window: int) -> int:
    """``window``, or a fifth of it where the text ahead ends a sentence every few characters.

    pysbd's cost grows with the square of the sentences in what it is given: 5,000
    characters of "a. a. a. " took 0.3 s, 100,000 of them 5 s. Prose ends a sentence every
    100 characters or so, abbreviations included, so it never reads as dense and keeps
    the full window; only a sentence longer than half the small window (500 characters)
    could be cut differently, and a dense run holds none.
    """
    ahead = block[start : start + window]
    ends = ahead.count(".") + ahead.count("!") + ahead.count("?")
    return window // DENSE_SHRINK if ends * DENSE_CHARS_PER_END > len(ahead) else window


def _sentence_spans(
    block: str, window: int = SEGMENT_WINDOW, checkpoint: Checkpoint = _no_checkpoint
) -> list[tuple[int, int]]:
    """Sentence spans within ``block``; a block longer than ``window`` goes window by window.

    Each window but the last gives back its last sentence, which may run on past the
    window's end, and the next window starts there: the cost grows with the length
    and the sentences are those of the whole block. Where sentences are very short
    the window shrinks (``_window_size``).
    """
    spans: list[tuple[int, int]] = []
    start = 0
    while start < len(block):
        size = _window_size(block, start, window)
        end = min(start + size, len(block))
        if end < len(block):
            # Cut at a space, so no word is split between two windows.
            space = block.rfind(" ", start + size // 2, end)
            end = space if space > start else end
        checkpoint()  # a window of short sentences takes pysbd up to a second
        found = _window_spans(block[start:end])
        if end < len(block) and len(found) > 1:
            found.pop()
            following = start + found[-1][1]
        else:
            following = end
        spans.extend((start + first, start + last) for first, last in found)
        start = following
    return spans


def _lines(text: str) -> Iterator[tuple[int, str]]:
    for match in _LINE.finditer(text):
        yield match.start(), match.group()


def _content(line: str) -> int:
    """Offset where the claim-bearing part of a line starts (after a bullet or dateline)."""
    offset = 0
    if bullet := _BULLET.match(line):
        offset = bullet.end()
    if dateline := _DATELINE.match(line, offset):
        offset = dateline.end()
    return offset


def extract_claims(
    raw: str, *, segment: bool = True, checkpoint: Checkpoint = _no_checkpoint
) -> ExtractedText:
    """Clean ``raw`` and split it into claims; ``segment=False`` keeps the whole text as one.

    ``checkpoint`` is called throughout (per fragment, line and segmentation window) and
    may raise to stop the work, so a costly text stops within one step of its budget.
    """
    text = clean_text(raw, checkpoint=checkpoint)
    if not segment:
        return ExtractedText(text=text, claims=[Claim(text, 0, len(text))] if text else [])

    claims: list[Claim] = []
    kept_lines: set[str] = set()
    kept_claims: set[str] = set()
    for line_start, line in _lines(text):
        checkpoint()
        offset = _content(line)
        body = line[offset:]
        if (
            not body
            or _is_boilerplate(body)
            or _is_stray_line(body)
            or is_furniture_line(body, headline=line_start == 0)
        ):
            continue
        line_key = _key(body)
        if _repeats_earlier(body, line_key, kept_lines):
            continue
        kept_lines.add(line_key)
        has_notice = _RIGHTS_RESERVED.search(body) is not None
        for start, end in _sentence_spans(body, checkpoint=checkpoint):
            sentence = body[start:end]
            claim_key = _key(sentence)
            if (
                not claim_key
                or claim_key in kept_claims
                or _is_boilerplate(sentence)
                or is_furniture_sentence(sentence)
            ):
                continue
            if has_notice and _is_notice_fragment(sentence):
                continue
            kept_claims.add(claim_key)
            base = line_start + offset
            claims.append(Claim(sentence, base + start, base + end))
    return ExtractedText(text=text, claims=claims)
