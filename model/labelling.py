"""The one path from texts to labelled claims: cut each text into claims, label them all
in a single classifier call, attribute each (``model.attribution``: who makes the move,
and the cue), hand each text its own claims back.

A model with an attribution head answers both in its one forward pass: its predictions
carry the source and cue, and the rules are not run. Without one, the rules attribute.

``/classify``, ``/compare`` (``model.story``) and the CLIs call ``label_texts``; the
edges only map its dataclasses to their own formats.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from model.attribution import NO_ATTRIBUTION, Attribution, Attributor, RuleAttributor
from model.claims import ExtractedText, extract_claims
from model.classifier import Prediction, StanceClassifier
from model.labels import LABELS, Label


@dataclass(frozen=True, slots=True)
class LabelledClaim:
    index: int  # position among its text's claims
    text: str
    start: int  # character span in its LabelledText.text
    end: int
    label: Label
    scores: dict[Label, float]  # every label, in LABELS order, summing to 1
    # Source and cue, offsets into LabelledText.text like start and end.
    attribution: Attribution = NO_ATTRIBUTION


@dataclass(frozen=True, slots=True)
class LabelledText:
    text: str  # the cleaned text the claim spans point into
    claims: list[LabelledClaim]


def _attributions(
    texts: Sequence[str], predictions: Sequence[Prediction], attributor: Attributor | None
) -> Sequence[Attribution]:
    if attributor is None:
        from_model = [prediction.attribution for prediction in predictions]
        if all(attribution is not None for attribution in from_model):
            return from_model  # type: ignore[return-value]  # no None, checked above
    # The label goes in too: among several attributed moves, the one that decides it wins.
    return (attributor or RuleAttributor()).attribute(
        texts, [prediction.label for prediction in predictions]
    )


def label_texts(
    classifier: StanceClassifier,
    texts: Sequence[str],
    *,
    segment: bool = True,
    checkpoint: Callable[[], None] | None = None,
    attributor: Attributor | None = None,
) -> list[LabelledText]:
    """Every claim of every text, labelled in one ``predict`` call (batches fill across texts)
    and attributed by ``attributor`` when given, else by the classifier's attribution head
    when its predictions carry one, else by the rules of ``model.attribution``.

    ``segment=False`` keeps each text whole as one claim. ``checkpoint`` is called
    before each text is cut into claims and throughout its cleaning and segmentation,
    and may raise to stop the work (the service's time budget). Blocking: callers on an
    event loop run it in a worker thread.
    """
    extracted = extract_texts(texts, segment=segment, checkpoint=checkpoint)
    flat = claim_texts(extracted)
    # No model call when there is nothing to label.
    predictions = classifier.predict(flat) if flat else []
    return label_extracted(extracted, predictions, attributor)


def extract_texts(
    texts: Sequence[str], *, segment: bool = True, checkpoint: Callable[[], None] | None = None
) -> list[ExtractedText]:
    """``label_texts``' first step: each text cleaned and cut into claims.

    The service's /classify runs the three steps apart, so that its event loop can
    await the forward pass in between (``service.responses``).
    """
    extracted = []
    for text in texts:
        if checkpoint is None:
            extracted.append(extract_claims(text, segment=segment))
            continue
        checkpoint()
        extracted.append(extract_claims(text, segment=segment, checkpoint=checkpoint))
    return extracted


def claim_texts(extracted: Sequence[ExtractedText]) -> list[str]:
    """The claims of every text, in order: what one ``predict`` call labels."""
    return [claim.text for item in extracted for claim in item.claims]


def label_extracted(
    extracted: Sequence[ExtractedText],
    predictions: Sequence[Prediction],
    attributor: Attributor | None = None,
) -> list[LabelledText]:
    """``label_texts``' last step: ``predictions`` (one per claim of ``claim_texts``) and
    their attributions handed back to each text's claims."""
    flat = claim_texts(extracted)
    if len(predictions) != len(flat):
        raise RuntimeError(f"classifier returned {len(predictions)} predictions for {len(flat)}")
    attributions = _attributions(flat, predictions, attributor)
    results: list[LabelledText] = []
    offset = 0
    for item in extracted:
        mine = predictions[offset : offset + len(item.claims)]
        attributed = attributions[offset : offset + len(item.claims)]
        offset += len(item.claims)
        claims = [
            LabelledClaim(
                index=index,
                text=claim.text,
                start=claim.start,
                end=claim.end,
                label=prediction.label,
                scores={label: float(prediction.scores[label]) for label in LABELS},
                # The attributor's offsets are into the claim; the claim's into the text.
                attribution=attribution.shifted(claim.start),
            )
            for index, (claim, prediction, attribution) in enumerate(
                zip(item.claims, mine, attributed, strict=True)
            )
        ]
        results.append(LabelledText(text=item.text, claims=claims))
    return results
