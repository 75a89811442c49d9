"""``python -m service compare``: the table, the JSON, and readable errors; serve stays default."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import service.__main__ as cli
from model.labels import LABELS
from service.schemas import (
    ClaimGroup,
    CompareResponse,
    DocumentResult,
    GroupMember,
    ModelRef,
    StoryClaim,
)

LABEL_NAMES = [label.value for label in LABELS]


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
    no_store: None,
    tiny_model_dir: Path,
    articles: list[Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "story.json"
    tiny = str(tiny_model_dir)
    status = cli.compare_main(
        [
            *map(str, articles),
            *("--model-uri", tiny, "--embedder-dir", tiny, "--device", "cpu"),
            *("--json", str(out), "--threshold", "0.5"),
        ]
    )
    printed = capsys.readouterr()
    assert status == 0, printed.err

    response = CompareResponse.model_validate_json(out.read_text(encoding="utf-8"))
    assert [document.id for document in response.documents] == ["bbc", "cnn"]
    assert response.threshold == 0.5
    assert response.model.name == tiny_model_dir.name
    assert response.groups  # the tiny encoder finds every sentence alike: one group at least

    lines = printed.out.splitlines()
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
        assert group.representative[:20] in row

    for document in response.documents:
        counts = r"\s+".join(str(document.counts[label]) for label in LABELS)
        pattern = rf"{document.id}\s+{len(document.claims)}\s+{counts}"
        assert any(re.fullmatch(pattern, line) for line in lines), pattern
    assert f"wrote {out}" in printed.err


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
        "claim: the member closest to the group's centre",
        "",
        "document                        claims  assertion  denial  caveat",
        "a-very-long-outlet-name-indeed       2          1       1       0",
        "b                                    1          0       1       0",
        "c                                    1          0       0       1",
    ]


def test_render_says_when_nothing_is_shared() -> None:
    response = CompareResponse(model=ModelRef(name="m"), threshold=0.9, documents=[], groups=[])
    assert "No claim is carried by two or more documents" in cli.render_comparison(response)


def test_long_claims_are_cut_to_the_width() -> None:
    text = "word " * 100
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
        members=members,
    )
    response = CompareResponse(
        model=ModelRef(name="m"), threshold=0.6, documents=documents, groups=[group]
    )
    row = cli.render_comparison(response, width=80).splitlines()[3]
    assert len(row) == 80
    assert row.endswith("…")


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
    no_store: None,
    articles: list[Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make_files: object,
    expected: str,
) -> None:
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    files = [articles[0], *make_files(bad_dir)]  # type: ignore[operator]
    # No model is needed: files are read before anything is loaded.
    assert cli.compare_main([str(path) for path in files]) == 1
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err.startswith(f"error: {expected.format(d=bad_dir)}")
    assert printed.err.count("\n") == 1
    assert "Traceback" not in printed.err


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_no_model_is_a_one_line_error(
    no_store: None, articles: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.compare_main([str(path) for path in articles]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no model at models:/claimstance@champion")
    assert "make train" in err
    assert "Traceback" not in err


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
        (["only-one.txt"], "compare needs at least 2 files, got 1"),
        (["a.txt", "b.txt", "--threshold", "0"], "must be greater than 0 and at most 1, got 0"),
        (["a.txt", "b.txt", "--threshold", "x"], "not a number: 'x'"),
        (["a.txt", "b.txt", "--device", "tpu"], "invalid choice: 'tpu'"),
    ],
)
def test_bad_arguments_exit_2_with_usage(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["compare", *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m service compare")
    assert message in err


def test_serve_is_the_default_command(monkeypatch: pytest.MonkeyPatch) -> None:
    served = []
    monkeypatch.setattr(cli, "serve", served.append)
    cli.main(["--host", "0.0.0.0", "--port", "8123"])
    cli.main(["serve", "--port", "8124"])
    assert [(args.host, args.port) for args in served] == [("0.0.0.0", 8123), (None, 8124)]


def test_compare_exits_with_its_status(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "compare_main", lambda argv: 1 if argv == ["x"] else 0)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["compare", "x"])
    assert exit_info.value.code == 1


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
