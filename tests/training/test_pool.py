"""The unlabelled pool: training groups only, 6-70 words, each text once, no labelled text."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.training.conftest import tagged, write_emergent
from training.corpus.news_gold import body_placement
from training.corpus.pool import pool_hash, training_pool
from training.data import Split

LONG = "the officials said on tuesday that the report number {} was not true at all"
SHORT = "Too short here."
SHARED = "A syndicated sentence that several outlets printed word for word today."
LABELLED = "This sentence is in a labelled evaluation set and must stay out of it."


def _write_fnc1(raw: Path, bodies: dict[int, str], test_claim_body: int) -> None:
    fnc1 = raw / "fnc1"
    fnc1.mkdir(parents=True)
    with (fnc1 / "train_bodies.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Body ID", "articleBody"])
        writer.writerows(bodies.items())
    with (fnc1 / "train_stances.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Headline", "Body ID", "Stance"])
        # Ties this body to Emergent's official test claim t1.
        writer.writerow(
            [tagged("Russia may be buying shells, reports say", "t1"), test_claim_body, "discuss"]
        )
    for name, header in (
        ("competition_test_bodies.csv", ["Body ID", "articleBody"]),
        ("competition_test_stances.csv", ["Headline", "Body ID", "Stance"]),
    ):
        with (fnc1 / name).open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerow(header)


def test_pool_holds_training_bodies_only_once_each(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_emergent(raw / "emergent")
    bodies = {
        body_id: f"{LONG.format(body_id)}.\n{SHORT}\n{SHARED}\n{LABELLED}" for body_id in range(40)
    }
    _write_fnc1(raw, bodies, test_claim_body=0)
    pool = training_pool(raw, validation_fraction=0.2, test_fraction=0.2, exclude=[LABELLED])
    place = body_placement(raw, validation_fraction=0.2, test_fraction=0.2)
    splits = {body_id: place(body_id)[1] for body_id in bodies}
    assert splits[0] is Split.TEST  # tied to Emergent's test claim
    training_bodies = {body_id for body_id, split in splits.items() if split is Split.TRAIN}
    assert 0 < len(training_bodies) < len(bodies)

    pooled_bodies = {int(item.id.split(":")[0]) for item in pool}
    assert pooled_bodies == training_bodies
    texts = [item.text for item in pool]
    assert texts.count(SHARED) == 1
    assert SHORT not in texts and LABELLED not in texts
    assert len(texts) == len(training_bodies) + 1
    assert pool_hash(pool) == pool_hash(list(pool)) != pool_hash(pool[1:])
