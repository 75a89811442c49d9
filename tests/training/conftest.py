from __future__ import annotations

import csv
from pathlib import Path

import pytest

from training.config import TrainConfig, load_config
from training.corpus.emergent import TEST_FILE, TRAIN_FILE

HEADLINES = {
    "for": [
        "Russia is buying rockets and artillery shells from North Korea",
        "Officials confirm the weapons purchase went ahead",
        "The deal was signed in Moscow on Tuesday",
    ],
    "against": [
        "North Korea denies selling weapons to Russia",
        "Moscow dismissed the reports as fake",
        "Officials say the story is a hoax",
    ],
    "observing": [
        "Russia may be buying shells, reports say",
        "Unconfirmed reports of an arms deal",
        "The purchase could include millions of rounds",
    ],
}


EMERGENT_COLUMNS = [
    "",
    "claimHeadline",
    "articleHeadline",
    "articleHeadlineStance",
    "articleId",
    "claimId",
]


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_fnc1(raw: Path, bodies: dict[int, str], stances: list[list[object]]) -> None:
    """A miniature FNC-1: training bodies, their (Headline, Body ID, Stance) rows, empty test files."""
    fnc1 = raw / "fnc1"
    write_csv(fnc1 / "train_bodies.csv", ["Body ID", "articleBody"], [[*b] for b in bodies.items()])
    write_csv(fnc1 / "train_stances.csv", ["Headline", "Body ID", "Stance"], stances)
    write_csv(fnc1 / "competition_test_bodies.csv", ["Body ID", "articleBody"], [])
    write_csv(fnc1 / "competition_test_stances.csv", ["Headline", "Body ID", "Stance"], [])


def tagged(headline: str, claim: str) -> str:
    """A claim's own telling of a headline: different enough from the others' (word-sequence
    ratio under 0.9) that the near-copy filter keeps one claim's headlines out of no other's."""
    return f"{headline} ({claim} via {claim}news {claim}wire)"


def write_emergent(directory: Path, *, bad_label: str | None = None) -> Path:
    """A miniature Emergent: four training claims and two test claims, every stance present."""
    for name, claims in ((TRAIN_FILE, ["c1", "c2", "c3", "c4"]), (TEST_FILE, ["t1", "t2"])):
        rows: list[list[object]] = []
        for claim in claims:
            for stance, headlines in HEADLINES.items():
                for headline in headlines:
                    row = len(rows)
                    label = bad_label if bad_label and row == 1 else stance
                    rows.append(
                        [row, "claim", tagged(headline, claim), label, f"{claim}-{row}", claim]
                    )
        write_csv(directory / name, EMERGENT_COLUMNS, rows)
    return directory


@pytest.fixture()
def tiny_shared(tmp_path: Path) -> Path:
    shared = tmp_path / "shared"
    write_emergent(shared / "data" / "raw" / "emergent")
    return shared


def emergent_only(shared: Path) -> list[str]:
    """Overrides for a corpus of the miniature Emergent alone: every committed annotation file
    addresses raw files (FNC-1 bodies, Wikinews) that the miniature ``shared`` lacks."""
    return [
        f"data.shared_dir={shared}",
        "data.emergent_labels=original",
        "data.news_gold=false",
        "data.news_natural=false",
        "data.counterfactual=false",
        "data.cue_sentences=false",
        "data.active_gold=false",
        "data.contrast_sets=false",
        "data.szeged=false",
    ]


@pytest.fixture()
def tiny_config(tiny_shared: Path, tiny_model_dir: Path, tmp_path: Path) -> TrainConfig:
    return load_config(
        overrides=[
            *emergent_only(tiny_shared),
            "data.validation_fraction=0.3",
            f"training.base_model={tiny_model_dir}",
            f"training.compare_encoder={tiny_model_dir}",
            # The miniature corpus has no FNC-1 pool to distil on.
            "training.distill_per_epoch=0",
            "training.epochs=2",
            "training.batch_size=4",
            "training.max_length=32",
            "training.learning_rate=1e-3",
            f"tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}",
            f"output_dir={tmp_path / 'models'}",
            "experiment=test",
        ]
    )


def write_raw_news(raw: Path, bodies: dict[int, str], headlines: dict[int, str]) -> None:
    """A miniature FNC-1 + Emergent: claims, their headlines, bodies tied to claims by headline."""
    claims = {
        TRAIN_FILE: {
            "c1": "A convoy crossed the border",
            "c2": "A singer is dead",
            "c3": "A celebrity is dead",
            "c4": "Apple will sell 15 million watches in 2015",
        },
        TEST_FILE: {
            "t1": "Apple will sell 30 million watches in 2015",
            "t2": "A whale swam up a river",
        },
    }
    row = 0
    for name, by_claim in claims.items():
        rows: list[list[object]] = []
        for claim, claim_headline in by_claim.items():
            rows.append([row, claim_headline, f"headline about {claim}", "for", f"a{row}", claim])
            row += 1
        write_csv(raw / "emergent" / name, EMERGENT_COLUMNS, rows)
    stances = [[f"headline about {claim}", body, "discuss"] for body, claim in headlines.items()]
    write_fnc1(raw, bodies, stances)
