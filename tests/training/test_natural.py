"""news_natural: a uniform draw from test stories, labels with skips, and pass-to-pass agreement."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from model.labels import Label
from tests.training.conftest import write_raw_news
from training.cli import app
from training.corpus.agreement import agreement, cohen_kappa
from training.corpus.natural import load_news_natural, sample_natural
from training.corpus.news_gold import body_placement
from training.data import DataError, Split


def _raw_with_bodies(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    bodies = {
        body: "\n".join(f"Body {body} says thing {i} happened." for i in range(5))
        for body in range(60)
    }
    write_raw_news(raw, bodies, {0: "t2", 1: "c1"})
    return raw


def test_sample_is_a_seeded_uniform_draw_from_test_stories(tmp_path: Path) -> None:
    raw = _raw_with_bodies(tmp_path)
    place = body_placement(raw, validation_fraction=0.2, test_fraction=0.3)
    test_bodies = {body for body in range(60) if place(body)[1] is Split.TEST}
    assert 0 in test_bodies and 1 not in test_bodies
    draw = sample_natural(raw, count=40, seed=1, validation_fraction=0.2, test_fraction=0.3)
    assert len(draw) == 40 == len({s.text for s in draw})
    assert {s.body_id for s in draw} <= test_bodies
    assert draw == sample_natural(raw, count=40, seed=1, validation_fraction=0.2, test_fraction=0.3)
    assert draw != sample_natural(raw, count=40, seed=2, validation_fraction=0.2, test_fraction=0.3)
    first = next(s for s in draw if 0 < s.sentence_index < 4)
    assert first.before.endswith(f"thing {first.sentence_index - 1} happened.")
    # Every sentence can be drawn: not only those with cue words.
    everything = sample_natural(
        raw, count=10_000, seed=1, validation_fraction=0.2, test_fraction=0.3
    )
    assert len(everything) == 5 * len(test_bodies)


def _write_labels(path: Path, rows: list[tuple[int, int, str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["body_id", "sentence_index", "text", "label"])
        writer.writerows(rows)
    return path


def test_labels_leave_skips_out_and_name_a_bad_label(tmp_path: Path) -> None:
    raw = _raw_with_bodies(tmp_path)
    labels = _write_labels(
        tmp_path / "natural.csv",
        [
            (0, 0, "Officials denied it.", "denial"),
            (0, 1, "By Jane Doe:", "skip"),
            (1, 0, "Trained on.", "assertion"),
        ],
    )
    examples = load_news_natural(raw, validation_fraction=0.2, test_fraction=0.3, path=labels)
    # The skip is dropped, and so is a body that is not in a test story.
    assert [(e.text, e.label, e.split) for e in examples] == [
        ("Officials denied it.", Label.DENIAL, Split.TEST)
    ]
    _write_labels(labels, [(0, 0, "Officials denied it.", "refutation")])
    with pytest.raises(DataError, match=r"natural\.csv row 2"):
        load_news_natural(raw, validation_fraction=0.2, test_fraction=0.3, path=labels)


def test_kappa_corrects_for_chance() -> None:
    # 8 of 10 agree; each pass says "a" half the time, so chance agreement is 0.5.
    first = list("aaaaabbbbb")
    second = list("aaaabbbbba")
    assert cohen_kappa(first, second) == pytest.approx((0.8 - 0.5) / 0.5)
    assert cohen_kappa(first, first) == 1.0
    result = agreement(
        ["denial", "skip", "caveat", "caveat"], ["denial", "assertion", "caveat", "assertion"]
    )
    assert result.raw == 0.5 and result.labelled_items == 3
    assert result.disagreements == {("skip", "assertion"): 1, ("caveat", "assertion"): 1}


def test_agreement_command_reports_kappa(tmp_path: Path) -> None:
    path = tmp_path / "second.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "first_label", "second_label"])
        writer.writerows(
            [
                (i, "denial" if i % 2 else "caveat", "denial" if i % 2 else "caveat")
                for i in range(9)
            ]
        )
        writer.writerow([9, "caveat", "denial"])
    result = CliRunner().invoke(app, ["agreement", str(path)])
    assert result.exit_code == 0, result.output
    assert "10 items, raw agreement 0.900" in result.output
    assert "caveat -> denial" in result.output
    missing = CliRunner().invoke(app, ["agreement", str(tmp_path / "absent.csv")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
