"""Service configuration: environment variables prefixed ``CLAIMSTANCE_``, or keyword overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from model.backends import BackendSetting
from model.device import DeviceSetting
from model.feedback import default_feedback_path
from model.store import default_tracking_uri
from model.story import (
    DEFAULT_SIMILARITY_THRESHOLD,
    SIMILARITY_THRESHOLD_GT,
    SIMILARITY_THRESHOLD_LE,
)
from service.schemas import MAX_ID_CHARS

DEFAULT_MODEL_URI = "models:/claimstance@champion"


class Settings(BaseSettings):
    """Everything the service reads from its environment; read once, in ``create_app`` or the CLI."""

    model_config = SettingsConfigDict(
        env_prefix="CLAIMSTANCE_",
        # Lets callers and tests pass ``tracking_uri=...`` despite the env aliases below.
        populate_by_name=True,
        extra="ignore",
    )

    model_uri: str = Field(
        DEFAULT_MODEL_URI,
        description="A model directory, or an MLflow model URI (models:/name@alias, runs:/...)",
    )
    # MLflow's own variable is honoured so one setting points training and serving at a store;
    # unset, the store training writes by default (model.store).
    tracking_uri: str = Field(
        default_factory=default_tracking_uri,
        validation_alias=AliasChoices("CLAIMSTANCE_TRACKING_URI", "MLFLOW_TRACKING_URI"),
    )
    device: DeviceSetting = "auto"
    backend: BackendSetting = Field(
        "auto",
        description="Forward pass: onnx (int8 ONNX Runtime, CPU), torch (fp32), or auto "
        "(onnx on CPU when the model directory has the export, else torch)",
    )
    threads: int | None = Field(
        None, ge=1, le=256, description="Threads of one forward pass; unset: one per core"
    )
    batch_size: int = Field(32, ge=1, le=4096)
    micro_batch: bool = Field(
        True, description="Coalesce concurrent requests' claims into one forward pass"
    )
    # 0 batches what queued up during the previous pass. A 2 ms wait added 2 ms to a lone
    # request and no throughput at 32 clients on 2 cores (ONNX and torch alike).
    micro_batch_wait_ms: float = Field(
        0.0, ge=0.0, le=100.0, description="How long a forward pass waits for more requests"
    )
    micro_batch_max: int = Field(
        256, ge=1, le=4096, description="Most claims one coalesced forward pass takes"
    )
    max_texts: int = Field(64, ge=1, description="Most texts in one /classify request")
    max_chars: int = Field(100_000, ge=1, description="Most characters in one text")
    # /compare clusters every claim of every document together, and average-linkage
    # clustering grows with the square of the claim count: keep the story bounded.
    max_documents: int = Field(10, ge=2, description="Most documents in one /compare request")
    # The work of one request, sized on 2 CPU cores so none costs more than a few seconds:
    # cutting 100,000 characters into sentences takes 0.6-1.3 s, labelling 1,000 claims
    # 0.65 s on the int8 model (3x that on torch fp32); /compare also embeds and clusters.
    max_request_chars: int = Field(
        200_000, ge=1, description="Most characters in one request, all texts or documents"
    )
    max_claims: int = Field(2_000, ge=1, description="Most claims one /classify request labels")
    max_story_claims: int = Field(
        1_000, ge=2, description="Most claims of all documents of one /compare request"
    )
    compute_budget_s: float = Field(
        10.0,
        gt=0.0,
        le=3600.0,
        description="Seconds one request's work may run once started; then it stops (503)",
    )
    request_timeout_s: float = Field(
        30.0,
        gt=0.0,
        le=3600.0,
        description="Seconds from a request's arrival to its answer, waiting included (503)",
    )
    max_in_flight: int = Field(
        64,
        ge=1,
        le=10_000,
        description="Most /classify, /compare and reload requests at once; more get 503",
    )
    shutdown_grace_s: float = Field(
        10.0,
        ge=0.0,
        le=3600.0,
        description="On SIGTERM, seconds requests in flight get to finish before they are stopped",
    )
    # Comma-separated in the environment (NoDecode: not parsed as JSON).
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="API keys; when any key is set, all but /health, /ready and the page "
        "need one (Authorization: Bearer KEY or X-API-Key: KEY)",
    )
    api_keys_file: Path | None = Field(
        None, description="A file of SHA-256 hex digests of API keys, one a line"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins whose pages may call the API from a browser; empty: none",
    )
    allow_pickle: bool = Field(
        False,
        description="Load pickled weights (pytorch_model.bin, .pt); they can run code: "
        "only for directories you trust",
    )
    similarity_threshold: float = Field(
        DEFAULT_SIMILARITY_THRESHOLD,
        gt=SIMILARITY_THRESHOLD_GT,
        le=SIMILARITY_THRESHOLD_LE,
        description="Default cosine similarity above which /compare groups claims",
    )
    embedder_dir: Path | None = Field(
        None,
        description="Sentence encoder directory for /compare; unset: the packaged all-MiniLM-L6-v2",
    )
    feedback_path: Path = Field(
        default_factory=default_feedback_path,
        description="SQLite file of label corrections (POST /feedback); "
        "unset: feedback.db where the service runs",
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @model_validator(mode="after")
    def _limits_agree(self) -> Settings:
        if self.max_request_chars < self.max_chars:
            raise ValueError(
                f"max_request_chars ({self.max_request_chars}) is below max_chars "
                f"({self.max_chars}): no text of the allowed length could be sent"
            )
        return self

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_keys) or self.api_keys_file is not None

    @property
    def max_body_bytes(self) -> int:
        """A request body bound implied by the text limits, so huge bodies stop before parsing.

        Six bytes per character covers JSON's worst case (``\\uXXXX`` escapes);
        the extra 64 KiB leaves room for keys, punctuation and whitespace. The
        larger of /classify's and /compare's bodies sets the bound (a document
        also carries its id).
        """
        classify = min(self.max_texts * self.max_chars, self.max_request_chars)
        compare = min(self.max_documents * self.max_chars, self.max_request_chars)
        compare += self.max_documents * MAX_ID_CHARS
        return max(classify, compare) * 6 + 64 * 1024
