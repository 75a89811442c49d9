from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.training.conftest import emergent_only
from training.cli import app

runner = CliRunner()


def test_bad_config_key_is_a_clear_cli_error() -> None:
    result = runner.invoke(app, ["train", "training.epoch=3"])
    assert result.exit_code == 2
    assert "unknown config key 'training.epoch'" in result.output
    assert "did you mean 'training.epochs'?" in result.output
    assert "Traceback" not in result.output


def test_show_config_prints_the_effective_config_and_stops() -> None:
    import yaml

    result = runner.invoke(app, ["train", "--show-config", "training.epochs=7"])
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.output)
    assert shown["training"]["epochs"] == 7
    assert shown["registered_model"] == "claimstance"


def test_help_groups_the_commands_in_panels() -> None:
    result = runner.invoke(app, ["--help"], terminal_width=120)
    assert result.exit_code == 0
    panels = ["Use a model", "Train and evaluate", "Registry", "Data maintenance", "Benchmarks"]
    positions = [result.output.index(panel) for panel in panels]
    assert positions == sorted(positions)
    assert "load-test" in result.output and "bench-grouping" in result.output
    # The old name still runs (the Makefile calls it) but is not advertised.
    assert "│ load " not in result.output
    assert runner.invoke(app, ["load", "--help"]).exit_code == 0


def test_classify_prints_each_claims_label_and_probabilities(tiny_model_dir: Path) -> None:
    from model.labels import LABELS

    result = runner.invoke(
        app,
        [
            "classify",
            "Moscow denied the reports. Kirby said it may be true.",
            "A second text.",
            "--model",
            str(tiny_model_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "text 1" and "text 2" in lines
    claims = [line for line in lines if not line.startswith("text ")]
    assert [line.split("  ")[-1] for line in claims] == [
        "Moscow denied the reports.",
        "Kirby said it may be true.",
        "A second text.",
    ]
    for line in claims:
        words = line.split()
        assert words[0] in {label.value for label in LABELS}
        scores = dict(zip(words[1:7:2], map(float, words[2:7:2]), strict=True))
        assert list(scores) == [label.value for label in LABELS]
        assert abs(sum(scores.values()) - 1) < 2e-3
        assert max(scores, key=scores.__getitem__) == words[0]
    assert f"model: {tiny_model_dir.name} at " in result.stderr


def test_classify_an_unknown_model_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["classify", "A.", "--model", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert f"error: cannot load {tmp_path / 'nowhere'}" in result.output


def test_evaluate_names_the_model_includes_validation_and_writes_json(
    tiny_shared: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    import json

    out = tmp_path / "scores.json"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            str(tiny_model_dir),
            "--json",
            str(out),
            *emergent_only(tiny_shared),
            f"tracking_uri=sqlite:///{tmp_path}/m.db",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"{tiny_model_dir.name} at {tiny_model_dir}" in result.stdout
    assert "torch backend" in result.stdout
    assert "  validation " in result.stdout
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["model"]["uri"] == str(tiny_model_dir)
    assert written["model"]["backend"] == "torch"
    assert next(iter(written["sets"])) == "validation"
    validation = written["sets"]["validation"]
    assert validation["labels"] == ["assertion", "denial", "caveat"]
    assert sum(map(sum, validation["confusion"])) == validation["support"] > 0
    assert 0 <= validation["macro_f1"] <= 1


def test_corpus_prints_counts_and_hash(tiny_shared: Path) -> None:
    result = runner.invoke(app, ["corpus", *emergent_only(tiny_shared)])
    assert result.exit_code == 0, result.output
    assert "emergent\tdenial\temergent_test\t6" in result.output
    assert "data hash " in result.output


def test_missing_data_is_a_clear_cli_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["corpus", f"data.shared_dir={tmp_path}"])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_evaluate_unknown_model_is_a_clear_cli_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--model-uri",
            str(tmp_path / "nowhere"),
            f"tracking_uri=sqlite:///{tmp_path}/m.db",
        ],
    )
    assert result.exit_code == 2
    assert f"error: cannot load {tmp_path / 'nowhere'}" in result.output
    assert "Traceback" not in result.output


def test_promoting_a_missing_version_is_a_clear_cli_error(tmp_path: Path) -> None:
    from training.tracking import runs

    store = tmp_path / "m.db"
    promote = ["promote", "7", "--reason", "better", f"tracking_uri=sqlite:///{store}"]
    # No store: named with the variable, and none is made just to find it empty.
    result = runner.invoke(app, promote)
    assert result.exit_code == 2
    assert f"error: no MLflow store at {store}" in result.output
    assert "MLFLOW_TRACKING_URI" in result.output and not store.exists()

    runs.configure(f"sqlite:///{store}", "claimstance")
    result = runner.invoke(app, promote)
    assert result.exit_code == 2
    assert "error: model 'claimstance' has no version '7'" in result.output
    assert "Traceback" not in result.output


def test_experiment_id_in_a_missing_store_names_it_and_makes_none(tmp_path: Path) -> None:
    store = tmp_path / "elsewhere" / "mlflow.db"
    result = runner.invoke(app, ["experiment-id", f"tracking_uri=sqlite:///{store}"])
    assert result.exit_code == 2
    assert f"no MLflow store at {store}" in result.output
    assert "MLFLOW_TRACKING_URI" in result.output and not store.parent.exists()


def test_export_adds_onnx_to_a_version_registered_without_it(
    tmp_path: Path, tiny_model_dir: Path, tiny_shared: Path
) -> None:
    import mlflow

    from model.backends import has_onnx_export
    from model.classifier import ClaimClassifier
    from model.resolve import resolve_model
    from training.tracking import runs

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runs.configure(uri, "export-test")
    with mlflow.start_run() as run:
        model_uri = runs.RunTracker(run.info.run_id).model(tiny_model_dir)
        runs.register(model_uri, "claimstance", 0.5, run.info.run_id)
    before = resolve_model("models:/claimstance/1", uri).directory
    assert not has_onnx_export(before, "classifier")

    result = runner.invoke(
        app,
        [
            "export",
            "--model-uri",
            "models:/claimstance/1",
            f"tracking_uri={uri}",
            f"training.compare_encoder={tiny_model_dir}",
            # A miniature corpus: the export is checked against fp32 on its validation split.
            *emergent_only(tiny_shared),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "validation macro-F1 of the served export" in result.output
    # The same version, run and cache folder: export replaced the stale cached copy.
    after = resolve_model("models:/claimstance/1", uri).directory
    assert after == before
    assert has_onnx_export(after, "classifier")
    assert has_onnx_export(after / "encoder", "encoder")
    assert ClaimClassifier.from_directory(after).backend.name == "onnx"


def test_export_of_an_unknown_version_is_a_clear_error(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = runner.invoke(
        app, ["export", "--model-uri", "models:/claimstance/7", f"tracking_uri={uri}"]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output


@pytest.mark.slow  # embeds every gold claim three times and aligns their tokens (a minute)
def test_bench_grouping_prints_the_cross_validated_table(shared_dir: Path) -> None:
    result = runner.invoke(app, ["bench-grouping", f"data.shared_dir={shared_dir}"])
    assert result.exit_code == 0, result.output
    assert "Leave-one-story-out over 13 gold stories" in result.output
    assert "cosine, fixed (former)" in result.output
    assert "default: story words + same-doc penalty, adaptive" in result.output
    assert (
        "default: story words + same-doc penalty, adaptive: chosen on the 9 tune stories only: "
        "spread 1.75." in result.output
    )
    assert "cosine + token alignment + story words, penalty 0.3, adaptive" in result.output
    assert "examples" in result.output and "baghdadi-wife" in result.output


def test_bench_grouping_refuses_a_malformed_encoder_option(shared_dir: Path) -> None:
    result = runner.invoke(
        app, ["bench-grouping", "--encoder", "mpnet", f"data.shared_dir={shared_dir}"]
    )
    assert result.exit_code == 2
    assert "NAME=DIRECTORY" in result.output


def test_ensure_model_names_the_champion_it_found(tmp_path: Path, tiny_model_dir: Path) -> None:
    import mlflow

    from training.tracking import runs

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runs.configure(uri, "ensure-test")
    with mlflow.start_run() as run:
        model_uri = runs.RunTracker(run.info.run_id).model(tiny_model_dir)
        runs.register(model_uri, "claimstance", 0.5, run.info.run_id)
    result = runner.invoke(app, ["ensure-model", f"tracking_uri={uri}"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "models:/claimstance@champion is version 1; not training"
