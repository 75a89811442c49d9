"""Batch scoring on Spark: the logged MLflow model as a Spark UDF, a row per claim out.

The same model and the same rows as ``python -m training score``: Spark hands each
partition's texts to the model (``mlflow.pyfunc.spark_udf``), which labels them with
``model.labelling.label_texts``. A Spark UDF returns one value per row it is given,
so the model is asked for one row per text (``per_text``) with its claims as a list,
and the list is exploded into a row per claim here.

This file imports only pyspark and mlflow, so it can be handed to ``spark-submit``
as it is: the driver needs pyspark and mlflow, the executors the model's own
requirements (or ``--env-manager virtualenv``/``uv`` to build them from the model):

    spark-submit --master spark://HOST:7077 training/batch/spark.py \\
        --model-uri models:/claimstance@champion texts.parquet claims.parquet

``python -m training score-spark`` runs it on a local session.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

logger = logging.getLogger(__name__)

# Kept in step with training/tracking/pyfunc.py, which this file cannot import on a cluster.
PER_TEXT_PARAM = "per_text"
CLAIMS_COLUMN = "claims"
ID_COLUMN = "id"
TEXT_COLUMN = "text"
READERS = {
    ".jsonl": "json",
    ".ndjson": "json",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
}
WRITERS = {".jsonl": "json", ".parquet": "parquet"}


class SparkScoreError(ValueError):
    """An input, output or model that cannot be scored; the message says why."""


def per_text_type(model_path: str) -> StructType:
    """The UDF's result: ``claims``, a list of the model's output rows without the id.

    Read from the model's own signature, so this file needs nothing from the repo.
    """
    from mlflow.models import Model
    from pyspark.sql.types import ArrayType, StructField, StructType

    signature = Model.load(model_path).signature
    if signature is None or signature.outputs is None:
        raise SparkScoreError(f"{model_path} has no output signature: log it again with training")
    fields = [
        StructField(spec.name, spec.type.to_spark())
        for spec in signature.outputs.inputs
        if spec.name != ID_COLUMN
    ]
    return StructType([StructField(CLAIMS_COLUMN, ArrayType(StructType(fields)))])


def _kind(path: str, table: dict[str, str], what: str) -> str:
    suffix = Path(path.rstrip("/")).suffix.lower()
    if suffix not in table:
        raise SparkScoreError(
            f"{what} {path}: unknown format {suffix or '(no suffix)'}; expected one of "
            + ", ".join(table)
        )
    return table[suffix]


def check_paths(source: str, output: str) -> None:
    """Refuse a format this job cannot read or write, before a Spark session is started."""
    _kind(source, READERS, "input")
    _kind(output, WRITERS, "output")


def read_texts(
    spark: SparkSession, source: str, id_column: str = ID_COLUMN, text_column: str = TEXT_COLUMN
) -> DataFrame:
    """``id`` and ``text`` as strings, from JSON Lines, CSV (with a header) or Parquet."""
    from pyspark.sql import functions as sf

    kind = _kind(source, READERS, "input")
    reader = spark.read
    if kind == "csv":
        # Articles hold newlines and quotes; pandas and most tools write them like this.
        reader = reader.option("header", True).option("multiLine", True).option("escape", '"')
    frame = reader.format(kind).load(source)
    missing = [name for name in (id_column, text_column) if name not in frame.columns]
    if missing:
        raise SparkScoreError(
            f"{source} has no column {', '.join(map(repr, missing))}; its columns are "
            f"{', '.join(map(repr, frame.columns))}"
        )
    return frame.select(
        sf.col(id_column).cast("string").alias(ID_COLUMN),
        # A missing text is an empty one: no claims, as in the local command.
        sf.coalesce(sf.col(text_column).cast("string"), sf.lit("")).alias(TEXT_COLUMN),
    )


def score_frame(
    spark: SparkSession, texts: DataFrame, model_uri: str, env_manager: str = "local"
) -> DataFrame:
    """A row per claim of ``texts`` (columns ``id``, ``text``): the model's output columns."""
    import mlflow.artifacts
    import mlflow.pyfunc
    from pyspark.sql import functions as sf

    # Downloaded once here, for its signature and for the UDF, which ships it to the executors.
    local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri)
    label = mlflow.pyfunc.spark_udf(
        spark,
        local,
        result_type=per_text_type(local),
        params={PER_TEXT_PARAM: True},
        env_manager=env_manager,
    )
    # A small file is one partition; spread it over every core the session has.
    parallelism = spark.sparkContext.defaultParallelism
    if texts.rdd.getNumPartitions() < parallelism:
        texts = texts.repartition(parallelism)
    labelled = texts.select(
        ID_COLUMN, sf.explode(label(sf.struct(ID_COLUMN, TEXT_COLUMN))[CLAIMS_COLUMN]).alias("c")
    )
    return labelled.select(ID_COLUMN, "c.*")


def score_with_spark(
    spark: SparkSession,
    source: str,
    output: str,
    model_uri: str,
    *,
    id_column: str = ID_COLUMN,
    text_column: str = TEXT_COLUMN,
    env_manager: str = "local",
    mode: str = "errorifexists",
    tracking_uri: str | None = None,
) -> None:
    """Read ``source``, label every claim, write ``output`` (a folder of Parquet or JSON parts).

    ``tracking_uri``: the MLflow store a ``models:/`` URI is looked up in (runs and registry).
    """
    if tracking_uri:
        import mlflow

        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
    check_paths(source, output)
    writer_kind = _kind(output, WRITERS, "output")
    texts = read_texts(spark, source, id_column, text_column)
    claims = score_frame(spark, texts, model_uri, env_manager)
    claims.write.mode(mode).format(writer_kind).save(output)


def session(
    master: str | None = None,
    app_name: str = "claimstance-score",
    config: dict[str, str] | None = None,
) -> SparkSession:
    """A Spark session; on a local master its Python workers run this interpreter."""
    from pyspark.sql import SparkSession

    if master and master.startswith("local"):
        # Else workers start whatever `python3` is first on PATH, which may lack the model's needs.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for key, value in (config or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="texts: .jsonl, .csv or .parquet (any Spark path)")
    parser.add_argument("output", help="claims: a .parquet or .jsonl folder of parts")
    # model.identity.DEFAULT_MODEL_URI, which this file cannot import on a cluster (a test
    # keeps the two in step).
    parser.add_argument("--model-uri", default="models:/claimstance@champion")
    parser.add_argument("--id-column", default=ID_COLUMN)
    parser.add_argument("--text-column", default=TEXT_COLUMN)
    parser.add_argument("--master", default=None, help="e.g. local[2]; spark-submit sets it")
    parser.add_argument(
        "--env-manager",
        default="local",
        choices=["local", "virtualenv", "uv", "conda"],
        help="local: the executors' Python has the model's requirements; else built from them",
    )
    parser.add_argument("--mode", default="errorifexists", choices=["errorifexists", "overwrite"])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    spark = session(args.master)
    try:
        score_with_spark(
            spark,
            args.source,
            args.output,
            args.model_uri,
            id_column=args.id_column,
            text_column=args.text_column,
            env_manager=args.env_manager,
            mode=args.mode,
            # models:/ URIs resolve in the registry: the same store as the runs here.
            tracking_uri=os.environ.get("MLFLOW_TRACKING_URI"),
        )
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
