"""The HTTP contract: request and response bodies of every route.

Label names come from ``model.labels.Label`` so the OpenAPI schema, the
responses and the model's own label map cannot drift apart.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from model.labels import Label

EITHER_TEXT_OR_TEXTS = 'send either "text" (one string) or "texts" (a list of strings)'


class ClassifyRequest(BaseModel):
    """One text or a list of texts; ``segment`` cuts each into claims (sentences)."""

    # Unknown keys are refused so a typo such as "txt" is reported, not silently ignored.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"text": "Moscow denied the reports. The purchases had not yet been completed."},
                {"texts": ["North Korea said it never sold weapons.", "Kirby spoke."]},
            ]
        },
    )

    text: StrictStr | None = Field(None, description="One text to classify")
    texts: list[StrictStr] | None = Field(None, description="Several texts, classified together")
    segment: StrictBool = Field(
        True, description="Cut each text into claims; false treats each text as one claim"
    )

    @model_validator(mode="after")
    def _one_source_of_text(self) -> ClassifyRequest:
        if self.text is not None and self.texts is not None:
            raise PydanticCustomError("text_and_texts", f"{EITHER_TEXT_OR_TEXTS}, not both")
        if self.text is None and self.texts is None:
            raise PydanticCustomError("no_text", EITHER_TEXT_OR_TEXTS)
        if self.texts is not None and not self.texts:
            raise PydanticCustomError("no_texts", '"texts" is empty: send at least one text')
        for name, value in self.labelled_texts():
            if not value.strip():
                raise PydanticCustomError("empty_text", f"{name} is empty or only whitespace")
        return self

    def labelled_texts(self) -> list[tuple[str, str]]:
        """Each text with the name it goes by in error messages: ``text`` or ``texts[i]``."""
        if self.text is not None:
            return [("text", self.text)]
        return [(f"texts[{index}]", value) for index, value in enumerate(self.texts or [])]

    def all_texts(self) -> list[str]:
        return [value for _, value in self.labelled_texts()]

    def limit_violation(self, *, max_texts: int, max_chars: int) -> str | None:
        """A message naming the broken limit, or None; limits are settings, not schema constants."""
        texts = self.labelled_texts()
        if len(texts) > max_texts:
            return f"too many texts: {len(texts)} sent, the limit is {max_texts} per request"
        for name, value in texts:
            if len(value) > max_chars:
                return (
                    f"{name} is too long: {len(value)} characters, "
                    f"the limit is {max_chars} characters per text"
                )
        return None


class ModelRef(BaseModel):
    name: str
    version: str | None = None
    run_id: str | None = None


class ClaimResult(BaseModel):
    text: str = Field(description="The claim; equals the result text[start:end]")
    start: int = Field(ge=0, description="Character offset into the cleaned text")
    end: int = Field(ge=0, description="End offset (exclusive) into the cleaned text")
    label: Label
    scores: dict[Label, float] = Field(description="Calibrated probability of each label")


class TextResult(BaseModel):
    text: str = Field(description="The cleaned input text that claim offsets point into")
    claims: list[ClaimResult]


class ClassifyResponse(BaseModel):
    model: ModelRef
    results: list[TextResult] = Field(description="One result per input text, in input order")


class ModelInfo(ModelRef):
    uri: str
    labels: list[Label]
    device: str
    base_model: str
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
