"""Distillation: the loss, the resumable soft-label file, and training on the teacher's labels."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional

from model.labels import LABELS, Label
from training.config import TrainConfig
from training.corpus.build import build_corpus
from training.corpus.pool import PoolText
from training.data import DataError
from training.fit.distill import SoftExample, ensemble_logits, soft_examples, write_soft_labels
from training.fit.finetune import _loss, fine_tune

POOL = [PoolText(f"1:{i}", f"pool sentence number {i} said the officials") for i in range(10)]
META = {"teacher_uri": "models:/teacher@champion", "teacher_run_id": "r1", "pool_hash": "p1"}


def _fake_teacher(calls: list[int]):
    def logits(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return np.tile(np.array([0.0, 2.0, 0.0]), (len(texts), 1))

    return logits


def test_gold_rows_take_cross_entropy_and_pool_rows_the_teacher_kl() -> None:
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.1, 0.2], [0.5, 0.1, 0.2]])
    target = torch.tensor([0, -1, -1])
    teacher = torch.tensor(
        [[1 / 3] * 3, [0.2, 0.7, 0.1], functional.softmax(logits[2], 0).tolist()]
    )
    loss = _loss(logits, target, teacher, class_weights=None, label_smoothing=0.0, temperature=1.0)
    assert loss[0] == pytest.approx(functional.cross_entropy(logits[:1], target[:1]).item())
    expected_kl = (teacher[1] * (teacher[1].log() - functional.log_softmax(logits[1], 0))).sum()
    assert loss[1] == pytest.approx(expected_kl.item(), abs=1e-6)
    assert loss[2] == pytest.approx(0.0, abs=1e-6)  # a student that agrees pays nothing
    hot = _loss(logits, target, teacher, class_weights=None, label_smoothing=0.0, temperature=4.0)
    assert hot[0] == loss[0] and hot[1] != loss[1]


def test_soft_labels_resume_and_refuse_another_teacher(tmp_path: Path) -> None:
    path = tmp_path / "soft.csv"
    calls: list[int] = []
    assert write_soft_labels(_fake_teacher(calls), POOL[:4], path, META, chunk=3) == 4
    assert write_soft_labels(_fake_teacher(calls), POOL, path, META, chunk=3) == 6
    assert calls == [3, 1, 3, 3]  # the second run labelled only what was missing
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["id"] for row in rows] == [item.id for item in POOL]
    assert sum(float(rows[0][label.value]) for label in LABELS) == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(DataError, match="teacher_run_id"):
        write_soft_labels(_fake_teacher(calls), POOL, path, {**META, "teacher_run_id": "r2"})
    examples = soft_examples(POOL[2:], path)
    assert [e.text for e in examples] == [item.text for item in POOL[2:]]
    assert int(np.argmax(examples[0].probabilities)) == LABELS.index(Label.DENIAL)


def test_an_ensemble_teacher_writes_the_average_of_its_teachers_probabilities(
    tmp_path: Path,
) -> None:
    sure = np.log(np.array([0.1, 0.8, 0.1]))
    unsure = np.array([5.0, 4.0, -3.0])  # a confident assertion, logits far larger

    def teacher(row: np.ndarray):
        return lambda texts: np.tile(row, (len(texts), 1))

    path = tmp_path / "soft.csv"
    write_soft_labels(ensemble_logits([teacher(sure), teacher(unsure)]), POOL[:2], path, META)
    written = soft_examples(POOL[:2], path)[0].probabilities
    second = np.exp(unsure - unsure.max()) / np.exp(unsure - unsure.max()).sum()
    expected = (np.array([0.1, 0.8, 0.1]) + second) / 2
    assert written == pytest.approx(expected, abs=2e-4)
    # Averaged logits would have followed the larger ones: the average keeps the denial's mass.
    assert written[LABELS.index(Label.DENIAL)] > 0.4


def test_missing_soft_labels_say_how_to_make_them(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="python -m training soft-labels"):
        soft_examples(POOL, tmp_path / "absent.csv")


def test_the_student_moves_toward_the_teacher(tiny_config: TrainConfig, tmp_path: Path) -> None:
    corpus = build_corpus(tiny_config.data, seed=tiny_config.seed)
    texts = [f"the officials said report {i} was fake" for i in range(48)]

    def train(per_epoch: int, soft: list[SoftExample]) -> np.ndarray:
        config = tiny_config.model_copy(
            update={
                "training": tiny_config.training.model_copy(
                    update={"distill_per_epoch": per_epoch, "epochs": 3}
                )
            }
        )
        trained = fine_tune(corpus.train, [], config, tmp_path / str(per_epoch), soft=soft)
        return trained.predict_proba(texts).argmax(axis=1)

    gold_only = train(0, [])
    # The teacher insists on the label the student trained on gold alone gives these texts least.
    target = int(np.bincount(gold_only, minlength=len(LABELS)).argmin())
    teacher = np.full(len(LABELS), 0.02)
    teacher[target] = 1 - 0.02 * (len(LABELS) - 1)
    distilled = train(48, [SoftExample(text, teacher) for text in texts])
    assert (distilled == target).mean() > (gold_only == target).mean() + 0.5


def test_balance_evens_out_the_teacher_labels_drawn() -> None:
    from training.fit.finetune import _draw_weights

    soft = [SoftExample("a", np.array([0.8, 0.1, 0.1]))] * 8 + [
        SoftExample("d", np.array([0.1, 0.8, 0.1]))
    ] * 2
    assert _draw_weights(soft, 0.0) is None  # uniform
    full = _draw_weights(soft, 1.0)
    assert full[:8].sum() == pytest.approx(0.5) and full[8:].sum() == pytest.approx(0.5)
    half = _draw_weights(soft, 0.5)
    assert 0.2 < half[8:].sum() < 0.5


def test_soft_labels_command_runs_the_teachers_own_weights_by_default(
    tiny_exported_dir: Path, tmp_path: Path
) -> None:
    """The student learns the teacher, not its int8 copy: though the teacher has an int8
    export (which serving would pick), the CLI's default backend is torch."""
    import json
    import re

    from typer.testing import CliRunner

    from tests.training.conftest import emergent_only, write_raw_news
    from training.cli import app

    shared = tmp_path / "shared"
    bodies = {
        body: " ".join(
            f"Witnesses in town {body} said event {i} happened on Monday." for i in range(4)
        )
        for body in range(40)
    }
    # Bodies under the four training claims, so some land in training stories: the pool.
    claims = ["c1", "c2", "c3", "c4"]
    write_raw_news(shared / "data" / "raw", bodies, {body: claims[body % 4] for body in range(40)})
    out = tmp_path / "soft.csv"
    result = CliRunner().invoke(
        app,
        [
            "soft-labels",
            "--teacher",
            str(tiny_exported_dir),
            "--output",
            str(out),
            *emergent_only(shared),
        ],
    )
    assert result.exit_code == 0, result.output
    meta = json.loads(out.with_suffix(".json").read_text("utf-8"))
    assert meta["teacher_backend"] == "torch"
    labelled = re.search(r"(\d+) sentences labelled", result.output)
    assert labelled is not None and int(labelled.group(1)) > 0
