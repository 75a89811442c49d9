"""Scores for one evaluation set: accuracy, macro-F1, per-label precision/recall/F1, calibration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

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

    def flat(self, prefix: str) -> dict[str, float]:
        """Metric names as MLflow keys, e.g. ``transformer.news_test.denial.recall``."""
        flat = {
            f"{prefix}.accuracy": self.accuracy,
            f"{prefix}.macro_f1": self.macro_f1,
        }
        if self.expected_calibration_error is not None:
            flat[f"{prefix}.ece"] = self.expected_calibration_error
        for label, scores in self.per_label.items():
            for metric, value in scores.items():
                flat[f"{prefix}.{label.value}.{metric}"] = value
        return flat


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


def evaluate(
    name: str,
    truth: Sequence[Label],
    predicted: Sequence[Label],
    probabilities: np.ndarray | None = None,
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
