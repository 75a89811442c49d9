"""Collect the annotators' batch files into the reviewed annotation CSVs under training/corpus/annotations.

    python scripts/merge_annotations.py /work/annot

Sentences labelled `skip` (boilerplate, fragments) are left out of the gold
set; the second-pass file keeps both passes' labels, skip included, so the
agreement can be recomputed from it alone (scripts/agreement.py). Where the
blind passes disagreed, and in a consistency review of one family of wording,
an adjudicator's label replaces the first pass in the gold set;
news_gold_adjudicated.csv records every reviewed sentence with both labels.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "training" / "corpus" / "annotations"
LABELS = {"assertion", "denial", "caveat", "skip"}


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, header: list[str], rows: list[tuple[object, ...]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _paired(
    inputs_path: Path, labels_path: Path
) -> list[tuple[dict[str, str], dict[str, str], tuple[str, str], str]]:
    """Each input row with its annotated row, its (body_id, sentence_index) key and its label.

    The annotator's file must hold one row per input row, in order, with a known label.
    """
    inputs, labelled_rows = _read(inputs_path), _read(labels_path)
    if len(inputs) != len(labelled_rows):
        raise SystemExit(f"{labels_path}: {len(labelled_rows)} rows for {len(inputs)} sentences")
    paired = []
    for row, labelled in zip(inputs, labelled_rows, strict=True):
        key = (row["body_id"], row["sentence_index"])
        if key != (labelled["body_id"], labelled["sentence_index"]):
            raise SystemExit(f"{labels_path}: row for {key} is out of order")
        label = labelled["label"].strip().lower()
        if label not in LABELS:
            raise SystemExit(f"{labels_path}: unknown label {label!r} for {key}")
        paired.append((row, labelled, key, label))
    return paired


# Adjudications, in the order they were made: a later file's label wins.
# The first settles the blind passes' disagreements, the second is a consistency review of
# every gold sentence with "not yet" / "yet to" / "confirm or deny" wording.
ADJUDICATIONS = {
    "blind-pass disagreements": "adjudicated.csv",
    "not-yet review": "review_notyet_decided.csv",
}


def read_adjudicated(annot: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """The adjudicated label of each reviewed sentence, and which review decided it."""
    decided: dict[tuple[str, str], tuple[str, str]] = {}
    for review, name in ADJUDICATIONS.items():
        path = annot / name
        if not path.is_file():
            continue
        for row in _read(path):
            label = row["label"].strip().lower()
            if label not in LABELS:
                raise SystemExit(f"{path}: unknown label {label!r}")
            decided[(row["body_id"], row["sentence_index"])] = (label, review)
    return decided


def merge_news(
    annot: Path, adjudicated: dict[tuple[str, str], tuple[str, str]], *, allow_partial: bool = False
) -> dict[tuple[str, str], str]:
    """Write the gold set: the first pass, with the adjudicated label of every reviewed sentence."""
    first_pass: dict[tuple[str, str], str] = {}
    rows = []
    for labels_path in sorted(annot.glob("labels_[0-9]*.csv")):
        batch_path = annot / labels_path.name.replace("labels_", "batch_")
        if allow_partial and len(_read(batch_path)) != len(_read(labels_path)):
            print(f"skipping unfinished {labels_path.name}")
            continue
        for sentence, _, key, label in _paired(batch_path, labels_path):
            first_pass[key] = label
            final = adjudicated.get(key, (label, ""))[0]
            if final != "skip":
                rows.append((int(key[0]), int(key[1]), sentence["text"], final))
    rows.sort()
    _write(OUT / "news_gold.csv", ["body_id", "sentence_index", "text", "label"], rows)
    reviewed = sorted(
        (int(key[0]), int(key[1]), review, first_pass[key], label)
        for key, (label, review) in adjudicated.items()
    )
    _write(
        OUT / "news_gold_adjudicated.csv",
        ["body_id", "sentence_index", "review", "first_label", "final_label"],
        reviewed,
    )
    changed = sum(first != final for *_, first, final in reviewed)
    print(
        f"news_gold.csv: {len(rows)} sentences ({len(first_pass) - len(rows)} skipped); "
        f"adjudication reviewed {len(reviewed)} and changed {changed}"
    )
    return first_pass


# Blind second passes: which labels file holds which sample of first-pass sentences.
SECOND_PASSES = {
    "draws-1-3": ("labels_blind.csv",),
    "draws-4-5": ("labels_blind2_a.csv", "labels_blind2_b.csv"),
}


def merge_second_pass(
    annot: Path,
    first_pass: dict[tuple[str, str], str],
    adjudicated: dict[tuple[str, str], tuple[str, str]],
) -> None:
    rows = []
    for sample, names in SECOND_PASSES.items():
        paths = [annot / name for name in names]
        if not all(path.is_file() for path in paths):
            print(f"skipping second pass {sample}: {', '.join(names)} not all there")
            continue
        for labelled in (row for path in paths for row in _read(path)):
            key = (labelled["body_id"], labelled["sentence_index"])
            second = labelled["label"].strip().lower()
            final = adjudicated.get(key, ("", ""))[0] if second != first_pass[key] else ""
            rows.append((int(key[0]), int(key[1]), first_pass[key], second, sample, final))
    rows.sort()
    _write(
        OUT / "news_gold_second_pass.csv",
        ["body_id", "sentence_index", "first_label", "second_label", "sample", "adjudicated"],
        rows,
    )
    print(f"news_gold_second_pass.csv: {len(rows)} sentences")


def merge_emergent(annot: Path) -> None:
    rows = []
    for index in range(2):
        inputs = annot / f"emergent_obs_{index}.csv"
        labels = annot / f"emergent_obs_labels_{index}.csv"
        if not labels.is_file():
            return
        batch, labelled = _read(inputs), _read(labels)
        if [r["article_id"] for r in batch] != [r["article_id"] for r in labelled]:
            raise SystemExit(f"{labels}: rows do not match {inputs}")
        rows.extend((r["article_id"], r["label"].strip().lower()) for r in labelled)
    _write(OUT / "emergent_observing_review.csv", ["article_id", "label"], rows)
    print(f"emergent_observing_review.csv: {len(rows)} headlines")


def merge_counterfactuals(annot: Path) -> None:
    """Rewrites keep their original's body id and sentence index, so they share its split group."""
    rows = []
    for labels_path in sorted(annot.glob("counterfactual_labels_[0-9]*.csv")):
        originals_path = annot / labels_path.name.replace("_labels_", "_batch_")
        for original, rewrite, key, label in _paired(originals_path, labels_path):
            text = rewrite["text"].strip()
            if label == "skip" or text == original["text"].strip():
                continue
            rows.append((int(key[0]), int(key[1]), text, label))
    if not rows:
        return
    rows.sort()
    _write(OUT / "news_counterfactual.csv", ["body_id", "sentence_index", "text", "label"], rows)
    print(f"news_counterfactual.csv: {len(rows)} rewrites")


if __name__ == "__main__":
    source = Path(sys.argv[1])
    OUT.mkdir(parents=True, exist_ok=True)
    decided = read_adjudicated(source)
    first = merge_news(source, decided, allow_partial="--allow-partial" in sys.argv)
    merge_second_pass(source, first, decided)
    merge_emergent(source)
    merge_counterfactuals(source)
