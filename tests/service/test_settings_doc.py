"""The settings table in docs/operations.md is the Settings class, rendered."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.settings import Settings
from service.settings_doc import (
    BEGIN,
    DOC_PAGE,
    END,
    SettingsDocError,
    render_table,
    with_table,
)

REPO = Path(__file__).resolve().parents[2]


def test_the_committed_table_is_the_settings_class() -> None:
    page = DOC_PAGE.read_text(encoding="utf-8")
    assert with_table(page, render_table()) == page, (
        "docs/operations.md's settings table differs from service/settings.py: run `make docs`"
    )


def test_every_setting_has_one_row_with_its_variable() -> None:
    table = render_table()
    rows = table.splitlines()[2:]
    assert len(rows) == len(Settings.model_fields)
    for name in Settings.model_fields:
        assert f"`CLAIMSTANCE_{name.upper()}`" in table
    # MLflow's own variable sets the service's store too, and the table says so.
    assert "`CLAIMSTANCE_TRACKING_URI` or `MLFLOW_TRACKING_URI`" in table


def test_the_table_shows_no_path_of_the_machine_that_rendered_it() -> None:
    table = render_table()
    for place in {str(REPO), str(Path.cwd()), str(Path.home())}:
        assert place not in table
    assert "sqlite:///./mlflow.db" in table


def test_defaults_bounds_and_choices_come_from_the_class() -> None:
    rows = {line.split(" | ")[0].strip("| `"): line for line in render_table().splitlines()[2:]}
    assert "| int, >= 1, <= 10000 | `64` |" in rows["CLAIMSTANCE_MAX_IN_FLIGHT"]
    assert "| float, > 0, <= 1 | unset |" in rows["CLAIMSTANCE_SIMILARITY_THRESHOLD"]
    assert "`auto` / `cpu` / `cuda`" in rows["CLAIMSTANCE_DEVICE"]
    assert "comma-separated | unset |" in rows["CLAIMSTANCE_API_KEYS"]
    assert "| `false` |" in rows["CLAIMSTANCE_ALLOW_OPEN"]


class _Example(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EX_")

    limit: int = Field(5, gt=0, description="A limit | with a pipe")
    names: Annotated[list[str], NoDecode] = Field(default_factory=list, description="Names")
    store: str = Field(
        "x",
        validation_alias=AliasChoices("EX_STORE", "OTHER_STORE"),
        description="Where",
    )


def test_a_small_settings_class_renders_as_expected() -> None:
    assert render_table(_Example).splitlines()[2:] == [
        r"| `EX_LIMIT` | int, > 0 | `5` | A limit \| with a pipe |",
        "| `EX_NAMES` | str list, comma-separated | unset | Names |",
        "| `EX_STORE` or `OTHER_STORE` | str | `x` | Where |",
    ]


def test_a_setting_without_a_description_is_refused() -> None:
    class Bare(BaseSettings):
        port: int = 8000

    with pytest.raises(SettingsDocError, match="port: no Field"):
        render_table(Bare)


def test_a_computed_default_must_be_described_in_words() -> None:
    class Computed(BaseSettings):
        where: Path = Field(default_factory=Path.cwd, description="A folder")

    with pytest.raises(SettingsDocError, match="where: a computed default"):
        render_table(Computed)


def test_only_the_text_between_the_markers_is_replaced() -> None:
    page = f"# Title\n\nbefore\n{BEGIN}\nold table\n{END}\nafter\n"
    assert with_table(page, "new\n") == f"# Title\n\nbefore\n{BEGIN}\nnew\n{END}\nafter\n"
    with pytest.raises(SettingsDocError, match="marker"):
        with_table("# no markers\n", "new\n")
