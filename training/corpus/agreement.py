"""Agreement between two annotation passes: raw agreement and Cohen's kappa, skips included or
not, for stance labels; span agreement and kappa for attribution spans."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from training.corpus.attribution import Attribution, BatchRow, sort_ids, span_value
from training.corpus.natural import SKIP
from training.evaluation.attribution_metrics import same_span, token_f1


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


@dataclass(frozen=True)
class AttributionAgreement:
    """Two passes of attribution answers on the sentences both answered.

    Span scores are over the sentences where either pass names a source (two nulls agree
    trivially and would flatter them); ``null_*`` compare "names a source or not" over all;
    kind is compared where both name a source. ``nan`` where a score has no sentences.
    """

    items: int
    source_items: int
    source_exact: float
    source_token_f1: float
    cue_exact: float
    cue_token_f1: float
    null_accuracy: float
    null_kappa: float
    # F1 of "has a source", one pass taken as reference (symmetric for two passes).
    has_source_f1: float
    kind_items: int
    kind_agreement: float
    kind_kappa: float
    # id -> what the passes differ on: any of null, source, kind, cue.
    differences: dict[str, tuple[str, ...]]


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _kappa(first: Sequence[str], second: Sequence[str]) -> float:
    return cohen_kappa(first, second) if first else math.nan


def attribution_agreement(
    first: Mapping[str, Attribution], second: Mapping[str, Attribution], texts: Mapping[str, str]
) -> AttributionAgreement:
    """Agreement of two passes (id -> answer) on their shared ids; ``texts``: id -> sentence."""
    ids = sort_ids(first.keys() & second.keys())
    pairs = [(first[i], second[i], texts[i]) for i in ids]
    either = [(a, b, text) for a, b, text in pairs if a.has_source or b.has_source]
    both = [(a, b) for a, b, _ in pairs if a.has_source and b.has_source]
    has_first = ["source" if a.has_source else "null" for a, _, _ in pairs]
    has_second = ["source" if b.has_source else "null" for _, b, _ in pairs]
    sourced_both = sum(a.has_source and b.has_source for a, b, _ in pairs)
    sourced_total = sum(a.has_source for a, _, _ in pairs) + sum(b.has_source for _, b, _ in pairs)
    kinds = ([str(a.source_kind) for a, _ in both], [str(b.source_kind) for _, b in both])
    differences = {
        sentence_id: found
        for sentence_id, (a, b, _) in zip(ids, pairs, strict=True)
        if (found := _differences(a, b))
    }
    return AttributionAgreement(
        items=len(pairs),
        source_items=len(either),
        source_exact=_mean([float(same_span(a.source, b.source)) for a, b, _ in either]),
        source_token_f1=_mean([token_f1(text, a.source, b.source) for a, b, text in either]),
        cue_exact=_mean([float(same_span(a.cue, b.cue)) for a, b, _ in either]),
        cue_token_f1=_mean([token_f1(text, a.cue, b.cue) for a, b, text in either]),
        null_accuracy=_mean([float(a == b) for a, b in zip(has_first, has_second, strict=True)]),
        null_kappa=_kappa(has_first, has_second),
        has_source_f1=2 * sourced_both / sourced_total if sourced_total else math.nan,
        kind_items=len(both),
        kind_agreement=_mean([float(a == b) for a, b in zip(*kinds, strict=True)]),
        kind_kappa=_kappa(*kinds),
        differences=differences,
    )


def _differences(first: Attribution, second: Attribution) -> tuple[str, ...]:
    if first.has_source != second.has_source:
        return ("null",)
    found = []
    if not same_span(first.source, second.source):
        found.append("source")
    if first.source_kind != second.source_kind:
        found.append("kind")
    if not same_span(first.cue, second.cue):
        found.append("cue")
    return tuple(found)


DISAGREEMENT_COLUMNS = (
    "id",
    "text",
    "label",
    "differs_on",
    "first_source",
    "first_source_kind",
    "first_cue",
    "second_source",
    "second_source_kind",
    "second_cue",
)


def disagreement_rows(
    result: AttributionAgreement,
    first: Mapping[str, Attribution],
    second: Mapping[str, Attribution],
    batches: Mapping[str, BatchRow],
) -> list[list[str]]:
    """One row per sentence the passes differ on, spans written as annotators write them
    (``said#2``), so the adjudicator can copy the right answer into ``adjudicated.csv``."""

    def cells(answer: Attribution, text: str) -> list[str]:
        return [
            "" if answer.source is None else span_value(text, answer.source),
            answer.source_kind or "",
            "" if answer.cue is None else span_value(text, answer.cue),
        ]

    rows = []
    for sentence_id, found in result.differences.items():
        row = batches[sentence_id]
        rows.append(
            [
                sentence_id,
                row.text,
                row.label,
                " ".join(found),
                *cells(first[sentence_id], row.text),
                *cells(second[sentence_id], row.text),
            ]
        )
    return rows
