"""``python -m service``: the compare table and JSON, readable errors in the training CLI's look,
serve as the default command, flags over the environment, and a --help that stays light."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from typer.testing import CliRunner

import service.app
import service.cli as cli
from model.device import DeviceSetting
from model.labels import LABELS
from service.schemas import (
    ClaimGroup,
    CompareResponse,
    DocumentResult,
    GroupMember,
    ModelRef,
    StoryClaim,
)
from tests.service.conftest import Registry

LABEL_NAMES = [label.value for label in LABELS]
REPO = Path(__file__).resolve().parents[2]
PROG = "python -m service"
runner = CliRunner()


def invoke(*args: str, stdin: str | None = None) -> Any:
    """``python -m service ARGS`` in process; a wide terminal so no message is wrapped."""
    return runner.invoke(cli.app, list(args), input=stdin, prog_name=PROG, env={"COLUMNS": "200"})


def one_line(text: str) -> str:
    """An error as one line of words, without the frame Typer draws around it."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", text).split())


@pytest.fixture
def no_store(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A store that does not exist: a registry lookup fails instead of reading the repo's."""
    clean_env.setenv("CLAIMSTANCE_TRACKING_URI", f"sqlite:///{tmp_path / 'none' / 'mlflow.db'}")


@pytest.fixture
def articles(tmp_path: Path) -> list[Path]:
    bbc = tmp_path / "bbc.txt"
    bbc.write_text(
        "Moscow denied the reports at the time. Kirby said there was no evidence.",
        encoding="utf-8",
    )
    cnn = tmp_path / "cnn.txt"
    cnn.write_text(
        "US officials said Russia was buying shells.\n\nMoscow denied the reports at the time.",
        encoding="utf-8",
    )
    return [bbc, cnn]


def test_compare_prints_the_table_and_writes_the_api_json(
    no_store: None, tiny_model_dir: Path, articles: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "story.json"
    tiny = str(tiny_model_dir)
    printed = invoke(
        "compare",
        *map(str, articles),
        *("--model-uri", tiny, "--embedder-dir", tiny, "--device", "cpu"),
        *("--json", str(out), "--threshold", "0.5"),
    )
    assert printed.exit_code == 0, printed.stderr

    response = CompareResponse.model_validate_json(out.read_text(encoding="utf-8"))
    assert [document.id for document in response.documents] == ["bbc", "cnn"]
    assert response.threshold == 0.5
    assert response.model.name == tiny_model_dir.name
    assert response.groups  # the tiny encoder finds every sentence alike: one group at least

    lines = printed.stdout.splitlines()
    assert lines[0] == (
        f"2 documents, {len(response.groups)} claim groups "
        f"({sum(g.disagreement for g in response.groups)} with disagreement) "
        "at similarity threshold 0.5"
    )
    assert re.fullmatch(r"#\s+bbc\s+cnn\s+claim", lines[2].strip())
    for position, group in enumerate(response.groups, start=1):
        labels = {member.document: member.label.value for member in group.members}
        mark = "!" if group.disagreement else " "
        cells = r"\s+".join(re.escape(labels.get(id_, "-")) for id_ in ("bbc", "cnn"))
        row = lines[2 + position]
        assert re.match(rf"\s*{position}  {re.escape(mark)}  {cells}\s+", row), row
        assert group.proposition[:20] in row

    for document in response.documents:
        counts = r"\s+".join(str(document.counts[label]) for label in LABELS)
        pattern = rf"{document.id}\s+{len(document.claims)}\s+{counts}"
        assert any(re.fullmatch(pattern, line) for line in lines), pattern
    assert f"wrote {out}" in printed.stderr


@pytest.fixture
def progress_bars_restored(clean_env: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """compare turns progress bars off for its process: here, only for the test."""
    from huggingface_hub.utils import enable_progress_bars
    from transformers.utils import logging as transformers_logging

    for name in ("HF_HUB_DISABLE_PROGRESS_BARS", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"):
        clean_env.delenv(name, raising=False)
    yield clean_env
    enable_progress_bars()
    transformers_logging.enable_progress_bar()


def test_compare_of_a_registered_model_prints_the_table_and_no_progress_bars(
    progress_bars_restored: pytest.MonkeyPatch,
    mlflow_registry: Registry,
    tiny_model_dir: Path,
    articles: list[Path],
    tmp_path: Path,
) -> None:
    # The registered model is copied from the local store: MLflow would draw a
    # "Downloading artifacts" bar, and transformers a "Loading weights" bar per model.
    progress_bars_restored.setenv("CLAIMSTANCE_TRACKING_URI", mlflow_registry.tracking_uri)
    progress_bars_restored.setenv("CLAIMSTANCE_MODEL_CACHE", str(tmp_path / "cache"))
    printed = invoke(
        "compare",
        *map(str, articles),
        *("--model-uri", f"models:/{mlflow_registry.name}@champion", "--device", "cpu"),
        *("--embedder-dir", str(tiny_model_dir), "--threshold", "0.5"),
    )
    assert printed.exit_code == 0, printed.stderr
    assert printed.stdout.startswith("2 documents, ")
    assert "Downloading artifacts" not in printed.stderr
    assert "Loading weights" not in printed.stderr


def test_render_marks_disagreements_and_empty_cells() -> None:
    def claim(text: str, label: str) -> StoryClaim:
        scores = {name: 0.8 if name == label else 0.1 for name in LABEL_NAMES}
        return StoryClaim(index=0, text=text, start=0, end=len(text), label=label, scores=scores)

    def document(id_: str, *claims: StoryClaim) -> DocumentResult:
        counts = {name: sum(c.label.value == name for c in claims) for name in LABEL_NAMES}
        return DocumentResult(id=id_, text="", claims=list(claims), counts=counts)

    denied = claim("We never sold arms to Russia.", "denial")
    hedged = claim("The sales may not be complete.", "caveat")
    asserted = claim("The sales are complete.", "assertion")
    response = CompareResponse(
        model=ModelRef(name="m"),
        threshold=0.62,
        grouping="words",
        documents=[
            document("a-very-long-outlet-name-indeed", denied, asserted),
            document("b", denied),
            document("c", hedged),
        ],
        groups=[
            ClaimGroup(
                representative=asserted.text,
                representative_document="a-very-long-outlet-name-indeed",
                representative_index=0,
                disagreement=True,
                proposition=asserted.text,
                outlets={"assertion": 1, "denial": 0, "caveat": 1},
                members=[
                    GroupMember(
                        document="a-very-long-outlet-name-indeed",
                        label="assertion",
                        claims=[asserted],
                    ),
                    GroupMember(document="c", label="caveat", claims=[hedged]),
                ],
            ),
            ClaimGroup(
                representative=denied.text,
                representative_document="b",
                representative_index=0,
                disagreement=False,
                proposition=denied.text,
                outlets={"assertion": 0, "denial": 2, "caveat": 0},
                members=[
                    GroupMember(
                        document="a-very-long-outlet-name-indeed", label="denial", claims=[denied]
                    ),
                    GroupMember(document="b", label="denial", claims=[denied]),
                ],
            ),
        ],
    )
    assert cli.render_comparison(response, width=100).splitlines() == [
        "3 documents, 2 claim groups (1 with disagreement) at similarity threshold 0.62",
        "",
        "#     a-very-long-o…  b          c          claim",
        "1  !  assertion       -          caveat     The sales are complete.",
        "2     denial          denial     -          We never sold arms to Russia.",
        "",
        "! the documents disagree; - the document does not carry the claim; "
        "claim: the group's most central claim, reporting frame removed",
        "",
        "document                        claims  assertion  denial  caveat",
        "a-very-long-outlet-name-indeed       2          1       1       0",
        "b                                    1          0       1       0",
        "c                                    1          0       0       1",
    ]


def test_render_says_when_nothing_is_shared() -> None:
    response = CompareResponse(
        model=ModelRef(name="m"), threshold=0.9, grouping="words", documents=[], groups=[]
    )
    assert "No claim is carried by two or more documents" in cli.render_comparison(response)


def _one_long_claim(text: str) -> CompareResponse:
    """Two documents sharing one claim, ``text``."""
    claim = StoryClaim(
        index=0,
        text=text,
        start=0,
        end=len(text),
        label="assertion",
        scores=dict.fromkeys(LABEL_NAMES, 1 / 3),
    )
    documents = [
        DocumentResult(id=id_, text=text, claims=[claim], counts={"assertion": 1})
        for id_ in ("a", "b")
    ]
    members = [GroupMember(document=id_, label="assertion", claims=[claim]) for id_ in ("a", "b")]
    group = ClaimGroup(
        representative=text,
        representative_document="a",
        representative_index=0,
        disagreement=False,
        proposition=text,
        outlets={"assertion": len(members), "denial": 0, "caveat": 0},
        members=members,
    )
    return CompareResponse(
        model=ModelRef(name="m"),
        threshold=0.6,
        grouping="words",
        documents=documents,
        groups=[group],
    )


def test_long_claims_are_cut_to_the_width() -> None:
    response = _one_long_claim("word " * 100)
    row = cli.render_comparison(response, width=80).splitlines()[3]
    assert len(row) == 80
    assert row.endswith("…")


def test_full_prints_each_claim_whole() -> None:
    text = " ".join(f"word{i}" for i in range(60))
    row = cli.render_comparison(_one_long_claim(text), width=80, full=True).splitlines()[3]
    assert row.endswith(text)
    assert len(row) > 80


@pytest.mark.parametrize(
    ("make_files", "expected"),
    [
        (lambda d: [d / "missing.txt"], "cannot read {d}/missing.txt: No such file or directory"),
        (lambda d: [d], "cannot read {d}: Is a directory"),
        (
            lambda d: [_write(d / "blank.txt", b" \n\t")],
            "{d}/blank.txt is empty or only whitespace",
        ),
        (
            lambda d: [_write(d / "latin.txt", b"caf\xe9")],
            "cannot read {d}/latin.txt: not UTF-8 text",
        ),
    ],
)
def test_unreadable_files_are_one_line_errors(
    no_store: None, articles: list[Path], tmp_path: Path, make_files: object, expected: str
) -> None:
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    files = [articles[0], *make_files(bad_dir)]  # type: ignore[operator]
    # No model is needed: files are read before anything is loaded.
    printed = invoke("compare", *map(str, files))
    assert printed.exit_code == 2
    assert printed.stdout == ""
    assert printed.stderr.startswith(f"error: {expected.format(d=bad_dir)}")
    assert printed.stderr.count("\n") == 1


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_no_model_is_a_one_line_error(no_store: None, articles: list[Path]) -> None:
    printed = invoke("compare", *map(str, articles))
    assert printed.exit_code == 2
    assert printed.stderr.startswith("error: no model at models:/claimstance@champion")
    assert "make train" in printed.stderr
    assert printed.stderr.count("\n") == 1


def test_files_with_the_same_stem_are_named_by_path(tmp_path: Path) -> None:
    first, second = tmp_path / "one" / "story.txt", tmp_path / "two" / "story.txt"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text("Moscow denied it.", encoding="utf-8")
    assert [id_ for id_, _ in cli.read_documents([first, second])] == [str(first), str(second)]
    with pytest.raises(cli.CompareInputError, match="more than once"):
        cli.read_documents([first, first])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["only-one.txt"], "Invalid value for 'FILE': compare needs at least 2 files, got 1"),
        (["a.txt", "b.txt", "--threshold", "0"], "'--threshold': Input should be greater than 0"),
        (
            ["a.txt", "b.txt", "--threshold", "1.5"],
            "'--threshold': Input should be less than or equal to 1",
        ),
        (["a.txt", "b.txt", "--threshold", "x"], "'--threshold': Input should be a valid number"),
        (
            ["a.txt", "b.txt", "--device", "tpu"],
            "'--device': Value error, 'tpu' is not one of "
            + ", ".join(f"'{choice}'" for choice in get_args(DeviceSetting)),
        ),
        (["a.txt", "b.txt", "--log-level", "loud"], "'--log-level'"),
        (["a.txt", "b.txt", "--no-such-flag"], "No such option: --no-such-flag"),
    ],
)
def test_bad_arguments_exit_2_with_usage(no_store: None, argv: list[str], message: str) -> None:
    printed = invoke("compare", *argv)
    assert printed.exit_code == 2
    assert printed.stdout == ""
    assert printed.stderr.startswith(f"Usage: {PROG} compare [OPTIONS]")
    assert message in one_line(printed.stderr)


def test_bad_environment_is_one_error_line_naming_the_variable(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("CLAIMSTANCE_DEVICE", "tpu")
    printed = invoke("--port", "8123")
    assert printed.exit_code == 2
    assert printed.stderr.startswith("error: invalid settings: CLAIMSTANCE_DEVICE: Input should be")
    assert printed.stderr.count("\n") == 1


@pytest.fixture
def served(clean_env: pytest.MonkeyPatch) -> list[Any]:
    """What serve would have run: (settings, log level) per call; no app, no socket."""
    calls: list[Any] = []
    clean_env.setattr(service.app, "create_app", lambda settings: settings)
    clean_env.setattr(cli, "run_server", lambda app, settings, level: calls.append((app, level)))
    return calls


def test_serve_is_the_default_command(served: list[Any]) -> None:
    assert invoke("--host", "127.0.0.2", "--port", "8123").exit_code == 0
    assert invoke("serve", "--port=8124", "--log-level", "warning").exit_code == 0
    assert invoke("--port=8125").exit_code == 0
    assert invoke().exit_code == 0  # the Docker image's CMD: python -m service
    assert [(s.host, s.port, level) for s, level in served] == [
        ("127.0.0.2", 8123, "info"),
        ("127.0.0.1", 8124, "warning"),
        ("127.0.0.1", 8125, "info"),
        ("127.0.0.1", 8000, "info"),
    ]


def test_serve_on_a_reachable_address_without_keys_refuses_to_start(
    served: list[Any], clean_env: pytest.MonkeyPatch
) -> None:
    printed = invoke("--host", "0.0.0.0")
    assert printed.exit_code == 2
    assert "no API keys are set" in one_line(printed.stderr)
    assert "CLAIMSTANCE_ALLOW_OPEN=true" in one_line(printed.stderr)
    assert served == []


def test_serve_flags_override_the_environment(
    served: list[Any], clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.setenv("CLAIMSTANCE_PORT", "9001")
    clean_env.setenv("CLAIMSTANCE_HOST", "0.0.0.0")
    clean_env.setenv("CLAIMSTANCE_ALLOW_OPEN", "true")  # reachable and keyless, on purpose
    clean_env.setenv("CLAIMSTANCE_DEVICE", "cuda")
    printed = invoke("--port", "8123", "--model-uri", str(tmp_path), "--device", "cpu")
    assert printed.exit_code == 0, printed.output
    [(settings, _)] = served
    assert (settings.port, settings.model_uri, settings.device) == (8123, str(tmp_path), "cpu")
    assert settings.host == "0.0.0.0"  # not given as a flag: the environment's value stays


def test_a_mistyped_command_is_named_not_served(served: list[Any]) -> None:
    printed = invoke("compair", "a.txt", "b.txt")
    assert printed.exit_code == 2
    assert "No such command 'compair'" in one_line(printed.stderr)
    assert served == []


def test_bad_port_is_reported_against_the_flag(served: list[Any]) -> None:
    printed = invoke("--port", "70000")
    assert printed.exit_code == 2
    assert printed.stderr.startswith(f"Usage: {PROG} serve [OPTIONS]")
    assert "'--port': Input should be less than or equal to 65535" in one_line(printed.stderr)
    assert served == []


def test_hash_key_prints_the_digest_line() -> None:
    printed = invoke("hash-key", stdin="s3cret\n")
    assert printed.exit_code == 0
    assert printed.stdout == hashlib.sha256(b"s3cret").hexdigest() + "\n"
    empty = invoke("hash-key", stdin="\n")
    assert empty.exit_code == 2
    assert empty.stderr.startswith("error: no key on stdin")


def test_help_lists_every_command_in_the_training_cli_look() -> None:
    printed = invoke("--help")
    assert printed.exit_code == 0
    assert printed.stdout.lstrip().startswith(f"Usage: {PROG} [OPTIONS] COMMAND [ARGS]...")
    commands = re.findall(r"^│ (\S+)\s", printed.stdout.split("Commands")[1], re.MULTILINE)
    assert commands == ["serve", "compare", "hash-key"]
    for command, flags in {
        "serve": ["--host", "--port", "--model-uri", "--device", "--log-level"],
        "compare": ["--json", "--threshold", "--no-segment", "--model-uri", "--embedder-dir"],
    }.items():
        text = invoke(command, "--help").stdout
        assert all(flag in text for flag in flags), (command, text)


def test_help_starts_without_the_app_or_the_model_code() -> None:
    """``--help`` stays fast: no torch, transformers, FastAPI, uvicorn or numpy is imported."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "service", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "COLUMNS": "100"},
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "serve" in result.stdout
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "typer" in imported  # the parse did run through the importtime log
    heavy = {"torch", "transformers", "fastapi", "uvicorn", "numpy", "mlflow"} & imported
    assert not heavy, heavy


def test_json_output_is_what_the_api_returns(
    tiny_model_dir: Path, articles: list[Path], tmp_path: Path
) -> None:
    """The CLI's JSON and /compare's body agree field for field on the same input."""
    from fastapi.testclient import TestClient

    from service.app import create_app
    from tests.service.support import make_settings

    settings = make_settings(tiny_model_dir, tmp_path)
    from_cli = cli.compare_files(articles, settings)
    documents = [{"id": p.stem, "text": p.read_text(encoding="utf-8")} for p in articles]
    with TestClient(create_app(settings)) as client:
        from_api = client.post("/compare", json={"documents": documents}).json()
    assert json.loads(from_cli.model_dump_json()) == from_api
