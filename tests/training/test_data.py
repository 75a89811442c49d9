from __future__ import annotations

import re
from difflib import SequenceMatcher
from pathlib import Path

import pytest

from model.labels import Label
from tests.training.conftest import write_emergent
from training.corpus.cue_sentences import (
    HELD_OUT_STORY,
    load_contrast_sets,
    load_cue_sentences,
)
from training.corpus.emergent import load_emergent
from training.corpus.news_gold import (
    COUNTERFACTUAL_FILE,
    COUNTERFACTUAL_SOURCE,
    NEWS_GOLD_FILE,
    load_examples_gold,
    load_news_gold,
    load_news_sentences,
)
from training.corpus.stories import story_placement
from training.data import (
    DataError,
    Example,
    Split,
    data_hash,
    deduplicate,
    group_split,
    validate_examples,
)


def _own_story(group: str) -> tuple[str, Split]:
    return group, Split.TRAIN


def test_emergent_mapping_and_official_split(tiny_shared: Path) -> None:
    raw = tiny_shared / "data/raw"
    place = story_placement(raw, validation_fraction=0.3, test_fraction=0.2, stories={}).place
    examples = load_emergent(raw / "emergent", reviewed=False, place=place)
    test = [e for e in examples if e.split is Split.TEST]
    assert len(test) == 18
    assert {e.group for e in test} == {"emergent:t1", "emergent:t2"}
    by_text = {e.text.split(" (")[0]: e.label for e in examples}
    assert by_text["North Korea denies selling weapons to Russia"] is Label.DENIAL
    assert by_text["Unconfirmed reports of an arms deal"] is Label.CAVEAT
    assert by_text["Officials confirm the weapons purchase went ahead"] is Label.ASSERTION
    validate_examples(examples)


def test_unknown_label_names_file_and_row(tmp_path: Path) -> None:
    directory = write_emergent(tmp_path / "emergent", bad_label="agree")
    with pytest.raises(DataError, match=r"clean-train\.csv row 3: unknown Emergent stance 'agree'"):
        load_emergent(directory, reviewed=False, place=_own_story)


def test_missing_data_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_emergent(tmp_path, reviewed=False, place=_own_story)


def test_empty_text_and_split_groups_are_refused() -> None:
    with pytest.raises(DataError, match="empty text"):
        validate_examples([Example("  ", Label.DENIAL, "s", "g", Split.TRAIN)])
    with pytest.raises(DataError, match="both train and test"):
        validate_examples(
            [
                Example("a claim", Label.DENIAL, "s", "g", Split.TRAIN),
                Example("another", Label.CAVEAT, "s", "g", Split.TEST),
            ]
        )


def test_group_split_is_stable_and_proportional() -> None:
    splits = [group_split(f"g{i}", validation_fraction=0.1, test_fraction=0.2) for i in range(5000)]
    assert splits == [
        group_split(f"g{i}", validation_fraction=0.1, test_fraction=0.2) for i in range(5000)
    ]
    assert 0.17 < splits.count(Split.TEST) / 5000 < 0.23
    assert 0.07 < splits.count(Split.VALIDATION) / 5000 < 0.13


def test_deduplicate_keeps_first_normalised_copy() -> None:
    first = Example("Moscow denied the reports.", Label.DENIAL, "a", "g1", Split.TEST)
    copy = Example("moscow  DENIED the reports", Label.ASSERTION, "b", "g2", Split.TRAIN)
    assert deduplicate([first, copy]) == [first]
    assert data_hash([first]) != data_hash([copy])
    assert data_hash([first]) == data_hash([first])


def test_gold_annotations_are_valid_and_split_by_claim(shared_dir: Path) -> None:
    news = load_news_gold(shared_dir / "data/raw", validation_fraction=0.1, test_fraction=0.2)
    validate_examples(news)
    counts = {label: sum(e.label is label for e in news) for label in Label}
    assert all(count >= 600 for count in counts.values()), counts
    assert {e.split for e in news} == set(Split)
    examples = load_examples_gold()
    assert {e.split for e in examples} == {Split.TEST}
    assert {e.label for e in examples} == set(Label)


def test_counterfactuals_only_train_beside_training_originals(shared_dir: Path) -> None:
    raw = shared_dir / "data/raw"
    news = load_news_gold(raw, validation_fraction=0.1, test_fraction=0.2)
    rewrites = load_news_sentences(
        raw,
        COUNTERFACTUAL_FILE,
        COUNTERFACTUAL_SOURCE,
        validation_fraction=0.1,
        test_fraction=0.2,
        training_only=True,
    )
    validate_examples(rewrites)
    assert rewrites, "no counterfactual rewrites loaded"
    assert {e.split for e in rewrites} == {Split.TRAIN}
    assert {e.source for e in rewrites} == {"counterfactual"}
    held_out_groups = {e.group for e in news if e.split is not Split.TRAIN}
    assert not held_out_groups & {e.group for e in rewrites}


def _guide_examples() -> list[str]:
    from tests.conftest import SHARED_DIR

    guide = (SHARED_DIR / "docs/labels.md").read_text(encoding="utf-8")
    return [
        m.strip().strip('"')
        for m in re.findall(r"^\| (.+?) \| (?:assertion|denial|caveat) \|$", guide, re.M)
    ]


def _similarity(first: str, second: str) -> float:
    matcher = SequenceMatcher(None, first.split(), second.split(), autojunk=False)
    # quick_ratio bounds ratio from above and is far cheaper: skip pairs it already rules out.
    return matcher.ratio() if matcher.quick_ratio() >= 0.7 else 0.0


def test_cue_sentences_neither_touch_nor_copy_what_is_evaluated() -> None:
    written = load_cue_sentences()
    validate_examples(written)
    assert {e.label for e in written} == set(Label)
    touching = [e.text for e in written if HELD_OUT_STORY.search(e.text)]
    assert not touching, f"written sentences about the held-out story: {touching[:3]}"
    # The frames were modelled on the guide's cues, the wording must not be: no sentence may
    # be a near copy of an example-article claim or of a guide example.
    evaluated = [e.text.lower() for e in load_examples_gold()] + [
        text.lower() for text in _guide_examples()
    ]
    assert len(evaluated) > 91, "the guide's example table was not found"
    assert _similarity(f"{evaluated[-1]} they said", evaluated[-1]) >= 0.7, "detector broken"
    near_copies = [
        (e.text, other)
        for e in written
        for other in evaluated
        if _similarity(e.text.lower(), other) >= 0.7
    ]
    assert not near_copies, f"near copies of evaluated sentences: {near_copies[:2]}"


def test_counterfactuals_in_held_out_groups_are_dropped(shared_dir: Path, tmp_path: Path) -> None:
    raw = shared_dir / "data/raw"
    news = load_news_gold(raw, validation_fraction=0.1, test_fraction=0.2)
    path = tmp_path / "rewrites.csv"
    with NEWS_GOLD_FILE.open(encoding="utf-8", newline="") as handle:
        path.write_text(handle.read(), encoding="utf-8")
    loaded = load_news_sentences(
        raw,
        path,
        COUNTERFACTUAL_SOURCE,
        validation_fraction=0.1,
        test_fraction=0.2,
        training_only=True,
    )
    assert len(loaded) == sum(e.split is Split.TRAIN for e in news)


def test_contrast_pairs_flip_the_label_and_touch_nothing_evaluated() -> None:
    written = load_contrast_sets()
    validate_examples(written)
    by_pair: dict[str, set[Label]] = {}
    for example in written:
        by_pair.setdefault(example.group, set()).add(example.label)
    assert len(by_pair) >= 100
    # A minimal pair teaches only if its two sentences differ in label.
    assert all(len(labels) == 2 for labels in by_pair.values())
    touching = [e.text for e in written if HELD_OUT_STORY.search(e.text)]
    assert not touching, f"written sentences about the held-out story: {touching[:3]}"
    evaluated = [e.text.lower() for e in load_examples_gold()]
    near_copies = [
        e.text for e in written for other in evaluated if _similarity(e.text.lower(), other) >= 0.7
    ]
    assert not near_copies
