"""The load tool: a short run of the mixed workload against the tiny-model app, and the
tool's own accounting of errors and dropped requests."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from model.classifier import ClaimClassifier
from service.app import create_app
from tests.service.support import make_settings, served
from training.bench.load import Workload, example_articles, run_load, soak

KEY = "load-test-key"


@pytest.fixture(scope="module")
def workload(examples_dir: Path) -> Workload:
    return Workload.from_articles(example_articles(examples_dir))


@pytest.fixture(scope="module")
def port(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    classifier = ClaimClassifier.from_directory(tiny_model_dir, device="cpu")
    settings = make_settings(tiny_model_dir, tmp_path_factory.mktemp("load"), api_keys=[KEY])
    with served(create_app(settings, classifier=classifier)) as base_url:
        yield int(base_url.rsplit(":", 1)[1])


def test_the_mix_is_the_newsroom_mix(workload: Workload) -> None:
    requests = workload.requests(seed=0)
    kinds = [next(requests)[0] for _ in range(2_000)]
    assert abs(kinds.count("claim") / 2_000 - 0.70) < 0.04
    assert abs(kinds.count("article") / 2_000 - 0.25) < 0.04
    assert abs(kinds.count("compare") / 2_000 - 0.05) < 0.02


def test_eight_clients_of_the_mix_get_every_answer(port: int, workload: Workload) -> None:
    result = run_load(port, workload, 8, count=60, api_key=KEY)
    print(result.line())
    assert len(result.outcomes) == 60
    assert (result.errors, result.dropped) == (0, 0)
    assert {outcome.kind for outcome in result.outcomes} >= {"claim", "article"}


def test_a_short_soak_reports_memory(port: int, workload: Workload) -> None:
    result = soak(port, os.getpid(), workload, 2.0, clients=4, api_key=KEY)
    print(result.line())
    assert (result.load.errors, result.load.dropped) == (0, 0)
    assert min(result.rss_start_mb, result.rss_warm_mb, result.rss_end_mb) > 0
    assert "after warm-up" in result.line()


def test_refusals_count_as_errors(port: int, workload: Workload) -> None:
    result = run_load(port, workload, 2, count=6)  # no key: every answer is 401
    assert result.errors == 6
    assert result.statuses == {401: 6}


def test_a_service_that_hangs_up_counts_as_dropped(workload: Workload) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def hang_up() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.recv(65_536)
            connection.close()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        result = run_load(listener.getsockname()[1], workload, 2, count=6)
    finally:
        listener.close()
    assert result.dropped == 6
    assert result.errors == 0
