"""The attribution head in training: gold of the train split only, a joint fine-tune on the
tiny BERT that learns the spans, a saved and exported model that serves them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from model.attribution import SourceKind, Span
from model.attribution_head import TAGS, AttributionTags
from model.backends import has_onnx_export
from model.card import ModelCard
from model.classifier import ClaimClassifier
from model.export import export_classifier
from model.labels import Label
from model.network import ATTRIBUTION_HEAD_FILE
from tests.conftest import keyword_head_classifier
from training.config import TrainConfig
from training.corpus.attribution import AttributionSpan
from training.corpus.build import build_corpus
from training.data import DataError, Example, Split
from training.evaluation.attribution import HeadAttributor, choose_kind_source, score_attributor
from training.fit.attribution_head import AttributionGold, token_targets
from training.fit.finetune import fine_tune

# (opening words of a tiny-corpus headline, its source, kind and cue); other headlines are
# gold nulls (the outlet's own voice), which teach the head to tag nothing.
ATTRIBUTED = {
    "Officials confirm": ("Officials", SourceKind.ROLE, "confirm"),
    "Officials say": ("Officials", SourceKind.ROLE, "say"),
    "North Korea denies": ("North Korea", SourceKind.ORGANISATION, "denies"),
    "Moscow dismissed": ("Moscow", SourceKind.ORGANISATION, "dismissed"),
}


def _span(text: str, part: str | None) -> Span | None:
    if part is None:
        return None
    start = text.index(part)
    return Span(part, start, start + len(part))


def gold_for(examples: Sequence[Example]) -> list[AttributionSpan]:
    """Attribution gold for the tiny corpus's sentences, in each sentence's own split."""
    gold = []
    for number, example in enumerate(examples):
        found = next((v for k, v in ATTRIBUTED.items() if example.text.startswith(k)), None)
        source, kind, cue = found if found else (None, None, None)
        gold.append(
            AttributionSpan(
                f"tiny:{number}",
                example.text,
                example.label,
                example.group,
                example.split,
                _span(example.text, source),
                kind,
                _span(example.text, cue),
            )
        )
    return gold


def _with_head(config: TrainConfig, **training: object) -> TrainConfig:
    return config.model_copy(
        update={
            "training": config.training.model_copy(update={"attribution_head": True, **training})
        }
    )


def test_only_train_gold_is_accepted_and_joined_by_text(tiny_config: TrainConfig) -> None:
    corpus = build_corpus(tiny_config.data, seed=tiny_config.seed)
    validation_gold = gold_for(corpus.validation)
    with pytest.raises(DataError, match="other splits"):
        AttributionGold(train=validation_gold)

    train_gold = gold_for(corpus.train)
    texts = [e.text for e in corpus.train[:3]] + ["A sentence nobody annotated."]
    tags = AttributionTags()
    offsets = [
        [(0, 0), *((i, i + 1) for i in range(len(text))), (0, 0)] for text in texts
    ]  # one token per character: enough to place spans
    targets = token_targets(texts, offsets, train_gold, tags)
    assert targets[-1] is None  # no gold: masked
    assert all(target is not None for target in targets[:3])
    # A gold sentence joins by its normalised text: case and punctuation do not matter.
    shouted = [texts[0].upper() + "!"]
    [target] = token_targets(shouted, [offsets[0] + [(0, 0)]], train_gold, tags)
    assert target is not None


@pytest.fixture(scope="module")
def joint_dir(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """A tiny joint model fine-tuned (and exported) with the head on the tiny corpus."""
    from tests.training.conftest import emergent_only, write_emergent
    from training.config import load_config

    root = tmp_path_factory.mktemp("joint")
    shared = root / "shared"
    write_emergent(shared / "data" / "raw" / "emergent")
    config = load_config(
        overrides=[
            *emergent_only(shared),
            "data.validation_fraction=0.3",
            f"training.base_model={tiny_model_dir}",
            "training.distill_per_epoch=0",
            "training.epochs=12",
            "training.batch_size=4",
            "training.max_length=32",
            "training.learning_rate=3e-3",
            "training.attribution_head=true",
            f"output_dir={root / 'models'}",
        ]
    )
    corpus = build_corpus(config.data, seed=config.seed)
    gold = AttributionGold(gold_for(corpus.train), gold_for(corpus.validation))
    # No stance validation, so the last epoch is kept: on six validation headlines the best
    # stance macro-F1 comes in an early epoch, before the head has learned anything.
    fine_tune(corpus.train, [], config, root / "model", attribution=gold)
    export_classifier(root / "model", [e.text for e in corpus.train])
    return root / "model"


def test_the_joint_model_learns_the_training_spans(
    joint_dir: Path, tiny_config: TrainConfig
) -> None:
    corpus = build_corpus(tiny_config.data, seed=tiny_config.seed)
    train_gold = gold_for(corpus.train)
    classifier = ClaimClassifier.from_directory(joint_dir, device="cpu", backend="torch")
    scores = score_attributor(HeadAttributor(classifier), {Split.TRAIN: train_gold})[Split.TRAIN]
    # The tiny BERT memorises its training sentences: spans and nulls alike.
    assert scores.source_exact >= 0.8
    assert scores.cue_exact >= 0.8
    assert scores.has_source_f1 >= 0.8


def test_the_saved_model_describes_its_head_and_exports_both_outputs(joint_dir: Path) -> None:
    card = ModelCard.load(joint_dir)
    assert card.token_tags == TAGS
    assert card.attribution_kind in {"head", "rules"}
    assert (joint_dir / ATTRIBUTION_HEAD_FILE).is_file()
    assert has_onnx_export(joint_dir, "classifier")

    torch_model = ClaimClassifier.from_directory(joint_dir, device="cpu", backend="torch")
    int8 = ClaimClassifier.from_directory(joint_dir, device="cpu", backend="onnx")
    assert int8.backend.output_names == ("output", "token_logits")
    texts = ["Officials say the story is a hoax", "The deal was signed in Moscow on Tuesday"]
    for classifier in (torch_model, int8):
        assert classifier.uses_attribution_head
        for text, prediction in zip(texts, classifier.predict(texts), strict=True):
            attribution = prediction.attribution
            assert attribution is not None
            for span in (attribution.source, attribution.cue):
                if span is not None:
                    assert 0 <= span.start < span.end <= len(text)
                    assert text[span.start : span.end] == span.text
    # Both engines read the same spans off the same sentences.
    spans = [
        [(p.attribution.source, p.attribution.cue) for p in c.predict(texts) if p.attribution]
        for c in (torch_model, int8)
    ]
    assert spans[0] == spans[1]


def test_without_the_key_the_recipe_trains_no_head(
    tiny_config: TrainConfig, tmp_path: Path
) -> None:
    assert tiny_config.training.attribution_head is False
    corpus = build_corpus(tiny_config.data, seed=tiny_config.seed)
    gold = AttributionGold(gold_for(corpus.train))
    # Gold given, key off: ignored, the model is the stance-only one.
    fine_tune(corpus.train, corpus.validation, tiny_config, tmp_path / "m", attribution=gold)
    assert not (tmp_path / "m" / ATTRIBUTION_HEAD_FILE).exists()
    assert ModelCard.load(tmp_path / "m").token_tags == ()
    classifier = ClaimClassifier.from_directory(tmp_path / "m", device="cpu")
    assert not classifier.uses_attribution_head
    assert classifier.predict(["Officials say it is a hoax"])[0].attribution is None


def test_the_head_without_training_gold_is_refused(
    tiny_config: TrainConfig, tmp_path: Path
) -> None:
    corpus = build_corpus(tiny_config.data, seed=tiny_config.seed)
    with pytest.raises(DataError, match="no training sentence has attribution gold"):
        fine_tune(corpus.train, corpus.validation, _with_head(tiny_config), tmp_path / "m")


def test_the_kind_source_is_the_one_scoring_better_on_validation(tiny_model_dir: Path) -> None:
    # The head calls Kirby an organisation and officials a person; the rules call them a
    # person and a role.
    classifier = keyword_head_classifier(
        tiny_model_dir,
        {"kirby": "B-source-organisation", "officials": "B-source-person", "said": "B-cue"},
    )

    def validation(kind_of_kirby: SourceKind) -> list[AttributionSpan]:
        rows = [
            ("Kirby said it", "Kirby", kind_of_kirby),
            ("Officials said it", "Officials", SourceKind.ROLE),
            ("Kirby said so", "Kirby", kind_of_kirby),
        ]
        return [
            AttributionSpan(
                f"v{n}",
                text,
                Label.ASSERTION,
                "story",
                Split.VALIDATION,
                _span(text, source),
                kind,
                _span(text, "said"),
            )
            for n, (text, source, kind) in enumerate(rows)
        ]

    # Gold agrees with the head on 2 of 3 kinds, with the rules on 1: the head.
    choice, metrics = choose_kind_source(classifier, validation(SourceKind.ORGANISATION))
    assert choice == "head"
    assert metrics["attribution.validation.kind_accuracy_head"] == pytest.approx(2 / 3)
    assert metrics["attribution.validation.kind_accuracy_rules"] == pytest.approx(1 / 3)
    assert classifier.attribution_kind is None  # the override is put back
    # Gold agrees with the rules on all three: the rules.
    assert choose_kind_source(classifier, validation(SourceKind.PERSON))[0] == "rules"
    assert choose_kind_source(classifier, [])[0] == "rules"


@pytest.fixture
def tiny_gold(
    tiny_config: TrainConfig, monkeypatch: pytest.MonkeyPatch
) -> dict[Split, list[AttributionSpan]]:
    """attribution-eval reads the tiny corpus and its gold, whatever config it is given."""
    import training.corpus.attribution
    import training.corpus.build

    corpus = build_corpus(tiny_config.data, seed=tiny_config.seed)
    gold = {
        Split.TRAIN: gold_for(corpus.train),
        Split.VALIDATION: gold_for(corpus.validation),
        Split.TEST: [],
    }
    monkeypatch.setattr(training.corpus.build, "build_corpus", lambda *a, **k: corpus)
    monkeypatch.setattr(training.corpus.attribution, "load_attribution_gold", lambda *a, **k: gold)
    return gold


def test_attribution_eval_scores_a_models_head(
    joint_dir: Path, tiny_gold: dict[Split, list[AttributionSpan]]
) -> None:
    from typer.testing import CliRunner

    from training.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app, ["attribution-eval", "--model", str(joint_dir), "--kind", "rules"], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    assert "attribution head" in result.output and "kind from rules" in result.output
    splits = {split.value for split in Split}
    lines = [line.split() for line in result.output.splitlines()]
    rows = {words[0]: words for words in lines if words and words[0] in splits}
    assert set(rows) == {"train", "validation"}  # test has no gold here: left out
    # The row's source exact is the head's own score on the same gold.
    classifier = ClaimClassifier.from_directory(joint_dir, device="cpu", attribution_kind="rules")
    expected = score_attributor(HeadAttributor(classifier), tiny_gold)[Split.TRAIN]
    assert rows["train"][1:3] == [str(expected.sentences), str(expected.with_source)]
    assert float(rows["train"][3]) == pytest.approx(expected.source_exact, abs=5e-4)


def test_attribution_eval_refuses_what_it_cannot_score(
    tiny_model_dir: Path, tiny_gold: dict[Split, list[AttributionSpan]]
) -> None:
    from typer.testing import CliRunner

    from training.cli import app

    runner = CliRunner()
    no_head = runner.invoke(app, ["attribution-eval", "--model", str(tiny_model_dir)])
    assert no_head.exit_code == 2
    assert "no attribution head" in no_head.output and "Traceback" not in no_head.output
    kind_alone = runner.invoke(app, ["attribution-eval", "--kind", "head"])
    assert kind_alone.exit_code == 2 and "--kind needs --model" in kind_alone.output
    bad_kind = runner.invoke(app, ["attribution-eval", "--model", "x", "--kind", "robot"])
    assert bad_kind.exit_code == 2
    # Without --model, the rules are scored as before.
    rules = runner.invoke(app, ["attribution-eval"])
    assert rules.exit_code == 0 and "rule attributor" in rules.output


def test_a_training_run_with_the_key_logs_and_registers_the_joint_model(
    tiny_config: TrainConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import training.corpus.attribution
    from training.corpus.build import EMERGENT_TEST
    from training.fit.pipeline import run_training

    corpus = build_corpus(tiny_config.data, seed=tiny_config.seed)
    gold = {
        Split.TRAIN: gold_for(corpus.train),
        Split.VALIDATION: gold_for(corpus.validation),
        Split.TEST: gold_for(corpus.evaluation[EMERGENT_TEST]),
    }
    monkeypatch.setattr(training.corpus.attribution, "load_attribution_gold", lambda *a, **k: gold)
    report = run_training(_with_head(tiny_config))
    assert report is not None

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tiny_config.tracking_uri)
    run = client.get_run(report.run_id)
    assert run.data.params["training.attribution_head"] == "True"
    metrics = run.data.metrics
    assert metrics["rows.attribution.train"] == len(gold[Split.TRAIN])
    for name in (
        "attribution.validation.kind_accuracy_head",
        "attribution.validation.source_exact",
        "attribution.test.source_exact",
        "attribution.test.has_source_f1",
        "epoch.validation.attribution.source_exact",
    ):
        assert name in metrics
    card = ModelCard.load(report.model_dir)
    assert card.token_tags == TAGS
    served = ClaimClassifier.from_directory(report.model_dir, device="cpu")
    assert served.backend.name == "onnx" and served.uses_attribution_head
