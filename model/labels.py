"""The three stance labels: the one place their names and order are defined."""

from __future__ import annotations

from enum import StrEnum


class Label(StrEnum):
    """How a text positions the claim it carries (see the label guide)."""

    ASSERTION = "assertion"
    DENIAL = "denial"
    CAVEAT = "caveat"

    @classmethod
    def parse(cls, value: str) -> Label:
        """Return the label named by ``value`` or raise a ValueError naming the valid ones."""
        try:
            return cls(value.strip().lower())
        except ValueError:
            valid = ", ".join(label.value for label in cls)
            raise ValueError(f"unknown label {value!r}: expected one of {valid}") from None


# Order is the model's output order: index i of the logits is LABELS[i].
LABELS: tuple[Label, ...] = tuple(Label)


def id2label() -> dict[int, str]:
    return {index: label.value for index, label in enumerate(LABELS)}


def label2id() -> dict[str, int]:
    return {label.value: index for index, label in enumerate(LABELS)}
