from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from training.config import TrainConfig
from training.pipeline import run_training

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01-experiments.ipynb"


def test_notebook_is_stored_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
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
    images = [
        o
        for cell in notebook.cells
        for o in cell.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert images, "the comparison plot was not drawn"
