"""``python -m training evaluate --data FILE``: a model scored on a user's own labelled claims.

The file is read as ``data.extra`` reads it (training/corpus/user_data.py). Rows marked
``split=test``, and rows with no split, are scored; rows a training run would train or
validate on are left out, so one file can both train a model and measure it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.classifier import ClaimClassifier
from model.labels import LABELS
from training.corpus.user_data import UserData, read_user_file
from training.data import DataError, Example, Split
from training.metrics import EvaluationResult, evaluate, label_indices
from training.tracking import runs


@dataclass(frozen=True)
class FileEvaluation:
    data: UserData
    scored: list[Example]
    result: EvaluationResult
    probabilities: np.ndarray


def read_test_rows(path: Path, *, max_mb: int) -> tuple[UserData, list[Example]]:
    """The file checked, and the rows to score: split=test or no split."""
    data = read_user_file(path, default_split=Split.TEST, max_mb=max_mb)
    scored = [e for e in data.examples if e.split is Split.TEST]
    if not scored:
        raise DataError(
            f"{path} has no rows to evaluate on: every row is marked train or validation "
            "(mark held-out rows split=test, or leave split empty) (line 1)"
        )
    return data, scored


def evaluate_on_file(
    classifier: ClaimClassifier, data: UserData, scored: list[Example]
) -> FileEvaluation:
    """Score ``scored``; the interval resamples whole stories, when the file names them."""
    probabilities = classifier.predict_proba([e.text for e in scored])
    predicted = [LABELS[i] for i in probabilities.argmax(axis=1)]
    groups = [e.group for e in scored] if data.has_stories else None
    # The set's name becomes part of MLflow metric keys, which take only some characters.
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", data.path.stem)
    result = evaluate(name, [e.label for e in scored], predicted, probabilities, groups)
    return FileEvaluation(data, scored, result, probabilities)


def report_lines(evaluation: FileEvaluation) -> list[str]:
    """Per-label precision, recall and F1, macro-F1 (with its story interval) and the
    confusion matrix, as the terminal shows them."""
    result, data = evaluation.result, evaluation.data
    left_out = len(data.examples) - len(evaluation.scored)
    lines = [
        f"{data.name}: {result.support} rows scored"
        + (f" ({left_out} marked train or validation left out)" if left_out else ""),
        f"  {'label':<11}{'precision':>10}{'recall':>8}{'F1':>8}{'n':>6}",
    ]
    for label, scores in result.per_label.items():
        lines.append(
            f"  {label.value:<11}{scores['precision']:>10.3f}{scores['recall']:>8.3f}"
            f"{scores['f1']:>8.3f}{int(scores['support']):>6}"
        )
    if result.macro_f1_interval is not None:
        low, high = result.macro_f1_interval
        interval = f", 95% interval over stories {low:.3f}-{high:.3f}"
    else:
        interval = " (no story column: no interval)"
    lines.append(f"  accuracy {result.accuracy:.3f}, macro-F1 {result.macro_f1:.3f}{interval}")
    lines.append("  confusion (rows: true label, columns: predicted)")
    lines.append("  " + " " * 11 + "".join(f"{label.value:>11}" for label in LABELS))
    for label, row in zip(LABELS, evaluation.result.confusion, strict=True):
        lines.append(f"  {label.value:<11}" + "".join(f"{int(n):>11}" for n in row))
    return lines


def log_evaluation(
    evaluation: FileEvaluation,
    *,
    tracking_uri: str,
    experiment: str,
    model_uri: str,
    source: dict[str, str],
) -> str:
    """Log the scores as an evaluation run (no model, nothing registered); return its id.

    ``source``: the model's name, version and run as resolved (``ResolvedModel.provenance``).
    """
    from training.evaluation.plots import calibration_figure, confusion_matrix_figure

    data, result = evaluation.data, evaluation.result
    name = f"evaluate-{data.path.stem}-{source.get('model_version') or Path(model_uri).name}"
    with runs.start_run(tracking_uri, experiment, name) as tracker:
        tracker.tags({"kind": "evaluation", "model_uri": model_uri, **source})
        tracker.user_file(data, evaluation.scored, context="evaluation")
        tracker.metrics(result.flat(f"eval.{result.name}"))
        tracker.figure(
            confusion_matrix_figure(result.confusion, f"{model_uri} on {data.name}"),
            f"plots/confusion_{result.name}.png",
        )
        truth = label_indices([e.label for e in evaluation.scored])
        tracker.figure(
            calibration_figure(evaluation.probabilities, truth, f"calibration, {data.name}"),
            f"plots/calibration_{result.name}.png",
        )
    return tracker.run_id
