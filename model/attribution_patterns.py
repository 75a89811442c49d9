"""The regular expressions of the rule attributor (``model.attribution``), built from the
word lists in ``model.attribution_lexicon``.

They are large (a noun phrase is a dozen words, each checked against some three hundred
stop words), so they are compiled on first use, once per process, not at import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from model import attribution_lexicon as lex

# How far before a cue its subject and an appositive may start, and how far back the
# punctuation that lets a source follow its cue ('..., said the minister') may sit.
LOOK_BEHIND = 240
LOOK_BEHIND_PUNCTUATION = 8
# A phrase that opens its sentence starts within this many characters of it.
OPENING_LIMIT = 8

VERB_LEMMAS = {form: lemma for lemma, forms in lex.VERB_FORMS.items() for form in forms}
PARTICLE_LEMMAS = {
    form: lemma
    for table in (lex.PARTICLE_FORMS, lex.TALK_PARTICLE_FORMS)
    for lemma, forms in table.items()
    for form in forms
}
# "May", "Will" and a few months are names too: only their lowercase forms stop a phrase.
_NAME_LIKE = frozenset({"may", "will", "march", "june", "july", "august"})


def alternation(phrases: Iterable[str]) -> str:
    """One regular expression matching any of ``phrases``, written as a trie.

    A flat "a|b|c" of three hundred words makes the engine try every branch at every
    word; a trie tries one branch per character. Where one phrase extends another the
    longer is tried first ("told reporters" before "told"). A space in a phrase matches
    any run of whitespace.
    """
    trie: dict[str, Any] = {}
    for phrase in set(phrases):
        node = trie
        for char in phrase:
            node = node.setdefault(char, {})
        node[""] = {}  # a phrase ends here
    return _trie_pattern(trie)


def _trie_pattern(node: dict[str, Any]) -> str:
    ends = "" in node
    branches = [
        (r"\s+" if char == " " else re.escape(char)) + _trie_pattern(child)
        for char, child in sorted(node.items())
        if char
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 and not ends else f"(?:{'|'.join(branches)})"
    return f"{body}?" if ends else body


def _with_capitals(words: Iterable[str]) -> list[str]:
    # Function words open sentences capitalised ("But", "The"); other capitals are names.
    listed = list(words)
    return listed + [word[0].upper() + word[1:] for word in listed]


@dataclass(frozen=True, slots=True)
class Patterns:
    cue: re.Pattern[str]  # every reporting cue, one named group per sort of cue
    quotation: re.Pattern[str]  # double and curly quotations, an unclosed one to the end
    single_quote: re.Pattern[str]
    left: re.Pattern[str]  # subject, auxiliaries, end: searched up to a cue
    appositive: re.Pattern[str]  # subject, ", appositive,", auxiliaries, end
    right: re.Pattern[str]  # a phrase after a cue ("said the minister")
    by: re.Pattern[str]  # a passive's agent ("was confirmed by the ministry")
    after_statement: re.Pattern[str]  # "In a statement, the ministry ..."
    subject: re.Pattern[str]  # a sentence's subject, for ", saying ..."
    inverted: re.Pattern[str]  # text before a cue that lets its source follow it
    participle_opening: re.Pattern[str]  # ", saying" and "by saying"
    add_to: re.Pattern[str]
    whitespace: re.Pattern[str]
    # kinds
    pronoun: re.Pattern[str]
    anonymous: re.Pattern[str]
    post_modifier: re.Pattern[str]
    last_word: re.Pattern[str]
    last_two_words: re.Pattern[str]
    name_run: re.Pattern[str]
    name_opening: re.Pattern[str]
    acronym: re.Pattern[str]
    organisation_marker: re.Pattern[str]
    possessive_end: re.Pattern[str]
    opening: re.Pattern[str]


@cache
def patterns() -> Patterns:
    """The compiled patterns; built on the first call (some 0.2 s), shared after."""
    before = r"(?<![\w'\u2019&.-])"  # a word starts here
    after = r"(?![\w'\u2019&-])"  # a word ends here
    # An abbreviation keeps its dots ("U.S.", "Mr."); elsewhere a dot must sit inside a
    # word, so a source ending a sentence ("said the minister.") leaves the full stop.
    abbreviation = (
        r"(?:[A-Z]\.){2,}"
        r"|(?:Mr|Mrs|Ms|Dr|Prof|Gen|Col|Lt|Sgt|Capt|Sen|Rep|Gov|Rev|St|Jr|Sr|Corp|Inc|Ltd|Co)\."
    )
    word = rf"(?:{abbreviation}|\w(?:[\w&-]|['\u2019](?=\w)|\.(?=\w))*)"
    stop_list = [
        *(w for w in lex.STOP_WORDS if w in _NAME_LIKE),
        *_with_capitals(w for w in lex.STOP_WORDS if w not in _NAME_LIKE),
        *_with_capitals(w for w in lex.DETERMINERS if " " not in w),
        *(form for form in VERB_LEMMAS if form not in lex.NOUNISH_FORMS),
    ]
    adverb = rf"(?!(?:{alternation(lex.NOT_ADVERBS)}){after})[a-z]{{2,}}ly"
    stop = rf"(?:{alternation(stop_list)}|{adverb}){after}"
    determiner = rf"{before}(?:{alternation(_with_capitals(lex.DETERMINERS))}|\d[\d,.]*){after}"
    links = alternation(lex.ANONYMITY_LINKS)
    # A word that may stand in a noun phrase: not a function word, a number or a cue, nor
    # the start of an anonymity link ("familiar with"), which a phrase must keep whole.
    content = rf"{before}(?!{stop})(?!\d)(?!(?:{links}){after}){word}"
    # Read rightwards nothing bounds a phrase but its own words, so verbs end it too.
    verbish = rf"(?:[a-z]+ed|{alternation(lex.IRREGULAR_PASTS)}){after}"
    content_right = rf"(?!{verbish}){content}"
    anonymity = (
        rf"(?:{links})\s+(?:{determiner}\s+)?{content}(?:\s+{content}){{0,4}}"
        rf"|{alternation(lex.ANONYMITY_CLAUSES)}"
    )
    phrase = _noun_phrase(content, determiner, anonymity)
    phrase_right = _noun_phrase(content_right, determiner, anonymity)
    gap = (
        rf"(?:{alternation(lex.GAP_WORDS)}|\w+n['\u2019]t|{adverb}"
        r"|on\s+(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
        r"|(?:last|this|earlier\s+this|late\s+last)\s+(?:week|month|year|weekend|night|morning)"
        r")(?![\w'\u2019-])"
    )
    openers = alternation(
        _with_capitals(["but", "and", "yet", "however", "meanwhile", "separately", "still", "so"])
    )
    talk_forms = (form for forms in lex.TALK_PARTICLE_FORMS.values() for form in forms)
    particle_forms = (form for forms in lex.PARTICLE_FORMS.values() for form in forms)
    return Patterns(
        cue=re.compile(
            rf"{before}(?:"
            r"(?P<according>[Aa]ccording\s+to)"
            r"|(?P<statement>[Ii]n\s+an?\s+(?:(?:written|joint|brief|short|separate|emailed)\s+)?"
            r"statement)"
            rf"|(?P<talk>{alternation(talk_forms)})(?=\s+(?:{alternation(lex.TALK_OBJECTS)}){after})"
            rf"|(?P<told>(?:told|tells)\s+(?:{alternation(lex.TOLD_AUDIENCES)}))"
            rf"|(?P<particle>{alternation(particle_forms)})"
            rf"|(?P<verb>{alternation(VERB_LEMMAS)})"
            rf"){after}"
        ),
        # A cue inside a quotation is the quoted speaker's, not the sentence's. An opening
        # double quote without its close runs to the end (the quote goes on after the claim).
        quotation=re.compile(
            r"\u201c[^\u201d]*(?:\u201d|$)"
            r'|"[^"]*(?:"|$)'
            r"|\u2018(?:[^\u2018\u2019]|\u2019(?=\w))*(?:\u2019|$)"
        ),
        # A straight single quote that may open (no letter before) or close (none after)
        # a quotation; one between letters is an apostrophe ("don't").
        single_quote=re.compile(r"(?<!\w)'|'(?!\w)"),
        # Searched up to the cue, so the leftmost match is the longest phrase the stop words allow.
        left=re.compile(rf"{before}(?P<np>{phrase})(?P<gap>(?:\s+{gap})*)\s*(?P<comma>,)?\s*$"),
        appositive=re.compile(
            rf"{before}(?P<np>{phrase})\s*,[^,;:\"\u201c\u201d()]{{1,120}},(?P<gap>(?:\s+{gap})*)\s*$"
        ),
        right=re.compile(rf"\s+(?P<np>{phrase_right})"),
        by=re.compile(rf"\s+by\s+(?P<np>{phrase_right})"),
        after_statement=re.compile(rf"(?:\s+on\s+\w+)?\s*,?\s+(?P<np>{phrase_right})(?!\s*,)"),
        # After an opening conjunction and an optional introductory phrase ("On Thursday, ...").
        subject=re.compile(
            rf"[\W_]*(?:(?:{openers})[\s,]+)*(?:[^,\"\u201c\u201d]{{1,60}},\s+)??(?P<np>{phrase_right})"
        ),
        inverted=re.compile(r"(?:^|[,:;\"\u201c\u201d\u2018\u2019'(\u2014\u2013])\s*$"),
        participle_opening=re.compile(r"(?:,\s*|,?\s*\bby\s+)$"),
        add_to=re.compile(r"\s+to\b"),
        whitespace=re.compile(r"\s+"),
        pronoun=re.compile(r"I|[Ww]e|[Yy]ou|[Hh]e|[Ss]he|[Ii]t|[Tt]hey|me|us|him|her|them"),
        anonymous=re.compile(
            rf"{before}(?i:"
            rf"{alternation([*lex.ANONYMITY_LINKS, *lex.ANONYMITY_CLAUSES, *lex.UNNAMED_MODIFIERS])}"
            rf"){after}"
        ),
        # The head sits before any post-modifier; "of" inside a name ("Bank of England") stays.
        post_modifier=re.compile(
            r"\s+(?:(?:of|for)\s+(?![Tt]he\s+[A-Z]|[A-Z])|in\s|at\s|from\s|familiar\s|close\s"
            r"|briefed\s|with\s|aware\s|involved\s|speaking\s|who\s)"
        ),
        last_word=re.compile(r"\S+$"),
        last_two_words=re.compile(r"\S+\s+\S+$"),
        name_run=re.compile(r"(?:(?:[A-Z]\S*|of|for|and|the|de|van|von|al|bin)\s+)*[A-Z]\S*$"),
        name_opening=re.compile(r"^(?:(?:of|for|and|the)\s+)+"),
        acronym=re.compile(r"[A-Z]{2,}|(?:[A-Z]\.){2,}"),
        organisation_marker=re.compile(
            rf"(?<!\S)(?i:{alternation(lex.ORGANISATION_MARKERS)})(?:['\u2019]s)?(?!\S)"
        ),
        possessive_end=re.compile(r"(?:['\u2019]s|s['\u2019])$"),
        # What may come before a phrase that opens its sentence: quotation marks, dashes, spaces.
        opening=re.compile(r"[\W_]*"),
    )


def _noun_phrase(content: str, determiner: str, anonymity: str) -> str:
    """A minimal noun phrase: a determiner, up to seven words, and the post-modifiers that
    belong to a source's name ("head of the agency", "officials in Kyiv", "people familiar
    with the talks"). Commas end it, so appositives and relative clauses stay out."""
    words = rf"{content}(?:\s+{content}){{0,6}}"
    tail = rf"(?:{determiner}\s+)?{content}(?:\s+{content}){{0,4}}"
    return (
        rf"(?:{determiner}\s+)?{words}"
        rf"(?:\s+(?:of|for)\s+{tail}){{0,2}}"
        rf"(?:\s+(?:in|at|from)\s+{tail})?"
        rf"(?:\s+(?:{anonymity}))?"
    )
