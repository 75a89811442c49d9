"""``python -m training bench``: the in-process table and the HTTP load client, on the tiny model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from model.classifier import ClaimClassifier
from model.labels import LABELS, Label
from training.bench.backends import (
    CALL_SIZES,
    _load,
    _load_requests_of,
    in_process_table,
    mixed_requests,
    run_path,
    soak,
)
from training.bench.server import running_service
from training.metrics import evaluate

TEXTS = [
    "Moscow denied the reports at the time.",
    "The purchases had not yet been completed.",
    "US officials said Russia was buying shells.",
    "Kirby said the weapons may have been exported.",
]


@pytest.fixture
def no_developer_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CLAIMSTANCE_") or name == "MLFLOW_TRACKING_URI":
            monkeypatch.delenv(name)


def test_in_process_table_measures_each_path_against_the_first(tiny_exported_dir: Path) -> None:
    labelled = [
        [text, label]
        for text, label in zip(TEXTS, ["denial", "caveat", "assertion", "caveat"], strict=True)
    ]
    data = {"speed": TEXTS * 20, "validation": labelled, "news_test": labelled}
    table = in_process_table(tiny_exported_dir, data, ["pipeline", "torch-fp32", "onnx-int8"])
    rows = {line.split()[0]: line.split() for line in table.splitlines()[2:]}
    assert set(rows) == {"pipeline", "torch-fp32", "onnx-int8"}
    assert rows["pipeline"][2] == "1.00"  # ratios are to the pipeline
    for row in rows.values():
        sentences_per_s, f1, rss_mb = float(row[1]), float(row[5]), float(row[7])
        assert sentences_per_s > 0 and 0 <= f1 <= 1 and rss_mb > 50
    # fp32 through the service's path labels exactly as the pipeline does.
    assert rows["torch-fp32"][5:7] == rows["pipeline"][5:7]
    # The served int8 gives each text one answer whatever its neighbours, and every call
    # size has its throughput.
    assert float(rows["onnx-int8"][9]) == 1.0
    assert len(rows["onnx-int8"][10:]) == len(CALL_SIZES)
    assert all(float(rate) > 0 for rate in rows["onnx-int8"][10:])


def test_f1_columns_are_trainings_macro_f1(tiny_exported_dir: Path, tmp_path: Path) -> None:
    # Gold labels the tiny model gets partly wrong, so each label's F1 differs and a score
    # computed another way (another average, another zero rule) would show.
    classifier = ClaimClassifier.from_directory(tiny_exported_dir, device="cpu", backend="torch")
    predicted = [LABELS[i] for i in classifier.predict_proba(TEXTS).argmax(axis=1)]
    gold = [Label.DENIAL, Label.CAVEAT, Label.ASSERTION, predicted[3]]
    rows = [[text, label.value] for text, label in zip(TEXTS, gold, strict=True)]
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps({"speed": TEXTS, "validation": rows, "news_test": rows[:2]}))

    result = run_path("torch-fp32", tiny_exported_dir, data_file)

    assert result.validation_f1 == evaluate("validation", gold, predicted).macro_f1
    assert result.news_test_f1 == evaluate("news_test", gold[:2], predicted[:2]).macro_f1


def test_load_client_and_soak_against_a_running_service(
    tiny_exported_dir: Path, no_developer_settings: None
) -> None:
    documents = [{"id": f"d{i}", "text": " ".join(TEXTS[i:] + TEXTS[:i])} for i in range(2)]
    with running_service(str(tiny_exported_dir)) as (port, pid, ready_s):
        assert ready_s < 60
        rate, latencies = _load(port, TEXTS, 8, 40)
        assert rate > 0 and len(latencies) == 40
        assert _load_requests_of(port, TEXTS, 64, 2) > 0
        requests = mixed_requests(TEXTS, [d["text"] for d in documents], documents, 40)
        assert {path for path, _ in requests} == {b"/classify", b"/compare"}
        report = soak(port, pid, requests, clients=4, seconds=1.0)
    assert "0 errors" in report and "RSS" in report
