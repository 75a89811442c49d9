"""``python -m training bench``: the in-process table and the HTTP load client, on the tiny model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from training.bench.backends import (
    CALL_SIZES,
    _load,
    _load_requests_of,
    in_process_table,
    mixed_requests,
    soak,
)
from training.bench.server import running_service

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
