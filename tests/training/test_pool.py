"""The unlabelled pool: training groups only, 6-70 words, each text once, no labelled text."""

from __future__ import annotations

from pathlib import Path

from tests.training.conftest import tagged, write_emergent, write_fnc1
from training.corpus.news_gold import body_placement
from training.corpus.pool import pool_hash, training_pool
from training.data import Split

LONG = "the officials said on tuesday that the report number {} was not true at all"
SHORT = "Too short here."
SHARED = "A syndicated sentence that several outlets printed word for word today."
LABELLED = "This sentence is in a labelled evaluation set and must stay out of it."


def test_pool_holds_training_bodies_only_once_each(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_emergent(raw / "emergent")
    bodies = {
        body_id: f"{LONG.format(body_id)}.\n{SHORT}\n{SHARED}\n{LABELLED}" for body_id in range(40)
    }
    # Body 0 is tied to Emergent's official test claim t1.
    stance = [tagged("Russia may be buying shells, reports say", "t1"), 0, "discuss"]
    write_fnc1(raw, bodies, [stance])
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
