"""What annotators read: openings from test stories in order, doubt from training stories,
and labels that go back to the sentence they were given for."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from training.corpus import selection
from training.corpus.active import write_merged
from training.corpus.selection import Sentence, Wave
from training.data import Split


def sentence(document: str, index: int, split: Split, text: str | None = None) -> Sentence:
    return Sentence(
        id=f"wikinews:{document}:{index}",
        family="wikinews",
        document=document,
        index=index,
        text=text or f"Sentence number {index} of article {document} says something new.",
        before="",
        after="",
        title=f"Title {document}",
        story=f"wikinews:{document}",
        split=split,
    )


def test_openings_are_whole_test_openings_in_order() -> None:
    rows = [
        sentence(d, i, Split.TEST if d in "ab" else Split.TRAIN) for d in "abc" for i in range(6)
    ]
    drawn = selection.openings(rows, family="wikinews", documents=5, per_document=3, seed=1)
    assert [(s.document, s.index) for s in drawn] == [(d, i) for d in "ab" for i in range(3)]
    again = selection.openings(
        rows, family="wikinews", documents=5, per_document=3, seed=1, skip_documents={"wikinews:a"}
    )
    assert {s.document for s in again} == {"b"}


def test_doubt_takes_confident_disagreements_first_then_entropy() -> None:
    rows = [sentence("a", i, Split.TRAIN) for i in range(4)]
    first = np.array([[0.9, 0.05, 0.05], [0.34, 0.33, 0.33], [0.6, 0.3, 0.1], [0.98, 0.01, 0.01]])
    second = np.array([[0.1, 0.8, 0.1], [0.4, 0.3, 0.3], [0.2, 0.7, 0.1], [0.97, 0.02, 0.01]])
    differ, unsure = selection.by_doubt(rows, first, second, disagreements=2, uncertain=1)
    assert [s.index for s in differ] == [0, 2]
    assert [s.index for s in unsure] == [1]


def test_doubt_wave_never_offers_test_or_labelled_sentences() -> None:
    rows = [
        sentence("a", 0, Split.TEST),
        sentence("b", 0, Split.TRAIN, "Already labelled sentence that the gold set holds."),
        *(sentence("c", i, Split.TRAIN) for i in range(3)),
    ]
    taken = {"already labelled sentence that the gold set holds"}

    def uniform(texts: list[str]) -> np.ndarray:
        return np.full((len(texts), 3), 1 / 3)

    wave = selection.doubt_wave(
        rows,
        taken,
        uniform,
        uniform,
        second_name="baseline",
        disagreements=5,
        uncertain=5,
        likely_denials=5,
    )
    assert {s.document for s, _ in wave.training} == {"c"}


def write_labels(path: Path, ids: list[str], labels: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "label"])
        writer.writerows(zip(ids, labels, strict=True))


def test_merge_joins_labels_and_refuses_a_shifted_file(tmp_path: Path) -> None:
    opening = sentence("a", 0, Split.TEST)
    trained = sentence("b", 0, Split.TRAIN)
    wave = Wave(evaluation=[(opening, "opening")], training=[(trained, "entropy")])
    (path,) = selection.write_batches(wave, tmp_path / "in", batches=1, seed=0, prefix="w")
    with path.open(encoding="utf-8", newline="") as handle:
        ids = [row["id"] for row in csv.DictReader(handle)]
    write_labels(
        tmp_path / "out" / path.name, ids, ["denial" if i == trained.id else "skip" for i in ids]
    )
    openings, training = selection.merge_labels(tmp_path / "in", tmp_path / "out")
    assert openings == [[opening.id, opening.text, "skip"]]
    assert training == [[trained.id, "entropy", trained.text, "denial"]]

    write_labels(tmp_path / "out" / path.name, list(reversed(ids)), ["skip", "denial"])
    with pytest.raises(ValueError, match="in order"):
        selection.merge_labels(tmp_path / "in", tmp_path / "out")


def test_an_adjudicated_label_wins_and_files_sort_by_position(tmp_path: Path) -> None:
    rows = [sentence(d, i, Split.TRAIN) for d, i in (("10", 0), ("9", 1), ("9", 0))]
    wave = Wave(evaluation=[], training=[(s, "entropy") for s in rows])
    (path,) = selection.write_batches(wave, tmp_path / "in", batches=1, seed=0, prefix="w")
    with path.open(encoding="utf-8", newline="") as handle:
        ids = [row["id"] for row in csv.DictReader(handle)]
    write_labels(tmp_path / "out" / path.name, ids, ["assertion"] * len(ids))
    _, training = selection.merge_labels(
        tmp_path / "in", tmp_path / "out", {"wikinews:9:1": "denial"}
    )
    write_merged([], training, openings_path=tmp_path / "o.csv", active_path=tmp_path / "a.csv")
    with (tmp_path / "a.csv").open(encoding="utf-8", newline="") as handle:
        merged = [(row["id"], row["label"]) for row in csv.DictReader(handle)]
    assert merged == [
        ("wikinews:9:0", "assertion"),
        ("wikinews:9:1", "denial"),
        ("wikinews:10:0", "assertion"),
    ]


def test_openings_read_further_continue_the_drawn_articles_only() -> None:
    rows = [sentence(d, i, Split.TEST) for d in "ab" for i in range(25)]
    wave = selection.further_openings_wave(rows, {"wikinews:a"}, seed=0, fnc1=0)
    assert [(s.document, s.index) for s, _ in wave.evaluation] == [("a", i) for i in range(10, 20)]


def test_the_second_pass_draws_a_share_of_every_batch(tmp_path: Path) -> None:
    rows = [sentence(d, i, Split.TRAIN) for d in "ab" for i in range(20)]
    wave = Wave(evaluation=[], training=[(s, "entropy") for s in rows])
    selection.write_batches(wave, tmp_path, batches=2, seed=0, prefix="w")
    drawn = selection.second_pass_sample(tmp_path, fraction=0.1, seed=7)
    batch_of = {}
    for path in tmp_path.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            batch_of.update({row["id"]: path.name for row in csv.DictReader(handle)})
    assert len(drawn) == 4
    assert sorted(batch_of[row["id"]] for row in drawn) == ["w_01.csv"] * 2 + ["w_02.csv"] * 2
    assert drawn == selection.second_pass_sample(tmp_path, fraction=0.1, seed=7)


def test_merge_refuses_a_misspelt_label_naming_the_batch(tmp_path: Path) -> None:
    wave = Wave(evaluation=[], training=[(sentence("a", 0, Split.TRAIN), "entropy")])
    (path,) = selection.write_batches(wave, tmp_path / "in", batches=1, seed=0, prefix="w")
    write_labels(tmp_path / "out" / path.name, ["wikinews:a:0"], ["denail"])
    with pytest.raises(ValueError, match=r"w_01\.csv wikinews:a:0"):
        selection.merge_labels(tmp_path / "in", tmp_path / "out")
