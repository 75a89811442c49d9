"""The web page and the label list: styles are per label (presentation, so they live in the
CSS), but every label must have them and the script must not keep its own list.

Adding a label to ``model.labels.Label`` fails here until the page can show it.
"""

from __future__ import annotations

import re

import pytest

from model.labels import LABELS, Label
from service.routes.page import STATIC_DIR

CSS = (STATIC_DIR / "style.css").read_text(encoding="utf-8")
SCRIPT = (STATIC_DIR / "app.js").read_text(encoding="utf-8")


def _rule(selector: str) -> str | None:
    """The declarations of the rule whose selector is exactly ``selector``."""
    match = re.search(rf"(?m)^{re.escape(selector)}\s*\{{([^}}]*)\}}", CSS)
    return match.group(1) if match else None


@pytest.mark.parametrize("label", LABELS, ids=str)
def test_every_label_has_its_colours_and_rules(label: Label) -> None:
    name = label.value
    for variable in (f"--{name}", f"--{name}-bg"):
        assert re.search(rf"(?m)^\s*{variable}:\s*#[0-9a-f]{{6}};", CSS), variable
    # The highlighted claim, the legend's swatch and the story table's cell.
    for selector in (f".label-{name}", f".swatch.label-{name}", f".story-table td.label-{name}"):
        declarations = _rule(selector)
        assert declarations is not None, f"style.css has no rule for {selector}"
        assert f"var(--{name}" in declarations, selector


def test_labels_differ_without_colour_too() -> None:
    """Each label's underline style is its own, for readers who cannot tell the colours apart."""
    styles = []
    for label in LABELS:
        declarations = _rule(f".label-{label.value}") or ""
        match = re.search(r"border-bottom-style:\s*(\w+)", declarations)
        assert match, label
        styles.append(match.group(1))
    assert len(set(styles)) == len(LABELS), styles


def test_the_css_styles_no_label_the_model_lacks() -> None:
    styled = set(re.findall(r"\.label-([a-z_-]+)", CSS))
    assert styled == {label.value for label in LABELS}


def test_the_script_takes_the_labels_from_the_api() -> None:
    quoted = set(re.findall(r"[\"'`]([a-z]+)[\"'`]", SCRIPT))
    assert not quoted & {label.value for label in LABELS}
    assert "model.labels" in SCRIPT  # /model's label list
