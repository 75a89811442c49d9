"""Draw training-split gold sentences for annotators to rewrite as counterfactuals.

A counterfactual is the smallest edit of a real news sentence that changes its
label under docs/labels.md ("had never sold" -> "had not yet sold"), written and
labelled by an annotator. Minimal pairs teach the model which words carry the
stance (Kaushik et al., "Learning the Difference that Makes a Difference",
ICLR 2020). Only sentences of training groups are drawn, and the loader keeps a
rewrite only while its original's group is in training, so no evaluation
sentence ever has an edited twin in training.

    python scripts/sample_for_counterfactuals.py ../shared/data/raw out_dir --per-label 150 --batches 3
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sample_for_annotation import write_batches

from training.corpus.news_gold import NEWS_GOLD_FILE, load_news_gold
from training.data import Split, read_csv_rows


def main(raw_dir: Path, out_dir: Path, per_label: int, batches: int, seed: int = 29) -> None:
    rows = read_csv_rows(NEWS_GOLD_FILE, ("body_id", "sentence_index", "text", "label"))
    examples = load_news_gold(raw_dir, validation_fraction=0.1, test_fraction=0.2)
    by_label: dict[str, list[dict[str, str]]] = {}
    for row, example in zip(rows, examples, strict=True):
        if example.split is Split.TRAIN and 8 <= len(row["text"].split()) <= 45:
            by_label.setdefault(row["label"], []).append(row)
    rng = random.Random(seed)
    chosen = [
        row
        for label in sorted(by_label)
        for row in rng.sample(by_label[label], min(per_label, len(by_label[label])))
    ]
    rng.shuffle(chosen)
    rows = [[r["body_id"], r["sentence_index"], r["text"], r["label"]] for r in chosen]
    header = ["body_id", "sentence_index", "text", "label"]
    write_batches(out_dir, "counterfactual_batch_", header, rows, batches)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("raw_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--per-label", type=int, default=150)
    parser.add_argument("--batches", type=int, default=3)
    args = parser.parse_args()
    main(args.raw_dir, args.out_dir, args.per_label, args.batches)
