"""A failed or interrupted training run ends FAILED or KILLED, never moves the champion, and
never leaves a registered version behind that its run did not finish."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

import training.fit.pipeline
from training.config import TrainConfig
from training.fit.pipeline import run_training
from training.tracking import runs


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One MLflow store for the module (creating one takes seconds); names keep tests apart."""
    return f"sqlite:///{tmp_path_factory.mktemp('safe') / 'mlflow.db'}"


def _runs(config: TrainConfig) -> list:
    """The top-level runs (a fine-tuning run's baseline is its child, finished before it)."""
    client = MlflowClient(config.tracking_uri)
    experiment = client.get_experiment_by_name(config.experiment)
    found = client.search_runs([experiment.experiment_id])
    return [run for run in found if "mlflow.parentRunId" not in run.data.tags]


def _versions(tracking_uri: str, name: str = "claimstance") -> list[str]:
    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    return sorted(str(v.version) for v in client.search_model_versions(f"name='{name}'"))


@pytest.mark.parametrize(
    ("error", "status"),
    [(KeyboardInterrupt(), "KILLED"), (RuntimeError("out of memory"), "FAILED")],
)
def test_a_run_that_stops_during_fine_tuning_ends_so_and_registers_nothing(
    tiny_config: TrainConfig,
    store: str,
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
    status: str,
) -> None:
    def fails(*args: object, **kwargs: object) -> None:
        raise error

    config = tiny_config.model_copy(
        update={"tracking_uri": store, "experiment": f"stops-{status}", "registered_model": status}
    )
    monkeypatch.setattr(training.fit.pipeline, "train_loop", fails)
    with pytest.raises(type(error)):
        run_training(config)
    [run] = _runs(config)
    assert run.info.status == status
    assert _versions(store, status) == []


def _log(model_dir: Path) -> tuple[str, str]:
    run = mlflow.active_run()
    assert run is not None
    return runs.RunTracker(run.info.run_id).model(model_dir), run.info.run_id


def test_a_run_that_fails_after_registering_withdraws_its_version(
    store: str, tiny_model_dir: Path
) -> None:
    uri = store
    with runs.start_run(uri, "safe", "first"):
        model_uri, run_id = _log(tiny_model_dir)
        assert runs.register(model_uri, "withdrawn", 0.5, run_id).promoted
    with pytest.raises(RuntimeError, match="disk full"), runs.start_run(uri, "safe", "second"):
        model_uri, run_id = _log(tiny_model_dir)
        # A better score: this version takes the alias...
        assert runs.register(model_uri, "withdrawn", 0.9, run_id).promoted
        assert runs.champion_score("withdrawn") == ("2", 0.9)
        raise RuntimeError("disk full")  # ...and then the run fails.
    assert runs.champion_score("withdrawn") == ("1", 0.5)
    assert _versions(uri, "withdrawn") == ["1"]
    second = MlflowClient(uri).get_run(run_id)
    assert second.info.status == "FAILED"


def test_an_interrupted_rescore_leaves_no_version_and_the_alias_in_place(
    store: str, tiny_model_dir: Path
) -> None:
    uri = store
    with runs.start_run(uri, "safe", "first"):
        model_uri, run_id = _log(tiny_model_dir)
        runs.register(model_uri, "rescored", 0.5, run_id, data_hash="old")

    def interrupted(directory: Path) -> float:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), runs.start_run(uri, "safe", "second"):
        model_uri, run_id = _log(tiny_model_dir)
        # Other data: the champion is re-scored first, and Ctrl-C lands there.
        runs.register(model_uri, "rescored", 0.9, run_id, data_hash="new", rescore=interrupted)
    assert runs.champion_score("rescored") == ("1", 0.5)
    assert _versions(uri, "rescored") == ["1"]
    assert MlflowClient(uri).get_run(run_id).info.status == "KILLED"


def test_sigterm_ends_the_run_as_killed(store: str) -> None:
    uri = store
    with pytest.raises(KeyboardInterrupt), runs.start_run(uri, "safe", "killed") as tracker:
        os.kill(os.getpid(), signal.SIGTERM)
    assert MlflowClient(uri).get_run(tracker.run_id).info.status == "KILLED"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is put back


def test_a_model_whose_upload_did_not_finish_is_not_registered(store: str) -> None:
    uri = store
    with runs.start_run(uri, "safe", "partial") as tracker:
        pending = mlflow.initialize_logged_model(name="model")  # artifacts never logged
        with pytest.raises(ValueError, match="not READY"):
            runs.register(f"models:/{pending.model_id}", "partial", 0.9, tracker.run_id)
    assert _versions(uri, "partial") == []
