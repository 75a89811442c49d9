"""Labelled texts as one flat table: a row per claim, keyed by the id of the text it came from.

The shape of batch scoring (``python -m training score``), of Spark scoring and of
the MLflow model's output; each of them maps ``label_texts``' dataclasses through
here, so the three write the same rows. Columns are plain lists, so ``model/`` needs
neither pandas nor pyarrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from model.labelling import LabelledClaim, LabelledText
from model.labels import LABELS

ID_COLUMN = "id"
TEXT_COLUMN = "text"
# The claim's position among its text's claims; start and end are character offsets into
# the cleaned text (what /classify returns as a text's "text"), as in /classify. Source,
# its kind and cue are the attribution's words (model.attribution), null where it has none.
CLAIM_FIELDS: dict[str, type] = {
    "claim_index": int,
    TEXT_COLUMN: str,
    "start": int,
    "end": int,
    "label": str,
    **{label.value: float for label in LABELS},
    "source": str,
    "source_kind": str,
    "cue": str,
}
# Columns that may hold null (CSV writes it as an empty cell).
NULLABLE_FIELDS = frozenset({"source", "source_kind", "cue"})
CLAIM_COLUMNS: dict[str, type] = {ID_COLUMN: str, **CLAIM_FIELDS}


def claim_record(claim: LabelledClaim) -> dict[str, Any]:
    """One claim as a row without its text's id (Spark keeps the id on the row around it)."""
    source, cue = claim.attribution.source, claim.attribution.cue
    return {
        "claim_index": claim.index,
        TEXT_COLUMN: claim.text,
        "start": claim.start,
        "end": claim.end,
        "label": claim.label.value,
        **{label.value: claim.scores[label] for label in LABELS},
        "source": source.text if source else None,
        "source_kind": source.kind.value if source else None,
        "cue": cue.text if cue else None,
    }


def claim_table(ids: Sequence[str], labelled: Sequence[LabelledText]) -> dict[str, list[Any]]:
    """Column name -> values, one row per claim, in input order; a text without claims adds none."""
    columns: dict[str, list[Any]] = {name: [] for name in CLAIM_COLUMNS}
    for row_id, item in zip(ids, labelled, strict=True):
        for claim in item.claims:
            columns[ID_COLUMN].append(row_id)
            for name, value in claim_record(claim).items():
                columns[name].append(value)
    return columns


def as_text(value: object) -> str:
    """A cell of a text column as a string: a missing value is an empty text (no claims)."""
    if value is None or (isinstance(value, float) and value != value):  # NaN
        return ""
    return value if isinstance(value, str) else str(value)
