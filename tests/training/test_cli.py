from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from training.cli import app

runner = CliRunner()


def test_bad_config_key_is_a_clear_cli_error() -> None:
    result = runner.invoke(app, ["train", "training.epoch=3"])
    assert result.exit_code == 2
    assert "unknown config key 'training.epoch'" in result.output
    assert "Traceback" not in result.output


def test_corpus_prints_counts_and_hash(tiny_shared: Path) -> None:
    overrides = [
        f"data.shared_dir={tiny_shared}",
        "data.emergent_labels=original",
        "data.news_gold=false",
        "data.counterfactual=false",
        "data.cue_sentences=false",
        "data.szeged=false",
    ]
    result = runner.invoke(app, ["corpus", *overrides])
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
    result = runner.invoke(
        app,
        ["promote", "7", "--reason", "better", f"tracking_uri=sqlite:///{tmp_path}/m.db"],
    )
    assert result.exit_code == 2
    assert "error: model 'claimstance' has no version '7'" in result.output
    assert "Traceback" not in result.output
