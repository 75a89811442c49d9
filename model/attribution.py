"""Who makes a claim's move, and the words that attribute it: an ``Attribution`` per claim.

The conventions are in docs/attribution.md: the **source** is the minimal noun phrase
naming who asserts, denies or hedges, the **cue** the reporting verb or phrase that
attributes it ("said", "denied", "played down", "according to"), both exact spans of
the claim's own text; both are ``None`` when the sentence speaks in the outlet's own
voice or quotes someone it does not name.

``RuleAttributor`` finds them with rules: one regular-expression pass over the
sentence finds the cues and the quotations, and for each cue outside a quotation a
bounded look to its left (the subject: "The ministry dismissed") or right ("said the
minister", "according to the newspaper") finds the source. Every pattern is compiled
once, and every look is bounded, so the work grows linearly with the text. It is the
baseline a learned token-classification head replaces: both are an ``Attributor``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from model import attribution_lexicon as lex
from model.attribution_patterns import (
    LOOK_BEHIND,
    LOOK_BEHIND_PUNCTUATION,
    OPENING_LIMIT,
    PARTICLE_LEMMAS,
    VERB_LEMMAS,
    patterns,
)
from model.labels import Label


class SourceKind(StrEnum):
    """What a source names; the one place the kind names are defined (the API reads them)."""

    PERSON = "person"
    ORGANISATION = "organisation"
    ROLE = "role"
    PRONOUN = "pronoun"
    UNNAMED = "unnamed"


@dataclass(frozen=True, slots=True)
class Span:
    text: str
    start: int  # offset into the text it was found in
    end: int  # that text[start:end] == text

    def shifted(self, offset: int) -> Span:
        return Span(self.text, self.start + offset, self.end + offset)


@dataclass(frozen=True, slots=True)
class Source(Span):
    kind: SourceKind

    def shifted(self, offset: int) -> Source:
        return Source(self.text, self.start + offset, self.end + offset, self.kind)


@dataclass(frozen=True, slots=True)
class Attribution:
    """A claim's source and cue; both or neither (a cue attributes to someone, a source by a cue)."""

    source: Source | None = None
    cue: Span | None = None

    def __post_init__(self) -> None:
        if (self.source is None) != (self.cue is None):
            raise ValueError("an attribution has both a source and a cue, or neither")

    @property
    def source_kind(self) -> SourceKind | None:
        """The source's kind (``None`` for null), as the gold files store it beside the spans."""
        return None if self.source is None else self.source.kind

    def shifted(self, offset: int) -> Attribution:
        """The same spans with ``offset`` added: from the claim's text into the text around it."""
        if self.source is None or self.cue is None:
            return self
        return Attribution(self.source.shifted(offset), self.cue.shifted(offset))


NO_ATTRIBUTION = Attribution()


def compile_rules() -> None:
    """Compile the rule attributor's patterns now (some 0.2 s) rather than in the first call:
    a service does it while loading its model."""
    patterns()


class Attributor(Protocol):
    """Claims' texts (and, where known, their labels) in, one ``Attribution`` per claim out.

    Offsets are into each claim's own text. The label lets an attributor pick, among
    several attributed moves, the one that decides it.
    """

    def attribute(
        self, texts: Sequence[str], labels: Sequence[Label] | None = None
    ) -> list[Attribution]: ...


# --- kinds ---------------------------------------------------------------------------


def _name_key(name: str) -> str:
    key = " ".join(name.replace("\u2019", "'").casefold().split()).removesuffix("'s")
    # "the Kremlin" and "Kremlin" are one name; "The Hague" is listed with its article.
    return key if key in lex.ORGANISATION_NAMES else key.removeprefix("the ")


def source_kind(phrase: str, *, opens_sentence: bool = False) -> SourceKind:
    """The kind of a source phrase; ``opens_sentence`` when it starts its sentence, where a
    capital says nothing ("Officials said" names a role, "Kirby said" a person)."""
    p = patterns()
    if p.pronoun.fullmatch(phrase):
        return SourceKind.PRONOUN
    if p.anonymous.search(phrase):
        return SourceKind.UNNAMED
    cut = p.post_modifier.search(phrase)
    core = phrase[: cut.start()] if cut else phrase
    head = core.rsplit(maxsplit=1)[-1]
    lowered = head.lower()
    if lowered in lex.UNNAMED_HEADS:
        return SourceKind.UNNAMED
    common_noun = lowered in lex.ROLE_HEADS or lowered in lex.ORGANISATION_HEADS
    if head[0].isupper() and not (opens_sentence and core == head and common_noun):
        run = p.name_run.search(core)
        return _name_kind(p.name_opening.sub("", run.group()) if run else head)
    if lowered in lex.ORGANISATION_HEADS:
        return SourceKind.ORGANISATION
    return SourceKind.ROLE


def _name_kind(name: str) -> SourceKind:
    """A capitalised name: an organisation by a known name, an acronym or a marker word."""
    p = patterns()
    words = name.split()
    known = (_name_key(" ".join(words[-count:])) for count in (len(words), 2, 1))
    if (
        # "the Kremlin", and "Moscow-ally Pyongyang": a known name ending the phrase.
        any(key in lex.ORGANISATION_NAMES for key in known)
        or p.acronym.fullmatch(p.possessive_end.sub("", words[-1]))
        or p.organisation_marker.search(name)
    ):
        return SourceKind.ORGANISATION
    return SourceKind.PERSON


# --- rules ---------------------------------------------------------------------------

_PREFERRED: dict[Label, frozenset[str]] = {
    Label.DENIAL: lex.DENIAL_CUES,
    Label.CAVEAT: lex.CAVEAT_CUES,
}
# Cues looked at per claim. Prose has a few; a "sentence" of hundreds is a list or an
# attack, and its first cues decide. Keeps the work linear in the text's length.
MAX_CUES = 32
# Marks that end a clause before a cue; a subject never reaches across one.
_CLAUSE_MARKS = (",", ";", ":", '"', "\u201c", "\u201d", "(", ")")
_BE = re.compile(r"\b(?:was|were|is|are|been|be|being)\b", re.IGNORECASE)


def _source(text: str, match: re.Match[str]) -> Source | None:
    p = patterns()
    phrase = match.group("np")
    if p.possessive_end.search(phrase):  # "the newspaper's claims": an owner, not a speaker
        return None
    start, end = match.span("np")
    return Source(phrase, start, end, kind_at(text, start, end))


def kind_at(text: str, start: int, end: int) -> SourceKind:
    """The kind of the source ``text[start:end]``, whoever found the span (these rules, or
    a learned head that reads spans but leaves their kind to the rules)."""
    # Bounded, so a long text's many cues never rescan its opening.
    opens = start <= OPENING_LIMIT and patterns().opening.fullmatch(text, 0, start) is not None
    return source_kind(text[start:end], opens_sentence=opens)


def _made(text: str, match: re.Match[str] | None, cue: Span) -> Attribution | None:
    if match is None:
        return None
    source = _source(text, match)
    return None if source is None else Attribution(source, cue)


class _Quotations:
    """Where a text's quotations are, to tell a quoted speaker's cue from the sentence's."""

    def __init__(self, text: str) -> None:
        p = patterns()
        spans = [match.span() for match in p.quotation.finditer(text)]
        # Straight single quotes pair up in order; a regex pairing them would rescan the
        # rest of the text from every unclosed one (apostrophes rarely open quotations).
        opened: int | None = None
        for match in p.single_quote.finditer(text):
            at = match.start()
            if opened is None:
                if at == 0 or not text[at - 1].isalnum():
                    opened = at
            elif at + 1 == len(text) or not text[at + 1].isalnum():
                spans.append((opened, at + 1))
                opened = None
        # Merged into disjoint spans, so one bisection finds the span around any offset.
        self.starts: list[int] = []
        self.ends: list[int] = []
        for start, end in sorted(spans):
            if self.ends and start < self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], end)
            else:
                self.starts.append(start)
                self.ends.append(end)

    def __contains__(self, at: int) -> bool:
        index = bisect.bisect_right(self.starts, at) - 1
        return index >= 0 and at < self.ends[index]


class RuleAttributor:
    """The rule baseline: a reporting-cue lexicon and a noun-phrase finder around each cue."""

    def attribute(
        self, texts: Sequence[str], labels: Sequence[Label] | None = None
    ) -> list[Attribution]:
        if labels is None:
            return [self.attribute_one(text) for text in texts]
        return [self.attribute_one(text, label) for text, label in zip(texts, labels, strict=True)]

    def attribute_one(self, text: str, label: Label | None = None) -> Attribution:
        """The source and cue of one claim; offsets into ``text``.

        The first attributed cue outside a quotation wins (the main clause's, as a rule),
        unless ``label`` is a denial or caveat and a later cue denies or hedges: that
        move decides the label. "In a statement" counts only where nothing else attributes.
        """
        quoted = _Quotations(text)
        preferred = _PREFERRED.get(label, frozenset()) if label is not None else frozenset()
        first: Attribution | None = None
        statement: re.Match[str] | None = None
        seen = 0
        for match in patterns().cue.finditer(text):
            if match.start() in quoted:
                continue
            seen += 1
            if seen > MAX_CUES:
                break
            if match.lastgroup == "statement":
                statement = statement or match
                continue
            found, lemma = _cue_attribution(text, match)
            if found is None:
                continue
            if lemma in preferred:
                return found
            if first is None:
                first = found
                if not preferred:
                    return first
        if first is not None:
            return first
        if statement is not None:
            return _statement_attribution(text, statement)
        return NO_ATTRIBUTION


def _cue_attribution(text: str, match: re.Match[str]) -> tuple[Attribution | None, str]:
    """The attribution a cue makes, if its source is found, and the cue's lemma."""
    p = patterns()
    kind = match.lastgroup
    cue = Span(match.group(), match.start(), match.end())
    form = " ".join(cue.text.split())
    if kind == "according":
        return _made(text, p.right.match(text, cue.end), cue), "according to"
    if kind == "told":
        return _verb_attribution(text, cue, form), "tell"
    if kind in ("particle", "talk"):
        return _verb_attribution(text, cue, form), PARTICLE_LEMMAS[form]
    lemma = VERB_LEMMAS[form]
    if lemma == "add" and p.add_to.match(text, cue.end):  # "added to the list"
        return None, lemma
    return _verb_attribution(text, cue, form), lemma


def _verb_attribution(text: str, cue: Span, form: str) -> Attribution | None:
    p = patterns()
    participle = form.split(" ", 1)[0].endswith(lex.PARTICIPLE_SUFFIX)
    before = max(0, cue.start - LOOK_BEHIND_PUNCTUATION)
    if participle and p.participle_opening.search(text, before, cue.start):
        # ", saying ...": the sentence's subject speaks.
        return _made(text, p.subject.match(text, 0, cue.start), cue)
    window = max(0, cue.start - LOOK_BEHIND)
    # The subject is in the cue's clause: searching from the clause's start, not the whole
    # window, spares a failed attempt at every word before it.
    clause = max(text.rfind(mark, window, cue.start) for mark in _CLAUSE_MARKS) + 1
    left = p.left.search(text, max(window, clause), cue.start)
    if left is None and clause > window and text[clause - 1] == ",":
        # "Ann Lowe, the defence secretary, said": the appositive is dropped.
        left = p.appositive.search(text, window, cue.start)
    if left is not None:
        passive = _BE.search(left.group("gap")) is not None
        if passive and not participle:
            # "It was denied by the ministry"; with no agent there is no source.
            return _made(text, p.by.match(text, cue.end), cue)
        if participle and not passive:
            return None  # "a report saying ...": a noun and its modifier, not a move
        return _made(text, left, cue)
    if not participle and p.inverted.search(text, before, cue.start):
        # '"...," said the minister': the source follows its cue.
        return _made(text, p.right.match(text, cue.end), cue)
    return None


def _statement_attribution(text: str, match: re.Match[str]) -> Attribution:
    """ "In a statement" as the only attributing phrase: its source on either side."""
    p = patterns()
    cue = Span(match.group(), match.start(), match.end())
    left = p.left.search(text, max(0, cue.start - LOOK_BEHIND), cue.start)
    found = _made(text, left, cue) if left is not None else None
    return found or _made(text, p.after_statement.match(text, cue.end), cue) or NO_ATTRIBUTION
