"""``python -m training bench-hostile``: the judging on made-up replies, then a reduced run
against the tiny model served by ``python -m service``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from training.bench.hostile import (
    Attack,
    Limits,
    Row,
    Sizes,
    catalogue,
    failed,
    failed_load_catalogue,
    run_bench,
)
from training.bench.hostile_checks import Reply, judge, leaks
from training.cli import app

LIMITS = Limits(
    max_texts=64,
    max_chars=100_000,
    max_request_chars=200_000,
    max_documents=10,
    max_claims=2_000,
    max_story_claims=1_000,
    max_body_bytes=1_265_536,
    body_timeout_s=5.0,
    compute_budget_s=10.0,
    max_errors=20,
)
SECRETS = {"the API key": "key-Abc123", "the store's password": "pw-Zyx987"}
PATHS = ["/srv/models/claimstance-v4"]
CALM = {"rss_growth_mb": 2.0, "health_max_s": 0.01}
JSON = {"content-type": "application/json"}


def _attack(name: str) -> Attack:
    attacks = catalogue(LIMITS, Sizes(stalled=8), SECRETS, PATHS)
    attacks += failed_load_catalogue(SECRETS, PATHS)
    [attack] = [attack for attack in attacks if attack.name == name]
    return attack


def _body(**payload: object) -> bytes:
    return json.dumps(payload).encode()


TOO_MANY = _body(
    detail="too many texts: 600000 sent; split into requests of at most 64 texts",
    limit=64,
    unit="texts",
)


def test_the_protected_answer_to_a_megabyte_of_wrong_typed_items_holds() -> None:
    reply = Reply(413, 0.02, TOO_MANY, JSON, CALM)
    assert judge(reply, _attack("texts-wrong-typed-1mb").checks).held is True


def test_the_issues_error_amplification_is_judged_broken() -> None:
    """Issue 24 saw an 88 MB 422 after 9.9 s, the RSS up by 900 MB, /health stalled 16 s."""
    errors = [{"loc": ["body", "texts", i], "msg": "Input should be a string"} for i in range(9)]
    reply = Reply(
        422,
        9.9,
        _body(detail="invalid", errors=errors) * 1_000,
        JSON,
        {"rss_growth_mb": 910.0, "health_max_s": 16.0},
    )
    verdict = judge(reply, _attack("texts-wrong-typed-1mb").checks)
    assert verdict.held is False and verdict.label == "NO"
    for problem in ("not 413", "took 9.90 s", "-byte answer", "peak RSS growth", "/health"):
        assert problem in verdict.why


def test_a_removed_error_cap_is_judged_broken() -> None:
    attack = _attack("invalid-items-error-cap")
    capped = _body(detail="texts[0] must be a string", errors=[{}] * 20, errors_not_shown=44)
    assert judge(Reply(422, 0.01, capped, JSON, CALM), attack.checks).held is True
    every = _body(detail="texts[0] must be a string", errors=[{}] * 64)
    verdict = judge(Reply(422, 0.01, every, JSON, CALM), attack.checks)
    assert verdict.held is False and "64 errors listed, more than 20" in verdict.why


def test_cleaning_past_the_budget_or_asking_for_a_retry_is_judged_broken() -> None:
    attack = _attack("shape-nested-p")
    assert judge(Reply(200, 0.4, _body(claims=[]), JSON, CALM), attack.checks).held is True
    slow = judge(Reply(200, 16.5, _body(claims=[]), JSON, CALM), attack.checks)
    assert slow.held is False and "took 16.50 s, more than 11 s" in slow.why
    retry = Reply(503, 10.1, _body(detail="budget"), {**JSON, "Retry-After": "1"}, CALM)
    verdict = judge(retry, attack.checks)
    assert "not 200 or 413" in verdict.why and "carries retry-after" in verdict.why


def test_stalled_bodies_that_keep_their_slots_are_judged_broken() -> None:
    attack = _attack("slow-bodies")
    cut = {**CALM, "cut": 8.0, "honest_status": 200.0, "honest_s": 0.05}
    body = _body(detail="the request body did not arrive in time")
    assert judge(Reply(408, 5.3, body, JSON, cut), attack.checks).held is True
    # The issue's: an honest request got 503 and no stalled socket was cut within 30 s.
    held = {**CALM, "cut": 0.0, "honest_status": 503.0, "honest_s": 0.01}
    verdict = judge(Reply(None, 30.0, b"", {}, held), attack.checks)
    assert verdict.held is False
    assert "stalled requests answered 408: 0.0, not 8" in verdict.why
    assert "status of an honest request meanwhile: 503.0, not 200" in verdict.why


def test_work_that_outlives_its_client_is_judged_broken_and_an_unmeasured_one_is_not() -> None:
    attack = _attack("client-leaves-mid-request")
    assert judge(Reply(None, 0.3), attack.checks).held is True
    assert judge(Reply(None, 16.0), attack.checks).held is False
    unmeasured = judge(Reply(None, 0.0, skipped="answered first"), attack.checks)
    assert unmeasured.held is None and unmeasured.label == "n/a"


@pytest.mark.parametrize(
    ("shown", "named"),
    [
        ("no model at models:/x in https://alice:pw-Zyx987@mlflow.example", "password"),
        ("cannot read /srv/models/claimstance-v4/config.json", "/srv/models"),
        ("cannot read /home/alice/artifacts/model", "an absolute path"),
        ("the key key-Abc123 is not valid", "the API key"),
    ],
)
def test_a_probe_that_shows_a_secret_or_a_path_is_judged_broken(shown: str, named: str) -> None:
    attack = _attack("failed-load-probe-ready")
    verdict = judge(Reply(503, 0.01, _body(detail=shown), JSON, CALM), attack.checks)
    assert verdict.held is False and named in verdict.why
    assert "pw-Zyx987" not in verdict.why and "key-Abc123" not in verdict.why


def test_redacted_uris_and_shortened_paths_are_not_leaks() -> None:
    shown = "no model at models:/x in https://***@mlflow.example/api/2.0 (.../claimstance-v4)"
    assert leaks(shown, SECRETS, PATHS) == []
    attack = _attack("failed-load-probe-ready")
    assert judge(Reply(503, 0.01, _body(detail=shown), JSON, CALM), attack.checks).held is True


def test_a_log_may_show_paths_but_never_a_secret() -> None:
    attack = _attack("failed-load-log")
    with_path = b"ERROR no model directory at /srv/models/claimstance-v4 (https://***@x)"
    assert judge(Reply(None, 0.0, with_path), attack.checks).held is True
    verdict = judge(Reply(None, 0.0, b"ERROR at https://alice:pw-Zyx987@x"), attack.checks)
    assert verdict.held is False and verdict.why == "the log shows the store's password"


def test_a_plain_text_server_error_is_judged_broken() -> None:
    verdict = judge(Reply(500, 0.01, b"CancelledError", {}, CALM), _attack("no-key").checks)
    assert "a server error (500)" in verdict.why
    assert "not JSON with a detail" in verdict.why


@pytest.fixture
def no_developer_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("CLAIMSTANCE_") or name == "MLFLOW_TRACKING_URI":
            monkeypatch.delenv(name)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")


REDUCED = [
    "baseline",
    "texts-wrong-typed",
    "invalid-items",
    "shape-nested-p",
    "shape-wrapped",
    "slow-bodies",
    "trailing-slash",
    "no-key",
    "wrong-key",
    "reload",
    "probe-",
    "service-log",
    "failed-load-",
]


def test_a_reduced_run_against_the_tiny_model_finds_every_protection_holding(
    tiny_exported_dir: Path, no_developer_settings: None
) -> None:
    rows = list(
        run_bench(
            str(tiny_exported_dir),
            sizes=Sizes(stalled=4, shape_chars=3_000),
            only=REDUCED,
            settings={"body_timeout_s": "1"},
        )
    )
    by_name = {row.attack: row for row in rows}
    print("\n".join(row.line() for row in rows))
    assert failed(rows) == [], [(row.attack, row.verdict.why) for row in failed(rows)]
    assert {"baseline-64-sentences", "slow-bodies", "failed-load-log"} <= set(by_name)
    assert len(rows) == 21  # 16 on the served model, 5 on the one that failed to load
    expected = {
        "baseline-64-sentences": 200,
        "texts-wrong-typed-1mb": 413,
        "invalid-items-error-cap": 422,
        "slow-bodies": 408,
        "trailing-slash": 404,
        "no-key": 401,
        "reload-with-ordinary-key": 401,
        "probe-ready": 200,
        "failed-load-probe-ready": 503,
    }
    assert {name: by_name[name].status for name in expected} == expected
    for row in rows:
        if not row.attack.endswith("-log"):
            assert row.rss_before_mb > 50 and row.rss_after_mb > 50, row.attack
            assert row.health_max_ms > 0, row.attack
    # A 1.28 MB body is refused with a short answer; the stalled sockets wait out their 1 s.
    assert by_name["texts-wrong-typed-1mb"].reply_bytes < 4_096
    assert 1.0 <= by_name["slow-bodies"].seconds < 3.0


def test_the_command_prints_a_row_per_attack_and_writes_json(
    tiny_exported_dir: Path, no_developer_settings: None, tmp_path: Path
) -> None:
    out = tmp_path / "hostile.json"
    result = CliRunner().invoke(
        app,
        [
            "bench-hostile",
            "--model",
            str(tiny_exported_dir),
            "--only",
            "no-key,probe-health",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["attack", "status", "seconds"]
    assert [line.split()[0] for line in lines[1:3]] == ["no-key", "no-key-1mb-body"]
    written = json.loads(out.read_text())
    assert [row["attack"] for row in written["rows"]] == [
        "no-key",
        "no-key-1mb-body",
        "probe-health",
    ]
    assert all(row["held"] is True for row in written["rows"])


def test_the_command_names_an_unknown_attack(
    tiny_exported_dir: Path, no_developer_settings: None
) -> None:
    result = CliRunner().invoke(
        app, ["bench-hostile", "--model", str(tiny_exported_dir), "--only", "nonesuch"]
    )
    assert result.exit_code == 2
    assert "no attack's name starts with 'nonesuch'" in result.output


def test_the_command_exits_1_naming_a_protection_that_did_not_hold(
    tiny_exported_dir: Path, no_developer_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import training.bench.hostile as hostile

    def broken(model_uri: str, **_: object) -> Iterator[Row]:
        verdict = judge(Reply(422, 9.9, b"x" * 88_000, JSON, CALM), _attack("no-key").checks)
        yield Row("no-key", 422, 9.9, 88_000, 112, 1_022, 1_022, 16_000, verdict)

    monkeypatch.setattr(hostile, "run_bench", broken)
    result = CliRunner().invoke(app, ["bench-hostile", "--model", str(tiny_exported_dir)])
    assert result.exit_code == 1
    assert "NO" in result.stdout.splitlines()[1]
    assert "1 protection(s) did not hold: no-key" in result.stderr
