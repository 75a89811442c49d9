"""Scores for one evaluation set: accuracy, macro-F1, per-label precision/recall/F1, calibration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from model.labels import LABELS, Label


@dataclass(frozen=True)
class EvaluationResult:
    name: str
    accuracy: float
    macro_f1: float
    per_label: dict[Label, dict[str, float]]
    confusion: np.ndarray  # rows: true label, columns: predicted, both in LABELS order
    expected_calibration_error: float | None = None
    support: int = 0
    # 95% interval of macro-F1, resampling whole stories (groups) rather than sentences: the
    # sentences of one story are not independent, and a few stories weigh on a test set.
    macro_f1_interval: tuple[float, float] | None = None

    def flat(self, prefix: str) -> dict[str, float]:
        """Metric names as MLflow keys, e.g. ``transformer.news_test.denial.recall``."""
        flat = {
            f"{prefix}.accuracy": self.accuracy,
            f"{prefix}.macro_f1": self.macro_f1,
        }
        if self.expected_calibration_error is not None:
            flat[f"{prefix}.ece"] = self.expected_calibration_error
        if self.macro_f1_interval is not None:
            flat[f"{prefix}.macro_f1_low"], flat[f"{prefix}.macro_f1_high"] = self.macro_f1_interval
        for label, scores in self.per_label.items():
            for metric, value in scores.items():
                flat[f"{prefix}.{label.value}.{metric}"] = value
        return flat

    def as_dict(self) -> dict[str, Any]:
        """The scores in plain JSON types (``evaluate --json``); confusion rows are truth."""
        return {
            "name": self.name,
            "support": self.support,
            "accuracy": float(self.accuracy),
            "macro_f1": float(self.macro_f1),
            "macro_f1_interval": (
                None
                if self.macro_f1_interval is None
                else [float(v) for v in self.macro_f1_interval]
            ),
            "expected_calibration_error": (
                None
                if self.expected_calibration_error is None
                else float(self.expected_calibration_error)
            ),
            "per_label": {
                label.value: {metric: float(value) for metric, value in scores.items()}
                for label, scores in self.per_label.items()
            },
            "labels": [label.value for label in LABELS],
            "confusion": [[int(n) for n in row] for row in self.confusion],
        }


def expected_calibration_error(
    probabilities: np.ndarray, truth: np.ndarray, bins: int = 10
) -> float:
    """Mean gap between confidence and accuracy over equal-width confidence bins."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == truth
    edges = np.linspace(0.0, 1.0, bins + 1)
    error = 0.0
    for low, high in pairwise(edges):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            error += in_bin.mean() * abs(confidence[in_bin].mean() - correct[in_bin].mean())
    return float(error)


def label_indices(labels: Sequence[Label]) -> np.ndarray:
    index = {label: i for i, label in enumerate(LABELS)}
    return np.array([index[label] for label in labels], dtype=np.int64)


def _macro_f1_from_confusions(confusions: np.ndarray) -> np.ndarray:
    """Macro-F1 of each (3, 3) confusion matrix in a (..., 3, 3) stack (rows: truth)."""
    true_positive = np.diagonal(confusions, axis1=-2, axis2=-1)
    predicted = confusions.sum(axis=-2)
    actual = confusions.sum(axis=-1)
    denominator = predicted + actual
    f1 = np.divide(
        2 * true_positive, denominator, out=np.zeros(true_positive.shape), where=denominator > 0
    )
    return f1.mean(axis=-1)


def story_bootstrap_interval(
    true_ids: np.ndarray,
    predicted_ids: np.ndarray,
    groups: Sequence[str],
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """95% percentile interval of macro-F1 over resamples of whole groups (stories)."""
    names, group_ids = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    k = len(LABELS)
    per_group = np.zeros((len(names), k * k))
    np.add.at(per_group, (group_ids, true_ids * k + predicted_ids), 1)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(names), size=(resamples, len(names)))
    weights = np.zeros((resamples, len(names)))
    np.add.at(weights, (np.arange(resamples)[:, None], draws), 1)
    scores = _macro_f1_from_confusions((weights @ per_group).reshape(resamples, k, k))
    low, high = np.percentile(scores, [2.5, 97.5])
    return float(low), float(high)


def evaluate(
    name: str,
    truth: Sequence[Label],
    predicted: Sequence[Label],
    probabilities: np.ndarray | None = None,
    groups: Sequence[str] | None = None,
) -> EvaluationResult:
    true_ids = label_indices(truth)
    predicted_ids = label_indices(predicted)
    all_ids = list(range(len(LABELS)))
    precision, recall, f1, support = precision_recall_fscore_support(
        true_ids, predicted_ids, labels=all_ids, zero_division=0
    )
    per_label = {
        label: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": float(support[i]),
        }
        for i, label in enumerate(LABELS)
    }
    return EvaluationResult(
        name=name,
        accuracy=float(accuracy_score(true_ids, predicted_ids)),
        macro_f1=float(
            f1_score(true_ids, predicted_ids, labels=all_ids, average="macro", zero_division=0)
        ),
        per_label=per_label,
        confusion=confusion_matrix(true_ids, predicted_ids, labels=all_ids),
        expected_calibration_error=(
            expected_calibration_error(probabilities, true_ids)
            if probabilities is not None
            else None
        ),
        support=len(true_ids),
        macro_f1_interval=(
            story_bootstrap_interval(true_ids, predicted_ids, groups)
            if groups is not None and len(true_ids)
            else None
        ),
    )


def fit_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """The softmax temperature that minimises validation negative log-likelihood.

    A one-parameter grid search on a log scale: cheap, deterministic, and
    unable to change which label wins, only how confident it is.
    """
    if len(truth) == 0:
        return 1.0
    best_temperature, best_loss = 1.0, float("inf")
    for temperature in np.exp(np.linspace(np.log(0.25), np.log(8.0), 121)):
        scaled = logits / temperature
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_probs = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        loss = -log_probs[np.arange(len(truth)), truth].mean()
        if loss < best_loss:
            best_temperature, best_loss = float(temperature), float(loss)
    return best_temperature
