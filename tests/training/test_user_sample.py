"""The example user's file (issue 26's experiment): how it is drawn, and the committed file."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from model.labels import Label
from training.corpus.near_copies import NearCopyIndex
from training.corpus.user_data import read_user_file
from training.corpus.user_sample import (
    DEFAULT_QUOTAS,
    USER_FILE,
    Candidate,
    UserRow,
    draw_user_file,
    write_user_file,
)
from training.data import DataError, Split

QUOTAS = {Label.DENIAL: 6, Label.CAVEAT: 10, Label.ASSERTION: 12}


def _sentence(rng: random.Random) -> str:
    # Twelve unrelated words: no two sentences are near-copies unless made so.
    return " ".join(f"w{rng.randrange(10**9)}" for _ in range(12))


def _candidates() -> list[Candidate]:
    """12 test stories and 6 training or validation ones; denials only in 6 of the stories."""
    rng = random.Random(0)
    rows = []
    for number in range(18):
        story = f"wikinews:s{number:02d}"
        split = Split.TEST if number < 12 else (Split.TRAIN, Split.VALIDATION)[number % 2]
        labels = [Label.ASSERTION] * 4 + [Label.CAVEAT] * 3
        labels += [Label.DENIAL] * 2 if number % 2 == 0 else []
        for index, label in enumerate(labels):
            rows.append(
                Candidate(
                    f"{story}:{index}", _sentence(rng), label, story, split, f"https://x/{story}"
                )
            )
    return rows


def _near_copy(text: str) -> str:
    words = text.split()
    return " ".join([*words[:-1], "changed"])


def _corpus_texts(candidates: list[Candidate]) -> list[str]:
    """Every test-story candidate's third row copied exactly, and every fifth nearly."""
    test_rows = [c for c in candidates if c.split is Split.TEST]
    return [c.text for c in test_rows[::3]] + [_near_copy(c.text) for c in test_rows[1::5]]


def _draw(seed: int = 1, quotas: dict[Label, int] = QUOTAS) -> list[UserRow]:
    candidates = _candidates()
    return draw_user_file(
        candidates, quotas=quotas, seed=seed, corpus_texts=_corpus_texts(candidates)
    )


def test_the_draw_is_seeded_and_gives_the_promised_label_mix() -> None:
    rows = _draw()
    assert rows == _draw()
    assert rows != _draw(seed=2)
    assert Counter(row.label for row in rows) == QUOTAS
    # The rarest label is spread over every story that has one left to draw (not a copy of
    # the corpus): each gives one row before any gives a second.
    candidates = _candidates()
    corpus = NearCopyIndex(_corpus_texts(candidates))
    drawable = {
        c.story
        for c in candidates
        if c.split is Split.TEST and c.label is Label.DENIAL and not corpus.has_copy(c.text)
    }
    denial_stories = Counter(row.story for row in rows if row.label is Label.DENIAL)
    assert set(denial_stories) == drawable and len(drawable) >= 4
    assert max(denial_stories.values()) - min(denial_stories.values()) <= 1


def test_rows_come_only_from_test_stories_and_copy_nothing_of_the_corpus() -> None:
    candidates = _candidates()
    corpus = _corpus_texts(candidates)
    rows = draw_user_file(candidates, quotas=QUOTAS, seed=1, corpus_texts=corpus)
    test_texts = {c.text for c in candidates if c.split is Split.TEST}
    assert {row.text for row in rows} <= test_texts
    corpus_index = NearCopyIndex(corpus)
    assert not [row.text for row in rows if corpus_index.has_copy(row.text)]
    # Nor does one row copy another: the corpus would drop a train row copying a test one.
    seen = NearCopyIndex([])
    for row in rows:
        assert not seen.has_copy(row.text)
        seen.add([row.text])


def test_each_story_is_in_one_split_and_both_parts_hold_every_label() -> None:
    rows = _draw()
    split_of: dict[str, set[Split]] = defaultdict(set)
    for row in rows:
        split_of[row.story].add(row.split)
    assert all(len(splits) == 1 for splits in split_of.values())
    parts = Counter(next(iter(splits)) for splits in split_of.values())
    assert set(parts) == {Split.TRAIN, Split.TEST}
    assert abs(parts[Split.TRAIN] - parts[Split.TEST]) <= 2
    mix = Counter((row.split, row.label) for row in rows)
    assert all(mix[(split, label)] >= QUOTAS[label] // 3 for split in parts for label in QUOTAS)


def test_a_quota_the_test_stories_cannot_fill_is_refused() -> None:
    # Six test stories hold 12 denials, a third of them copied or nearly copied by the corpus.
    with pytest.raises(DataError, match="denial rows can be drawn"):
        _draw(quotas={**QUOTAS, Label.DENIAL: 12})


def test_the_written_file_reads_as_a_user_file(tmp_path: Path) -> None:
    rows = _draw()
    path = tmp_path / "claims.csv"
    write_user_file(rows, path)
    data = read_user_file(path)
    assert [(e.text, e.label, e.split) for e in data.examples] == [
        (row.text, row.label, row.split) for row in rows
    ]


def test_the_committed_file_holds_the_promised_mix_by_story() -> None:
    data = read_user_file(USER_FILE)
    assert Counter(e.label for e in data.examples) == DEFAULT_QUOTAS
    split_of: dict[str, set[Split]] = defaultdict(set)
    for example in data.examples:
        split_of[example.group].add(example.split)
    assert all(len(splits) == 1 for splits in split_of.values())
    assert {next(iter(s)) for s in split_of.values()} == {Split.TRAIN, Split.TEST}
    # Each story is a Wikinews one, and each row names its article (CC BY 2.5 attribution).
    text = USER_FILE.read_text(encoding="utf-8")
    assert text.count("https://en.wikinews.org/") == len(data.examples)
    assert all(e.group.startswith("extra:wikinews:") for e in data.examples)
