"""The kinds of annotation round, apart from the code that draws them so the CLI can name
them without importing the corpus readers."""

from __future__ import annotations

from enum import StrEnum


class WaveKind(StrEnum):
    """What a round of annotation draws (``python -m training annotation-sample``)."""

    WORDING = "wording"  # openings, stance wording and a uniform draw: no model needed
    DOUBT = "doubt"  # two models' disagreement and entropy, likeliest denials
    OPENINGS = "openings"  # news_natural read further
    PUSHBACK = "pushback"  # push-back wording the deny-word wave missed: condemn, void, doctored
