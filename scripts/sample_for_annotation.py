"""Draw the candidate sentences for hand annotation from the FNC-1 bodies.

Cue words only decide which sentences are worth a look (denials are rare in
news, so a uniform sample would hold too few); the label always comes from
the annotator reading the sentence under docs/labels.md.

    python scripts/sample_for_annotation.py ../shared/data/raw/fnc1 out_dir --batches 6

A second draw (``--extra-denial N``) took N more denial-cue sentences, skipping
every sentence already in out_dir's batches, once the first six batches showed
fewer denials than the 600 the corpus needs. A third (``--extra-speaker N``)
took sentences where a speaker negates in the first person or pushes back
("we have never", "no plans", "accused ... of spreading"): the first model
mistook such quoted denials for assertions, and the pool had too few of them.
"""

from __future__ import annotations

import csv
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.corpus.fnc1 import iter_pool

DENIAL_CUES = re.compile(
    r"\b(den(y|ied|ies|ial)|false(ly)?|hoax|fake|rumou?rs?|untrue|not true|never|refut\w*|"
    r"dismiss\w*|debunk\w*|reject\w*|fabricat\w*|baseless|no truth|made up|categorically|"
    r"incorrect|inaccurate|nonsense|not the case|did not|didn't|doesn't|isn't|wasn't)\b",
    re.IGNORECASE,
)
CAVEAT_CUES = re.compile(
    r"\b(may|might|could|reportedly|allegedly|alleged|unconfirmed|not yet|no evidence|"
    r"appear(s|ed)?|apparently|possibl[ey]|claim(ed|s)?|unclear|unverified|rumored|"
    r"suggest\w*|believed|likely|unlikely|perhaps|if|whether|investigat\w*|supposedly|"
    r"seem(s|ed)?|not clear|cannot confirm|could not be|would)\b",
    re.IGNORECASE,
)
SPEAKER_CUES = re.compile(
    r"(\b(we|i|our|my)\b[^.;]{0,40}\b(never|not|no|n't|nothing)\b|\bno plans?\b|"
    r"\baccus\w+\b[^.;]{0,60}\b(of|lying|spreading)\b|\bspread\w*\b[^.;]{0,30}\brumou?rs?\b|"
    r"\binsist\w*\b|\brefus\w*\b|\bcontradict\w*\b|\bnothing to do with\b|\bnot aware\b|"
    r"\bnever (said|did|was|were|had|been|sent|sold|made)\b)",
    re.IGNORECASE,
)
HARD_CUES = re.compile(
    r"(\bnot yet\b|\bno (hard |concrete |firm )?evidence\b|\bno (official )?confirmation\b|"
    r"\b(could|can|cannot|can't|couldn't|unable to)\b[^.;]{0,25}\b(confirm|verif)\w*|"
    r"\b(has|have|had) not been (confirmed|verified|established)\b|\bunclear\b|\btoo early\b|"
    r"\bremains? to be seen\b|\b(ministry|spokes\w+|official|government|statement|embassy|company|"
    r"representative|rep|lawyer|agency)\b[^.;]{0,80}\b(never|not|no|n't|denied|rejected)\b|"
    r"\b(groundless|baseless|slander\w*|smear|reckless|lies|lying|fabricat\w*|absurd|ridiculous)\b|"
    r"\bdid not (comment|respond|return|reply)\b)",
    re.IGNORECASE,
)
LIMITING_CUES = re.compile(
    r"(\bwalk\w* back\b|\bbacktrack\w*\b|\bclarif\w*\b|\bsoften\w*\b|\bqualif\w*\b|\bcaveat\w*\b|"
    r"\bretract\w*\b|\bstop(ped)? short\b|\brule[sd]? out\b|\bbut (added|said|stressed|noted|cautioned)\b|"
    r"\bcautio\w+\b|\bstressed\b|\bwarn\w*\b[^.;]{0,40}\bstop\b|\bhostile\b|"
    r"\bspread\w*\b[^.;]{0,40}\b(rumou?rs?|lies|false)\b|\bno (plans?|intention)\b|"
    r"\bnot (planning|intend\w*)\b|\b(have|has|had) never\b|\bwill not\b|\bwon't\b)",
    re.IGNORECASE,
)
QUOTAS = {"denial_cue": 1500, "caveat_cue": 1000, "other": 800}


def _already_drawn(out_dir: Path) -> set[tuple[int, int]]:
    drawn: set[tuple[int, int]] = set()
    for path in out_dir.glob("batch_[0-9]*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            drawn.update(
                (int(r["body_id"]), int(r["sentence_index"])) for r in csv.DictReader(handle)
            )
    return drawn


EXTRA_CUES = {
    "denial": DENIAL_CUES,
    "speaker": SPEAKER_CUES,
    "hard": HARD_CUES,
    "limiting": LIMITING_CUES,
}


def _stratum(text: str, extra: str | None) -> str | None:
    """The stratum a sentence is drawn from; an extra draw looks only at its own cue."""
    if extra is not None:
        return f"{extra}_cue" if EXTRA_CUES[extra].search(text) else None
    if DENIAL_CUES.search(text):
        return "denial_cue"
    if CAVEAT_CUES.search(text):
        return "caveat_cue"
    return "other"


def write_batches(
    out_dir: Path,
    prefix: str,
    header: list[str],
    rows: list[list[object]],
    batches: int,
    first: int = 0,
) -> None:
    """Deal rows round-robin into ``{prefix}{first}.csv``, ``{prefix}{first + 1}.csv``, ..."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for batch in range(batches):
        path = out_dir / f"{prefix}{first + batch}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows[batch::batches])
        print(f"{path.name}: {len(rows[batch::batches])} sentences")


def main(
    fnc1_dir: Path,
    out_dir: Path,
    batches: int,
    seed: int = 13,
    extra: tuple[str, int] | None = None,
) -> None:
    """The first draw fills QUOTAS; an ``extra`` (cue name, count) draw adds batches after the existing ones."""
    rng = random.Random(seed)
    extra_cue = extra[0] if extra else None
    drawn = _already_drawn(out_dir) if extra else set()
    seen: set[str] = set()
    strata: dict[str, list] = {}
    for sentence in iter_pool(fnc1_dir):
        words = sentence.text.split()
        key = re.sub(r"\W+", " ", sentence.text.lower()).strip()
        if not 6 <= len(words) <= 70 or key in seen:
            continue
        if (sentence.body_id, sentence.sentence_index) in drawn:
            continue
        seen.add(key)
        stratum = _stratum(sentence.text, extra_cue)
        if stratum is not None:
            strata.setdefault(stratum, []).append(sentence)
    quotas = {f"{extra[0]}_cue": extra[1]} if extra else QUOTAS
    chosen = []
    for name, quota in quotas.items():
        pool = strata.get(name, [])
        print(f"{name}: {len(pool)} available, taking {quota}")
        chosen.extend(rng.sample(pool, min(quota, len(pool))))
    rng.shuffle(chosen)
    first = len(list(out_dir.glob("batch_[0-9]*.csv"))) if extra else 0
    rows = [[s.body_id, s.sentence_index, s.text] for s in chosen]
    write_batches(out_dir, "batch_", ["body_id", "sentence_index", "text"], rows, batches, first)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("fnc1_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--batches", type=int, default=6)
    for cue in EXTRA_CUES:
        parser.add_argument(f"--extra-{cue}", type=int, default=0, metavar="N")
    args = parser.parse_args()
    extras = [(cue, getattr(args, f"extra_{cue}")) for cue in EXTRA_CUES]
    extras = [(cue, count) for cue, count in extras if count]
    if len(extras) > 1:
        parser.error("take one extra draw at a time")
    main(args.fnc1_dir, args.out_dir, args.batches, extra=extras[0] if extras else None)
