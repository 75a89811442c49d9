"""The logged MLflow model is the product's model: it labels claims as /classify does,
and it loads in a process that cannot import this repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.models import Model
from mlflow.types.schema import ColSpec

from model.classifier import ClaimClassifier
from model.labels import LABELS
from model.table import CLAIM_COLUMNS
from service.responses import classify_texts
from tests.test_dependency_files import problem_with_requirement
from training.tracking import runs

TEXTS = [
    "North Korea said it has never exported weapons to Russia. "
    "Kirby said the purchases had not yet been completed.",
    "<p>Moscow denied the reports.</p><p>Officials said it may be true.</p>",
    "   ",
    "Rockets were bought.",
]

# Run with ``python -I -S``: no PYTHONPATH, no current directory, no .pth files (so not the
# editable install's finder either); only the interpreter's site-packages are added back.
_CHILD = """
import importlib.util, json, sys
sys.path.append(sys.argv[1])
hidden = {name: importlib.util.find_spec(name) is None for name in ("model", "training", "service")}
import mlflow
import pandas as pd
loaded = mlflow.pyfunc.load_model(sys.argv[2])
frame = pd.DataFrame({"id": [f"t{i}" for i in range(len(TEXTS))], "text": TEXTS})
rows = loaded.predict(frame)
per_text = loaded.predict(frame, params={"per_text": True})
import model
print(json.dumps({
    "hidden": hidden,
    "model_from": model.__file__,
    "columns": list(rows.columns),
    "rows": rows.to_dict(orient="records"),
    "per_text": per_text["claims"].tolist(),
}))
"""


def _log(directory: Path, tracking_uri: str) -> str:
    runs.configure(tracking_uri, "mlflow-model-test")
    with mlflow.start_run() as run:
        model_uri = runs.RunTracker(run.info.run_id).model(directory)
        runs.register(model_uri, "claimstance", 0.5, run.info.run_id)
    return model_uri


def _load_elsewhere(model_uri: str, tracking_uri: str, cwd: Path) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_REGISTRY_URI": tracking_uri,
    }
    script = f"TEXTS = {TEXTS!r}\n{_CHILD}"
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script, sysconfig.get_paths()["purelib"], model_uri],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_registered_model_loads_without_the_repo_and_labels_as_classify_does(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    _log(tiny_model_dir, tracking_uri)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    loaded = _load_elsewhere("models:/claimstance@champion", tracking_uri, elsewhere)

    # The child could not import the repo; `model` came with the logged model.
    assert loaded["hidden"] == {"model": True, "training": True, "service": True}
    assert "/code/model/" in loaded["model_from"]
    assert not loaded["model_from"].startswith(str(Path(runs.__file__).parents[2]))

    classify = classify_texts(ClaimClassifier.from_directory(tiny_model_dir), TEXTS)
    expected = [
        (f"t{i}", index, claim.text, claim.start, claim.end, claim.label.value, claim.scores)
        for i, result in enumerate(classify)
        for index, claim in enumerate(result.claims)
    ]
    assert loaded["columns"] == list(CLAIM_COLUMNS)
    rows = loaded["rows"]
    assert len(rows) == len(expected) == 5  # two claims, two claims, none, one
    for row, (row_id, index, text, start, end, label, scores) in zip(rows, expected, strict=True):
        assert (row["id"], row["claim_index"], row["text"]) == (row_id, index, text)
        assert (row["start"], row["end"], row["label"]) == (start, end, label)
        for name in LABELS:
            assert row[name.value] == pytest.approx(scores[name], abs=1e-6)
    # Source, kind and cue as /classify gives them; missing (pandas' NaN) where it gives null.
    attributed = [
        tuple(
            None if pd.isna(row[name]) else row[name] for name in ("source", "source_kind", "cue")
        )
        for row in rows
    ]
    assert attributed == [
        (claim.source.text, claim.source.kind.value, claim.cue.text)
        if claim.source and claim.cue
        else (None, None, None)
        for result in classify
        for claim in result.claims
    ]
    assert attributed[1] == ("Kirby", "person", "said")
    assert attributed[-1] == (None, None, None)  # "Rockets were bought."
    # One row per text for Spark's UDF, the same claims inside.
    assert [len(claims) for claims in loaded["per_text"]] == [2, 2, 0, 1]
    assert [c["label"] for claims in loaded["per_text"] for c in claims] == [
        row["label"] for row in rows
    ]


@pytest.mark.parametrize("exported", [False, True])
def test_logged_model_declares_its_columns_an_example_and_index_requirements(
    tmp_path: Path, tiny_model_dir: Path, tiny_exported_dir: Path, exported: bool
) -> None:
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    model_uri = _log(tiny_exported_dir if exported else tiny_model_dir, tracking_uri)
    local = Path(mlflow.artifacts.download_artifacts(model_uri, dst_path=str(tmp_path / "dl")))

    logged = Model.load(str(local))
    inputs, outputs = logged.signature.inputs, logged.signature.outputs
    assert all(isinstance(spec, ColSpec) for spec in [*inputs.inputs, *outputs.inputs])
    assert [(s.name, s.type.name, s.required) for s in inputs.inputs] == [
        ("id", "string", False),
        ("text", "string", True),
    ]
    types = {str: "string", int: "long", float: "double"}
    assert [(s.name, s.type.name) for s in outputs.inputs] == [
        (name, types[kind]) for name, kind in CLAIM_COLUMNS.items()
    ]
    # Only the attribution's columns may hold null (a claim in the outlet's own voice).
    assert [s.name for s in outputs.inputs if not s.required] == ["source", "source_kind", "cue"]
    assert [p.name for p in logged.signature.params.params] == ["per_text"]
    example = json.loads((local / "input_example.json").read_text())
    assert example["columns"] == ["id", "text"] and "Kirby" in example["data"][0][1]

    requirements = (local / "requirements.txt").read_text().split()
    names = {req.split("=")[0].split(">")[0].lower() for req in requirements}
    assert "claimstance" not in names
    for requirement in requirements:
        assert problem_with_requirement(requirement) is None, requirement
        assert "+" not in requirement  # a local build label no index serves
        metadata.version(requirement.split("=")[0].split(">")[0])  # a real distribution
    # The backend the directory serves on decides between ONNX Runtime and torch.
    assert ("onnxruntime" in names, "torch" in names) == (exported, not exported)
