"""What annotators read next: whole article openings for evaluation, and training sentences
chosen by the models' doubt and by stance wording.

Every sentence is addressed as ``<family>:<document>:<index>``: ``fnc1:<body id>:<i>``
(``fnc1.split_body``) or ``wikinews:<article id>:<i>`` (``wikinews.read_articles``), so the
labelled files can be re-joined to the raw text and placed in their story's split.

Openings are drawn whole and in order from test stories only (a user sends an article,
not a sentence picked for its words). Training candidates come from training stories only:
the model doubt (fast model's entropy, fast vs baseline disagreement, and fast vs accurate
where a teacher is at hand) and stance wording choose what is *read*; the label is always
the annotator's.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.labels import LABELS, Label
from training.corpus import wikinews
from training.corpus.fnc1 import read_bodies, split_body
from training.corpus.natural import label_or_skip
from training.corpus.news_gold import body_placement
from training.data import Split, normalise

FNC1 = "fnc1"
WIKINEWS = "wikinews"
FAMILIES = (FNC1, WIKINEWS)
MIN_WORDS = 6
MAX_WORDS = 70
# ``label`` is written empty: an annotator fills it in a copy of the batch, which is then the
# answer file ``merge_labels`` reads (it takes ``id`` and ``label`` from it, nothing else).
CANDIDATE_COLUMNS = ("id", "family", "selected_by", "title", "before", "text", "after", "label")

# Wording that often carries a denial or a caveat, used only to choose what annotators read.
# It holds the push-back shapes the models miss ("hit out at", "laughed off", "alive and
# well") as well as the plain ones.
_DENIAL_WORDING = re.compile(
    r"\b(den(y|ies|ied|ial)|refut|reject|dismiss|rebuff|rubbish|debunk|false|fake|hoax|untrue|"
    r"not true|baseless|groundless|unfounded|fabricat|lie[sd]?\b|never|no truth|no plans?|"
    r"hit(s)? (back|out)|shot down|shut(s)? down|laugh(ed|s)? off|brush(ed|es)? (off|aside)|"
    r"slam(s|med)|blast(s|ed)|push(ed|es)? back|alive and well|nonsense|misleading|"
    r"not the case|had nothing to do|no connection|categorically|contrary to|dispute|"
    r"retract|walked back|backtrack|clarif|insist)",
    re.IGNORECASE,
)
_CAVEAT_WORDING = re.compile(
    r"\b(may|might|could|possibl|perhaps|reportedly|allegedly|alleged|unconfirmed|unclear|"
    r"not yet|yet to|no evidence|not known|unknown|appear(s|ed)? to|seem|suggest|likely|"
    r"expected to|would|if |unless|preliminary|estimat|believed to|suspected|investigat|"
    r"according to|rumou?r|speculat|not independently|declined to)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Sentence:
    id: str
    family: str
    document: str
    index: int
    text: str
    before: str
    after: str
    title: str
    story: str
    split: Split


def _sentences_of(
    family: str,
    document: str,
    sentences: Sequence[str],
    title: str,
    story: str,
    split: Split,
) -> Iterable[Sentence]:
    for index, text in enumerate(sentences):
        yield Sentence(
            id=f"{family}:{document}:{index}",
            family=family,
            document=document,
            index=index,
            text=text,
            before=sentences[index - 1] if index else "",
            after=sentences[index + 1] if index + 1 < len(sentences) else "",
            title=title,
            story=story,
            split=split,
        )


def all_sentences(
    raw_dir: Path, *, validation_fraction: float, test_fraction: float
) -> list[Sentence]:
    """Every sentence of both families, in document order, each in its story's split."""
    place_body = body_placement(
        raw_dir, validation_fraction=validation_fraction, test_fraction=test_fraction
    )
    rows: list[Sentence] = []
    for body_id, body in sorted(read_bodies(raw_dir / "fnc1").items()):
        story, split = place_body(body_id)
        rows.extend(_sentences_of(FNC1, str(body_id), split_body(body), "", story, split))
    place_article = wikinews.placement(raw_dir, validation_fraction=validation_fraction)
    for article in wikinews.articles(raw_dir):
        story, split = place_article.place(article.id)
        rows.extend(
            _sentences_of(WIKINEWS, article.id, article.sentences, article.title, story, split)
        )
    return rows


def sentence_placer(
    raw_dir: Path, *, validation_fraction: float, test_fraction: float
) -> Callable[[str], tuple[str, Split]]:
    """``<family>:<document>:<index>`` -> (story, split), by each family's own rule."""
    place_body = body_placement(
        raw_dir, validation_fraction=validation_fraction, test_fraction=test_fraction
    )
    place_article = wikinews.placement(raw_dir, validation_fraction=validation_fraction)

    def place(sentence_id: str) -> tuple[str, Split]:
        family, document, _ = sentence_id.split(":")
        if family == FNC1:
            return place_body(int(document))
        if family == WIKINEWS:
            return place_article.place(document)
        raise ValueError(f"unknown family {family!r} in sentence id {sentence_id!r}")

    return place


def openings(
    sentences: Sequence[Sentence],
    *,
    family: str,
    documents: int,
    per_document: int,
    seed: int,
    skip_documents: Collection[str] = (),
) -> list[Sentence]:
    """The first ``per_document`` sentences of ``documents`` test documents drawn at random,
    none of ``skip_documents`` (``<family>:<document>``, drawn by an earlier wave)."""
    by_document: dict[str, list[Sentence]] = {}
    for sentence in sentences:
        if f"{family}:{sentence.document}" in skip_documents:
            continue
        if sentence.family == family and sentence.split is Split.TEST:
            by_document.setdefault(sentence.document, []).append(sentence)
    chosen = sorted(by_document)
    random.Random(seed).shuffle(chosen)
    drawn: list[Sentence] = []
    for document in sorted(chosen[:documents]):
        drawn.extend(by_document[document][:per_document])
    return drawn


def by_wording(
    sentences: Sequence[Sentence], *, count: int, seed: int, pattern: re.Pattern[str]
) -> list[Sentence]:
    matches = [s for s in sentences if pattern.search(s.text)]
    return random.Random(seed).sample(matches, min(count, len(matches)))


def denial_wording(sentences: Sequence[Sentence], *, count: int, seed: int) -> list[Sentence]:
    return by_wording(sentences, count=count, seed=seed, pattern=_DENIAL_WORDING)


def caveat_wording(sentences: Sequence[Sentence], *, count: int, seed: int) -> list[Sentence]:
    return by_wording(sentences, count=count, seed=seed, pattern=_CAVEAT_WORDING)


def entropy(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, 1e-9, 1.0)
    return -(clipped * np.log(clipped)).sum(axis=1)


def by_doubt(
    sentences: Sequence[Sentence],
    first: np.ndarray,
    second: np.ndarray,
    *,
    disagreements: int,
    uncertain: int,
) -> tuple[list[Sentence], list[Sentence]]:
    """Sentences two models label differently (most confident disagreements first), then
    the highest-entropy of the rest under the first model; rows of ``first``/``second``
    are probabilities in ``sentences`` order."""
    differ = np.flatnonzero(first.argmax(axis=1) != second.argmax(axis=1))
    # Where both are sure and still differ, one of them is wrong in an instructive way.
    strength = first.max(axis=1)[differ] + second.max(axis=1)[differ]
    picked = [int(i) for i in differ[np.argsort(-strength)][:disagreements]]
    taken = set(picked)
    order = [int(i) for i in np.argsort(-entropy(first)) if int(i) not in taken]
    return [sentences[i] for i in picked], [sentences[i] for i in order[:uncertain]]


def write_candidates(rows: Iterable[tuple[Sentence, str]], path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CANDIDATE_COLUMNS)
        for sentence, reason in rows:
            writer.writerow(
                [
                    sentence.id,
                    sentence.family,
                    reason,
                    sentence.title,
                    sentence.before,
                    sentence.text,
                    sentence.after,
                    "",
                ]
            )
            written += 1
    return written


def labelled_texts(annotations: Path) -> set[str]:
    """Normalised texts of every labelled file: never offered to annotators again."""
    taken: set[str] = set()
    for path in annotations.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if "text" not in (reader.fieldnames or []):
                continue
            taken.update(normalise(row["text"]) for row in reader)
    return taken


@dataclass(frozen=True)
class Wave:
    """One round of sentences for annotation: evaluation openings and training candidates."""

    evaluation: list[tuple[Sentence, str]]
    training: list[tuple[Sentence, str]]


def wording_wave(
    sentences: Sequence[Sentence],
    taken: set[str],
    *,
    seed: int,
    wikinews_openings: int = 60,
    fnc1_openings: int = 40,
    opening_length: int = 10,
    fnc1_denial_wording: int = 900,
    wikinews_caveat_wording: int = 400,
    wikinews_uniform: int = 300,
) -> Wave:
    """The round that needs no model: openings, stance wording and a uniform draw."""
    evaluation = [
        (s, "opening")
        for s in openings(
            sentences,
            family=WIKINEWS,
            documents=wikinews_openings,
            per_document=opening_length,
            seed=seed,
        )
        + openings(
            sentences,
            family=FNC1,
            documents=fnc1_openings,
            per_document=opening_length,
            seed=seed,
        )
    ]
    candidates = [s for s in sentences if s.split is not Split.TEST and fits(s, taken)]
    wiki = [s for s in candidates if s.family == WIKINEWS]
    fnc1 = [s for s in candidates if s.family == FNC1]
    chosen: dict[str, tuple[Sentence, str]] = {}
    for sentence in by_wording(wiki, count=len(wiki), seed=seed, pattern=_DENIAL_WORDING):
        chosen.setdefault(normalise(sentence.text), (sentence, "denial_wording"))
    for sentence in denial_wording(fnc1, count=fnc1_denial_wording, seed=seed):
        chosen.setdefault(normalise(sentence.text), (sentence, "denial_wording"))
    for sentence in caveat_wording(wiki, count=wikinews_caveat_wording, seed=seed):
        chosen.setdefault(normalise(sentence.text), (sentence, "caveat_wording"))
    rest = [s for s in wiki if normalise(s.text) not in chosen]
    for sentence in random.Random(seed).sample(rest, min(wikinews_uniform, len(rest))):
        chosen.setdefault(normalise(sentence.text), (sentence, "uniform"))
    return Wave(evaluation=evaluation, training=list(chosen.values()))


def fits(sentence: Sentence, taken: set[str]) -> bool:
    """Long enough to carry a claim, short enough to read, and never labelled or drawn before."""
    return MIN_WORDS <= len(sentence.text.split()) <= MAX_WORDS and (
        normalise(sentence.text) not in taken
    )


def write_batches(wave: Wave, folder: Path, *, batches: int, seed: int, prefix: str) -> list[Path]:
    """Shuffle the wave into ``batches`` files; each keeps whole openings together, in order,
    so an annotator reads an article's first sentences as a user would send them."""
    documents: dict[str, list[tuple[Sentence, str]]] = {}
    for sentence, reason in wave.evaluation:
        documents.setdefault(f"{sentence.family}:{sentence.document}", []).append(
            (sentence, reason)
        )
    rng = random.Random(seed)
    units: list[list[tuple[Sentence, str]]] = list(documents.values())
    units += [[row] for row in wave.training]
    rng.shuffle(units)
    shares: list[list[tuple[Sentence, str]]] = [[] for _ in range(batches)]
    for unit in sorted(units, key=len, reverse=True):
        min(shares, key=len).extend(unit)
    paths = []
    for number, rows in enumerate(shares, start=1):
        path = folder / f"{prefix}_{number:02d}.csv"
        write_candidates(rows, path)
        paths.append(path)
    return paths


def documents_in(folder: Path) -> set[str]:
    """``<family>:<document>`` of every opening already drawn into ``folder``."""
    drawn: set[str] = set()
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        with path.open(encoding="utf-8", newline="") as handle:
            drawn.update(
                row["id"].rsplit(":", 1)[0]
                for row in csv.DictReader(handle)
                if row["selected_by"] == "opening"
            )
    return drawn


def more_openings(
    sentences: Sequence[Sentence],
    drawn: Collection[str],
    *,
    seed: int,
    documents: dict[str, int],
    per_document: int = 10,
) -> list[tuple[Sentence, str]]:
    """Openings of further test documents per family, none drawn before."""
    return [
        (sentence, "opening")
        for family, count in documents.items()
        for sentence in openings(
            sentences,
            family=family,
            documents=count,
            per_document=per_document,
            seed=seed,
            skip_documents=drawn,
        )
    ]


def longer_openings(
    sentences: Sequence[Sentence], drawn: Collection[str], *, family: str, start: int, end: int
) -> list[tuple[Sentence, str]]:
    """Sentences ``start`` to ``end`` of test documents whose first ``start`` were drawn
    before: the opening read further, still whole and in order."""
    return [
        (sentence, "opening")
        for sentence in sentences
        if sentence.family == family
        and sentence.split is Split.TEST
        and f"{family}:{sentence.document}" in drawn
        and start <= sentence.index < end
    ]


def further_openings_wave(
    sentences: Sequence[Sentence], drawn_documents: Collection[str], *, seed: int, fnc1: int
) -> Wave:
    """news_natural read further: ``fnc1`` more FNC-1 test bodies' openings, and Wikinews test
    articles from their tenth to their twentieth sentence (the earlier waves drew the first
    ten of every one)."""
    return Wave(
        evaluation=[
            *more_openings(sentences, drawn_documents, seed=seed, documents={FNC1: fnc1}),
            *longer_openings(sentences, drawn_documents, family=WIKINEWS, start=10, end=20),
        ],
        training=[],
    )


def texts_in(folder: Path) -> set[str]:
    """Normalised texts of the candidate files already written to ``folder`` (earlier waves)."""
    taken: set[str] = set()
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        with path.open(encoding="utf-8", newline="") as handle:
            taken.update(normalise(row["text"]) for row in csv.DictReader(handle))
    return taken


def doubt_wave(
    sentences: Sequence[Sentence],
    taken: set[str],
    first: Callable[[list[str]], np.ndarray],
    second: Callable[[list[str]], np.ndarray],
    *,
    second_name: str,
    disagreements: int,
    uncertain: int,
    likely_denials: int,
) -> Wave:
    """Training candidates two models doubt: where they disagree, where the first is least
    sure, and the first model's likeliest denials (the label the corpus lacks most)."""
    seen: set[str] = set()
    candidates = []
    for sentence in sentences:
        key = normalise(sentence.text)
        if sentence.split is not Split.TEST and fits(sentence, taken) and key not in seen:
            seen.add(key)
            candidates.append(sentence)
    texts = [s.text for s in candidates]
    first_probabilities = first(texts)
    second_probabilities = second(texts)
    differ, unsure = by_doubt(
        candidates,
        first_probabilities,
        second_probabilities,
        disagreements=disagreements,
        uncertain=uncertain,
    )
    chosen = {normalise(s.text) for s in [*differ, *unsure]}
    column = LABELS.index(Label.DENIAL)
    denial_column = first_probabilities[:, column] + second_probabilities[:, column]
    denials = [
        candidates[int(i)]
        for i in np.argsort(-denial_column)
        if normalise(candidates[int(i)].text) not in chosen
    ][:likely_denials]
    return Wave(
        evaluation=[],
        training=[
            *((s, f"disagree_{second_name}") for s in differ),
            *((s, "entropy") for s in unsure),
            *((s, "likely_denial") for s in denials),
        ],
    )


def merge_labels(
    candidates: Path, labels: Path, adjudicated: dict[str, str] | None = None
) -> tuple[list[list[str]], list[list[str]]]:
    """Join each batch's candidates (``candidates/*.csv``) to the annotator's labels (the
    same file name under ``labels``): ([id, text, label] openings, [id, selected_by, text,
    label] training rows). A batch whose label file is missing or does not list the same ids
    in the same order is refused, since a shifted row would pin a label on another sentence.
    ``adjudicated`` (id -> label) overrides the first pass where the blind second pass
    disagreed and an adjudicator decided."""
    adjudicated = adjudicated or {}
    openings_rows: list[list[str]] = []
    training_rows: list[list[str]] = []
    for path in sorted(candidates.glob("*.csv")):
        label_path = labels / path.name
        if not label_path.is_file():
            raise ValueError(f"no labels for {path.name} in {labels}")
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        with label_path.open(encoding="utf-8", newline="") as handle:
            labelled = list(csv.DictReader(handle))
        ids = [row["id"] for row in rows]
        if [row["id"] for row in labelled] != ids:
            raise ValueError(f"{label_path} does not list the ids of {path} in order")
        for row, label in zip(rows, labelled, strict=True):
            # A misspelt label fails here, naming the batch, not later in a training run.
            value = adjudicated.get(row["id"]) or label_or_skip(
                label["label"], where=f"{label_path} {row['id']}"
            )
            if row["selected_by"] == "opening":
                openings_rows.append([row["id"], row["text"], value])
            else:
                training_rows.append([row["id"], row["selected_by"], row["text"], value])
    return openings_rows, training_rows


def second_pass_sample(candidates: Path, *, fraction: float, seed: int) -> list[dict[str, str]]:
    """A seeded ``fraction`` of every batch's rows, for a blind second annotator; the rows
    keep their context columns and leave out nothing but the first label (never written here)."""
    rng = random.Random(seed)
    drawn: list[dict[str, str]] = []
    for path in sorted(candidates.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        drawn.extend(rng.sample(rows, max(1, round(len(rows) * fraction))))
    rng.shuffle(drawn)
    return drawn
