"""Attribution spans: the draw keeps the corpus's splits and a target label mix, reproducibly;
the merge refuses any answer it cannot place; agreement and scores match hand counts."""

from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from model.attribution import Span
from model.labels import Label
from training.cli import app
from training.corpus import attribution_sample as sampling
from training.corpus.agreement import attribution_agreement, disagreement_rows
from training.corpus.attribution import (
    Attribution,
    AttributionError,
    AttributionSpan,
    BatchRow,
    GoldSentence,
    LabelledSentence,
    SourceKind,
    corpus_news,
    gold_sentences,
    load_attribution_gold,
    merge_answers,
    read_gold,
    resolve_span,
    span_value,
    write_gold,
)
from training.data import DataError, Example, Split
from training.evaluation.attribution_metrics import score_attribution, token_f1

runner = CliRunner()


def pool(counts: dict[tuple[Split, Label], int]) -> list[GoldSentence]:
    """Sentences per (split, label), five to a story, every story in one split."""
    rows = []
    for (split, label), count in counts.items():
        for index in range(count):
            rows.append(
                GoldSentence(
                    id=f"fnc1:{split.value}{label.value}:{index}",
                    text=f"Sentence {index} of {label.value} in {split.value}.",
                    label=label,
                    story=f"story-{split.value}-{index // 5}",
                    split=split,
                )
            )
    return rows


POOL = {
    (Split.TRAIN, Label.ASSERTION): 400,
    (Split.TRAIN, Label.DENIAL): 100,
    (Split.TRAIN, Label.CAVEAT): 100,
    (Split.VALIDATION, Label.ASSERTION): 60,
    (Split.VALIDATION, Label.DENIAL): 20,
    (Split.VALIDATION, Label.CAVEAT): 20,
    # Test holds few denials: the shortfall goes to the other labels of the same split.
    (Split.TEST, Label.ASSERTION): 200,
    (Split.TEST, Label.DENIAL): 10,
    (Split.TEST, Label.CAVEAT): 90,
}


def test_the_draw_keeps_the_corpus_split_shares_and_the_label_mix() -> None:
    sample, plan = sampling.draw_sample(pool(POOL), size=200, seed=1)
    assert len(sample) == len({s.id for s in sample}) == 200
    per_split = Counter(s.split for s in sample)
    # 600 / 100 / 300 of 1,000 in the corpus.
    assert per_split == {Split.TRAIN: 120, Split.VALIDATION: 20, Split.TEST: 60}
    cells = Counter((s.split, s.label) for s in sample)
    # 45/30/25 of 120 and of 20.
    assert [cells[(Split.TRAIN, label)] for label in Label] == [54, 36, 30]
    assert [cells[(Split.VALIDATION, label)] for label in Label] == [9, 6, 5]
    # Test: 27/18/15 wanted, 10 denials exist; the 8 left go 45:25 (5.14 / 2.86 -> 5 / 3).
    assert [cells[(Split.TEST, label)] for label in Label] == [32, 10, 18]
    assert cells == Counter(plan.drawn)
    # Every story stays in its one split.
    splits_of_story: dict[str, set[Split]] = {}
    for s in sample:
        splits_of_story.setdefault(s.story, set()).add(s.split)
    assert all(len(splits) == 1 for splits in splits_of_story.values())


def test_capped_shares_never_exceed_supply_and_hand_out_all_it_can() -> None:
    shares = sampling.capped_shares(10, {"a": 0.5, "b": 0.3, "c": 0.2}, {"a": 2, "b": 100, "c": 1})
    assert shares == {"a": 2, "b": 7, "c": 1}
    assert sampling.capped_shares(10, {"a": 1.0, "b": 1.0}, {"a": 3, "b": 4}) == {"a": 3, "b": 4}


def test_sentences_take_the_corpus_label_story_and_split_once_per_text() -> None:
    corpus = [
        Example("Officials said it was true.", Label.ASSERTION, "news_gold", "s1", Split.TEST),
        Example("He denied it.", Label.DENIAL, "active_gold", "s2", Split.TRAIN),
        # Written sentences are not news: never drawn.
        Example("She walked back the claim.", Label.CAVEAT, "news_cues", "s3", Split.TRAIN),
    ]
    rows = [
        LabelledSentence("fnc1:1:0", "Officials said it was true."),
        LabelledSentence("fnc1:9:4", "Officials said it was TRUE"),  # the same text again
        LabelledSentence("wikinews:a:2", "He denied it."),
        LabelledSentence("wikinews:a:3", "She walked back the claim."),
        LabelledSentence("wikinews:a:4", "A sentence the corpus dropped."),
    ]
    found = gold_sentences(rows, corpus_news(corpus))
    assert found == [
        GoldSentence("fnc1:1:0", "Officials said it was true.", Label.ASSERTION, "s1", Split.TEST),
        GoldSentence("wikinews:a:2", "He denied it.", Label.DENIAL, "s2", Split.TRAIN),
    ]


def read_ids(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [row["id"] for row in csv.DictReader(handle)]


def test_the_draw_and_its_files_are_reproducible(tmp_path: Path) -> None:
    sentences = pool(POOL)
    first, _ = sampling.draw_sample(sentences, size=750, seed=3)
    again, _ = sampling.draw_sample(list(reversed(sentences)), size=750, seed=3)
    other, _ = sampling.draw_sample(sentences, size=750, seed=4)
    assert [s.id for s in first] == [s.id for s in again]
    assert [s.id for s in first] != [s.id for s in other]
    for name in ("a", "b"):
        sampling.write_sample(tmp_path / name, first, second_count=50, second_seed=9)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.csv"))
    assert [str(p) for p in files] == [
        "in/batch_01.csv",
        "in/batch_02.csv",
        "in/batch_03.csv",
        "second_in/batch_01.csv",
    ]
    for path in files:
        assert (tmp_path / "a" / path).read_bytes() == (tmp_path / "b" / path).read_bytes()
    with (tmp_path / "a/in/batch_01.csv").open(encoding="utf-8", newline="") as handle:
        row = next(csv.DictReader(handle))
    assert row == {"id": first[0].id, "text": first[0].text, "label": first[0].label.value}
    # The blind pass: 50 rows, each batch's share by its size (300, 300, 150), no answers.
    batch_of = {
        sentence_id: number
        for number in (1, 2, 3)
        for sentence_id in read_ids(tmp_path / f"a/in/batch_{number:02d}.csv")
    }
    blind = read_ids(tmp_path / "a/second_in/batch_01.csv")
    assert Counter(batch_of[i] for i in blind) == {1: 20, 2: 20, 3: 10}
    with pytest.raises(sampling.SampleExistsError):
        sampling.write_sample(tmp_path / "a", first)


SENTENCES = {
    "fnc1:1:0": ("The ministry dismissed the report as fabricated.", "denial"),
    "fnc1:1:1": ("Lena Ortiz, the club's chairwoman, said no offer had been received.", "denial"),
    "fnc1:1:2": ("He said he said so, officials said.", "assertion"),
    "fnc1:1:3": ("The claim has not been verified.", "caveat"),
}


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def handed_out(tmp_path: Path) -> Path:
    write_csv(
        tmp_path / "in/batch_01.csv",
        ["id", "text", "label"],
        [[i, text, label] for i, (text, label) in SENTENCES.items()],
    )
    return tmp_path


GOOD = [
    ["fnc1:1:0", "The ministry", "organisation", "dismissed"],
    ["fnc1:1:1", "Lena Ortiz", "person", "said"],
    ["fnc1:1:2", "officials", "role", "said#3"],
    ["fnc1:1:3", "", "", ""],
]


def test_merge_places_spans_by_occurrence_and_adjudication_wins(tmp_path: Path) -> None:
    out = handed_out(tmp_path)
    write_csv(out / "out/batch_01.csv", ["id", "source", "source_kind", "cue"], GOOD)
    write_csv(
        out / "adjudicated.csv",
        ["id", "source", "source_kind", "cue"],
        [["fnc1:1:2", "He", "pronoun", "said"]],
    )
    merged = merge_answers(out)
    assert merged.adjudicated == 1 and merged.unanswered == 0
    gold = tmp_path / "gold.csv"
    write_gold(merged.answers, gold)
    assert gold.read_text(encoding="utf-8").splitlines() == [
        "id,source_text,source_start,source_end,source_kind,cue_text,cue_start,cue_end",
        "fnc1:1:0,The ministry,0,12,organisation,dismissed,13,22",
        "fnc1:1:1,Lena Ortiz,0,10,person,said,35,39",
        "fnc1:1:2,He,0,2,pronoun,said,3,7",
        "fnc1:1:3,,,,,,,",
    ]
    assert read_gold(gold) == merged.answers


def test_an_occurrence_suffix_picks_the_nth_copy_and_round_trips() -> None:
    text = SENTENCES["fnc1:1:2"][0]
    assert resolve_span(text, "said") == Span("said", 3, 7)
    assert resolve_span(text, "said#2") == Span("said", 11, 15)
    assert resolve_span(text, "said#3") == Span("said", 30, 34)
    assert span_value(text, Span("said", 11, 15)) == "said#2"
    assert span_value(text, Span("said", 3, 7)) == "said"
    with pytest.raises(ValueError, match="occurs 3 time"):
        resolve_span(text, "said#4")
    # A literal "#2" in the sentence stays literal.
    assert resolve_span("Fans chose #2 again.", "#2") == Span("#2", 11, 13)


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (["fnc1:1:0", "The Ministry", "organisation", "dismissed"], "is not in the sentence"),
        (["fnc1:1:0", "The ministry", "organization", "dismissed"], "is not one of"),
        (["fnc1:1:0", "The ministry", "organisation", ""], "cue is empty but the other is not"),
        (["fnc1:1:3", "", "role", ""], "source_kind 'role' given with no source"),
        (["fnc1:1:2", "officials", "role", "said#4"], "occurs 3 time"),
        (["fnc1:9:9", "", "", ""], "unknown id"),
    ],
)
def test_merge_refuses_a_bad_row_naming_batch_id_and_problem(
    tmp_path: Path, row: list[str], problem: str
) -> None:
    out = handed_out(tmp_path)
    rows = [row if good[0] == row[0] else good for good in GOOD]
    rows += [] if row in rows else [row]
    write_csv(out / "out/batch_01.csv", ["id", "source", "source_kind", "cue"], rows)
    with pytest.raises(AttributionError, match=problem) as error:
        merge_answers(out)
    assert f"out/batch_01.csv id {row[0]}" in str(error.value)
    # Through the CLI: status 2, and no gold file.
    gold = tmp_path / "gold.csv"
    result = runner.invoke(app, ["attribution-merge", str(out), "--gold", str(gold)])
    assert result.exit_code == 2
    assert problem in result.output
    assert not gold.exists()


def test_merge_refuses_an_id_answered_twice(tmp_path: Path) -> None:
    out = handed_out(tmp_path)
    write_csv(out / "out/batch_01.csv", ["id", "source", "source_kind", "cue"], GOOD[:2])
    write_csv(out / "out/batch_02.csv", ["id", "source", "source_kind", "cue"], GOOD[1:])
    with pytest.raises(
        AttributionError,
        match=r"batch_02.csv id fnc1:1:1 .*answered twice \(also in out/batch_01.csv\)",
    ):
        merge_answers(out)


def answer(text: str, source: str, kind: str, cue: str) -> Attribution:
    return Attribution(resolve_span(text, source), SourceKind(kind), resolve_span(text, cue))


NULL = Attribution(None, None, None)


def test_agreement_matches_hand_counts() -> None:
    texts = {i: text for i, (text, _) in SENTENCES.items()}
    a, b, c, _ = texts.values()
    first = {
        "fnc1:1:0": answer(a, "The ministry", "organisation", "dismissed"),
        "fnc1:1:1": answer(b, "Lena Ortiz", "person", "said"),
        "fnc1:1:2": NULL,
        "fnc1:1:3": NULL,
        "fnc1:7:7": NULL,  # answered in the first pass only: not compared
    }
    second = {
        "fnc1:1:0": answer(a, "The ministry", "organisation", "dismissed"),
        "fnc1:1:1": answer(b, "Lena Ortiz, the club's chairwoman", "role", "said"),
        "fnc1:1:2": answer(c, "He", "pronoun", "said"),
        "fnc1:1:3": NULL,
    }
    result = attribution_agreement(first, second, texts)
    assert (result.items, result.source_items, result.kind_items) == (4, 3, 2)
    assert result.source_exact == pytest.approx(1 / 3)
    # Lena Ortiz (2 tokens) against Lena Ortiz the club s chairwoman (6): 2*2/8.
    assert result.source_token_f1 == pytest.approx((1 + 0.5 + 0) / 3)
    assert result.cue_exact == pytest.approx(2 / 3)
    assert result.cue_token_f1 == pytest.approx(2 / 3)
    assert result.null_accuracy == pytest.approx(0.75)
    # Observed 0.75; by chance 0.5 * 0.75 + 0.5 * 0.25 = 0.5.
    assert result.null_kappa == pytest.approx(0.5)
    assert result.has_source_f1 == pytest.approx(2 * 2 / (2 + 3))
    assert result.kind_agreement == pytest.approx(0.5)
    # Observed 0.5; by chance organisation 1/2 * 1/2 = 0.25.
    assert result.kind_kappa == pytest.approx((0.5 - 0.25) / 0.75)
    assert result.differences == {"fnc1:1:1": ("source", "kind"), "fnc1:1:2": ("null",)}
    batches = {i: BatchRow(i, text, label) for i, (text, label) in SENTENCES.items()}
    rows = disagreement_rows(result, first, second, batches)
    assert rows[1] == ["fnc1:1:2", c, "assertion", "null", "", "", "", "He", "pronoun", "said"]


def gold_span(sentence_id: str, text: str, source: str, kind: str, cue: str) -> AttributionSpan:
    found = answer(text, source, kind, cue) if source else NULL
    return AttributionSpan(
        sentence_id,
        text,
        Label.ASSERTION,
        "s",
        Split.TEST,
        found.source,
        found.source_kind,
        found.cue,
    )


def test_scores_match_hand_counts() -> None:
    texts = [text for text, _ in SENTENCES.values()]
    gold = [
        gold_span("g1", texts[0], "The ministry", "organisation", "dismissed"),
        gold_span("g2", texts[1], "Lena Ortiz", "person", "said"),
        gold_span("g3", texts[3], "", "", ""),
    ]
    predicted = {
        "g1": answer(texts[0], "The ministry", "organisation", "dismissed"),
        "g2": answer(texts[1], "Lena Ortiz, the club's chairwoman", "role", "said"),
        "g3": answer(texts[3], "The claim", "role", "verified"),
    }
    scores = score_attribution(gold, predicted)
    assert (scores.sentences, scores.with_source, scores.kind_support) == (3, 2, 2)
    assert scores.source_exact == pytest.approx(0.5)
    assert scores.source_token_f1 == pytest.approx((1 + 0.5) / 2)
    assert scores.cue_exact == pytest.approx(1.0)
    assert scores.has_source_precision == pytest.approx(2 / 3)
    assert scores.has_source_recall == pytest.approx(1.0)
    assert scores.has_source_f1 == pytest.approx(0.8)
    assert scores.kind_accuracy == pytest.approx(0.5)
    # A sentence with no prediction counts as a null answer.
    missing = score_attribution(gold, {"g1": predicted["g1"]})
    assert missing.has_source_recall == pytest.approx(0.5)
    assert missing.source_token_f1 == pytest.approx(0.5)
    assert missing.has_source_precision == pytest.approx(1.0)
    assert math.isnan(score_attribution(gold[2:], {}).source_exact)
    assert "attribution.test.cue_exact" in scores.flat("attribution.test")


def test_token_f1_counts_words_by_position() -> None:
    text = "He said he said so."
    assert token_f1(text, Span("He said", 0, 7), Span("said", 11, 15)) == 0.0
    assert token_f1(text, Span("He said", 0, 7), Span("said", 3, 7)) == pytest.approx(2 / 3)
    assert token_f1(text, None, None) == 1.0


def test_the_loader_joins_gold_to_the_corpus_split_and_checks_offsets(tmp_path: Path) -> None:
    texts = {i: text for i, (text, _) in SENTENCES.items()}
    rows = [LabelledSentence(i, text) for i, text in texts.items()]
    corpus = [
        Example(texts["fnc1:1:0"], Label.DENIAL, "news_gold", "story-a", Split.TRAIN),
        Example(texts["fnc1:1:1"], Label.DENIAL, "active_gold", "story-b", Split.VALIDATION),
        Example(texts["fnc1:1:3"], Label.CAVEAT, "news_natural", "story-c", Split.TEST),
        # fnc1:1:2 is no longer in the corpus: left out.
    ]
    answers = {
        "fnc1:1:0": answer(texts["fnc1:1:0"], "The ministry", "organisation", "dismissed"),
        "fnc1:1:1": answer(texts["fnc1:1:1"], "Lena Ortiz", "person", "said"),
        "fnc1:1:2": answer(texts["fnc1:1:2"], "He", "pronoun", "said"),
        "fnc1:1:3": NULL,
    }
    gold = tmp_path / "gold.csv"
    write_gold(answers, gold)
    by_split = load_attribution_gold(corpus, path=gold, sentences=rows)
    assert [[s.id for s in by_split[split]] for split in Split] == [
        ["fnc1:1:0"],
        ["fnc1:1:1"],
        ["fnc1:1:3"],
    ]
    lena = by_split[Split.VALIDATION][0]
    assert (lena.story, lena.label, lena.source_kind) == ("story-b", Label.DENIAL, "person")
    assert lena.text[lena.cue.start : lena.cue.end] == "said"  # type: ignore[union-attr]
    assert by_split[Split.TEST][0].attribution == NULL
    # A sentence whose text changed under its offsets is refused, not silently misread.
    changed = [LabelledSentence("fnc1:1:0", "A ministry dismissed the report.")]
    corpus.append(Example(changed[0].text, Label.DENIAL, "news_gold", "story-a", Split.TRAIN))
    with pytest.raises(DataError, match="fnc1:1:0"):
        load_attribution_gold(corpus, path=gold, sentences=changed)


def test_the_agreement_command_prints_the_table_and_writes_disagreements(tmp_path: Path) -> None:
    out = handed_out(tmp_path)
    header = ["id", "source", "source_kind", "cue"]
    write_csv(out / "out/batch_01.csv", header, GOOD)
    second = [GOOD[0], ["fnc1:1:1", "Lena Ortiz", "role", "said"]]
    write_csv(out / "second_out/batch_01.csv", header, second)
    result = runner.invoke(app, ["attribution-agreement", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 sentences answered in both passes" in result.output
    assert "1 disagreements written" in result.output
    assert read_ids(out / "disagreements.csv") == ["fnc1:1:1"]


def test_merge_asks_before_replacing_a_gold_file(tmp_path: Path) -> None:
    out = handed_out(tmp_path)
    write_csv(out / "out/batch_01.csv", ["id", "source", "source_kind", "cue"], GOOD)
    gold = tmp_path / "gold.csv"
    gold.write_text("committed\n", encoding="utf-8")
    refused = runner.invoke(app, ["attribution-merge", str(out), "--gold", str(gold)], input="n\n")
    assert refused.exit_code == 2
    assert f"rewrite {gold} (committed files)?" in refused.output
    assert "nothing written (pass --yes" in refused.output
    assert gold.read_text(encoding="utf-8") == "committed\n"
    agreed = runner.invoke(app, ["attribution-merge", str(out), "--gold", str(gold)], input="y\n")
    assert agreed.exit_code == 0, agreed.output
    assert gold.read_text(encoding="utf-8").startswith("id,source_text")
    gold.write_text("committed\n", encoding="utf-8")
    forced = runner.invoke(app, ["attribution-merge", str(out), "--gold", str(gold), "--yes"])
    assert forced.exit_code == 0, forced.output
    assert "committed files" not in forced.output
    assert gold.read_text(encoding="utf-8").startswith("id,source_text")
