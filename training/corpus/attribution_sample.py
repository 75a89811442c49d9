"""Which labelled news sentences annotators read for attribution spans, and the batch files.

The draw is stratified twice: the splits keep the shares the stance corpus's news sentences
have (so the attribution test set is as large, relative to training, as the stance one),
and within each split the labels follow a target mix that over-draws denials and caveats
(their sources are the harder ones: "dismissed ... as", quoted first-person denials, "could
not be independently verified" with no source at all), bounded by what each split holds.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from model.labels import LABELS, Label
from training.corpus.attribution import (
    BATCHES_DIR,
    SECOND_BATCHES_DIR,
    GoldSentence,
    write_rows,
)
from training.data import Split

BATCH_SIZE = 300
SAMPLE_SIZE = 3300
SECOND_PASS_SIZE = 300
SAMPLE_SEED = 20261227
SECOND_PASS_SEED = 20261228
BATCH_COLUMNS = ("id", "text", "label")
# Assertions are most of running news; denials and caveats carry the sources that are hard.
TARGET_MIX: Mapping[Label, float] = {
    Label.ASSERTION: 0.45,
    Label.DENIAL: 0.30,
    Label.CAVEAT: 0.25,
}


def largest_remainder(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    """``total`` shared in proportion to ``weights``, whole numbers summing to ``total``."""
    weight_sum = sum(weights.values())
    if total <= 0 or weight_sum <= 0:
        return dict.fromkeys(weights, 0)
    exact = {key: total * weight / weight_sum for key, weight in weights.items()}
    shares = {key: int(value) for key, value in exact.items()}
    # Ties go in key order so the plan never depends on dict order.
    by_remainder = sorted(exact, key=lambda key: (-(exact[key] - shares[key]), key))
    for key in by_remainder[: total - sum(shares.values())]:
        shares[key] += 1
    return shares


def capped_shares(
    total: int, weights: Mapping[str, float], supply: Mapping[str, int]
) -> dict[str, int]:
    """As ``largest_remainder``, but no key gets more than its ``supply``: a key's shortfall
    is shared among the others in proportion to their weights, until none can take more."""
    shares = dict.fromkeys(weights, 0)
    open_keys = {key for key in weights if supply.get(key, 0) > 0}
    left = min(total, sum(supply.get(key, 0) for key in weights))
    while left > 0 and open_keys:
        offer = largest_remainder(left, {key: weights[key] for key in sorted(open_keys)})
        for key, amount in offer.items():
            taken = min(amount, supply[key] - shares[key])
            shares[key] += taken
            left -= taken
            if shares[key] >= supply[key]:
                open_keys.discard(key)
        if all(offer[key] == 0 for key in open_keys):
            # Weights too small to earn a whole row: hand the rest out one by one.
            for key in sorted(open_keys, key=lambda key: -weights[key]):
                if left and shares[key] < supply[key]:
                    shares[key] += 1
                    left -= 1
    return shares


@dataclass(frozen=True)
class SamplePlan:
    """How many sentences each (split, label) cell gives, and what it could have given."""

    drawn: dict[tuple[Split, Label], int]
    available: dict[tuple[Split, Label], int]


def plan_sample(
    sentences: Sequence[GoldSentence], *, size: int, mix: Mapping[Label, float] = TARGET_MIX
) -> SamplePlan:
    """Split totals in the corpus's own shares, then the label mix within each split."""
    available = Counter((s.split, s.label) for s in sentences)
    per_split = Counter(s.split for s in sentences)
    split_totals = largest_remainder(
        min(size, len(sentences)), {split.value: per_split[split] for split in Split}
    )
    drawn: dict[tuple[Split, Label], int] = {}
    for split in Split:
        cells = capped_shares(
            split_totals[split.value],
            {label.value: mix[label] for label in LABELS},
            {label.value: available[(split, label)] for label in LABELS},
        )
        drawn.update({(split, Label(label)): count for label, count in cells.items()})
    return SamplePlan(drawn=drawn, available={key: available[key] for key in drawn})


def draw_sample(
    sentences: Sequence[GoldSentence],
    *,
    size: int = SAMPLE_SIZE,
    seed: int = SAMPLE_SEED,
    mix: Mapping[Label, float] = TARGET_MIX,
) -> tuple[list[GoldSentence], SamplePlan]:
    """The seeded draw, shuffled (each batch mixes labels and splits), and its plan."""
    plan = plan_sample(sentences, size=size, mix=mix)
    rng = random.Random(seed)
    by_cell: dict[tuple[Split, Label], list[GoldSentence]] = {key: [] for key in plan.drawn}
    # Sorted by id first, so the draw does not depend on the order the files were read in.
    for sentence in sorted(sentences, key=lambda s: s.id):
        by_cell[(sentence.split, sentence.label)].append(sentence)
    drawn: list[GoldSentence] = []
    for key, count in plan.drawn.items():
        drawn.extend(rng.sample(by_cell[key], count))
    rng.shuffle(drawn)
    return drawn, plan


def batches_of(rows: Sequence[GoldSentence], size: int = BATCH_SIZE) -> list[list[GoldSentence]]:
    return [list(rows[start : start + size]) for start in range(0, len(rows), size)]


def second_pass(
    batches: Sequence[Sequence[GoldSentence]],
    *,
    count: int = SECOND_PASS_SIZE,
    seed: int = SECOND_PASS_SEED,
) -> list[GoldSentence]:
    """A seeded draw of ``count`` rows, each batch giving its share (by size), shuffled so
    no batch sits together; the blind second annotator sees no first-pass answer."""
    shares = largest_remainder(
        count, {f"{number:04d}": len(batch) for number, batch in enumerate(batches)}
    )
    rng = random.Random(seed)
    drawn: list[GoldSentence] = []
    for number, batch in enumerate(batches):
        drawn.extend(rng.sample(list(batch), min(len(batch), shares[f"{number:04d}"])))
    rng.shuffle(drawn)
    return drawn


def batch_name(number: int) -> str:
    return f"batch_{number:02d}.csv"


def write_batches(folder: Path, batches: Sequence[Sequence[GoldSentence]]) -> list[Path]:
    """``batch_01.csv``, ... with ``id,text,label``: the text exactly as the corpus holds it."""
    paths = []
    for number, batch in enumerate(batches, start=1):
        path = folder / batch_name(number)
        write_rows(path, BATCH_COLUMNS, ([s.id, s.text, s.label.value] for s in batch))
        paths.append(path)
    return paths


class SampleExistsError(ValueError):
    """The output folder already holds batches annotators may be working on."""


def write_sample(
    out_dir: Path,
    sample: Sequence[GoldSentence],
    *,
    second_count: int = SECOND_PASS_SIZE,
    second_seed: int = SECOND_PASS_SEED,
) -> tuple[list[Path], list[Path]]:
    """``out_dir/in/batch_NN.csv`` and ``out_dir/second_in/batch_NN.csv``; refuses a folder
    that already has batches, since annotators may be answering them."""
    for name in (BATCHES_DIR, SECOND_BATCHES_DIR):
        if any((out_dir / name).glob("*.csv")):
            raise SampleExistsError(f"{out_dir / name} already holds batch files; not overwriting")
    batches = batches_of(sample)
    first = write_batches(out_dir / BATCHES_DIR, batches)
    blind = second_pass(batches, count=second_count, seed=second_seed)
    second = write_batches(out_dir / SECOND_BATCHES_DIR, batches_of(blind))
    return first, second


def composition_table(plan: SamplePlan) -> list[str]:
    """Drawn / available per split and label, as lines for the CLI and the data card."""
    lines = [
        f"{'split':<12}" + "".join(f"{label.value:>20}" for label in LABELS) + f"{'total':>10}"
    ]
    for split in Split:
        cells = [
            f"{plan.drawn[(split, label)]:>7} of {plan.available[(split, label)]:<9}"
            for label in LABELS
        ]
        total = sum(plan.drawn[(split, label)] for label in LABELS)
        lines.append(
            f"{split.value:<12}" + "".join(f"{cell:>20}" for cell in cells) + f"{total:>10}"
        )
    totals = [sum(plan.drawn[(split, label)] for split in Split) for label in LABELS]
    lines.append(f"{'total':<12}" + "".join(f"{n:>20}" for n in totals) + f"{sum(totals):>10}")
    return lines


def write_manifest(
    out_dir: Path,
    plan: SamplePlan,
    *,
    seed: int,
    second_seed: int,
    second_count: int,
    data_hash: str,
) -> Path:
    """``sample.json``: what was drawn from which corpus, so the draw can be re-made."""
    path = out_dir / "sample.json"
    manifest = {
        "seed": seed,
        "second_pass_seed": second_seed,
        "second_pass_size": second_count,
        "batch_size": BATCH_SIZE,
        "corpus_data_hash": data_hash,
        "drawn": {
            split.value: {label.value: plan.drawn[(split, label)] for label in LABELS}
            for split in Split
        },
        "available": {
            split.value: {label.value: plan.available[(split, label)] for label in LABELS}
            for split in Split
        },
    }
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path
