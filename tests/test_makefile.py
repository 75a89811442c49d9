"""The make interface: one MODEL for every target, errors before any work, a grouped help.

Everything runs as `make -n` (print, do not run) with the install stamp taken as done, so
no test installs, trains or serves.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAKEFILE = REPO / "Makefile"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", ".venv/.installed", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(REPO)},
    )


def printed(*args: str) -> str:
    result = make(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _registered_name(config: str) -> str:
    text = (REPO / "training" / "configs" / config).read_text(encoding="utf-8")
    match = re.search(r"^registered_model:\s*(\S+)", text, re.MULTILINE)
    assert match is not None
    return match.group(1)


FAST = f"models:/{_registered_name('default.yaml')}@champion"
ACCURATE = f"models:/{_registered_name('accurate.yaml')}@champion"


@pytest.mark.parametrize(
    ("target", "extra"),
    [
        ("serve", ()),
        ("evaluate", ()),
        ("bench", ()),
        ("load", ()),
        ("hostile-cost", ()),
        ("score", ("IN=texts.jsonl", "OUT=claims.parquet")),
        ("score-spark", ("IN=texts.jsonl", "OUT=claims")),
    ],
)
def test_model_picks_the_model_of_every_target(target: str, extra: tuple[str, ...]) -> None:
    assert f"--model-uri {FAST}" in printed(target, *extra)
    assert f"--model-uri {ACCURATE}" in printed(target, "MODEL=accurate", *extra)
    uri = "models:/claimstance/3"
    assert f"--model-uri {uri}" in printed(target, f"MODEL={uri}", *extra)


def test_make_train_model_accurate_trains_from_the_accurate_config() -> None:
    assert "training train --config training/configs/accurate.yaml" in printed(
        "train", "MODEL=accurate"
    )
    assert "training train --config training/configs/default.yaml" in printed("train")


def test_serve_trains_a_missing_champion_only_for_a_registered_model() -> None:
    accurate = printed("serve", "MODEL=accurate")
    assert "ensure-model --config training/configs/accurate.yaml" in accurate
    directory = printed("serve", "MODEL=artifacts/models/some-run")
    assert "ensure-model" not in directory
    assert "--model-uri artifacts/models/some-run" in directory


@pytest.mark.parametrize("target", ["serve", "train", "evaluate", "score", "bench", "load"])
def test_a_misspelt_model_stops_make_and_names_the_choices(target: str) -> None:
    result = make(target, "MODEL=acurate", "IN=a.jsonl", "OUT=b.jsonl")
    assert result.returncode != 0
    assert "MODEL=acurate is not a model" in result.stderr
    assert "MODEL=fast" in result.stderr and "MODEL=accurate" in result.stderr
    assert result.stdout == ""


def test_a_model_uri_cannot_be_trained() -> None:
    result = make("train", "MODEL=models:/claimstance/3")
    assert result.returncode != 0 and "MODEL=fast or MODEL=accurate" in result.stderr


def test_the_old_model_uri_variable_is_refused_not_ignored() -> None:
    result = make("score", "IN=a.jsonl", "OUT=b.jsonl", "MODEL_URI=models:/claimstance/3")
    assert result.returncode != 0 and "MODEL=" in result.stderr


def test_score_without_input_says_to_set_it() -> None:
    result = make("score")
    assert result.returncode != 0 and "IN=" in result.stderr
    result = make("score", "IN=texts.jsonl")
    assert result.returncode != 0 and "OUT=" in result.stderr


def test_targets_that_read_no_model_ignore_a_bad_one() -> None:
    assert "-m pytest" in printed("test", "MODEL=acurate")


def _targets() -> set[str]:
    text = MAKEFILE.read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z-]*):(?!=)", text, re.MULTILINE))


def test_phony_names_every_target() -> None:
    text = re.sub(r"\\\n", " ", MAKEFILE.read_text(encoding="utf-8"))
    phony = set(re.search(r"^\.PHONY:(.*)$", text, re.MULTILINE).group(1).split())
    assert phony == _targets()


def test_help_is_grouped_aligned_expanded_and_plain_off_a_terminal() -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "help", "MODEL=accurate", "PORT=9000"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    assert "\033[" not in out
    lines = out.splitlines()
    for group in ("Use", "Train and evaluate", "Registry", "Data", "Benchmarks", "Develop"):
        assert group in lines
    # Defaults show as set, not as $(NAME).
    assert "MODEL=accurate" in out and "127.0.0.1:9000" in out and "$(" not in out
    # Every target is listed once, and its description starts in one column.
    rows = [line for line in lines if re.match(r"  [a-z][a-z-]* {2,}\S", line)]
    assert {row.split()[0] for row in rows} == _targets()
    assert len({re.match(r"  \S+ +", row).end() for row in rows}) == 1
