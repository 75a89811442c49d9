"""``python -m training feedback-export OUT``: users' label corrections as a training file.

The file is in the format ``data.extra`` reads (training/corpus/user_data.py): ``text`` and
``label`` (the corrected label), plus ``model_label``, ``note``, ``model_version``,
``id`` and ``created`` for the reviewer, which training ignores. A correction round is:
export, review, ``make train DATA=corrections.csv``.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

from model.feedback import Correction, FeedbackStore
from training.data import normalise

COLUMNS = ("text", "label", "model_label", "note", "model_version", "id", "created")
EXPORT_FORMATS = ("csv", "jsonl")


@dataclass(frozen=True)
class ExportReport:
    written: int
    # Texts corrected more than once to different labels: the latest correction is kept.
    superseded: int


def latest_per_text(corrections: list[Correction]) -> tuple[list[Correction], int]:
    """One correction per text, the latest, since training refuses one text with two labels."""
    latest: dict[str, Correction] = {}
    superseded = 0
    for correction in corrections:  # oldest first
        key = normalise(correction.text)
        earlier = latest.pop(key, None)
        if earlier is not None and earlier.correct_label is not correction.correct_label:
            superseded += 1
        latest[key] = correction
    return list(latest.values()), superseded


def _row(correction: Correction) -> dict[str, str]:
    return {
        "text": correction.text,
        "label": correction.correct_label.value,
        "model_label": correction.model_label.value,
        "note": correction.note,
        "model_version": correction.model_version,
        "id": correction.key,
        "created": correction.created,
    }


def export_corrections(store: FeedbackStore, output: Path, fmt: str | None = None) -> ExportReport:
    """Write every stored correction (the latest per text) to ``output`` as CSV or JSON Lines.

    Written to a temporary name and renamed, so a failed export leaves no half file.
    """
    kind = fmt or output.suffix.lower().lstrip(".")
    if kind not in EXPORT_FORMATS:
        raise ValueError(f"cannot export to {output}: use a .csv or .jsonl name, or --format")
    kept, superseded = latest_per_text(store.all())
    scratch = output.with_name(f".{output.name}.partial")
    with scratch.open("w", encoding="utf-8", newline="") as handle:
        if kind == "csv":
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(_row(c) for c in kept)
        else:
            for correction in kept:
                handle.write(json.dumps(_row(correction), ensure_ascii=False) + "\n")
    os.replace(scratch, output)
    return ExportReport(len(kept), superseded)
