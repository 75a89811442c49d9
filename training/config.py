"""The validated training config: a YAML file in training/configs/, overridable from the command line.

Paths and the tracking store are settings too, so the environment
(``CLAIMSTANCE_DATA__SHARED_DIR``, ``MLFLOW_TRACKING_URI``) can point a run
elsewhere without editing the YAML; a key the YAML or a flag sets wins.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from model.device import DeviceSetting
from model.embeddings import PACKAGED_ENCODER_MODULE
from model.identity import FAST_MODEL
from model.store import default_tracking_uri
from training.corpus.user_data import DEFAULT_MAX_MB

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
# The teacher's probabilities over the unlabelled pool, committed so training needs no teacher.
SOFT_LABELS_FILE = (
    Path(__file__).resolve().parent / "corpus" / "annotations" / "teacher_soft_labels.csv"
)
DEFAULT_CONFIG = CONFIG_DIR / "default.yaml"
# all-MiniLM-L6-v2 from its package on the index: the fast model's base and /compare's encoder.
# Named here only: the YAML of an experiment names a base model when it trains another one
# (accurate.yaml), and the resolved config is logged whole, so every run records its base.
PACKAGE_PREFIX = "package:"
PACKAGED_MINILM = f"{PACKAGE_PREFIX}{PACKAGED_ENCODER_MODULE}"


class ConfigError(ValueError):
    """A config file, key or value that cannot be used; the message names it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Strict):
    shared_dir: Path = REPO_ROOT.parent / "shared"
    emergent: bool = True
    # Emergent's `observing` is a noisy caveat: train on the reviewed label, benchmark on the original.
    emergent_labels: Literal["reviewed", "original"] = "reviewed"
    news_gold: bool = True
    # Test-story sentences drawn uniformly at random and labelled (docs/data.md): scored only.
    news_natural: bool = True
    # The second gold wave (docs/data.md): FNC-1 and Wikinews sentences chosen by the
    # models' doubt and by stance wording, labelled by hand; training and validation only.
    active_gold: bool = True
    # Minimal-edit rewrites of training sentences (docs/data.md); never evaluated on.
    # Off by default: the run that added them scored no better on real sentences.
    counterfactual: bool = False
    # Written sentences for stance words the other sources lack (docs/data.md), train only.
    # On: real-news scores are unchanged over two seeds, and without them every model reads
    # "appeared to caveat that statement" (a guide example) as a denial.
    cue_sentences: bool = True
    # Written minimal pairs for push-back denials and reported assertions (docs/data.md).
    contrast_sets: bool = True
    szeged: bool = True
    szeged_cap: int = Field(2000, ge=0)
    validation_fraction: float = Field(0.1, gt=0, lt=0.5)
    news_test_fraction: float = Field(0.2, gt=0, lt=0.5)
    # Loss weight per source: encyclopedic Szeged sentences should not outweigh news.
    source_weights: dict[str, float] = Field(default_factory=dict)
    # A user's labelled file (training/corpus/user_data.py): added to the sources above, or alone
    # with builtin=false. Relative paths are read from where the command runs.
    extra: Path | None = None
    builtin: bool = True
    extra_max_mb: int = Field(DEFAULT_MAX_MB, ge=1)

    @field_validator("extra")
    @classmethod
    def _extra_from_cwd(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser().absolute()

    @property
    def raw_dir(self) -> Path:
        return self.shared_dir / "data" / "raw"

    @property
    def examples_dir(self) -> Path:
        return self.shared_dir / "examples"


class TrainingConfig(_Strict):
    base_model: str = PACKAGED_MINILM
    epochs: int = Field(3, ge=1)
    batch_size: int = Field(16, ge=1)
    learning_rate: float = Field(5e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    max_length: int = Field(96, ge=8, le=512)
    # "cls": the stock Hugging Face head on the first token; "mean": averaged token states (model.network).
    pooling: Literal["cls", "mean"] = "cls"
    class_weights: bool = True
    label_smoothing: float = Field(0.0, ge=0, lt=0.5)
    max_train_examples: int | None = Field(None, ge=1)
    device: DeviceSetting = "auto"
    threads: int | None = Field(None, ge=1)
    # The int8 ONNX export of the classifier and of the packaged sentence encoder, written into
    # the model directory before it is logged, so the registered version serves without torch.
    export_onnx: bool = True
    # The served export is the fastest scheme (int8, then int8 with attention in fp32, then
    # fp32) whose validation macro-F1 is within this of the fp32 model's: int8 noise cost
    # some models over a point there, more than a user should pay for speed.
    export_tolerance: float = Field(0.005, ge=0, le=1)
    # The sentence encoder /compare groups claims with, exported beside the classifier.
    compare_encoder: str = PACKAGED_MINILM
    # Distillation: each epoch also trains on this many pool sentences (drawn afresh) against
    # the teacher's soft labels (`python -m training soft-labels`); 0 trains on gold alone.
    distill_per_epoch: int = Field(0, ge=0)
    distill_temperature: float = Field(2.0, gt=0)
    # Loss weight of one pool sentence relative to one gold sentence.
    distill_weight: float = Field(1.0, ge=0)
    # The pool is 79% assertions by the teacher's reading. Each sentence is drawn with weight
    # (share of its teacher label) ** -distill_balance: 0 draws uniformly, 1 draws each label
    # equally often.
    distill_balance: float = Field(0.0, ge=0, le=1)
    soft_labels: Path = SOFT_LABELS_FILE
    # A token-tagging head for the claim's source and cue (BIO, docs/attribution.md), trained
    # with the stance head on the attribution gold's training sentences and exported with it,
    # so serving gets both from one forward pass. Off: the rules attribute, as before.
    attribution_head: bool = False
    # Weight of the head's token loss (mean over tagged tokens) beside the stance loss.
    attribution_weight: float = Field(1.0, ge=0)


class BaselineConfig(_Strict):
    max_features: int = Field(50_000, ge=100)
    ngram_max: int = Field(2, ge=1, le=3)
    c: float = Field(4.0, gt=0)


class TrainConfig(BaseSettings):
    """Everything one training run reads; logged whole to MLflow as params."""

    model_config = SettingsConfigDict(
        env_prefix="CLAIMSTANCE_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    experiment: str = "claimstance"
    registered_model: str = FAST_MODEL
    seed: int = 13
    output_dir: Path = REPO_ROOT / "artifacts" / "models"
    # MLFLOW_TRACKING_URI, else mlflow.db where the command runs (model.store).
    tracking_uri: str = Field(default_factory=default_tracking_uri)
    register_model: bool = True
    data: DataConfig = DataConfig()
    training: TrainingConfig = TrainingConfig()
    baseline: BaselineConfig = BaselineConfig()

    @model_validator(mode="after")
    def _relative_paths_from_repo(self) -> TrainConfig:
        # Paths in YAML are relative to the repo, not to wherever the command runs.
        if not self.output_dir.is_absolute():
            object.__setattr__(self, "output_dir", REPO_ROOT / self.output_dir)
        if not self.data.shared_dir.is_absolute():
            object.__setattr__(self.data, "shared_dir", (REPO_ROOT / self.data.shared_dir))
        return self

    def flat(self) -> dict[str, str]:
        """The resolved config as dotted keys, the shape MLflow params want."""
        flat: dict[str, str] = {}

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for key, inner in value.items():
                    walk(f"{prefix}.{key}" if prefix else key, inner)
            else:
                flat[prefix] = str(value)

        walk("", self.model_dump(mode="json"))
        return flat


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn ``training.epochs=2`` style flags into a nested dict (values parsed as YAML)."""
    nested: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {pair!r} is not of the form key=value")
        node = nested
        *parents, leaf = key.strip().split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {pair!r} conflicts with another override")
        node[leaf] = yaml.safe_load(raw) if raw.strip() else None
    return nested


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def config_keys(model: type[BaseModel] = TrainConfig, prefix: str = "") -> list[str]:
    """Every dotted key a config may set, e.g. ``training.epochs`` (for suggestions)."""
    keys = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        keys.append(key)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(config_keys(annotation, f"{key}."))
    return keys


def _closest_key(key: str) -> str:
    """`` (did you mean 'training.epochs'?)`` for a mistyped key, or nothing."""
    known = config_keys()
    match = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    if not match:
        # A key put under the wrong section (data.epochs): its last part alone finds it.
        by_leaf = {k.rsplit(".", 1)[-1]: k for k in reversed(known)}
        leaf = difflib.get_close_matches(key.rsplit(".", 1)[-1], list(by_leaf), n=1, cutoff=0.75)
        match = [by_leaf[leaf[0]]] if leaf else []
    return f"; did you mean {match[0]!r}?" if match else ""


def _blame(location: str, overrides: dict[str, str], path: Path) -> str:
    """Who set the key: the command-line override (shown as typed), else the YAML file."""
    for key, typed in overrides.items():
        # The error may sit at the override's key, inside its value, or at a section of it
        # (``trainng.epochs=2`` is reported as an unknown ``trainng``).
        if (
            key == location
            or f"{location}.".startswith(f"{key}.")
            or key.startswith(f"{location}.")
        ):
            return f"override {typed!r}"
    return str(path)


def _describe(error: ValidationError, overrides: dict[str, str], path: Path) -> str:
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "config"
        source = _blame(location, overrides, path)
        if item["type"] == "extra_forbidden":
            problems.append(f"{source}: unknown config key {location!r}{_closest_key(location)}")
        else:
            problems.append(f"{source}: {location}: {item['msg']}")
    return "; ".join(problems)


def load_config(path: Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """The YAML file (default.yaml unless named) with ``key=value`` overrides on top.

    A bad key or value is reported against where it came from: the override as the user
    typed it, or the file, with the closest known key for a mistyped one.
    """
    path = path or DEFAULT_CONFIG
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    pairs = overrides or []
    merged = _merge(raw, parse_overrides(pairs))
    typed = {pair.partition("=")[0].strip(): pair for pair in pairs}
    try:
        return TrainConfig(**merged)
    except ValidationError as error:
        raise ConfigError(_describe(error, typed, path)) from None
