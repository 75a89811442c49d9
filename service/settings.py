"""Service configuration: environment variables prefixed ``CLAIMSTANCE_``, or keyword overrides."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from model.backends import BackendSetting
from model.device import DeviceSetting
from model.story import DEFAULT_SIMILARITY_THRESHOLD
from service.schemas import MAX_ID_CHARS

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL_URI = "models:/claimstance@champion"


def default_tracking_uri() -> str:
    """The SQLite store that `make train` writes beside the repository."""
    return f"sqlite:///{REPO_ROOT / 'mlflow.db'}"


class Settings(BaseSettings):
    """Everything the service reads from its environment; read once, in ``create_app``/``main``."""

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
    # MLflow's own variable is honoured so one setting points training and serving at a store.
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
    similarity_threshold: float = Field(
        DEFAULT_SIMILARITY_THRESHOLD,
        gt=0.0,
        le=1.0,
        description="Default cosine similarity above which /compare groups claims",
    )
    embedder_dir: Path | None = Field(
        None,
        description="Sentence encoder directory for /compare; unset: the packaged all-MiniLM-L6-v2",
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)

    @property
    def max_body_bytes(self) -> int:
        """A request body bound implied by the text limits, so huge bodies stop before parsing.

        Six bytes per character covers JSON's worst case (``\\uXXXX`` escapes);
        the extra 64 KiB leaves room for keys, punctuation and whitespace. The
        larger of /classify's and /compare's bodies sets the bound (a document
        also carries its id).
        """
        classify = self.max_texts * self.max_chars
        compare = self.max_documents * (self.max_chars + MAX_ID_CHARS)
        return max(classify, compare) * 6 + 64 * 1024
