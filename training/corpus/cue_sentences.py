"""Hand-written news sentences that carry stance with words the other sources rarely use.

FNC-1, Emergent and Szeged almost never say "caveated", "walked back",
"could not independently verify" or end a quoted denial with a long
attribution, so a model trained on them reads such sentences by their other
words. Annotators wrote these sentences per cue word under the label guide,
most words under contrasting labels, and a second annotator labelled them
blind (docs/data.md). They are training data only: every reported score comes
from real sentences.
"""

from __future__ import annotations

import re
from pathlib import Path

from training.corpus.news_gold import ANNOTATIONS
from training.data import Example, Split, read_labelled_csv

CUE_SOURCE = "news_cues"
CUE_FILE = ANNOTATIONS / "news_cues.csv"
# Minimal pairs for the patterns real news still defeats (push-back denials without a
# deny-word, assertions that carry reporting or allegation words): each written sentence
# has a partner one small edit away under another label, so only the stance can tell them apart.
CONTRAST_SOURCE = "contrast"
CONTRAST_FILE = ANNOTATIONS / "contrast_sets.csv"
# The example articles' story is held out for evaluation; no written sentence may touch it.
HELD_OUT_STORY = re.compile(
    r"north korea|pyongyang|kim jong|dprk|kcna|kirby|russia|moscow|kremlin", re.IGNORECASE
)


def load_cue_sentences(path: Path = CUE_FILE) -> list[Example]:
    """Every written sentence as a training example, grouped by the cue it was written for."""
    return read_labelled_csv(path, source=CUE_SOURCE, group_column="cue", split=Split.TRAIN)


def load_contrast_sets(path: Path = CONTRAST_FILE) -> list[Example]:
    """Every written minimal pair as training examples; a pair is one group."""
    return read_labelled_csv(path, source=CONTRAST_SOURCE, group_column="pair", split=Split.TRAIN)
