"""The teacher's soft labels over the unlabelled pool: made once, stored small, read by training.

``python -m training soft-labels`` runs the accurate model over the pool
(``corpus.pool``) and writes one row per sentence, ``id`` and the teacher's
probabilities (softmax of its raw logits, before calibration), plus a JSON
sidecar with the teacher's run and the pool's hash. Rows are appended in
chunks, so an interrupted run resumes where it stopped. ``make train`` then
needs no teacher: ``soft_examples`` joins the file back to the pool's texts.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from model.labels import LABELS
from training.corpus.pool import PoolText
from training.data import DataError

logger = logging.getLogger(__name__)

_COLUMNS = ["id", *(label.value for label in LABELS)]
# Four decimals keep the file small; a floor keeps every log-probability finite.
_DECIMALS = 4
_FLOOR = 1e-4


@dataclass(frozen=True, slots=True)
class SoftExample:
    text: str
    probabilities: np.ndarray  # shape (3,), LABELS order, sums to 1


def meta_path(path: Path) -> Path:
    return path.with_suffix(".json")


def read_meta(path: Path) -> dict[str, object]:
    return json.loads(meta_path(path).read_text(encoding="utf-8"))


def _done_ids(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["id"] for row in csv.DictReader(handle)}


def ensemble_logits(
    predictors: Sequence[Callable[[list[str]], np.ndarray]],
) -> Callable[[list[str]], np.ndarray]:
    """One teacher from several: the log of their averaged probabilities, so the softmax that
    ``write_soft_labels`` applies gives back the average (averaging logits instead would let
    the most confident teacher decide)."""

    def predict(texts: list[str]) -> np.ndarray:
        total = np.zeros((len(texts), len(LABELS)))
        for predictor in predictors:
            logits = np.asarray(predictor(texts), dtype=np.float64)
            logits -= logits.max(axis=1, keepdims=True)
            probabilities = np.exp(logits)
            total += probabilities / probabilities.sum(axis=1, keepdims=True)
        return np.log(total / len(predictors))

    return predict


def write_soft_labels(
    predict_logits: Callable[[list[str]], np.ndarray],
    pool: Sequence[PoolText],
    path: Path,
    meta: dict[str, object],
    *,
    chunk: int = 1024,
) -> int:
    """Label what ``path`` does not hold yet; returns how many rows were added.

    A file made for another pool or teacher is refused rather than mixed.
    """
    if meta_path(path).is_file():
        existing = read_meta(path)
        for key in ("pool_hash", "teacher_run_id", "teacher_uri"):
            if existing.get(key) != meta.get(key):
                raise DataError(
                    f"{path} was made with {key}={existing.get(key)!r}, not {meta.get(key)!r}: "
                    "remove it (and its .json) to start again"
                )
    path.parent.mkdir(parents=True, exist_ok=True)
    meta_path(path).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", "utf-8")
    done = _done_ids(path)
    todo = [item for item in pool if item.id not in done]
    new_file = not path.is_file()
    with (
        path.open("a", encoding="utf-8", newline="") as handle,
        tqdm(
            total=len(pool), initial=len(pool) - len(todo), desc="soft labels", unit="sent"
        ) as bar,
    ):
        writer = csv.writer(handle)
        if new_file:
            writer.writerow(_COLUMNS)
        for start in range(0, len(todo), chunk):
            batch = todo[start : start + chunk]
            logits = np.asarray(predict_logits([item.text for item in batch]), dtype=np.float64)
            logits -= logits.max(axis=1, keepdims=True)
            probabilities = np.exp(logits)
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            for item, row in zip(batch, probabilities, strict=True):
                writer.writerow([item.id, *(f"{value:.{_DECIMALS}f}" for value in row)])
            handle.flush()  # each chunk survives an interruption
            bar.update(len(batch))
    return len(todo)


def soft_examples(pool: Sequence[PoolText], path: Path) -> list[SoftExample]:
    """The pool sentences the file labels, with the teacher's probabilities."""
    if not path.is_file():
        raise DataError(
            f"no teacher soft labels at {path}: make them with `python -m training soft-labels`, "
            "or train without them (training.distill_per_epoch=0)"
        )
    by_id: dict[str, np.ndarray] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            values = np.array([float(row[label.value]) for label in LABELS])
            values = np.maximum(values, _FLOOR)
            by_id[row["id"]] = values / values.sum()
    examples = [SoftExample(item.text, by_id[item.id]) for item in pool if item.id in by_id]
    if len(examples) < len(by_id):
        logger.warning(
            "%d soft labels name sentences the pool no longer holds", len(by_id) - len(examples)
        )
    return examples
