"""Agreement between two annotation passes: raw agreement and Cohen's kappa, skips included or not."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from training.corpus.natural import SKIP


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float:
    """Observed agreement corrected for the agreement the two passes' label mixes give by chance."""
    if len(first) != len(second) or not first:
        raise ValueError("two passes of the same, non-empty list of items are needed")
    total = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / total
    first_counts, second_counts = Counter(first), Counter(second)
    chance = sum(first_counts[label] * second_counts[label] for label in first_counts) / total**2
    return 1.0 if chance == 1 else (observed - chance) / (1 - chance)


@dataclass(frozen=True)
class Agreement:
    items: int
    raw: float
    # Four classes: the three labels and skip.
    kappa: float
    # Only the items neither pass skipped, on the three labels.
    labelled_items: int
    labelled_kappa: float
    # (first label, second label) -> count, for the items the passes disagree on.
    disagreements: Counter[tuple[str, str]]


def agreement(first: Sequence[str], second: Sequence[str]) -> Agreement:
    both = [(a, b) for a, b in zip(first, second, strict=True) if SKIP not in (a, b)]
    return Agreement(
        items=len(first),
        raw=sum(a == b for a, b in zip(first, second, strict=True)) / len(first),
        kappa=cohen_kappa(first, second),
        labelled_items=len(both),
        labelled_kappa=cohen_kappa([a for a, _ in both], [b for _, b in both]),
        disagreements=Counter((a, b) for a, b in zip(first, second, strict=True) if a != b),
    )
