"""No text makes cleaning or segmentation slow: time grows linearly with the input, and a
checkpoint inside the work can stop it within one step (the service's time budget).

Each hostile shape once cost time growing with the square of its length: ``"<p>" * n``
nests n tags, each edited in place; ``"A,\\n" * n`` joined wraps onto a growing line;
``"<!--" * n`` had html.parser look for the end of each unclosed comment;
``"a. " * n`` hands pysbd windows of 1,700 sentences each; ``"[x AP " * n`` had the caption
rule's credit pattern try every unclosed bracket to the end of the line.
"""

from __future__ import annotations

import time

import pytest

from model import claims

# Ten times the text may take at most this many times as long: linear is 10, the square
# 100. Generous, so a loaded two-core machine does not fail it.
MAX_RATIO = 30
# Below this a timing is noise (a scheduler hiccup on two cores): the short run counts as
# at least this long. The quadratic code took seconds at 10n, far above 30 x this floor.
FLOOR_S = 0.03


def _seconds(raw: str) -> float:
    """The better of two runs, so one hiccup of a busy machine does not count."""
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        claims.extract_claims(raw)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize(
    ("shape", "count"),
    [
        ("<p>", 2_000),
        ("<div>x", 1_500),
        ("A,\n", 3_000),
        ("a. ", 700),
        ("[x AP ", 250),
        ("<!--", 2_500),
    ],
    ids=[
        "nested-p",
        "nested-div",
        "wrapped-commas",
        "short-sentences",
        "unclosed-credits",
        "unclosed-comments",
    ],
)
def test_cost_grows_linearly_with_the_text(shape: str, count: int) -> None:
    short = max(_seconds(shape * count), FLOOR_S)
    long = _seconds(shape * (count * 10))
    assert long < MAX_RATIO * short, f"{shape!r}: {short:.3f} s for n, {long:.3f} s for 10n"


class StopError(Exception):
    pass


@pytest.mark.parametrize("shape", ["a. ", "A,\n", "<p>a"], ids=["sentences", "wraps", "markup"])
def test_a_checkpoint_stops_the_work_within_a_step(shape: str) -> None:
    """100,000 characters of each shape stop soon after the checkpoint says so, not when done."""
    budget_s = 0.2
    deadline = time.monotonic() + budget_s

    def checkpoint() -> None:
        if time.monotonic() > deadline:
            raise StopError

    raw = (shape * 100_000)[:100_000]
    start = time.monotonic()
    with pytest.raises(StopError):
        claims.extract_claims(raw, checkpoint=checkpoint)
    # One step past the budget: a window, a line, or the one HTML parse (~0.5 s here).
    assert time.monotonic() - start < budget_s + 1.2


def test_cleaning_without_the_tree_edits_keeps_the_text() -> None:
    """Blocks end paragraphs, <br> ends a line, dropped tags and comments leave nothing."""
    raw = (
        "<div><p>Moscow <b>denied</b> it.</p><script>x()</script><!-- c -->"
        "<p>Kirby spoke.<br>He left.</p><ruby>k<rt>note</rt></ruby></div>"
    )
    assert claims.clean_text(raw) == "Moscow denied it.\n\nKirby spoke.\nHe left.\n\nk"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<p>Kirby <!-- a -->spoke.</p>", "Kirby spoke."),
        ("<p>Kirby spoke.</p><!-- never closed <p>hidden</p>", "Kirby spoke."),
        ("<p>One<!-->two<!--->three</p>", "Onetwothree"),
        ("<p>a --> b</p>", "a --> b"),
    ],
    ids=["closed", "unclosed-runs-to-the-end", "empty-comments", "no-comment"],
)
def test_comments_leave_nothing_and_an_unclosed_one_hides_the_rest(raw: str, expected: str) -> None:
    assert claims.clean_text(raw) == expected
