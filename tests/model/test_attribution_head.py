"""The attribution head at inference: tags <-> character spans, the joint model's two
outputs (torch and static int8 ONNX), and the labelling path that serves its spans."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from model.attribution import Attribution, Source, SourceKind, Span
from model.attribution_head import IGNORE, TAGS, AttributionTags, TagError
from model.backends import OnnxBackend, onnx_file
from model.card import ModelCard
from model.classifier import ClaimClassifier, ModelDirectoryError
from model.encoding import TextEncoder
from model.export import export_classifier
from model.labelling import label_texts
from model.microbatch import MicroBatcher
from tests.conftest import keyword_head_classifier

# (sentence, source, kind, cue): word pieces ("ortiz" is spelled letter by letter in the
# tiny vocabulary), a multi-word source after its cue, and a null.
SENTENCES = [
    ("Lena Ortiz, the club's chairwoman, denied the reports.", "Lena Ortiz", "person", "denied"),
    ('"We never sold them," said a spokesman for Moscow.', "a spokesman", "role", "said"),
    ("The purchases had not yet been completed.", None, None, None),
    ("According to the reports, Kirby bought shells.", "the reports", "unnamed", "According to"),
]


def _span(text: str, part: str | None) -> Span | None:
    if part is None:
        return None
    start = text.index(part)
    return Span(part, start, start + len(part))


def _one_hot(tags: AttributionTags, targets: list[np.ndarray], width: int) -> np.ndarray:
    logits = np.zeros((len(targets), width, len(tags)), dtype=np.float32)
    for row, target in enumerate(targets):
        tokens = np.flatnonzero(target != IGNORE)
        logits[row, tokens, target[tokens]] = 8.0
    return logits


@pytest.fixture(scope="module")
def encoder(tiny_model_dir: Path) -> TextEncoder:
    return TextEncoder.from_directory(tiny_model_dir, 64)


def test_gold_spans_survive_tagging_and_decoding(encoder: TextEncoder) -> None:
    tags = AttributionTags()
    texts = [text for text, *_ in SENTENCES]
    batch = encoder.encode(texts, offsets=True)
    assert batch.offsets is not None
    targets = []
    for row, (text, source, kind, cue) in enumerate(SENTENCES):
        target = tags.targets(
            batch.offsets[row], _span(text, source), kind and SourceKind(kind), _span(text, cue)
        )
        assert target is not None
        # [CLS], [SEP] and padding are never trained on.
        assert target[0] == IGNORE and (target[batch.attention_mask[row] == 0] == IGNORE).all()
        targets.append(target)
    logits = _one_hot(tags, targets, batch.input_ids.shape[1])
    decoded = tags.decode(texts, logits, batch.offsets, batch.attention_mask, kind_from="head")
    expected = [
        Attribution(
            Source(source, text.index(source), text.index(source) + len(source), SourceKind(kind)),
            _span(text, cue),
        )
        if source
        else Attribution()
        for text, source, kind, cue in SENTENCES
    ]
    assert decoded == expected
    # One sentence decoded alone reads the same as in its padded batch.
    alone = encoder.encode(texts[:1], offsets=True)
    width = alone.input_ids.shape[1]
    assert (
        tags.decode(
            texts[:1], logits[:1, :width], alone.offsets, alone.attention_mask, kind_from="head"
        )
        == decoded[:1]
    )


def test_a_span_cut_off_by_truncation_is_not_a_target(tiny_model_dir: Path) -> None:
    short = TextEncoder.from_directory(tiny_model_dir, 8)
    text = "Officials said the purchases may not have been completed, Kirby denied."
    batch = short.encode([text], offsets=True)
    assert batch.offsets is not None
    tags = AttributionTags()
    late = _span(text, "Kirby"), SourceKind.PERSON, _span(text, "denied")
    assert tags.targets(batch.offsets[0], *late) is None
    early = _span(text, "Officials"), SourceKind.ROLE, _span(text, "said")
    assert tags.targets(batch.offsets[0], *early) is not None


def test_decoding_widens_pieces_to_words_and_picks_the_likelier_span(
    encoder: TextEncoder,
) -> None:
    tags = AttributionTags()
    text = "Ortiz said Kirby denied it."
    batch = encoder.encode([text], offsets=True)
    assert batch.offsets is not None
    starts = batch.offsets[0, :, 0]
    at = {text[s:e].lower(): i for i, (s, e) in enumerate(batch.offsets[0]) if e > s}
    logits = np.zeros((1, batch.input_ids.shape[1], len(tags)), dtype=np.float32)
    logits[..., tags.index["O"]] = 2.0
    # Only a middle piece of "ortiz" ("or" "##t" "##i" "##z") is tagged, weakly; "kirby"
    # strongly: Kirby wins.
    second_piece = int(np.flatnonzero(starts == 2)[0])
    logits[0, second_piece, tags.index["B-source-person"]] = 3.0
    logits[0, at["kirby"], tags.index["B-source-person"]] = 9.0
    logits[0, at["denied"], tags.index["B-cue"]] = 9.0
    [found] = tags.decode([text], logits, batch.offsets, batch.attention_mask)
    assert (found.source.text, found.cue.text) == ("Kirby", "denied")  # type: ignore[union-attr]
    # Without Kirby, the lone piece is widened to the whole word "Ortiz".
    logits[0, at["kirby"], tags.index["B-source-person"]] = 0.0
    [found] = tags.decode([text], logits, batch.offsets, batch.attention_mask)
    assert found.source == Source("Ortiz", 0, 5, SourceKind.PERSON)
    # A source with no cue is no attribution.
    logits[0, at["denied"], tags.index["B-cue"]] = 0.0
    [found] = tags.decode([text], logits, batch.offsets, batch.attention_mask)
    assert found == Attribution()


def test_padding_and_special_tokens_are_never_part_of_a_span(encoder: TextEncoder) -> None:
    tags = AttributionTags()
    texts = ["No.", "Kirby said it was fake."]
    batch = encoder.encode(texts, offsets=True)
    assert batch.offsets is not None
    logits = np.zeros((2, batch.input_ids.shape[1], len(tags)), dtype=np.float32)
    # Everything tagged as a source or a cue, special tokens and padding included.
    logits[..., tags.index["B-source-role"]] = 5.0
    logits[0, :, tags.index["B-cue"]] = 6.0
    decoded = tags.decode(texts, logits, batch.offsets, batch.attention_mask)
    assert decoded[0] == Attribution()  # "No." has only cue tokens: no source
    for text, attribution in zip(texts, decoded, strict=True):
        for span in (attribution.source, attribution.cue):
            if span is not None:
                assert 0 <= span.start < span.end <= len(text)
                assert text[span.start : span.end] == span.text


def test_the_kind_comes_from_the_head_or_from_the_rules(tiny_model_dir: Path) -> None:
    text = "Officials said it."
    # The head calls "officials" an organisation; the rules call it a role.
    tags = {"officials": "B-source-organisation", "said": "B-cue"}
    by_head = keyword_head_classifier(tiny_model_dir, tags, attribution_kind="head")
    by_rules = keyword_head_classifier(tiny_model_dir, tags, attribution_kind="rules")
    [head] = by_head.predict([text])
    [rules] = by_rules.predict([text])
    assert head.attribution is not None and rules.attribution is not None
    assert head.attribution.source == Source("Officials", 0, 9, SourceKind.ORGANISATION)
    assert rules.attribution.source == Source("Officials", 0, 9, SourceKind.ROLE)


def test_unknown_tags_are_refused() -> None:
    with pytest.raises(TagError, match="B-source-robot"):
        AttributionTags([*TAGS, "B-source-robot"])
    with pytest.raises(TagError):
        AttributionTags(["B-cue", "I-cue"])  # no O


def test_labelling_serves_the_heads_spans_instead_of_the_rules(tiny_model_dir: Path) -> None:
    # The rules find nothing in "kirby hoax" (no cue they know); the head tags both words.
    tags = {"kirby": "B-source-person", "hoax": "B-cue"}
    texts = ["<p>The ferry sailed.</p><p>Kirby hoax the reports.</p>"]
    head = keyword_head_classifier(tiny_model_dir, tags)
    [item] = label_texts(head, texts)
    ferry, kirby = item.claims
    assert ferry.attribution == Attribution()
    source, cue = kirby.attribution.source, kirby.attribution.cue
    assert source is not None and cue is not None
    assert (source.text, source.kind, cue.text) == ("Kirby", SourceKind.PERSON, "hoax")
    # Offsets into the cleaned text, as the claim's own.
    assert item.text[source.start : source.end] == "Kirby"
    assert item.text[cue.start : cue.end] == "hoax"
    # Through the micro-batcher the spans travel with their predictions.
    batcher = MicroBatcher(head)
    try:
        assert label_texts(batcher, texts)[0].claims[1].attribution == kirby.attribution
    finally:
        batcher.close()
    # Switched off (the service's attribution=rules), the rules attribute: nothing here.
    rules = keyword_head_classifier(tiny_model_dir, tags, attribution_head=False)
    assert not rules.uses_attribution_head
    assert rules.predict(["Kirby hoax the reports."])[0].attribution is None
    assert label_texts(rules, texts)[0].claims[1].attribution == Attribution()


_WORDS = [
    "officials",
    "denied",
    "the",
    "reports",
    "said",
    "russia",
    "may",
    "have",
    "bought",
    "shells",
    "kirby",
    "moscow",
]


def _sentences(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(_WORDS) for _ in range(rng.choice([1, 3, 8, 20, 40]))) + "."
        for _ in range(count)
    ]


def test_the_int8_export_has_both_outputs_and_neighbours_move_neither(
    tiny_joint_dir: Path, tmp_path: Path
) -> None:
    directory = tmp_path / "model"
    shutil.copytree(tiny_joint_dir, directory)
    export_classifier(directory, _sentences(48, seed=2))
    fp32 = ClaimClassifier.from_directory(directory, device="cpu", backend="torch")
    int8 = ClaimClassifier.from_directory(directory, device="cpu", backend="onnx")
    assert int8.backend.output_names == ("output", "token_logits")
    texts = _sentences(40, seed=5)
    batch = int8.encoder.encode(texts)
    stance, tokens = int8.backend.run(batch)
    reference_tokens = fp32.backend.run(batch)[1]
    assert stance.shape == (len(texts), 3)
    assert tokens.shape == (*batch.input_ids.shape, len(TAGS))
    real = batch.attention_mask.astype(bool)
    spread = float(np.ptp(reference_tokens[real]))
    np.testing.assert_allclose(tokens[real], reference_tokens[real], atol=0.15 * spread)
    # Static scales: each text's token logits alone equal those in a padded batch of 40.
    for row, text in enumerate(texts[:8]):
        alone = int8.backend.run(int8.encoder.encode([text]))[1][0]
        np.testing.assert_allclose(alone, tokens[row, : len(alone)], atol=1e-5)
    # Predictions alone and in a batch carry the same spans.
    together = [p.attribution for p in int8.predict(texts)]
    assert together == [int8.predict([text])[0].attribution for text in texts]


def test_a_card_with_tags_needs_a_graph_with_token_logits(
    tiny_exported_dir: Path, tmp_path: Path
) -> None:
    directory = tmp_path / "stale"
    shutil.copytree(tiny_exported_dir, directory)
    ModelCard(base_model="tiny", max_length=64, token_tags=TAGS).save(directory)
    with pytest.raises(ModelDirectoryError, match="no token_logits output"):
        ClaimClassifier.from_directory(directory, device="cpu", backend="onnx")
    # Told to leave the head unread, the stance graph alone serves.
    rules = ClaimClassifier.from_directory(
        directory, device="cpu", backend="onnx", attribution_head=False
    )
    assert rules.predict(["Kirby said it."])[0].attribution is None
    assert isinstance(rules.backend, OnnxBackend) and onnx_file(directory).is_file()


def test_a_model_without_the_head_predicts_as_before(tiny_model_dir: Path) -> None:
    classifier = ClaimClassifier.from_directory(tiny_model_dir, device="cpu")
    assert not classifier.uses_attribution_head
    assert classifier.backend.output_names == ("output",)
    assert all(p.attribution is None for p in classifier.predict(["Kirby said it.", "No."]))
    [item] = label_texts(classifier, ["Kirby said it."])
    source = item.claims[0].attribution.source
    assert source is not None and source.text == "Kirby"  # the rules
