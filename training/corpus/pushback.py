"""The fifth wave: training sentences that push back on a claim without a deny-word.

The fast model misses a third of news_natural's denials, and they read like political, legal
and corporate push-back ("denounced the agreement", "null and void", "Witch Hunt garbage",
"doctored"), not like the deny/reject/false wording the first wave already drew in full, nor
like what the models are unsure of (they are sure, and wrong). This wave draws by that
push-back wording, from training and validation stories only: Wikinews first, FNC-1 bodies to
fill. The wording chooses what annotators read, never the label; much of it will be plain
criticism, which the guide reads as an assertion of the critic's view.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from training.corpus.near_copies import NearCopyIndex
from training.corpus.selection import FNC1, WIKINEWS, Sentence, Wave, fits
from training.data import Split, normalise

# The group of bare negations: they find "X is not Y" denials but far more plain facts, so
# their share of a wave is capped.
BROAD = "negation"

# One pattern, one named group per shape of push-back; none repeats _DENIAL_WORDING (the
# wording wave drew every Wikinews sentence that matches it), so what this finds is new.
PUSHBACK_WORDING = re.compile(
    r"\b(?:"
    # Someone condemns a claim or act: the political push-back of the missed denials.
    r"(?P<condemn>denounc\w*|condemn\w*|critici[sz]\w*|decr(?:y|ies|ied)|slamming|lambast\w*|"
    r"rebuk\w*|repudiat\w*|disavow\w*|disown\w*)"
    # Someone disputes a claim or finding itself (a reported disagreement).
    r"|(?P<dispute>contradict\w*|contest(?:s|ed|ing)?|challeng(?:e|es|ed|ing) the "
    r"(?:claims?|reports?|findings?|ruling|decision|results?)|disagree\w*|"
    r"object(?:s|ed|ing)? to|oppos(?:e|es|ed|ing)\b)"
    # A court or authority voids a decision: "ruled against", "struck down", "null and void".
    r"|(?P<legal>ruled against|overturn\w*|revers(?:e|es|ed|ing) the|str(?:uck|ike|ikes) down|"
    r"invalid\w*|null and void|illegal\w*|unconstitutional|without merit|meritless|"
    r"no (?:legal )?basis)"
    # Scorn that calls a claim worthless: "absurd", "witch hunt", "garbage", "propaganda".
    r"|(?P<scorn>absurd\w*|ridiculous\w*|preposterous|outrageous|witch[- ]hunt\w*|stunts?\b|"
    r"garbage|smears?\b|smeared|propaganda|conspiracy theor\w*)"
    # A fact-check's verdict on evidence: "doctored", "manipulated", "out of context".
    r"|(?P<distort>doctored|photoshopp\w*|manipulated|misrepresent\w*|distort\w*|"
    r"mischaracteri[sz]\w*|out of context)"
    # A claim called wrong outright: "mistaken", "inaccurate", "overblown", "far from".
    r"|(?P<wrong>mistaken\w*|wrong\w*|incorrect\w*|inaccura\w*|exaggerat\w*|overblown|"
    r"far from)"
    # A claim called invented or unreal: the rumour-corpus denial without a deny-word.
    r"|(?P<fiction>bogus|phon(?:y|ey)|shams?\b|farce|myths?\b|satir\w*|spoof\w*|parod\w*|"
    r"pranks?\b|made[- ]up|fictio\w*|urban legend|(?:mis|dis)information|unsubstantiated|"
    r"defam\w*|slander\w*|libel\w*)"
    # A spokesperson answering back: "lashed out", "fired back", "took issue with".
    r"|(?P<retort>lash(?:ed|es)? out|fir(?:ed|es) back|t(?:ook|akes?) issue|rebut\w*|"
    r"counter(?:ed|s)\b|scoff\w*|bristl\w*|ridicul(?:e|ed|es|ing)\b|derid\w*|mock(?:ed|s)\b)"
    # A role denied by a definition: "not a replacement for", "not an admission of".
    r"|(?P<not_a>not (?:an?|the) (?:\w+ ){1,2}(?:for|of)\b)"
    # Bare negation of a state, last so a sentence is counted under a sharper group first.
    rf"|(?P<{BROAD}>(?:is|was|were|are)(?: not|n't)\b|no longer)"
    r")",
    re.IGNORECASE,
)
GROUPS = tuple(PUSHBACK_WORDING.groupindex)


def pushback_group(text: str) -> str | None:
    """The first sharp group the text matches, else ``negation``, else None."""
    found = [match.lastgroup for match in PUSHBACK_WORDING.finditer(text)]
    sharp = [group for group in found if group != BROAD]
    if sharp:
        return sharp[0]
    return BROAD if found else None


@dataclass(frozen=True)
class PushbackCounts:
    """What a pushback wave drew, for the data card: by family and by lexicon group."""

    by_family: dict[str, int]
    by_group: dict[str, int]


def pushback_wave(
    sentences: Sequence[Sentence],
    taken: set[str],
    *,
    seed: int,
    total: int = 700,
    wikinews_max: int = 450,
    broad_share: float = 0.3,  # below 1
    held_out: NearCopyIndex | None = None,
) -> Wave:
    """About ``total`` training candidates by push-back wording: every Wikinews match (a
    seeded ``wikinews_max`` if more), FNC-1 matches to fill, then bare negations (Wikinews
    first) up to ``broad_share`` of the wave as drawn. Never a test story, a labelled or earlier-wave text
    (``taken``), nor a near-copy of a ``held_out`` (evaluation) text."""
    rng = random.Random(seed)
    pools: dict[tuple[str, bool], list[Sentence]] = {
        (family, broad): [] for family in (WIKINEWS, FNC1) for broad in (False, True)
    }
    groups: dict[str, str] = {}
    for sentence in sentences:
        key = normalise(sentence.text)
        if sentence.split is Split.TEST or key in groups or not fits(sentence, taken):
            continue
        group = pushback_group(sentence.text)
        if group is None or sentence.family not in (WIKINEWS, FNC1):
            continue
        if held_out is not None and held_out.has_copy(sentence.text):
            continue
        groups[key] = group
        pools[(sentence.family, group == BROAD)].append(sentence)
    for pool in pools.values():
        rng.shuffle(pool)
    wikinews_room = min(wikinews_max, total)
    sharp = pools[(WIKINEWS, False)][:wikinews_room]
    sharp += pools[(FNC1, False)][: total - len(sharp)]
    # broad <= share * (sharp + broad): the cap holds on the wave as drawn, not on ``total``.
    broad_left = min(total - len(sharp), int(broad_share * len(sharp) / (1 - broad_share)))
    wikinews_drawn = sum(s.family == WIKINEWS for s in sharp)
    broad = pools[(WIKINEWS, True)][: min(broad_left, wikinews_room - wikinews_drawn)]
    broad += pools[(FNC1, True)][: broad_left - len(broad)]
    chosen = sharp + broad
    return Wave(
        evaluation=[],
        training=[(s, f"pushback_{groups[normalise(s.text)]}") for s in chosen],
    )


def counts(wave: Wave) -> PushbackCounts:
    by_family: dict[str, int] = {}
    by_group: dict[str, int] = dict.fromkeys(GROUPS, 0)
    for sentence, reason in wave.training:
        by_family[sentence.family] = by_family.get(sentence.family, 0) + 1
        group = reason.removeprefix("pushback_")
        by_group[group] = by_group.get(group, 0) + 1
    return PushbackCounts(by_family=by_family, by_group=by_group)
