from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from model.classifier import ClaimClassifier, ModelDirectoryError
from model.identity import CHAMPION
from model.labels import LABELS
from model.resolve import resolve_model
from tests.training.conftest import HEADLINES
from training.config import PACKAGED_MINILM, BaselineConfig, TrainConfig
from training.corpus.build import EMERGENT_TEST
from training.fit.baseline import Baseline
from training.fit.finetune import resolve_base_model
from training.fit.pipeline import run_training
from training.metrics import evaluate, expected_calibration_error, fit_temperature
from training.tracking import runs


def test_training_run_logs_everything_and_registers(tiny_config: TrainConfig) -> None:
    report = run_training(tiny_config)

    client = MlflowClient(tiny_config.tracking_uri)
    run = client.get_run(report.run_id)
    assert run.data.params["training.epochs"] == "2"
    assert run.data.params["data.emergent_labels"] == "original"
    assert run.data.tags["data_hash"] == report.data_hash
    assert run.data.tags["git_commit"]
    assert f"transformer.{EMERGENT_TEST}.macro_f1" in run.data.metrics
    assert f"transformer.{EMERGENT_TEST}.denial.recall" in run.data.metrics
    # The baseline is the run's child: its own run, its own scores.
    assert not any(name.startswith("baseline.") for name in run.data.metrics)
    [child] = client.search_runs(
        [run.info.experiment_id], f"tags.mlflow.parentRunId = '{report.run_id}'"
    )
    assert child.info.run_name == f"{run.info.run_name}-baseline"
    assert child.data.tags["kind"] == "baseline"
    assert child.data.tags["data_hash"] == report.data_hash
    assert child.data.params["baseline.c"] == run.data.params["baseline.c"]
    assert f"baseline.{EMERGENT_TEST}.macro_f1" in child.data.metrics
    assert f"baseline.{EMERGENT_TEST}.denial.recall" in child.data.metrics
    history = client.get_metric_history(report.run_id, "epoch.validation.macro_f1")
    assert [m.step for m in history] == [1, 2]

    artifacts = {a.path for a in client.list_artifacts(report.run_id, "plots/transformer")}
    assert f"plots/transformer/confusion_{EMERGENT_TEST}.png" in artifacts
    assert f"plots/transformer/calibration_{EMERGENT_TEST}.png" in artifacts

    assert report.registration is not None and report.registration.promoted
    champion = client.get_model_version_by_alias("claimstance", CHAMPION)
    assert str(champion.version) == report.registration.version
    # The folder says model, version and run; the logged copy, written before the version
    # existed, says model and run.
    version = report.registration.version
    assert (
        report.model_dir == tiny_config.output_dir / f"claimstance-v{version}-run-{run.info.run_id}"
    )
    model_dir = resolve_model("models:/claimstance@champion", tiny_config.tracking_uri).directory
    assert model_dir.name == f"claimstance-run-{run.info.run_id}"
    reloaded = ClaimClassifier.from_directory(model_dir, device="cpu")
    texts = ["Moscow denied the reports", "It may be true"]
    np.testing.assert_allclose(
        reloaded.predict_proba(texts),
        ClaimClassifier.from_directory(report.model_dir, device="cpu").predict_proba(texts),
        atol=1e-6,
    )
    assert reloaded.card.data_hash == report.data_hash
    assert reloaded.card.temperature > 0


def test_champion_moves_only_on_improvement(tmp_path: Path, tiny_model_dir: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runs.configure(uri, "registry-test")
    scores = [0.50, 0.40, 0.60, 0.60]
    registrations = []
    for score in scores:
        with mlflow.start_run() as run:
            model_uri = runs.RunTracker(run.info.run_id).model(tiny_model_dir)
            registrations.append(runs.register(model_uri, "claimstance", score, run.info.run_id))
    assert [r.promoted for r in registrations] == [True, False, True, False]
    assert runs.champion_score("claimstance") == ("3", 0.6)
    assert runs.has_champion(uri, "claimstance")
    assert not runs.has_champion(uri, "another-model")

    # A person may overrule the metric; the reason stays on the version.
    assert runs.promote(uri, "claimstance", "2", "reads the guide's examples right") == "3"
    assert runs.champion_score("claimstance") == ("2", 0.4)
    version = MlflowClient(uri).get_model_version("claimstance", "2")
    assert version.tags[runs.PROMOTION_REASON_TAG] == "reads the guide's examples right"
    with pytest.raises(ValueError, match="no version '9'"):
        runs.promote(uri, "claimstance", "9", "typo")
    with pytest.raises(ValueError, match="needs a reason"):
        runs.promote(uri, "claimstance", "1", " ")
    assert runs.champion_score("claimstance") == ("2", 0.4)

    # ...and that choice stands against a run that only scores higher on validation.
    with mlflow.start_run() as run:
        model_uri = runs.RunTracker(run.info.run_id).model(tiny_model_dir)
        later = runs.register(model_uri, "claimstance", 0.9, run.info.run_id)
    assert not later.promoted
    assert runs.champion_score("claimstance") == ("2", 0.4)


def test_baseline_learns_separable_headlines() -> None:
    rows = [
        (text, label)
        for stance, label in zip(("for", "against", "observing"), LABELS, strict=True)
        for text in HEADLINES[stance]
    ]
    from training.data import Example, Split

    examples = [Example(t, label, "test", "g", Split.TRAIN) for t, label in rows]
    baseline = Baseline(BaselineConfig(c=100.0), seed=0).fit(examples)
    probabilities = baseline.predict_proba([t for t, _ in rows])
    assert probabilities.shape == (len(rows), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert baseline.predict([t for t, _ in rows]) == [label for _, label in rows]


def test_metrics_and_calibration_helpers() -> None:
    truth = [LABELS[0], LABELS[1], LABELS[2], LABELS[1]]
    result = evaluate("x", truth, [LABELS[0], LABELS[1], LABELS[1], LABELS[1]])
    assert result.accuracy == 0.75
    assert result.per_label[LABELS[2]]["recall"] == 0.0
    assert result.confusion.sum() == 4
    assert "x.caveat.f1" in result.flat("x")

    rng = np.random.default_rng(0)
    true_logits = rng.normal(size=(4000, 3)) * 2
    probabilities = np.exp(true_logits) / np.exp(true_logits).sum(axis=1, keepdims=True)
    sampled = np.array([rng.choice(3, p=p) for p in probabilities])
    # Logits three times too confident: the fitted temperature should undo it.
    assert fit_temperature(true_logits * 3, sampled) == pytest.approx(3.0, rel=0.15)
    assert expected_calibration_error(probabilities, sampled) < 0.05


def test_packaged_base_model_is_found() -> None:
    directory = Path(resolve_base_model(PACKAGED_MINILM))
    assert (directory / "config.json").is_file()
    assert resolve_base_model("some/hub-id") == "some/hub-id"
    from training.config import ConfigError

    with pytest.raises(ConfigError, match="not installed"):
        resolve_base_model("package:no_such_package_here")


def _register(
    model_dir: Path, score: float, data_hash: str, rescore: runs.Rescore
) -> runs.Registration:
    """Log ``model_dir`` in a new run of the configured store and register it as claimstance."""
    with mlflow.start_run() as run:
        model_uri = runs.RunTracker(run.info.run_id).model(model_dir)
        return runs.register(
            model_uri, "claimstance", score, run.info.run_id, data_hash=data_hash, rescore=rescore
        )


def test_models_registered_in_the_timestamp_layout_still_load(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    """Versions logged before folders were named by model and run keep their folder as it was
    (``artifacts/<timestamp>`` inside the logged model): they resolve and load as new ones do."""
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runs.configure(tracking_uri, "layouts")
    old = shutil.copytree(tiny_model_dir, tmp_path / "models" / "20261205-083855")
    new = shutil.copytree(tiny_model_dir, tmp_path / "models" / "claimstance-run-0123abcd")
    for model_dir in (old, new):
        _register(model_dir, 0.5, "data", lambda directory: 0.5)

    texts = ["Moscow denied the reports", "It may be true"]
    expected = ClaimClassifier.from_directory(tiny_model_dir, device="cpu").predict_proba(texts)
    for version, model_dir in (("1", old), ("2", new)):
        resolved = resolve_model(f"models:/claimstance/{version}", tracking_uri, tmp_path / "cache")
        assert resolved.directory.name == model_dir.name
        assert resolved.download_root is not None
        assert resolved.download_root.name == f"claimstance-v{version}-run-{resolved.run_id}"
        loaded = ClaimClassifier.from_directory(resolved.directory, device="cpu")
        np.testing.assert_allclose(loaded.predict_proba(texts), expected, atol=1e-6)


def test_champion_from_other_data_is_rescored_on_this_split(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runs.configure(uri, "rescore-test")
    rescored: list[Path] = []

    def rescore(directory: Path) -> float:
        rescored.append(directory)
        return 0.40

    def register(score: float, data_hash: str) -> runs.Registration:
        return _register(tiny_model_dir, score, data_hash, rescore)

    assert register(0.90, "old-data").promoted
    # 0.90 was measured on another validation split: the champion is scored again (0.40).
    newer = register(0.50, "new-data")
    assert newer.promoted and newer.previous_champion_score == 0.40
    assert len(rescored) == 1 and (rescored[0] / "config.json").is_file()
    # Same data: the recorded score counts and nothing is re-scored.
    assert not register(0.45, "new-data").promoted
    assert len(rescored) == 1
    assert runs.current_champion("claimstance") == runs.Champion("2", 0.5, "new-data")


def test_a_champion_that_cannot_be_rescored_keeps_its_recorded_score(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runs.configure(uri, "unloadable-champion")

    def refuses(directory: Path) -> float:
        raise ModelDirectoryError(f"{directory} holds pickled weights")

    def register(score: float, data_hash: str) -> runs.Registration:
        return _register(tiny_model_dir, score, data_hash, refuses)

    assert register(0.80, "old-data").promoted
    # The candidate is registered and judged against the recorded 0.80, not failed.
    lower = register(0.70, "new-data")
    assert lower.version == "2" and not lower.promoted and lower.previous_champion_score == 0.80
    assert register(0.90, "new-data").promoted


def test_experiment_opens_on_model_training_views_in_the_ui(tmp_path: Path) -> None:
    # MLflow 3's UI shows an experiment's GenAI overview unless this tag marks it as model training.
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    created = runs.configure(uri, "fresh")
    older = client.create_experiment("made-before-the-tag")
    assert runs.configure(uri, "made-before-the-tag") == older
    for experiment_id in (created, older):
        tags = client.get_experiment(experiment_id).tags
        assert tags[runs.EXPERIMENT_KIND_TAG] == runs.MODEL_TRAINING_KIND


def test_a_gain_inside_the_interval_leaves_the_champion(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runs.configure(uri, "interval-test")
    outcomes = []
    for score, low in [(0.60, 0.50), (0.62, 0.55), (0.70, 0.65)]:
        with mlflow.start_run() as run:
            model_uri = runs.RunTracker(run.info.run_id).model(tiny_model_dir)
            registration = runs.register(
                model_uri, "claimstance", score, run.info.run_id, score_low=low
            )
            outcomes.append(registration.promoted)
    # 0.62 beats 0.60, but 0.60 lies inside 0.62's interval: noise, not a better model.
    assert outcomes == [True, False, True]
    assert runs.champion_score("claimstance") == ("3", 0.7)


def test_experiment_id_is_found_without_creating_a_store(tmp_path: Path) -> None:
    missing = tmp_path / "absent.db"
    assert runs.find_experiment_id(f"sqlite:///{missing}", "claimstance") is None
    assert not missing.exists()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    created = runs.configure(uri, "claimstance")
    assert runs.find_experiment_id(uri, "claimstance") == created
    assert runs.find_experiment_id(uri, "other") is None
