"""A user's file drawn from our own gold, for issue 26's end-to-end experiment.

``training/examples/user_claims_200.csv`` stands in for a newsroom's labelled claims: real
sentences a model was never trained on, from one source family (Wikinews, the family the
model is weakest on), with more denials and caveats than running text has, over as many
stories as the gold allows. Half of its stories are marked ``train`` and half ``test``, so
one file both trains a model (``data.extra=``) and measures it (``evaluate --data``).

Every labelled sentence that no run trains on belongs to an evaluation set: the pool here
is news_natural's Wikinews openings (test stories only), and the experiment's training run
turns news_natural off (``data.news_natural=false``), or the corpus would drop every row
marked train as a copy of a held-out sentence, as it must. A candidate that nearly copies
any text of the experiment's corpus (training, validation or another evaluation set) is
never drawn, so the corpus's own near-copy check keeps every row.
"""

from __future__ import annotations

import csv
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from model.labels import Label
from training.config import REPO_ROOT, DataConfig
from training.corpus import wikinews
from training.corpus.active import OPENINGS_FILE, labelled_rows
from training.corpus.near_copies import NearCopyIndex
from training.corpus.selection import sentence_placer
from training.data import DataError, Split

USER_FILE = REPO_ROOT / "training" / "examples" / "user_claims_200.csv"
SEED = 20261226
# Denials are 3% of Wikinews openings and caveats 9%: the file takes every denial the pool
# has (38, one nearly a repeat of another) and as many caveats as assertions, so each
# label's F1 rests on dozens of rows.
DEFAULT_QUOTAS: dict[Label, int] = {Label.DENIAL: 37, Label.CAVEAT: 81, Label.ASSERTION: 82}
# Rarest label first: it takes its stories before the commoner labels crowd them.
_DRAW_ORDER = (Label.DENIAL, Label.CAVEAT, Label.ASSERTION)
COLUMNS = ("text", "label", "story", "split", "url")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A labelled sentence, its story, the split the corpus gives the story, and its source."""

    id: str
    text: str
    label: Label
    story: str
    split: Split
    url: str


@dataclass(frozen=True, slots=True)
class UserRow:
    text: str
    label: Label
    story: str
    split: Split
    url: str


def draw_user_file(
    candidates: Iterable[Candidate],
    *,
    quotas: dict[Label, int],
    seed: int,
    corpus_texts: Iterable[str],
) -> list[UserRow]:
    """``quotas`` rows by label, spread over stories, with each story in train or test.

    Only test-story candidates are drawn (no model trains on them), none that nearly copies
    a text of ``corpus_texts`` (the experiment's corpus) or a row already drawn. Within a
    label, stories take turns (one row each, in a seeded order), so the file holds as many
    stories as the quota allows. Stories then go to train or test by turns, the rarest
    labels' stories first, so both parts get a share of every label.
    """
    pool: dict[Label, dict[str, list[Candidate]]] = defaultdict(lambda: defaultdict(list))
    for candidate in sorted(candidates, key=lambda c: c.id):
        if candidate.split is Split.TEST:
            pool[candidate.label][candidate.story].append(candidate)
    rng = random.Random(seed)
    seen = NearCopyIndex(corpus_texts)
    drawn: list[Candidate] = []
    for label in _DRAW_ORDER:
        quota = quotas.get(label, 0)
        taken = _take_by_turns(pool[label], quota, rng, seen)
        if len(taken) < quota:
            raise DataError(
                f"only {len(taken)} {label.value} rows can be drawn (asked for {quota}): "
                "lower the quota"
            )
        drawn.extend(taken)
    split_of = _split_stories(drawn, rng)
    rows = [UserRow(c.text, c.label, c.story, split_of[c.story], c.url) for c in drawn]
    return sorted(rows, key=lambda r: (r.split != Split.TRAIN, r.story, r.label, r.text))


def _take_by_turns(
    by_story: dict[str, list[Candidate]], quota: int, rng: random.Random, seen: NearCopyIndex
) -> list[Candidate]:
    queues = {story: rows[:] for story, rows in sorted(by_story.items())}
    for rows in queues.values():
        rng.shuffle(rows)
    order = sorted(queues)
    rng.shuffle(order)
    taken: list[Candidate] = []
    while len(taken) < quota and any(queues[story] for story in order):
        for story in order:
            if len(taken) == quota:
                break
            while queues[story]:
                candidate = queues[story].pop()
                # A near-copy would be dropped from training, or score a sentence the model
                # saw: the next row of the story takes its turn.
                if not seen.has_copy(candidate.text):
                    seen.add([candidate.text])
                    taken.append(candidate)
                    break
    return taken


def _split_stories(drawn: Sequence[Candidate], rng: random.Random) -> dict[str, Split]:
    """Story -> train or test: each story joins the part with fewer rows of its rarest label."""
    by_story: dict[str, Counter[Label]] = defaultdict(Counter)
    for candidate in drawn:
        by_story[candidate.story][candidate.label] += 1
    stories = sorted(by_story)
    rng.shuffle(stories)
    # Stories with denials first, then caveats: they are few, and alternate between the parts.
    stories.sort(key=lambda s: (not by_story[s][Label.DENIAL], not by_story[s][Label.CAVEAT]))
    totals: dict[Split, Counter[Label]] = {Split.TRAIN: Counter(), Split.TEST: Counter()}
    story_count: Counter[Split] = Counter()
    split_of: dict[str, Split] = {}
    for story in stories:
        rarest = next(label for label in _DRAW_ORDER if by_story[story][label])
        split = min(
            (Split.TRAIN, Split.TEST),
            key=lambda part: (totals[part][rarest], story_count[part], part is Split.TEST),
        )
        split_of[story] = split
        totals[split].update(by_story[story])
        story_count[split] += 1
    return split_of


def write_user_file(rows: Sequence[UserRow], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([row.text, row.label.value, row.story, row.split.value, row.url])


def wikinews_candidates(
    rows: Iterable[tuple[str, str, str]],
    place: Callable[[str], tuple[str, Split]],
    url_of_article: dict[str, str],
) -> list[Candidate]:
    """Labelled ``wikinews:<article>:<index>`` rows (skips left out) as candidates."""
    candidates = []
    for sentence_id, text, label in rows:
        family, article, _ = sentence_id.split(":")
        if family != "wikinews" or label not in {value.value for value in Label}:
            continue
        story, split = place(sentence_id)
        candidates.append(
            Candidate(sentence_id, text, Label(label), story, split, url_of_article[article])
        )
    return candidates


def draw_from_gold(data: DataConfig, *, seed: int, corpus_seed: int) -> list[UserRow]:
    """The committed file's draw: Wikinews openings, away from the experiment's corpus.

    The corpus is the one the experiment trains on (``data`` with news_natural off and no
    user file), so no drawn row copies what that run trains, validates or scores on.
    """
    from training.corpus.build import build_corpus

    experiment = data.model_copy(update={"news_natural": False, "extra": None, "builtin": True})
    corpus = build_corpus(experiment, seed=corpus_seed)
    place = sentence_placer(
        data.raw_dir,
        validation_fraction=data.validation_fraction,
        test_fraction=data.news_test_fraction,
    )
    urls = {article.id: article.url for article in wikinews.articles(data.raw_dir)}
    candidates = wikinews_candidates(labelled_rows(OPENINGS_FILE), place, urls)
    return draw_user_file(
        candidates,
        quotas=DEFAULT_QUOTAS,
        seed=seed,
        corpus_texts=[example.text for example in corpus.all_examples],
    )
