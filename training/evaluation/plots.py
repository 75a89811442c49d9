"""Figures a person would rather see than read: confusion matrix and calibration curve."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from matplotlib.figure import Figure

from model.labels import LABELS


def _figure() -> Figure:
    # A bare Figure, not pyplot's: it needs no display backend (servers, CI) and no
    # global state, and is freed like any object once logged.
    return Figure(figsize=(4.6, 4.0), dpi=120)


def confusion_matrix_figure(confusion: np.ndarray, title: str) -> Figure:
    figure = _figure()
    axes = figure.subplots()
    row_totals = confusion.sum(axis=1, keepdims=True).clip(min=1)
    axes.imshow(confusion / row_totals, cmap="Blues", vmin=0, vmax=1)
    names = [label.value for label in LABELS]
    axes.set_xticks(range(len(names)), names)
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title, fontsize=9)
    for (row, column), count in np.ndenumerate(confusion):
        share = count / row_totals[row, 0]
        axes.text(
            column,
            row,
            f"{count}\n{share:.0%}",
            ha="center",
            va="center",
            color="white" if share > 0.6 else "black",
            fontsize=8,
        )
    figure.tight_layout()
    return figure


def calibration_figure(
    probabilities: np.ndarray, truth: np.ndarray, title: str, bins: int = 10
) -> Figure:
    """Reliability diagram of the top-label confidence."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == truth
    edges = np.linspace(0, 1, bins + 1)
    centres, accuracies, counts = [], [], []
    for low, high in pairwise(edges):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            centres.append(confidence[in_bin].mean())
            accuracies.append(correct[in_bin].mean())
            counts.append(int(in_bin.sum()))
    figure = _figure()
    axes = figure.subplots()
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    axes.plot(centres, accuracies, marker="o", label="model")
    for x, y, n in zip(centres, accuracies, counts, strict=True):
        axes.annotate(
            str(n), (x, y), textcoords="offset points", xytext=(0, 6), fontsize=7, ha="center"
        )
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("confidence (top label)")
    axes.set_ylabel("accuracy")
    axes.set_title(title, fontsize=9)
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    return figure
