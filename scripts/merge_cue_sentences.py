"""Build training/corpus/annotations/news_cues.csv from written sentences and a blind second label.

Annotators write sentences per cue word (write_*.csv: cue, topic, text, label);
``prepare`` numbers them into written.csv and writes shuffled, label-free
batches (blind_*.csv) for blind labelling; ``merge`` pairs each writer's label
with the blind label (blind_labels_*.csv: id, label), reports agreement, and
keeps only the sentences both label alike, with both labels, so the agreement
can be checked again from the repository.

python scripts/merge_cue_sentences.py prepare /work/annot/cues --batches 2
python scripts/merge_cue_sentences.py merge /work/annot/cues
"""

from __future__ import annotations

import argparse
import csv
import random
from collections import Counter
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

from training.corpus.cue_sentences import CUE_FILE
from training.data import DataError, normalise, parse_label, read_csv_rows


def _write(path: Path, fields: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _written(directory: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("write_*.csv")):
        for index, row in enumerate(read_csv_rows(path, ("cue", "topic", "text", "label"))):
            label = parse_label(row["label"], where=f"{path} row {index + 2}").value
            # The corpus's own de-duplication key, so no kept sentence is dropped there later.
            key = normalise(row["text"])
            if key in seen:
                continue
            seen.add(key)
            rows.append({**row, "label": label, "id": f"{path.stem}-{len(rows)}"})
    return rows


def prepare(directory: Path, batches: int) -> None:
    rows = _written(directory)
    _write(directory / "written.csv", ["id", "cue", "topic", "text", "label"], rows)
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    for index in range(batches):
        part = shuffled[index::batches]
        _write(directory / f"blind_{index}.csv", ["id", "text"], part)
        print(f"blind_{index}.csv: {len(part)} sentences")


def merge(directory: Path) -> None:
    written = {row["id"]: row for row in read_csv_rows(directory / "written.csv", ("id", "label"))}
    blind = {
        row["id"]: parse_label(row["label"], where=f"{path} id {row['id']}").value
        for path in sorted(directory.glob("blind_labels_*.csv"))
        for row in read_csv_rows(path, ("id", "label"))
    }
    paired = [(row, blind[key]) for key, row in written.items() if key in blind]
    if not paired:
        raise SystemExit(f"no blind labels for written.csv in {directory} (blind_labels_*.csv)")
    first = [row["label"] for row, _ in paired]
    second = [label for _, label in paired]
    agreed = [{**row, "blind_label": label} for row, label in paired if row["label"] == label]
    print(f"{len(written)} written, {len(paired)} labelled blind")
    print(
        f"raw agreement {len(agreed) / len(paired):.3f}, kappa {cohen_kappa_score(first, second):.3f}"
    )
    for (a, b), n in Counter(
        (a, b) for a, b in zip(first, second, strict=True) if a != b
    ).most_common():
        print(f"  writer {a:>9} -> blind {b:<9} {n}")
    _write(CUE_FILE, ["cue", "topic", "text", "label", "blind_label"], agreed)
    print(f"{CUE_FILE.name}: {len(agreed)} sentences {dict(Counter(r['label'] for r in agreed))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["prepare", "merge"])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--batches", type=int, default=2)
    args = parser.parse_args()
    try:
        if args.step == "prepare":
            prepare(args.directory, args.batches)
        else:
            merge(args.directory)
    except DataError as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main()
