"""Segmentation that no text can make slow: long blocks go window by window, and no thread
waits for another's segmenter."""

from __future__ import annotations

import threading

import pytest

from model import claims


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
