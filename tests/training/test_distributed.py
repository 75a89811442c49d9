"""`python -m training train` under torchrun: two CPU workers (gloo), one run, one version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from mlflow.tracking import MlflowClient

from training.config import TrainConfig
from training.corpus.build import build_corpus

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_two_workers_train_one_model_logged_once(tiny_config: TrainConfig, tmp_path: Path) -> None:
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(tiny_config.model_dump(mode="json")), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "CLAIMSTANCE_DEVICE": "cpu"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "training",
            "train",
            "--config",
            str(config_file),
            "training.device=cpu",
            # The export is the same on any number of workers; leaving it out saves time here.
            "training.export_onnx=false",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    # Only the main worker reports, and it registered one version.
    assert result.stdout.count("registered claimstance version 1 (now champion)") == 1

    uri = tiny_config.tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name(tiny_config.experiment)
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    run = runs[0]
    assert [str(v.version) for v in client.search_model_versions("name='claimstance'")] == ["1"]
    assert run.data.metrics["train.workers"] == 2
    assert "transformer.validation.macro_f1" in run.data.metrics
    assert "baseline.validation.macro_f1" in run.data.metrics  # once, by the main worker

    local = client.download_artifacts(run.info.run_id, "training/workers.json", str(tmp_path))
    workers = json.loads(Path(local).read_text(encoding="utf-8"))["workers"]
    assert sorted(w["rank"] for w in workers) == [0, 1]
    # Both trained, in step: as many steps each, and the same weights at the end (DDP).
    assert workers[0]["steps"] == workers[1]["steps"] > 0
    assert workers[0]["weights"] == workers[1]["weights"]
    # Each took its half of every epoch (the last batch is repeated to even the halves).
    settings = tiny_config.training
    train = len(build_corpus(tiny_config.data, seed=tiny_config.seed).train)
    batches = -(-train // settings.batch_size)
    assert workers[0]["steps"] == -(-batches // 2) * settings.epochs
    seen = sum(w["examples"] for w in workers)
    assert train * settings.epochs <= seen <= (train + settings.batch_size) * settings.epochs
    assert all(w["examples"] < train * settings.epochs for w in workers)
