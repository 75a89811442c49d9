"""``evaluate --data``: a model scored on the user's own file, printed and logged as a run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from training.cli import app

runner = CliRunner()

CLAIMS = (
    "text,label,story,split\n"
    "The council rejected claims that the water was unsafe.,denial,w,\n"
    "Tests may show traces of lead; results are not yet in.,caveat,w,\n"
    "The mayor said the plant reopened on Friday.,assertion,p,test\n"
    "The mayor denied the plant had ever closed.,denial,p,test\n"
    "Officials said the road was open.,assertion,r,\n"
    "It could take weeks to know.,caveat,q,\n"
    "This training row is left out.,assertion,t,train\n"
)


def test_evaluate_on_a_file_prints_per_label_scores_and_logs_a_run(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "my_test.csv"
    path.write_text(CLAIMS, encoding="utf-8")
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"

    result = runner.invoke(
        app,
        ["evaluate", "--model", str(tiny_model_dir), "--data", str(path), f"tracking_uri={store}"],
    )

    assert result.exit_code == 0, result.output
    out = result.output
    assert "my_test.csv: 6 rows scored (1 marked train or validation left out)" in out
    for label in ("assertion", "denial", "caveat"):
        assert re.search(
            rf"^  {label}\s+[01]\.\d{{3}}\s+[01]\.\d{{3}}\s+[01]\.\d{{3}}\s+2$", out, re.M
        )
    assert "95% interval over stories" in out
    assert "confusion (rows: true label, columns: predicted)" in out
    # The confusion matrix's rows add up to each label's count.
    rows = re.findall(r"^  (assertion|denial|caveat)((?:\s+\d+){3})$", out, re.M)
    assert {label: sum(map(int, counts.split())) for label, counts in rows} == {
        "assertion": 2,
        "denial": 2,
        "caveat": 2,
    }
    run_id = re.search(r"logged as evaluation run (\w+)", out)[1]  # type: ignore[index]
    run = MlflowClient(store).get_run(run_id)
    assert run.data.tags["kind"] == "evaluation"
    assert run.data.tags["model_uri"] == str(tiny_model_dir)
    assert 0 <= run.data.metrics["eval.my_test.macro_f1"] <= 1
    assert "eval.my_test.macro_f1_low" in run.data.metrics
    assert "eval.my_test.denial.recall" in run.data.metrics
    [dataset] = run.inputs.dataset_inputs
    assert dataset.dataset.name == "my_test.csv"
    assert not MlflowClient(store).search_registered_models()


def test_evaluate_without_a_story_column_gives_no_interval(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "plain.jsonl"
    path.write_text(
        '{"text": "Moscow denied the reports.", "label": "denial"}\n'
        '{"text": "The deal was signed.", "label": "assertion"}\n',
        encoding="utf-8",
    )
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            str(tiny_model_dir),
            "--data",
            str(path),
            f"tracking_uri=sqlite:///{tmp_path / 'm.db'}",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "no story column: no interval" in result.output


def test_evaluate_on_a_bad_file_fails_before_loading_a_model(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("text,label\nA is so.,assertion\nB.,Caveat\n", encoding="utf-8")
    store = tmp_path / "mlflow.db"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            str(tmp_path / "no-model-here"),
            "--data",
            str(path),
            f"tracking_uri=sqlite:///{store}",
        ],
    )
    assert result.exit_code == 2
    assert "did you mean 'caveat'" in result.output and "(line 3)" in result.output
    assert not store.exists()


def test_a_registered_model_in_a_missing_store_is_named_and_no_store_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    store = tmp_path / "elsewhere" / "mlflow.db"
    for command in (["evaluate"], ["score", str(tmp_path / "in.jsonl"), str(tmp_path / "o.jsonl")]):
        (tmp_path / "in.jsonl").write_text('{"id": 1, "text": "A."}\n', encoding="utf-8")
        result = runner.invoke(
            app,
            [
                *command,
                "--model-uri",
                "models:/claimstance@champion",
                f"tracking_uri=sqlite:///{store}",
            ],
        )
        assert result.exit_code == 2, result.output
        assert f"no MLflow store at {store}" in result.output
        assert "MLFLOW_TRACKING_URI (now unset)" in result.output
        assert not store.exists() and not store.parent.exists()
