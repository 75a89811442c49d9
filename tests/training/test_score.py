"""Batch scoring: every input format in, a row per claim out, a chunk at a time, resumable."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from model.card import ModelCard
from model.classifier import ClaimClassifier, Prediction
from model.labelling import label_texts
from model.table import CLAIM_COLUMNS, NULLABLE_FIELDS, claim_table
from training.batch.score import (
    PROVENANCE_METADATA_KEY,
    ScoreError,
    count_rows,
    model_provenance,
    provenance_path,
    read_chunks,
    score_file,
)
from training.cli import app

TEXTS = {
    "a1": "North Korea said it has never exported weapons to Russia. "
    "Kirby said the purchases had not yet been completed.",
    "a2": "Moscow denied the reports.",
    "a3": "",
    "a4": "<p>Officials said it may be true.</p>\n<p>Rockets were bought.</p>",
    "a5": 'He said "NA", then left.\nA second line.',
    "a6": "The deal was signed on Tuesday.",
    "a7": "Unconfirmed reports of an arms deal.",
}


class Counting:
    """Wraps a classifier, recording how many claims each call labels; may fail on a call."""

    def __init__(self, inner: ClaimClassifier, fail_on_call: int | None = None) -> None:
        self.inner = inner
        self.calls: list[int] = []
        self.fail_on_call = fail_on_call

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        self.calls.append(len(texts))
        if self.fail_on_call is not None and len(self.calls) == self.fail_on_call:
            raise KeyboardInterrupt  # the job is stopped part way
        return self.inner.predict(texts)


@pytest.fixture(scope="module")
def classifier(tiny_model_dir: Path) -> ClaimClassifier:
    return ClaimClassifier.from_directory(tiny_model_dir, device="cpu")


def write_input(path: Path, id_column: str = "doc", text_column: str = "body") -> Path:
    frame = pd.DataFrame({id_column: list(TEXTS), text_column: list(TEXTS.values()), "x": 1})
    if path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def read_output(path: Path) -> pd.DataFrame:
    if path.suffix == ".jsonl":
        frame = pd.read_json(path, lines=True, dtype={"id": str})
    elif path.suffix == ".csv":
        frame = pd.read_csv(path, dtype={"id": str, "text": str}, keep_default_na=False)
        # CSV has no null: an attribution column's empty cell is one.
        for name in NULLABLE_FIELDS:
            frame[name] = [value or None for value in frame[name]]
    else:
        frame = pd.read_parquet(path)
    return frame.sort_values(["id", "claim_index"]).reset_index(drop=True)


def expected_rows(classifier: ClaimClassifier) -> pd.DataFrame:
    table = claim_table(list(TEXTS), label_texts(classifier, list(TEXTS.values())))
    return pd.DataFrame(table).sort_values(["id", "claim_index"]).reset_index(drop=True)


@pytest.mark.parametrize("source", ["in.jsonl", "in.csv", "in.parquet"])
@pytest.mark.parametrize("target", ["out.jsonl", "out.csv", "out.parquet"])
def test_every_format_gives_the_rows_of_the_labelling_path(
    tmp_path: Path, classifier: ClaimClassifier, source: str, target: str
) -> None:
    path = write_input(tmp_path / source)
    counting = Counting(classifier)
    report = score_file(
        counting, path, tmp_path / target, id_column="doc", text_column="body", chunk_size=3
    )

    assert (report.texts_read, report.texts_scored, report.texts_skipped) == (7, 7, 0)
    # Streamed: one model call per chunk of three texts, never the whole file at once.
    assert len(counting.calls) == 3
    got = read_output(tmp_path / target)
    assert list(got.columns) == list(CLAIM_COLUMNS)
    pd.testing.assert_frame_equal(got, expected_rows(classifier), check_dtype=False)
    assert report.claims == len(got) and "a3" not in set(got["id"])  # no claim, no row
    # Who makes each claim's move, and the cue: null in the outlet's own voice.
    attributed = got.set_index(["id", "claim_index"])[["source", "source_kind", "cue"]]
    assert tuple(attributed.loc[("a2", 0)]) == ("Moscow", "organisation", "denied")
    assert tuple(attributed.loc[("a1", 1)]) == ("Kirby", "person", "said")
    assert attributed.loc[("a6", 0)].isna().all()
    if target.endswith(".parquet"):  # a part per chunk that had claims
        assert len(list((tmp_path / target).glob("part-*.parquet"))) == 3


@pytest.mark.parametrize("target", ["out.jsonl", "out.csv", "out.parquet"])
def test_a_rerun_skips_what_is_done_and_ends_as_one_clean_run(
    tmp_path: Path, classifier: ClaimClassifier, target: str
) -> None:
    source = write_input(tmp_path / "in.jsonl")
    output = tmp_path / target
    stopped = Counting(classifier, fail_on_call=3)
    with pytest.raises(KeyboardInterrupt):
        score_file(stopped, source, output, id_column="doc", text_column="body", chunk_size=2)
    if target.endswith(".jsonl"):
        # A kill in the middle of a write: half a row of the next text at the end.
        with output.open("a", encoding="utf-8") as handle:
            handle.write('{"id": "a5", "claim_index": 0, "te')
    if target.endswith(".csv"):
        # The same in CSV, cut inside a quoted text that spans lines.
        with output.open("a", encoding="utf-8") as handle:
            handle.write('a5,0,"He said ""NA"", then left.\nA sec')

    resumed = Counting(classifier)
    report = score_file(resumed, source, output, id_column="doc", text_column="body", chunk_size=2)
    # Chunks (a1, a2) (a3, a4) (a5, a6) (a7): the third model call failed, so the claims of
    # a1, a2 and a4 were written (a3 has none). JSONL re-scores its last id, a4: a kill may
    # have cut its rows.
    done_before = {
        "out.jsonl": {"a1", "a2"},
        "out.csv": {"a1", "a2"},
        "out.parquet": {"a1", "a2", "a4"},
    }[target]
    assert report.texts_skipped == len(done_before)
    assert report.texts_scored == 7 - len(done_before)
    pd.testing.assert_frame_equal(read_output(output), expected_rows(classifier), check_dtype=False)

    again = Counting(classifier)
    report = score_file(again, source, output, id_column="doc", text_column="body")
    # Everything is skipped but the claimless text (looked at again, without a model call)
    # and, in JSONL and CSV, the last id (a7, one claim).
    if not target.endswith(".parquet"):
        assert report.texts_scored == 2 and again.calls == [1]
    else:
        assert report.texts_scored == 1 and again.calls == []
    pd.testing.assert_frame_equal(read_output(output), expected_rows(classifier), check_dtype=False)


def test_bad_inputs_are_named(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.csv")
    with pytest.raises(ScoreError, match=r"no column 'key'.*'doc', 'body', 'x'"):
        read_chunks(source, "key", "body")
    with pytest.raises(ScoreError, match=r"no column 'text'.*'doc', 'body', 'x'"):
        read_chunks(source, "id", "text")
    (tmp_path / "in.txt").write_text("a text", encoding="utf-8")
    with pytest.raises(ScoreError, match=r"unknown format \.txt"):
        read_chunks(tmp_path / "in.txt", "id", "text")
    with pytest.raises(ScoreError, match="does not exist"):
        read_chunks(tmp_path / "missing.jsonl", "id", "text")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": 1, "text": "fine"}\n{"id": 2, "text": \n', encoding="utf-8")
    with pytest.raises(ScoreError, match=r"broken\.jsonl:2 is not JSON"):
        list(read_chunks(broken, "id", "text"))


def test_score_command_end_to_end(tmp_path: Path, tiny_model_dir: Path) -> None:
    source = write_input(tmp_path / "in.parquet", id_column="id", text_column="text")
    output = tmp_path / "claims.jsonl"
    arguments = ["score", str(source), str(output), "--model-uri", str(tiny_model_dir)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert "7 texts scored (0 already in" in result.output
    assert f"scored by {tiny_model_dir}" in result.output
    assert json.loads(provenance_path(output).read_text())["model_uri"] == str(tiny_model_dir)
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["a1", "a1", "a2", "a4", "a4", "a5", "a5", "a6", "a7"]

    result = CliRunner().invoke(app, arguments)
    # The claimless text and the last id (JSONL may have cut its rows) are scored again.
    assert "2 texts scored (5 already in" in result.output
    assert len(output.read_text(encoding="utf-8").splitlines()) == len(rows)

    result = CliRunner().invoke(app, [*arguments, "--text-column", "body"])
    assert result.exit_code == 2
    assert "has no column 'body'" in result.output and "Traceback" not in result.output


def test_score_spark_refuses_a_format_before_starting_spark(tmp_path: Path) -> None:
    import importlib.util

    source = write_input(tmp_path / "in.jsonl")
    result = CliRunner().invoke(app, ["score-spark", str(source), str(tmp_path / "out.csv")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    if importlib.util.find_spec("pyspark") is None:
        assert "needs pyspark: pip install 'claimstance[spark]'" in result.output
    else:
        assert "output" in result.output and "unknown format .csv" in result.output


@pytest.mark.parametrize("source", ["in.jsonl", "in.csv", "in.parquet"])
def test_an_input_without_ids_is_numbered_in_file_order(tmp_path: Path, source: str) -> None:
    path = tmp_path / source
    frame = pd.DataFrame({"text": list(TEXTS.values())})
    if source.endswith(".jsonl"):
        frame.to_json(path, orient="records", lines=True)
    elif source.endswith(".csv"):
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    chunks = list(read_chunks(path, "id", "text", chunk_size=3))
    assert [ids for ids, _ in chunks] == [["1", "2", "3"], ["4", "5", "6"], ["7"]]
    assert [text for _, texts in chunks for text in texts] == list(TEXTS.values())


def _other_model(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """The same weights under another card: another training, as far as scoring can tell."""
    other = tmp_path / "other-model"
    shutil.copytree(tiny_model_dir, other)
    ModelCard(base_model="another", data_hash="feedfeedfeedfeed").save(other)
    return other


@pytest.mark.parametrize("target", ["out.jsonl", "out.csv", "out.parquet"])
def test_an_output_names_its_model_and_refuses_another(
    tmp_path: Path, tiny_model_dir: Path, classifier: ClaimClassifier, target: str
) -> None:
    source = write_input(tmp_path / "in.jsonl")
    output = tmp_path / target
    first = model_provenance(
        "models:/claimstance@champion",
        tiny_model_dir,
        {"model_name": "claimstance", "model_version": "4", "model_run_id": "abc123"},
    )
    score_file(classifier, source, output, id_column="doc", text_column="body", model=first)
    recorded = json.loads(provenance_path(output).read_text(encoding="utf-8"))
    assert recorded["model_version"] == "4" and recorded["identity"] == "run:abc123"
    if target.endswith(".parquet"):
        part = next(output.glob("part-*.parquet"))
        metadata = pq.read_schema(part).metadata[PROVENANCE_METADATA_KEY]
        assert json.loads(metadata)["model_run_id"] == "abc123"
        assert len(pd.read_parquet(output)) == len(expected_rows(classifier))  # _model.json skipped

    before = sorted(p.name for p in tmp_path.rglob("*"))
    size = output.stat().st_size if output.is_file() else None
    second = model_provenance(
        "models:/claimstance@champion",
        tiny_model_dir,
        {"model_name": "claimstance", "model_version": "5", "model_run_id": "def456"},
    )
    with pytest.raises(ScoreError, match=r"started by models:/claimstance@champion version 4"):
        score_file(classifier, source, output, id_column="doc", text_column="body", model=second)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing changed
    assert size is None or output.stat().st_size == size
    # A bare directory is known by its card: another card, another model.
    other = model_provenance(str(tmp_path), _other_model(tiny_model_dir, tmp_path), {})
    assert other["identity"].startswith("card:")
    with pytest.raises(ScoreError, match="started by"):
        score_file(classifier, source, output, id_column="doc", text_column="body", model=other)
    # The same model resumes.
    report = score_file(
        classifier, source, output, id_column="doc", text_column="body", model=first
    )
    assert report.texts_skipped >= 5


def test_score_command_checks_the_input_before_loading_the_model(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.csv")
    result = CliRunner().invoke(
        app,
        ["score", str(source), str(tmp_path / "o.jsonl"), "--model-uri", str(tmp_path / "none")],
    )
    assert result.exit_code == 2
    assert "has no column 'text'" in result.output


def test_every_input_format_has_a_total_for_the_progress_bar(tmp_path: Path) -> None:
    for name in ("in.jsonl", "in.csv", "in.parquet"):
        # a5's text spans two lines: CSV rows are counted by parsing, not by newlines.
        assert count_rows(write_input(tmp_path / name)) == len(TEXTS)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        # The header reads; the second line does not: found by the count, before any model.
        ("in.csv", b"id,text\n1,caf\xe9 au lait\n", "byte 0xe9 at offset 13 (line 2)"),
        ("in.jsonl", b'{"id": 1, "text": "A."}\n{"id": 2, "text": "\xff"}\n', "(line 2)"),
        ("in.csv", b"", "is empty: no texts to score"),
        ("in.jsonl", b"", "is empty: no texts to score"),
        ("in.jsonl", b"\n\n", "has no JSON object"),
        ("in.parquet", b"not parquet", "cannot be read as parquet"),
    ],
)
def test_an_unreadable_input_is_one_error_before_the_model_loads(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    source = tmp_path / name
    source.write_bytes(content)
    output = tmp_path / "out.jsonl"
    # No model at this path: an error about the input proves the model was never reached.
    arguments = ["score", str(source), str(output), "--model-uri", str(tmp_path / "none")]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert "cannot load" not in result.output
    assert not output.exists() and not provenance_path(output).exists()


def test_a_csv_that_breaks_off_is_named(tmp_path: Path, classifier: ClaimClassifier) -> None:
    source = tmp_path / "in.csv"
    source.write_text('id,text\n1,"A claim."\n2,"A quote never closed\n', encoding="utf-8")
    with pytest.raises(ScoreError, match=r"in\.csv is not valid CSV: .*EOF inside string"):
        score_file(classifier, source, tmp_path / "out.jsonl", progress=False)


def test_a_last_line_without_a_newline_is_counted(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "text": "A."}\n{"id": 2, "text": "B."}', encoding="utf-8")
    assert count_rows(source) == 2
