"""Segmentation that no text can make slow: long blocks go window by window, and no thread
waits for another's segmenter."""

from __future__ import annotations

import random
import threading

import pytest

from model import claims
from model.claims import extract_claims


def test_windowed_segmentation_finds_the_same_sentences(example_articles: dict[str, str]) -> None:
    """The five cleaned articles as one line of 14,000 characters, cut 1,000 at a time, give
    the sentences one call gives: each window hands its last sentence on to the next.

    (Only a "sentence" longer than half a window can be cut differently: at the default
    window, 2,500 characters without a full stop.)"""
    cleaned = [claims.clean_text(text) for text in example_articles.values()]
    block = " ".join(" ".join(text.split()) for text in cleaned)
    assert len(block) > 10_000
    windowed = claims._sentence_spans(block, window=1_000)
    assert windowed == claims._window_spans(block)
    assert len(windowed) > 50


def test_no_segmenter_call_sees_more_than_a_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """pysbd's time grows with the square of what it is given: a page pasted as one line of
    100,000 characters must reach it in pieces."""
    lengths: list[int] = []
    real = claims._window_spans

    def spy(block: str) -> list[tuple[int, int]]:
        lengths.append(len(block))
        return real(block)

    monkeypatch.setattr(claims, "_window_spans", spy)
    line = " ".join(f"Officials said report {i} was accurate." for i in range(2_500))
    extracted = claims.extract_claims(line)
    assert len(extracted.claims) == 2_500
    assert max(lengths) <= claims.SEGMENT_WINDOW
    assert sum(lengths) < 2 * len(line)  # each character is segmented about once


def test_each_thread_has_its_own_segmenter() -> None:
    """A shared segmenter needs a lock, and a lock lets one long text stall every request."""
    seen: list[object] = []

    def grab() -> None:
        seen.append(claims._segmenter())

    threads = [threading.Thread(target=grab) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen[0] is not seen[1]
    assert claims._segmenter() is claims._segmenter()  # reused within a thread


def test_dense_short_sentences_get_a_smaller_window_and_the_same_sentences(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ "a. " * n made pysbd take 0.3 s per 5,000-character window: dense runs go 1,000 at
    a time, and the sentences are those one call finds."""
    block = ("a. b! c? " * 700).strip()
    lengths: list[int] = []
    real = claims._window_spans

    def spy(piece: str) -> list[tuple[int, int]]:
        lengths.append(len(piece))
        return real(piece)

    monkeypatch.setattr(claims, "_window_spans", spy)
    windowed = claims._sentence_spans(block)
    assert max(lengths) <= claims.SEGMENT_WINDOW // claims.DENSE_SHRINK
    assert windowed == real(block)
    # Prose keeps the whole window.
    prose = " ".join(f"Officials said report {i} was accurate." for i in range(200))
    assert claims._window_size(prose, 0, claims.SEGMENT_WINDOW) == claims.SEGMENT_WINDOW


# Pieces that trip sentence segmenters: abbreviations, single letters, roman numerals,
# numbers, apostrophes, dashes, list and symbol characters.
_TRICKY_PIECES = (
    *("a", "A", "Mr", "U", "S", "Dr", "i", "ii", "v", "1", "12", "2020", "Yahoo", "e", "g"),
    *("etc", "vs", "no", "No", "p", "m", "Jan", "St", "Inc", "Co", "Ltd", "Fig", "x"),
    *(" ", " ", " ", "'", "\u2019", "-", ",", ";", ":", "@", "#", "&", "/", "*", "\u2022"),
    *("\u2013", "\u2014", "%", "$", "\t", "_", "=", "+", "<", ">", "~", "^"),
)


def _generated_sentences(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    made = []
    for _ in range(count):
        body = "".join(rng.choice(_TRICKY_PIECES) for _ in range(rng.randint(1, 25)))
        made.append((rng.choice("AaZ1") + body).strip() + rng.choice(".!?"))
    return made


def test_pysbd_gives_back_whole_every_block_the_one_sentence_rule_passes(
    example_articles: dict[str, str],
) -> None:
    """pysbd is not asked about a block the rule passes: pysbd's own answer for each such
    block, real sentences and generated tricky ones, is the whole block."""
    real = [
        claim.text for text in example_articles.values() for claim in extract_claims(text).claims
    ]
    passed = [
        block for block in [*real, *_generated_sentences(3_000)] if claims._is_one_sentence(block)
    ]
    assert len(passed) > 1_500
    assert sum(claims._is_one_sentence(block) for block in real) > len(real) / 4
    for block in passed:
        assert claims._pysbd_spans(block) == [(0, len(block))], block


@pytest.mark.parametrize(
    "block",
    [
        '"We won" Trump said.',  # pysbd splits after the quote
        "Options are 1) leave 2) stay.",  # and at list items
        "It was the so-called rock-' Star said.",  # and after a dash before a quote
        "He said: yes! And left.",  # and at an inner sentence mark
        "Mr. Smith left.",
        "He said it... then left.",
        "Officials denied the report",  # no sentence mark at the end
        " Officials denied the report.",
        "Officials denied\nthe report.",
        "Officials denied the report. " * 12,  # past ONE_SENTENCE_MAX_CHARS
    ],
)
def test_the_one_sentence_rule_leaves_anything_else_to_pysbd(block: str) -> None:
    assert not claims._is_one_sentence(block)


def test_a_plain_sentence_is_cut_without_pysbd(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_segmenter() -> None:
        raise AssertionError("pysbd was asked")

    monkeypatch.setattr(claims, "_segmenter", no_segmenter)
    extracted = extract_claims("  Officials denied the report.  ")
    assert [(c.text, c.start, c.end) for c in extracted.claims] == [
        ("Officials denied the report.", 0, 28)
    ]
    with pytest.raises(AssertionError, match="pysbd was asked"):
        extract_claims("The U.S. denied the report.")
