"""A user's own labelled file: the three formats, its splits, and every bad file's message."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from model.labels import Label
from tests.training.conftest import emergent_only
from training.cli import app
from training.config import TrainConfig, load_config
from training.corpus.build import build_corpus
from training.corpus.user_data import USER_SOURCE, USER_TEST_SET, read_user_file
from training.data import DataError, Split
from training.fit.pipeline import run_training

ROWS = [
    {"text": "The minister denied the report.", "label": "denial", "story": "s1"},
    {"text": "The bridge was closed on Monday.", "label": "assertion", "story": "s1"},
    {"text": "It may reopen next week, officials said.", "label": "caveat", "story": "s2"},
    {"text": "Police said nobody was hurt.", "label": "assertion", "story": "s3"},
]


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def csv_of(rows: list[dict[str, str]]) -> str:
    columns = list(rows[0])
    lines = [",".join(columns)]
    lines += [",".join(json.dumps(row.get(c, "")) for c in columns) for row in rows]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_each_format_gives_the_same_examples(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"claims{suffix}"
    if suffix == ".csv":
        write_csv(path, csv_of(ROWS))
    elif suffix == ".jsonl":
        path.write_text("\n".join(json.dumps(row) for row in ROWS) + "\n", encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(ROWS), path)

    data = read_user_file(path, validation_fraction=0.5)

    assert [e.text for e in data.examples] == [row["text"] for row in ROWS]
    assert [e.label for e in data.examples] == [Label(row["label"]) for row in ROWS]
    assert {e.source for e in data.examples} == {USER_SOURCE}
    # One story, one split: the denial and the assertion of s1 travel together.
    assert data.examples[0].split is data.examples[1].split
    assert data.examples[0].group == data.examples[1].group == f"{USER_SOURCE}:s1"
    assert len(data.digest) == 64 and data.has_stories
    assert sum(data.counts.values()) == 4


def test_split_and_weight_columns_are_read(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "c.csv",
        "text,label,split,weight\n"
        "A is true.,assertion,test,\n"
        "B is false.,denial,train,2.5\n"
        "C may be so.,caveat,,\n",
    )
    data = read_user_file(path, validation_fraction=0.0)
    assert [e.split for e in data.examples] == [Split.TEST, Split.TRAIN, Split.TRAIN]
    assert [e.weight for e in data.examples] == [1.0, 2.5, 1.0]
    assert data.count_tags()["test.assertion"] == "1"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("words,label\nA,assertion\n", r"lacks column\(s\) text .*\(line 1\)"),
        (
            "text,label\nA is so.,assertion\nB is not.,Denial\n",
            r"did you mean 'denial'.*\(line 3\)",
        ),
        (
            "text,label\nA is so.,assertion\nB is not.,denail\n",
            r"did you mean 'denial'.*\(line 3\)",
        ),
        ("text,label\nA is so.,assertion\n  ,denial\n", r"empty text \(line 3\)"),
        (
            "text,label\nA is so.,assertion\nB.,caveat\na is SO,denial\n",
            r"two labels, 'assertion' on line 2 and 'denial' here \(line 4\)",
        ),
        ("", r"is empty.*\(line 1\)"),
        ("text,label\n", r"no rows \(line 2\)"),
        ("text,label,split\nA.,assertion,dev\n", r"unknown split 'dev'.*\(line 2\)"),
        (
            "text,label,weight\nA.,assertion,-1\n",
            r"weight '-1' is not a positive number \(line 2\)",
        ),
        (
            "text,label,story,split\nA.,assertion,s,train\nB.,denial,s,test\n",
            r"story 's' is in train on line 2 and in test here.*\(line 3\)",
        ),
        (
            'text,label\n"A quoted\ntext over two lines",assertion\n,denial\n',
            r"empty text \(line 4\)",
        ),
    ],
)
def test_bad_files_name_the_problem_and_the_line(
    tmp_path: Path, content: str, message: str
) -> None:
    path = write_csv(tmp_path / "bad.csv", content)
    with pytest.raises(DataError, match=message):
        read_user_file(path)


def test_a_file_in_another_encoding_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        "text,label\nA is so.,assertion\nCaf\u00e9 denied it.,denial\n".encode("latin-1")
    )
    with pytest.raises(DataError, match=r"not UTF-8.*\(line 3\)"):
        read_user_file(path)


def test_bad_jsonl_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "A.", "label": "assertion"}\n{"text": "B.", "label"\n')
    with pytest.raises(DataError, match=r"not a JSON object.*\(line 2\)"):
        read_user_file(path)


def test_an_oversize_file_is_refused_by_a_named_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("wb") as handle:
        handle.write(b"text,label\n")
        handle.truncate(2 * 1024 * 1024)  # sparse: 2 MB on paper, nothing on disk
    with pytest.raises(DataError, match=r"over the limit data.extra_max_mb=1.*\(line 1\)"):
        read_user_file(path, max_mb=1)


def data_overrides(tiny_shared: Path, extra: Path, *more: str) -> list[str]:
    return [*emergent_only(tiny_shared), f"data.extra={extra}", *more]


def test_user_rows_join_the_corpus_and_its_test_rows_are_their_own_set(
    tiny_shared: Path, tmp_path: Path
) -> None:
    extra = write_csv(
        tmp_path / "mine.csv",
        "text,label,split\n"
        "The council rejected claims that the water was unsafe.,denial,train\n"
        "Tests may show traces of lead; results are not yet in.,caveat,validation\n"
        "The mayor said the plant reopened on Friday.,assertion,test\n",
    )
    config = load_config(overrides=data_overrides(tiny_shared, extra))
    corpus = build_corpus(config.data, seed=13)

    train_texts = {e.text for e in corpus.train}
    assert "The council rejected claims that the water was unsafe." in train_texts
    assert any(e.source == "emergent" for e in corpus.train)  # added, not replacing
    assert [e.text for e in corpus.evaluation[USER_TEST_SET]] == [
        "The mayor said the plant reopened on Friday."
    ]
    assert corpus.extra is not None and corpus.extra.path == extra

    alone = load_config(overrides=data_overrides(tiny_shared, extra, "data.builtin=false"))
    corpus = build_corpus(alone.data, seed=13)
    assert {e.source for e in corpus.train + corpus.validation} == {USER_SOURCE}
    assert set(corpus.evaluation) == {USER_TEST_SET}


def test_user_rows_that_copy_a_held_out_sentence_never_reach_training(
    tiny_shared: Path, tmp_path: Path
) -> None:
    # A near-copy of one of the miniature Emergent's test headlines (conftest.tagged).
    near_copy = "North Korea denied selling weapons to Russia (t1 via t1news t1wire)"
    extra = write_csv(
        tmp_path / "mine.csv",
        "text,label,split\n"
        f'"{near_copy}",denial,train\n'
        "The council rejected claims that the water was unsafe.,denial,train\n",
    )
    corpus = build_corpus(load_config(overrides=data_overrides(tiny_shared, extra)).data, seed=13)
    train_texts = {e.text for e in corpus.train}
    assert near_copy not in train_texts
    assert "The council rejected claims that the water was unsafe." in train_texts


runner = CliRunner()


def test_train_on_a_bad_file_fails_before_anything_is_logged(
    tiny_shared: Path, tmp_path: Path
) -> None:
    extra = write_csv(tmp_path / "bad.csv", "text,label\nA is so.,assertion\nB.,Denial\n")
    store = tmp_path / "mlflow.db"
    result = runner.invoke(
        app,
        ["train", *data_overrides(tiny_shared, extra), f"tracking_uri=sqlite:///{store}"],
    )
    assert result.exit_code == 2
    assert "error: " in result.output and "did you mean 'denial'" in result.output
    assert "(line 3)" in result.output
    assert "Traceback" not in result.output
    assert not store.exists()  # no run, no registered version: the store was never opened


def test_a_good_file_trains_the_tiny_model_and_the_run_says_where_it_came_from(
    tiny_config: TrainConfig, tmp_path: Path
) -> None:
    extra = write_csv(
        tmp_path / "mine.csv",
        "text,label,story,split\n"
        "The council rejected claims that the water was unsafe.,denial,w,train\n"
        "Tests may show traces of lead; results are not yet in.,caveat,w,train\n"
        "The mayor said the plant reopened on Friday.,assertion,p,test\n"
        "The mayor denied the plant had ever closed.,denial,p,test\n",
    )
    config = tiny_config.model_copy(
        update={"data": tiny_config.data.model_copy(update={"extra": extra})}
    )
    report = run_training(config)

    client = MlflowClient(config.tracking_uri)
    run = client.get_run(report.run_id)
    assert re.fullmatch(r"claimstance-[a-z0-9-]+-2ep-[0-9a-f]{6}", run.info.run_name)
    inputs = {i.dataset.name: i for i in run.inputs.dataset_inputs}
    user = inputs["mine.csv"]
    assert user.dataset.digest == hashlib.sha256(extra.read_bytes()).hexdigest()[:16]
    assert str(extra) in user.dataset.source
    tags = {t.key: t.value for t in user.tags}
    assert tags["rows"] == "4" and tags["train.denial"] == "1" and tags["test.assertion"] == "1"
    assert {"train", "validation", USER_TEST_SET} <= set(inputs)
    # The user's training rows reached the training set the model was fitted on.
    counts_file = Path(client.download_artifacts(report.run_id, "data/counts.tsv", str(tmp_path)))
    assert f"{USER_SOURCE}\tdenial\ttrain\t1" in counts_file.read_text()
    assert f"transformer.{USER_TEST_SET}.macro_f1" in run.data.metrics
    assert report.registration is not None
    version = client.get_model_version("claimstance", report.registration.version)
    assert "mine.csv" in version.description and report.run_id in version.description
    assert client.get_registered_model("claimstance").description


REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("train", "training train --config training/configs/default.yaml data.extra={path}"),
        ("evaluate", "evaluate --data my_claims.csv"),
    ],
)
def test_make_passes_data_to_the_command(target: str, expected: str) -> None:
    """`make train DATA=my_claims.csv` names the file by its absolute path (make runs from
    the checkout's root); `make evaluate DATA=...` passes it on as --data."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", target, "DATA=my_claims.csv"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert expected.format(path=REPO / "my_claims.csv") in result.stdout


def test_the_readme_example_file_reads_as_the_readme_says() -> None:
    data = read_user_file(REPO / "training" / "examples" / "my_claims.csv", validation_fraction=0.1)
    assert len(data.examples) == 24 and data.has_stories
    assert sum(n for (_, split), n in data.counts.items() if split == "test") == 8
    assert sum(n for (_, split), n in data.counts.items() if split == "train") == 12


def test_a_run_on_the_user_file_alone_distils_nothing_from_the_built_in_pool(
    tiny_config: TrainConfig, tmp_path: Path
) -> None:
    from training.fit.pipeline import _soft_examples

    splits = ["train", "train", "validation", "train"]
    extra = write_csv(
        tmp_path / "mine.csv",
        csv_of([{**r, "split": s} for r, s in zip(ROWS, splits, strict=True)]),
    )
    config = tiny_config.model_copy(
        update={
            "data": tiny_config.data.model_copy(update={"extra": extra, "builtin": False}),
            "training": tiny_config.training.model_copy(
                # A file that does not exist: reading it would fail the test.
                update={"distill_per_epoch": 100, "soft_labels": tmp_path / "none.csv"}
            ),
        }
    )
    corpus = build_corpus(config.data, seed=13)
    assert _soft_examples(config, corpus, None) == []


def test_a_user_file_alone_needs_validation_rows(tiny_shared: Path, tmp_path: Path) -> None:
    extra = write_csv(tmp_path / "mine.csv", "text,label,split\nA is so.,assertion,train\n")
    config = load_config(overrides=data_overrides(tiny_shared, extra, "data.builtin=false"))
    with pytest.raises(DataError, match=r"leaves no validation rows .*split=validation"):
        build_corpus(config.data, seed=13)
