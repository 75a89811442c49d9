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
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    # Each worker left the process group cleanly once its DDP wrapper was gone.
    assert "the process group is left to exit" not in result.stderr
    # Only the main worker reports, and it registered one version.
    assert result.stdout.count("registered claimstance version 1 (now champion)") == 1

    uri = tiny_config.tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name(tiny_config.experiment)
    runs = client.search_runs([experiment.experiment_id])
    # One fine-tuning run and its baseline child, both from the main worker only.
    assert sorted(r.data.tags["kind"] for r in runs) == ["baseline", "fine-tune"]
    assert all(r.info.status == "FINISHED" for r in runs)
    [run] = [r for r in runs if r.data.tags["kind"] == "fine-tune"]
    [child] = [r for r in runs if r.data.tags["kind"] == "baseline"]
    assert child.data.tags["mlflow.parentRunId"] == run.info.run_id
    assert [str(v.version) for v in client.search_model_versions("name='claimstance'")] == ["1"]
    assert run.data.metrics["train.workers"] == 2
    assert "transformer.validation.macro_f1" in run.data.metrics
    assert "baseline.validation.macro_f1" in child.data.metrics

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


def _distil_on_two_workers(rank: int, port: int, config_json: str, out: str) -> None:
    """One of two gloo workers running the training loop on gold and teacher-labelled sentences."""
    import numpy as np

    from training.fit.distill import SoftExample
    from training.fit.finetune import train_loop

    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE="2",
        LOCAL_WORLD_SIZE="2",
    )
    config = TrainConfig.model_validate_json(config_json)
    corpus = build_corpus(config.data, seed=config.seed)
    denial = np.array([0.02, 0.96, 0.02])
    soft = [SoftExample(f"the officials said report {i} was fake", denial) for i in range(16)]
    trained = train_loop(corpus.train, [], config, soft=soft)
    if rank == 0:
        Path(out).write_text(json.dumps(trained.workers), encoding="utf-8")


def test_distillation_trains_on_two_workers(tiny_config: TrainConfig, tmp_path: Path) -> None:
    import socket

    import torch.multiprocessing

    config = tiny_config.model_copy(
        update={
            "training": tiny_config.training.model_copy(
                update={"distill_per_epoch": 16, "epochs": 1, "device": "cpu"}
            )
        }
    )
    with socket.socket() as probe:  # a free port for the workers to meet on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "workers.json"
    torch.multiprocessing.spawn(
        _distil_on_two_workers, args=(port, config.model_dump_json(), str(out)), nprocs=2
    )
    workers = json.loads(out.read_text(encoding="utf-8"))
    train = len(build_corpus(config.data, seed=config.seed).train)
    # Gold and pool sentences are shared out together, and DDP kept the workers in step.
    seen = sum(w["examples"] for w in workers)
    assert train + 16 <= seen <= train + 16 + config.training.batch_size
    assert workers[0]["weights"] == workers[1]["weights"]
