"""A claim's proposition: the claim with its reporting frame taken off.

"Police said the man had recently travelled to Nigeria." and "He had recently travelled
to Nigeria, according to officials." carry one proposition; so do "IBM denied that it
would cut jobs" and "IBM will cut jobs" (stance aside). ``proposition`` strips the frame
with a few rules: a leading attribution ("X said (that)", "According to X,", "X told
the BBC:"), a trailing one (", the minister said."), opening connectives ("However,"),
hedging adverbs ("reportedly") and the quotes around a quoted claim. /compare shows it
as a group's one-line summary, and the grouping benchmark tries it as the encoder's input.

Rules, not a parser: a frame they do not know stays, and the result is never shorter
than three words (a bare "He said it." keeps its words), so a miss costs nothing.
"""

from __future__ import annotations

import re

# Verbs that introduce reported speech. Without "that" only the plain speech verbs lead:
# "Moscow denied the reports" has an object, not a clause, after its verb.
_SPEECH_VERBS = r"(?:said|says|say|told|tells|wrote|writes|added|adds|confirmed|explained)"
_LEAD_VERBS = (
    rf"(?:{_SPEECH_VERBS[3:-1]}|reported|reports|claimed|claims|denied|denies|confirms|"
    r"insisted|insists|revealed|announced|stated|warned|alleged|alleges|noted|"
    r"acknowledged|admitted)"
)
# "claims"/"reports" never end a frame: as nouns at the end of a clause ("... verifying
# the claims in the report") they are content.
_TRAIL_VERBS = (
    r"(?:said|says|told|tells|reported|added|claimed|stated|wrote|confirmed|insisted|"
    r"explained|noted|warned)"
)
_NAME = r"(?:the\s+)?[A-Z][\w.\u2019']*(?:\s+[A-Z][\w.\u2019']*){0,3}"
_CONNECTIVE = re.compile(
    r"^(?:however|but|meanwhile|still|indeed|and|so|yet|also|moreover|now)\b,?\s*", re.I
)
_ACCORDING_LEAD = re.compile(r"^according to [^,]{1,80},\s*", re.I)
_IMPERSONAL = re.compile(
    r"^(?:it is|it's|it was)\s+(?:claimed|reported|alleged|believed|understood|said)\s+"
    r"(?:that\s+)?",
    re.I,
)
# "Police said (that) ...", "Sources told the Wall Street Journal that ...", "He told The
# Independent: ...": a subject of at most seven words (none of them a reporting verb, so
# "The hospital says some reports that ..." is not cut at "reports"), then the verb. Plain
# speech verbs lead without "that" when a clause follows, so "He said nothing" stays.
_SUBJECT = rf"(?:(?!{_LEAD_VERBS}\b)[\w\u2019'.-]+\s+){{1,7}}?"
_AUX = r"(?:(?:has|have|had|also|later|previously|earlier)\s+)*"
_CLAUSE_START = r"(?=\s+(?:(?:the|a|an|he|she|it|they|we|i|his|her|their|its|there)\b|[A-Z]))"
_LEAD = re.compile(
    rf"^{_SUBJECT}{_AUX}(?:{_LEAD_VERBS}(?:\s+(?:on|in)\s+\w+)?(?:\s+{_NAME})?(?:\s+that\b|\s*:)"
    rf"|{_SPEECH_VERBS}(?:\s+{_NAME})?{_CLAUSE_START})\s*"
)
# "..., the minister said.", "..., according to the BBC.", "...," he told the Independent on Tuesday.
_TRAIL = re.compile(
    rf"(?:,[\"\u201d\u2019]?|[\"\u201d\u2019],?)\s*(?:according to [^,.;]{{1,80}}|(?:[\w\u2019'.-]+\s+){{1,8}}?"
    rf"{_TRAIL_VERBS}(?:\s+{_NAME})?(?:\s+(?:on|in|last|this|at)\s+[\w ]{{1,25}})?)"
    r"\s*[.!?]?\s*$"
)
_HEDGE_WORDS = re.compile(r"\b(?:reportedly|allegedly|apparently|purportedly|supposedly)\s+", re.I)
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)]*$")
_QUOTES = "\"\u201c\u201d'\u2018\u2019 "
_DOUBLE_QUOTES = re.compile('["\u201c\u201d]')
_MIN_WORDS = 3


def _if_long_enough(candidate: str, current: str) -> str:
    return candidate if len(candidate.split()) >= _MIN_WORDS else current


def _unquoted(text: str, extra: str = "") -> str:
    """``text`` without the quotes around it; as it is where one is the end of an inner
    quotation ('"It's madness," he told the Mirror.' must not lose its first quote)."""
    stripped = text.strip(_QUOTES + extra)
    return text.strip(" " + extra) if _DOUBLE_QUOTES.search(stripped) else stripped


def proposition(text: str) -> str:
    """``text`` without its reporting frame; ``text`` itself where no rule applies."""
    result = text.strip()
    # Twice: "However, police said ..." needs the connective gone before the lead matches.
    for _ in range(2):
        result = _CONNECTIVE.sub("", result)
        result = _ACCORDING_LEAD.sub("", result)
        result = _IMPERSONAL.sub("", result)
        result = _unquoted(_if_long_enough(_LEAD.sub("", result, count=1), result))
        result = _unquoted(_if_long_enough(_TRAIL.sub("", result), result), ",")
    result = _HEDGE_WORDS.sub("", result)
    if len(result.split()) < _MIN_WORDS:
        return text.strip()
    # A trailing frame took the full stop with it; a headline that had none gets none.
    if _SENTENCE_END.search(text.strip()) and not _SENTENCE_END.search(result):
        result += "."
    return result[:1].upper() + result[1:]
