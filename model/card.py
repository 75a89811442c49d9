"""The small card saved beside a model's weights: what it was trained on and how well it did."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from model.attribution_head import DEFAULT_KIND_SOURCE

CARD_FILE = "claimstance.json"


@dataclass(frozen=True, slots=True)
class ModelCard:
    base_model: str = "unknown"
    max_length: int = 128
    # Softmax temperature fitted on the validation split so probabilities are calibrated.
    temperature: float = 1.0
    # How the head reads the encoder (model.network): "cls" or "mean".
    pooling: str = "cls"
    data_hash: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    # The attribution head's tags (model.attribution_head.TAGS); empty: no head, the rules
    # attribute. ``attribution_kind``: whether the head or the rules name the source's kind.
    token_tags: tuple[str, ...] = ()
    attribution_kind: str = DEFAULT_KIND_SOURCE

    def save(self, directory: Path) -> Path:
        path = Path(directory) / CARD_FILE
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: Path) -> ModelCard:
        """Read the card; a plain Hugging Face directory without one gets the defaults."""
        path = Path(directory) / CARD_FILE
        if not path.is_file():
            return cls()
        raw = json.loads(path.read_text(encoding="utf-8"))
        known = {name: raw[name] for name in cls.__dataclass_fields__ if name in raw}
        if "token_tags" in known:
            known["token_tags"] = tuple(known["token_tags"])
        return cls(**known)


def is_model_directory(path: Path) -> bool:
    return (path / "config.json").is_file() and (path / CARD_FILE).is_file()


def find_model_directory(root: Path) -> Path | None:
    """The directory under ``root`` (itself included) holding both config.json and the card.

    MLflow downloads put the model directory somewhere inside their own layout.
    """
    if is_model_directory(root):
        return root
    for config in sorted(root.rglob("config.json")):
        if is_model_directory(config.parent):
            return config.parent
    return None
