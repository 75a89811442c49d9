"""Cohen's kappa between the first and the blind second annotation pass of the news gold set.

Each blind sample is reported on its own (the first three draws, then the
fourth and fifth), then all together.

python scripts/agreement.py
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

PATH = Path(__file__).resolve().parents[1] / "training/corpus/annotations/news_gold_second_pass.csv"


def report(name: str, rows: list[dict[str, str]]) -> None:
    first = [r["first_label"] for r in rows]
    second = [r["second_label"] for r in rows]
    agreed = sum(a == b for a, b in zip(first, second, strict=True))
    print(f"== {name}: {len(rows)} sentences, raw agreement {agreed / len(rows):.3f}")
    print(f"Cohen's kappa (4 classes incl. skip): {cohen_kappa_score(first, second):.3f}")
    both = [(a, b) for a, b in zip(first, second, strict=True) if "skip" not in (a, b)]
    kappa = cohen_kappa_score([a for a, _ in both], [b for _, b in both])
    print(f"Cohen's kappa (3 labels, {len(both)} sentences neither pass skipped): {kappa:.3f}")
    print("disagreements (first -> second):")
    for (a, b), n in Counter(
        (a, b) for a, b in zip(first, second, strict=True) if a != b
    ).most_common():
        print(f"  {a:>9} -> {b:<9} {n}")


def main() -> None:
    with PATH.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    samples = sorted({r["sample"] for r in rows})
    for sample in samples:
        report(sample, [r for r in rows if r["sample"] == sample])
    if len(samples) > 1:
        report("all", rows)


if __name__ == "__main__":
    main()
