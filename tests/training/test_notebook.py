from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from training.config import TrainConfig
from training.fit.pipeline import run_training

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOK = NOTEBOOKS / "01-experiments.ipynb"
ERROR_ANALYSIS = NOTEBOOKS / "02-error-analysis.ipynb"


@pytest.mark.parametrize("path", [NOTEBOOK, ERROR_ANALYSIS], ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_notebook_runs_against_a_store(
    tiny_config: TrainConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = run_training(tiny_config)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tiny_config.tracking_uri)
    monkeypatch.setenv("CLAIMSTANCE_EXPERIMENT", tiny_config.experiment)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    text = "\n".join(
        output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", [])
    )
    assert "1 fine-tuning runs" in text
    assert report.run_id in text
    # The baseline's scores come from the run's child and fill its column of the table.
    table = _outputs_text(notebook)
    assert "validation baseline" in table
    assert "NaN" not in table
    images = [
        o
        for cell in notebook.cells
        for o in cell.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert images, "the comparison plot was not drawn"


def _outputs_text(notebook: nbformat.NotebookNode) -> str:
    """Printed text and the plain-text form of displayed tables, in order."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
            if output.get("output_type") == "error":
                parts.append("\n".join(output.get("traceback", [])))
    return "\n".join(parts)


def test_error_analysis_notebook_shows_the_champions_mistakes(
    tiny_config: TrainConfig,
    tiny_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mlflow
    import yaml

    from model.classifier import ClaimClassifier
    from model.labels import LABELS
    from training.corpus.build import build_corpus
    from training.tracking import runs

    runs.configure(tiny_config.tracking_uri, tiny_config.experiment)
    with mlflow.start_run() as run:
        model_uri = runs.RunTracker(run.info.run_id).model(tiny_model_dir)
        runs.register(model_uri, tiny_config.registered_model, 0.5, run.info.run_id)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(tiny_config.model_dump(mode="json")), encoding="utf-8")
    monkeypatch.setenv("CLAIMSTANCE_CONFIG", str(config_file))
    monkeypatch.setenv("CLAIMSTANCE_TOP", "2")

    notebook = nbformat.read(ERROR_ANALYSIS, as_version=4)
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    ).execute()
    text = _outputs_text(notebook)

    # What the notebook should find, worked out here on the same champion and split.
    validation = build_corpus(tiny_config.data, seed=tiny_config.seed).validation
    probabilities = ClaimClassifier.from_directory(tiny_model_dir).predict_proba(
        [e.text for e in validation]
    )
    predicted = [LABELS[i] for i in probabilities.argmax(axis=1)]
    mistakes = [
        (e.label.value, p.value, row.max(), e.text)
        for e, p, row in zip(validation, predicted, probabilities, strict=True)
        if e.label != p
    ]
    assert mistakes, "the random tiny model should make mistakes"
    assert f"validation n={len(validation)}:" in text
    assert f"{len(mistakes)} mistakes in {len(validation)} validation claims" in text
    for gold, read_as in {(m[0], m[1]) for m in mistakes}:
        in_pair = sorted(
            (m for m in mistakes if (m[0], m[1]) == (gold, read_as)), key=lambda m: -m[2]
        )
        assert f"{gold} read as {read_as}: {len(in_pair)} claims" in text
        # The surest mistake of the pair, with its text (any of those tied with it).
        surest = [m[3] for m in in_pair if m[2] >= in_pair[0][2] - 1e-6]
        assert any(sentence in text for sentence in surest)
    images = [
        o
        for cell in notebook.cells
        for o in cell.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert len(images) == 2, "the confusion matrix and the reliability curve"
