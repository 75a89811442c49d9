"""The push-back wave: training stories only, nothing labelled or near an evaluation sentence,
bare negations capped, the same draw for the same seed; and a later wave merged alone adds
to the annotation files instead of replacing them."""

from __future__ import annotations

import csv
from pathlib import Path

from training.corpus import pushback, selection
from training.corpus.active import with_existing
from training.corpus.near_copies import NearCopyIndex
from training.corpus.selection import Sentence, Wave
from training.data import Split, normalise

SHARP = "The minister denounced the border agreement signed by {} last week."
BROAD = "The bridge over the river near {} was not open to traffic on Monday."
PLAIN = "The council met on Tuesday to discuss the budget for {} next year."


def sentence(family: str, document: str, index: int, split: Split, text: str) -> Sentence:
    return Sentence(
        id=f"{family}:{document}:{index}",
        family=family,
        document=document,
        index=index,
        text=text,
        before="",
        after="",
        title="",
        story=f"{family}:{document}",
        split=split,
    )


def pool() -> list[Sentence]:
    rows = []
    for number in range(40):
        split = (Split.TRAIN, Split.VALIDATION, Split.TEST)[number % 3]
        family = "wikinews" if number < 20 else "fnc1"
        for index, template in enumerate((SHARP, BROAD, PLAIN)):
            rows.append(
                sentence(family, str(number), index, split, template.format(f"town{number}"))
            )
    return rows


def test_the_groups_prefer_a_sharp_match_to_a_bare_negation() -> None:
    assert pushback.pushback_group("It was not a hoax, he said, calling it null and void.") == (
        "legal"
    )
    assert pushback.pushback_group("The road was not open.") == pushback.BROAD
    assert pushback.pushback_group("A photo of the match was doctored.") == "distort"
    assert pushback.pushback_group("The council met on Tuesday.") is None


def test_the_wave_draws_training_stories_only_and_nothing_labelled_or_near_held_out() -> None:
    rows = pool()
    labelled = rows[0].text  # town0, a training story
    near_held_out = SHARP.format("town3").replace("last week", "last month")
    wave = pushback.pushback_wave(
        rows,
        {normalise(labelled)},
        seed=1,
        total=1000,
        held_out=NearCopyIndex([near_held_out]),
    )
    drawn = [s for s, _ in wave.training]
    assert drawn and wave.evaluation == []
    assert all(s.split is not Split.TEST for s in drawn)
    assert labelled not in {s.text for s in drawn}
    assert SHARP.format("town3") not in {s.text for s in drawn}
    assert not any(s.text.startswith("The council") for s in drawn)
    assert {reason for _, reason in wave.training} <= {
        f"pushback_{group}" for group in pushback.GROUPS
    }


def test_bare_negations_stay_a_minority_and_wikinews_comes_first() -> None:
    # Few sharp matches and many negations: the cap, not ``total``, decides the size.
    rows = [s for s in pool() if s.index != 0 or int(s.document) in (1, 2, 21, 22, 23)]
    wave = pushback.pushback_wave(rows, set(), seed=3, total=20, broad_share=0.3)
    broad = [s for s, reason in wave.training if reason == f"pushback_{pushback.BROAD}"]
    assert len(wave.training) <= 20
    assert 0 < len(broad) <= 0.3 * len(wave.training)
    sharp = [s for s, reason in wave.training if reason != f"pushback_{pushback.BROAD}"]
    # Every sharp Wikinews sentence of a training or validation story is in before any FNC-1.
    wikinews_sharp = [s for s in rows if s.family == "wikinews" and s.index == 0]
    assert {s.id for s in sharp if s.family == "wikinews"} == {
        s.id for s in wikinews_sharp if s.split is not Split.TEST
    }
    counts = pushback.counts(wave)
    assert sum(counts.by_family.values()) == len(wave.training)
    assert counts.by_group[pushback.BROAD] == len(broad)


def test_the_same_seed_draws_the_same_wave_and_another_seed_differs() -> None:
    rows = pool()

    def ids(seed: int) -> list[str]:
        return [s.id for s, _ in pushback.pushback_wave(rows, set(), seed=seed, total=12).training]

    assert ids(5) == ids(5)
    assert ids(5) != ids(6)


def test_a_filled_batch_is_its_own_answer_file_and_add_keeps_earlier_rows(
    tmp_path: Path,
) -> None:
    rows = [s for s in pool() if s.split is Split.TRAIN][:3]
    wave = Wave(evaluation=[], training=[(s, "pushback_condemn") for s in rows])
    (path,) = selection.write_batches(wave, tmp_path / "in", batches=1, seed=0, prefix="p")
    with path.open(encoding="utf-8", newline="") as handle:
        filled = [{**row, "label": "denial"} for row in csv.DictReader(handle)]
    answer = tmp_path / "out" / path.name
    answer.parent.mkdir()
    with answer.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=selection.CANDIDATE_COLUMNS)
        writer.writeheader()
        writer.writerows(filled)
    _, training = selection.merge_labels(tmp_path / "in", tmp_path / "out")
    assert sorted(row[3] for row in training) == ["denial"] * 3

    existing = tmp_path / "active.csv"
    with existing.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "selected_by", "text", "label"])
        writer.writerow(["fnc1:1:1", "entropy", "An earlier wave's sentence.", "assertion"])
        writer.writerow([rows[0].id, "entropy", rows[0].text, "assertion"])
    merged = with_existing(training, existing)
    assert ["fnc1:1:1", "entropy", "An earlier wave's sentence.", "assertion"] in merged
    assert [r[3] for r in merged if r[0] == rows[0].id] == ["denial"]
    assert len(merged) == 4
