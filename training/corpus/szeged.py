"""Szeged Uncertainty Corpus, WikiWeasel: Wikipedia sentences with and without uncertainty cues.

Encyclopedic and without denials, so it only adds caveat/assertion signal:
capped, balanced, training split only, and down-weighted by config.
"""

from __future__ import annotations

import random
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from model.labels import Label
from training.data import DataError, Example, Split

SOURCE = "szeged"
WIKI_FILE = "wiki.xml"
MIN_WORDS = 6


def load_szeged(szeged_dir: Path, *, cap: int, seed: int) -> list[Example]:
    path = szeged_dir / WIKI_FILE
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as error:
        raise DataError(f"{path} is not valid XML: {error}") from None
    by_label: dict[Label, list[Example]] = {Label.CAVEAT: [], Label.ASSERTION: []}
    for document in root.iter("Document"):
        doc_id = document.findtext("DocID", default="unknown").strip()
        for part in document.iter("DocumentPart"):
            if part.get("type") == "Title":
                continue
            for sentence in part.iter("Sentence"):
                text = " ".join("".join(sentence.itertext()).split())
                if len(text.split()) < MIN_WORDS:
                    continue
                label = Label.CAVEAT if sentence.find(".//ccue") is not None else Label.ASSERTION
                by_label[label].append(
                    Example(text, label, SOURCE, f"szeged:{doc_id}", Split.TRAIN)
                )
    rng = random.Random(seed)
    chosen: list[Example] = []
    for examples in by_label.values():
        chosen.extend(rng.sample(examples, min(cap // 2, len(examples))))
    return chosen
