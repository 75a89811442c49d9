"""Service configuration: environment variables prefixed ``CLAIMSTANCE_``, or keyword overrides."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from model.backends import BackendSetting
from model.device import DeviceSetting
from model.feedback import check_url, default_feedback_path
from model.identity import DEFAULT_MODEL_URI
from model.store import default_tracking_uri
from model.story import (
    DEFAULT_SIMILARITY,
    SIMILARITY_THRESHOLD_GT,
    SIMILARITY_THRESHOLD_LE,
    GroupingSetting,
)
from service.schemas import MAX_ID_CHARS

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
# What a browser on this machine sends as Host to a loopback service.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def is_loopback(host: str) -> bool:
    """Only this machine can reach ``host``: a loopback address or name."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
        description="The MLflow store a models:/ or runs:/ URI is read from",
        json_schema_extra={"doc_default": "`sqlite:///./mlflow.db` where the service runs"},
    )
    device: DeviceSetting = Field(
        "auto", description="Torch device; auto: CUDA when available, else CPU"
    )
    backend: BackendSetting = Field(
        "auto",
        description="Forward pass: onnx (int8 ONNX Runtime, CPU), torch (fp32), or auto "
        "(onnx on CPU when the model directory has the export, else torch)",
    )
    threads: int | None = Field(
        None,
        ge=1,
        le=256,
        description="Threads of one forward pass; unset: one per pass and one pass per core "
        "on ONNX, torch's own default on torch",
    )
    batch_size: int = Field(
        32,
        ge=1,
        le=4096,
        description="Most claims in one forward pass (ONNX also splits a batch by padded tokens)",
    )
    attribution: Literal["auto", "rules"] = Field(
        "auto",
        description="Who finds each claim's source and cue: auto (the model's attribution "
        "head when it has one, in the same forward pass, else the rules) or rules (always)",
    )
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
        description="Seconds one request's work may run once started; then it stops and the "
        "answer is 413 (the request is too big to retry as it is)",
    )
    request_timeout_s: float = Field(
        30.0,
        gt=0.0,
        le=3600.0,
        description="Seconds from a request's arrival to its answer, waiting included (503)",
    )
    body_timeout_s: float = Field(
        5.0,
        gt=0.0,
        le=3600.0,
        description="Seconds a request body may take to arrive, per 100 kB and at least this "
        "long; past it the answer is 408 and the request never holds a max_in_flight slot",
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
    admin_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Keys for POST /admin/reload (comma-separated); no other key may reload, "
        "and unset, reloading is only by SIGHUP",
    )
    allow_open: bool = Field(
        False,
        description="Serve without API keys on an address other machines can reach; "
        "without keys and without this, binding anything but loopback is refused",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host header values answered (comma-separated; * for any); unset: "
        "localhost names when the service has no keys (against DNS rebinding), else any",
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
    similarity_threshold: float | None = Field(
        None,
        gt=SIMILARITY_THRESHOLD_GT,
        le=SIMILARITY_THRESHOLD_LE,
        description="Default similarity above which /compare groups claims; unset: each "
        "story's own (model.story.story_threshold)",
    )
    grouping: GroupingSetting = Field(
        DEFAULT_SIMILARITY,
        description="How /compare compares claims to group them: words (embedding cosine and "
        "the story's word overlap), blend (a third each of cosine, word overlap and token "
        "alignment) or alignment; blend and alignment need an encoder export with token "
        "states, else words is used and GET /model says so (model.story.SIMILARITIES)",
    )
    embedder_dir: Path | None = Field(
        None,
        description="Sentence encoder directory for /compare; unset: the packaged all-MiniLM-L6-v2",
    )
    feedback_path: Path = Field(
        default_factory=default_feedback_path,
        description="SQLite file (WAL mode) of label corrections (POST /feedback), unless "
        "feedback_url names another store",
        json_schema_extra={"doc_default": "`feedback.db` where the service runs"},
    )
    # Secret: a database URL may carry a password.
    feedback_url: SecretStr | None = Field(
        None,
        description="A SQLAlchemy URL for the corrections instead of feedback_path "
        "(postgresql+psycopg://user:pass@host/db, sqlite:///path, ...; the driver installed "
        "beside the service)",
    )
    host: str = Field(
        "127.0.0.1",
        description="Interface to bind; anything but loopback needs API keys or allow_open",
    )
    port: int = Field(8000, ge=0, le=65535, description="Port to listen on")

    def feedback_store(self) -> str | Path:
        """Where corrections go: ``feedback_url`` when set, else ``feedback_path``."""
        if self.feedback_url is not None:
            return self.feedback_url.get_secret_value()
        return self.feedback_path

    @field_validator("cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("feedback_url")
    @classmethod
    def _a_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_url(value.get_secret_value())
        return value

    @field_validator("api_keys", "admin_keys", mode="before")
    @classmethod
    def _keys_not_blank(cls, value: Any) -> Any:
        # Unset means no keys; set to "" or "," it is a mistake (an empty secret in a
        # deployment) that would otherwise silently mean open.
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()] or [""]
        if isinstance(value, list) and any(
            not (key.get_secret_value() if isinstance(key, SecretStr) else str(key)).strip()
            for key in value
        ):
            raise ValueError(
                "is set but holds no key (empty or blank): give at least one key, or unset it"
            )
        return value

    @model_validator(mode="after")
    def _limits_agree(self) -> Settings:
        if self.max_request_chars < self.max_chars:
            raise ValueError(
                f"max_request_chars ({self.max_request_chars}) is below max_chars "
                f"({self.max_chars}): no text of the allowed length could be sent"
            )
        return self

    @model_validator(mode="after")
    def _open_only_on_purpose(self) -> Settings:
        if not self.auth_enabled and not self.allow_open and not is_loopback(self.host):
            raise ValueError(
                f"host {self.host} can be reached from other machines and no API keys are "
                "set: set CLAIMSTANCE_API_KEYS or CLAIMSTANCE_API_KEYS_FILE, or "
                "CLAIMSTANCE_ALLOW_OPEN=true to serve anyone who can connect"
            )
        return self

    @property
    def host_names(self) -> list[str] | None:
        """The Host names answered, or None for any.

        A keyless service on loopback is reachable from any web page through DNS
        rebinding (a name that first resolves to the attacker, then to 127.0.0.1): its
        requests carry the attacker's name as Host, so only local names are answered.
        """
        if self.allowed_hosts:
            return None if "*" in self.allowed_hosts else self.allowed_hosts
        if self.auth_enabled or self.allow_open:
            return None
        return list(dict.fromkeys([*LOCAL_HOSTS, self.host.lower()]))

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
