"""The HTTP contract: request and response bodies of every route.

Label names come from ``model.labels.Label`` so the OpenAPI schema, the
responses and the model's own label map cannot drift apart.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictStr,
    Tag,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from model.attribution import SourceKind
from model.labels import Label
from model.story import SIMILARITY_THRESHOLD_GT, SIMILARITY_THRESHOLD_LE, GroupingSetting

ITEM_FORM = '{"id", "text"}'
TEXTS_ARE = f"a list of strings, or of {ITEM_FORM} objects"
EITHER_TEXT_OR_TEXTS = f'send either "text" (one string) or "texts" ({TEXTS_ARE})'
SEND_DOCUMENTS = 'send "documents": a list of {"id": "...", "text": "..."} objects'
# A comparison needs two sides; the upper bound is a setting (max_documents).
MIN_DOCUMENTS = 2
# Ids are names (an outlet, a file stem) shown as table headers, not texts.
MAX_ID_CHARS = 200
# A text must hold something other than whitespace. Whitespace is Python's (str.isspace),
# spelt out so the OpenAPI pattern means the same in every regex dialect: ECMA's \s,
# which JSON Schema validators use, differs from Python's (\x1c-\x1f, \x85, \ufeff).
_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
NOT_BLANK = "[^" + "".join(f"\\u{ord(char):04x}" for char in _WHITESPACE) + "]"
_NOT_BLANK = re.compile(NOT_BLANK)


def is_blank(text: str) -> bool:
    """Empty or only whitespace, exactly as the schema's ``NOT_BLANK`` pattern reads it."""
    return _NOT_BLANK.search(text) is None


class ClassifyItem(BaseModel):
    """A text with the caller's id for it; the id comes back on the text's result."""

    model_config = ConfigDict(extra="forbid")

    id: StrictStr = Field(
        max_length=MAX_ID_CHARS,
        description="The caller's key for the text (a row id, a URL), unique within the request",
    )
    text: StrictStr = Field(description="The text to classify")


# The two forms of a "texts" item. pydantic puts these tags in an error's location;
# service.app takes them out again, so errors read texts[2].id, not texts[2].object.id.
PLAIN, WITH_ID = "string", "object"
UNION_TAGS = frozenset({PLAIN, WITH_ID})


def _entry_kind(value: Any) -> str:
    # Decided by the item's shape, so a wrong item is described against the one form it
    # tried to be rather than against both.
    return WITH_ID if isinstance(value, dict | ClassifyItem) else PLAIN


TextEntry = Annotated[
    Annotated[StrictStr, Tag(PLAIN)] | Annotated[ClassifyItem, Tag(WITH_ID)],
    Discriminator(_entry_kind),
]


class ClassifyRequest(BaseModel):
    """One text or a list of texts; ``segment`` cuts each into claims (sentences).

    ``texts`` holds plain strings or ``{"id", "text"}`` objects, one kind per request: a
    caller that keys its results by id needs an id on every one, so a mixed list (most
    likely a caller's slip) is refused rather than answered half keyed.
    """

    # Unknown keys are refused so a typo such as "txt" is reported, not silently ignored.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"text": "Moscow denied the reports. The purchases had not yet been completed."},
                {"texts": ["North Korea said it never sold weapons.", "Kirby spoke."]},
                {
                    "texts": [
                        {"id": "bbc-17", "text": "North Korea said it never sold weapons."},
                        {"id": "cnn-4", "text": "Kirby spoke."},
                    ]
                },
            ]
        },
    )

    # How to write a valid body; error messages for this route end with it.
    usage: ClassVar[str] = f'{EITHER_TEXT_OR_TEXTS}, and optionally "segment"'

    text: StrictStr | None = Field(None, description="One text to classify")
    texts: list[TextEntry] | None = Field(
        None,
        description='Several texts, classified together: strings, or {"id", "text"} objects '
        "whose ids come back on their results (one kind per request)",
    )
    segment: StrictBool = Field(
        True, description="Cut each text into claims; false treats each text as one claim"
    )
    # Set by validation: the texts as one list of strings, and the ids when items carry them.
    _texts: list[str] = PrivateAttr(default_factory=list)
    _ids: list[str] | None = PrivateAttr(None)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        # The schema says "text" and "texts" are a string and a list when present; an
        # explicit null is refused rather than read as absent.
        if isinstance(data, dict):
            for name, kind in (("text", "a string"), ("texts", TEXTS_ARE)):
                if name in data and data[name] is None:
                    raise PydanticCustomError(
                        "null_text", "{name} must be {kind}, got null", {"name": name, "kind": kind}
                    )
        return data

    @model_validator(mode="after")
    def _one_source_of_text(self) -> ClassifyRequest:
        if self.text is not None and self.texts is not None:
            raise PydanticCustomError("text_and_texts", f"{EITHER_TEXT_OR_TEXTS}, not both")
        if self.text is None and self.texts is None:
            raise PydanticCustomError("no_text", EITHER_TEXT_OR_TEXTS)
        if self.text is not None:
            if is_blank(self.text):
                raise PydanticCustomError("empty_text", "text is empty or only whitespace")
            self._texts = [self.text]
            return self
        entries = self.texts or []
        if not entries:
            raise PydanticCustomError("no_texts", '"texts" is empty: send at least one text')
        if isinstance(entries[0], str):
            self._texts = _plain_texts(entries)
        else:
            self._texts, self._ids = _keyed_texts(entries)
        return self

    def all_texts(self) -> list[str]:
        """The texts in request order (for a list of strings, that list itself: no copy)."""
        return self._texts

    def ids(self) -> list[str] | None:
        """The items' ids in request order; None when the texts are plain strings."""
        return self._ids


def _mixed(entries: list[str | ClassifyItem]) -> PydanticCustomError:
    plain_first = isinstance(entries[0], str)
    index = next(i for i, entry in enumerate(entries) if isinstance(entry, str) != plain_first)
    kinds = ("a string", "an object") if plain_first else ("an object", "a string")
    return PydanticCustomError(
        "mixed_texts",
        "texts mixes plain strings and {form} objects (texts[0] is {first}, texts[{index}] "
        "{other}): send one kind per request",
        {"form": ITEM_FORM, "first": kinds[0], "index": index, "other": kinds[1]},
    )


def _plain_texts(entries: list[str | ClassifyItem]) -> list[str]:
    for index, entry in enumerate(entries):
        if not isinstance(entry, str):
            raise _mixed(entries)
        if is_blank(entry):
            raise PydanticCustomError(
                "empty_text", "texts[{index}] is empty or only whitespace", {"index": index}
            )
    # Every entry is a string: the validated list is the list of texts.
    return entries  # type: ignore[return-value]


def _keyed_texts(entries: list[str | ClassifyItem]) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    ids: list[str] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, str):
            raise _mixed(entries)
        if is_blank(entry.id):
            raise PydanticCustomError("empty_id", "texts[{index}].id is empty", {"index": index})
        if is_blank(entry.text):
            raise PydanticCustomError(
                "empty_text", "texts[{index}].text is empty or only whitespace", {"index": index}
            )
        texts.append(entry.text)
        ids.append(entry.id)
    if len(set(ids)) < len(ids):
        raise _repeated_ids(ids, "ids in texts")
    return texts, ids


def _repeated_ids(ids: list[str], what: str) -> PydanticCustomError:
    repeated = [id_ for id_, n in Counter(ids).items() if n > 1]
    return PydanticCustomError(
        "duplicate_ids",
        "{what} must be unique; repeated: {repeated}",
        {"what": what, "repeated": ", ".join(f'"{id_[:40]}"' for id_ in repeated[:10])},
    )


class StoryDocument(BaseModel):
    """One outlet's article in a /compare request."""

    model_config = ConfigDict(extra="forbid")

    id: StrictStr = Field(
        max_length=MAX_ID_CHARS,
        description="The document's name (an outlet, a file name), unique within the request",
    )
    text: StrictStr = Field(description="The article: plain text, HTML or a page's text")


class CompareRequest(BaseModel):
    """Several articles on one story; their claims are labelled and grouped across documents."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "documents": [
                        {"id": "bbc", "text": "Moscow denied the reports. Kirby spoke."},
                        {"id": "cnn", "text": "Moscow denied the reports on Tuesday."},
                    ],
                    # No threshold: the setting's default is unset (each story's own), so
                    # the example leaves it out rather than restate a stale fixed value.
                }
            ]
        },
    )
    usage: ClassVar[str] = f'{SEND_DOCUMENTS}, and optionally "threshold" and "segment"'

    documents: list[StoryDocument] = Field(
        description=f"At least {MIN_DOCUMENTS} documents, at most the service's max_documents"
    )
    # Strict, so "0.5" or true is refused rather than coerced; an integer 1 is still a number.
    threshold: StrictFloat | None = Field(
        None,
        gt=SIMILARITY_THRESHOLD_GT,
        le=SIMILARITY_THRESHOLD_LE,
        description="Similarity above which claims are grouped (model.story.claim_similarities); "
        "unset: the service's similarity_threshold, else the story's own",
    )
    segment: StrictBool = Field(
        True, description="Cut each document into claims; false treats each as one claim"
    )

    @model_validator(mode="after")
    def _a_story(self) -> CompareRequest:
        if len(self.documents) < MIN_DOCUMENTS:
            raise PydanticCustomError(
                "too_few_documents",
                "too few documents: {count} sent, /compare needs at least {minimum}",
                {"count": len(self.documents), "minimum": MIN_DOCUMENTS},
            )
        for index, document in enumerate(self.documents):
            if is_blank(document.id):
                raise PydanticCustomError(
                    "empty_id", "documents[{index}].id is empty", {"index": index}
                )
            if is_blank(document.text):
                raise PydanticCustomError(
                    "empty_text",
                    "documents[{index}].text is empty or only whitespace",
                    {"index": index},
                )
        ids = [document.id for document in self.documents]
        if len(set(ids)) < len(ids):
            raise _repeated_ids(ids, "document ids")
        return self

    def pairs(self) -> list[tuple[str, str]]:
        """``(id, text)`` per document, as ``model.story.compare_documents`` takes them."""
        return [(document.id, document.text) for document in self.documents]


class ModelRef(BaseModel):
    name: str
    version: str | None = None
    run_id: str | None = None


class SpanResult(BaseModel):
    """Words of a claim, located in the cleaned text as the claim itself is."""

    text: str = Field(description="The words; equal to the result text[start:end]")
    start: int = Field(ge=0, description="Character offset into the cleaned text")
    end: int = Field(ge=0, description="End offset (exclusive) into the cleaned text")


class SourceResult(SpanResult):
    """Who makes the claim's move: the shortest phrase naming them (docs/attribution.md)."""

    kind: SourceKind = Field(
        description="person, organisation (also a government, country or outlet), role "
        "(a role or group without a name), pronoun, or unnamed (anonymous sourcing)"
    )


class ClaimResult(BaseModel):
    # source and cue are always sent, null or not: required in the response schema, while
    # code building a result without attribution may leave them out.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    text: str = Field(description="The claim; equals the result text[start:end]")
    start: int = Field(ge=0, description="Character offset into the cleaned text")
    end: int = Field(ge=0, description="End offset (exclusive) into the cleaned text")
    label: Label
    scores: dict[Label, float] = Field(description="Calibrated probability of each label")
    source: SourceResult | None = Field(
        None,
        description="Who asserts, denies or hedges, inside the claim; null when the claim "
        "speaks in the outlet's own voice or quotes nobody it names",
    )
    cue: SpanResult | None = Field(
        None,
        description='The words attributing the move to the source ("said", "denied", '
        '"played down", "according to"); null exactly when source is null',
    )


class TextResult(BaseModel):
    # Sent only for a {"id", "text"} item: a plain string's result keeps the shape it had.
    id: Annotated[
        str | None,
        WithJsonSchema({"type": "string", "description": "The item's id, as sent"}),
    ] = Field(None, exclude_if=lambda value: value is None)
    text: str = Field(description="The cleaned input text that claim offsets point into")
    claims: list[ClaimResult]


class ClassifyResponse(BaseModel):
    model: ModelRef
    results: list[TextResult] = Field(description="One result per input text, in input order")


class StoryClaim(ClaimResult):
    index: int = Field(ge=0, description="Position of the claim in its document's claims")


class DocumentResult(BaseModel):
    id: str
    text: str = Field(description="The cleaned document text that claim offsets point into")
    claims: list[StoryClaim]
    counts: dict[Label, int] = Field(description="Claims per label; every label, zero included")


class GroupMember(BaseModel):
    """One document's part of a claim group: its claims there and its label for the group."""

    document: str = Field(description="The document's id")
    label: Label = Field(description="Majority label of the claims; a tie goes to the likeliest")
    claims: list[StoryClaim] = Field(description="The document's claims in the group, in order")


class ClaimGroup(BaseModel):
    """Claims from at least two documents that say the same thing."""

    representative: str = Field(description="The group's most central member claim")
    representative_document: str
    representative_index: int = Field(ge=0, description="That claim's index in its document")
    disagreement: bool = Field(description="The member documents' labels are not all the same")
    proposition: str = Field(
        description="The representative without its reporting frame: the group in one line"
    )
    outlets: dict[Label, int] = Field(
        description="Member documents per group label (asserting, denying, hedging); "
        "every label, zero included"
    )
    members: list[GroupMember] = Field(description="One per document carrying the claim")


class CompareResponse(BaseModel):
    model: ModelRef
    threshold: float = Field(
        description="The similarity threshold the groups were cut at: the request's, the "
        "service's, or else the story's own"
    )
    grouping: GroupingSetting = Field(
        description="How claims were compared to group them (the grouping setting, or "
        '"words" when the encoder returns no token states)'
    )
    documents: list[DocumentResult] = Field(description="One per input document, in input order")
    groups: list[ClaimGroup] = Field(
        description="Disagreements first, then groups spanning more documents, then by first "
        "appearance; a claim no other document carries belongs to no group"
    )


class ModelInfo(ModelRef):
    uri: str = Field(
        description="The model URI; an absolute path as .../<its name>, credentials as ***"
    )
    labels: list[Label]
    device: str
    backend: str = Field(description='The engine of the forward pass: "onnx" or "torch"')
    attribution: Literal["head", "rules"] = Field(
        "rules",
        description="Who finds each claim's source and cue: \"head\" (the model's attribution "
        'head, in the same forward pass) or "rules"',
    )
    base_model: str
    pooling: str = Field(description='How the head reads the encoder: "cls" or "mean"')
    grouping: GroupingSetting | None = Field(
        None,
        description='How /compare groups claims: the grouping setting, or "words" when it '
        "needs token states the loaded encoder does not return; null when no encoder is loaded",
    )
    max_length: int
    temperature: float
    data_hash: str
    metrics: dict[str, float]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    model: ModelRef


class ErrorBody(BaseModel):
    """What every 4xx/5xx carries: a sentence in ``detail``; validation errors list each issue."""

    detail: str
    errors: list[dict[str, object]] | None = None
    errors_not_shown: int | None = Field(
        None, description="Validation errors past the first 20, counted but not listed"
    )


class TooLargeBody(ErrorBody):
    """Every size limit's 413: what was sent, the limit, and how to split the work."""

    limit: float = Field(description="The limit that was passed")
    unit: str = Field(description='What the limit counts: "texts", "characters", "bytes", ...')


class ReloadResponse(BaseModel):
    model: ModelRef = Field(description="The model now serving")
    previous: ModelRef | None = Field(description="The model that served before, if any")
    uri: str = Field(
        description="The model URI that was resolved; an absolute path as .../<its name>"
    )


class ReloadFailure(ErrorBody):
    """A reload that failed: the model that was serving goes on serving."""

    serving: ModelRef | None = Field(description="The model still serving, if any")


# The errors every JSON-body route documents; each route adds its own 503.
JSON_BODY_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "The body is not valid JSON"},
    413: {
        "model": TooLargeBody,
        "description": "The request is past a size limit: its bytes, its texts or documents, "
        "a text's characters, all its characters, its claims or its compute budget; detail "
        "says which and how to split the work",
    },
    415: {"model": ErrorBody, "description": "The body is not application/json"},
    422: {"model": ErrorBody, "description": "The request breaks the schema or a limit"},
}
# Every work route's 503: no model, or too busy (Retry-After says when to try again).
BUSY_DESCRIPTION = (
    "No model is loaded, too many requests are in flight (max_in_flight), or the request "
    "was not answered within request_timeout_s of arriving; Retry-After says when to retry"
)


# A note says why, in a sentence or two; it is not a place for documents.
MAX_NOTE_CHARS = 2_000


class FeedbackRequest(BaseModel):
    """One claim, the label the model gave it, and the label the user says is right."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "text": "The report on the fake website was shared widely.",
                    "model_label": "assertion",
                    "correct_label": "denial",
                    "note": "calls the report fake",
                    "model_version": "4",
                }
            ]
        },
    )
    usage: ClassVar[str] = (
        'send "text", "model_label" and "correct_label", and optionally "note", '
        '"model_version" and "id"'
    )

    text: StrictStr = Field(description="The claim as the model labelled it")
    model_label: Label = Field(description="The label the model gave")
    correct_label: Label = Field(description="The label the user says is right")
    note: StrictStr = Field("", max_length=MAX_NOTE_CHARS, description="Why, optionally")
    model_version: StrictStr = Field(
        "", max_length=MAX_ID_CHARS, description="The model version that gave model_label"
    )
    id: StrictStr | None = Field(
        None,
        min_length=1,
        max_length=MAX_ID_CHARS,
        description="The client's key for this correction: a retry with the same id is stored "
        "once. Unset: the key is derived from text, labels and model version",
    )

    @model_validator(mode="after")
    def _a_claim(self) -> FeedbackRequest:
        if is_blank(self.text):
            raise PydanticCustomError("empty_text", "text is empty or only whitespace")
        return self


class FeedbackResponse(BaseModel):
    id: str = Field(description="The correction's key: the client's id, or the derived one")
    created: bool = Field(description="false when the same correction was already stored")
