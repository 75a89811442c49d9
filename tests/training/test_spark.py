"""Spark scoring: the registered MLflow model as a Spark UDF gives the rows the local command gives."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import pandas as pd
import pytest

from model.classifier import ClaimClassifier
from tests.training.test_score import TEXTS, write_input
from training.batch.score import score_file
from training.tracking import runs

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytest.importorskip("pyspark", reason="the spark extra is not installed")
pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17"),
]


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    """A local[2] session, and at the end its JVM stopped too.

    ``SparkSession.stop`` ends the context but leaves py4j's JVM running until the
    interpreter exits, which kept pytest from exiting for seconds after the last test.
    The JVM pyspark launches exits when its stdin closes, so that is closed and awaited.
    """
    from pyspark import SparkContext

    from training.batch.spark import session

    spark = session("local[2]", config={"spark.ui.enabled": "false"})
    try:
        yield spark
    finally:
        spark.stop()
        gateway = SparkContext._gateway
        if gateway is not None:
            gateway.shutdown()
            process = getattr(gateway, "proc", None)
            if process is not None:
                if process.stdin is not None:
                    process.stdin.close()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
            # A later session in this process launches a JVM of its own.
            SparkContext._gateway = None
            SparkContext._jvm = None


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["id", "claim_index"]).reset_index(drop=True)


def test_spark_scoring_matches_the_local_command(
    tmp_path: Path, tiny_exported_dir: Path, spark: SparkSession
) -> None:
    from training.batch.spark import score_with_spark

    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runs.configure(tracking_uri, "spark-test")
    with mlflow.start_run() as run:
        model_uri = runs.RunTracker(run.info.run_id).model(tiny_exported_dir)
        runs.register(model_uri, "claimstance", 0.5, run.info.run_id)

    # Local reference: the score command's path on the same model directory.
    parquet_in = write_input(tmp_path / "in.parquet", id_column="doc", text_column="body")
    local_out = tmp_path / "local.parquet"
    classifier = ClaimClassifier.from_directory(tiny_exported_dir)
    score_file(classifier, parquet_in, local_out, id_column="doc", text_column="body")
    expected = _sorted(pd.read_parquet(local_out))

    csv_in = write_input(tmp_path / "in.csv", id_column="doc", text_column="body")
    score_with_spark(
        spark,
        str(csv_in),  # quoted newlines inside texts
        str(tmp_path / "spark.parquet"),
        "models:/claimstance/1",
        id_column="doc",
        text_column="body",
        tracking_uri=tracking_uri,
    )

    got = _sorted(pd.read_parquet(tmp_path / "spark.parquet"))
    assert list(got.columns) == list(expected.columns)
    # The int8 ONNX backend quantises each batch's activations on that batch's own range, and
    # Spark batches the texts differently, so scores may move in the fifth decimal.
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, atol=1e-4)
    assert set(got["id"]) == set(TEXTS) - {"a3"}  # the empty text has no claim
