"""The settings table of ``docs/operations.md``, rendered from the ``Settings`` class.

The class is the one source of every setting's name, type, bounds, default and meaning;
the table is written from it, never by hand. ``make docs`` (``python -m
service.settings_doc --write``) rewrites the table between the two marker lines of the
page, and ``tests/service/test_settings_doc.py`` fails when the committed table and the
class disagree.

A default computed when the service starts (the store beside where it runs) is not
computed here: the field names it in words (``json_schema_extra={"doc_default": ...}``),
so the page never shows a path of the machine that rendered it.
"""

from __future__ import annotations

import types
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import typer
from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode

from service.settings import Settings

DOC_PAGE = Path(__file__).resolve().parents[1] / "docs" / "operations.md"
BEGIN = (
    "<!-- settings table: generated from service/settings.py by `make docs`; "
    "edit the class, not the table -->"
)
END = "<!-- end of settings table -->"
DOC_DEFAULT = "doc_default"
_BOUNDS = (
    (annotated_types.Ge, "ge", ">="),
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Le, "le", "<="),
    (annotated_types.Lt, "lt", "<"),
)


class SettingsDocError(ValueError):
    """A field the table cannot describe honestly, or a page without the markers."""


def env_names(name: str, field: FieldInfo, prefix: str) -> list[str]:
    """The environment variables that set ``name``: its aliases, else prefix + name."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    if isinstance(alias, str):
        return [alias]
    return [f"{prefix}{name}".upper()]


def _type_name(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _type_name(args[0])
    if origin in (Union, types.UnionType):
        # An optional setting's None shows as its default ("unset"), not as a type.
        return " or ".join(_type_name(arg) for arg in args if arg is not type(None))
    if origin is Literal:
        return " / ".join(f"`{value}`" for value in args)
    if origin is list:
        return f"{_type_name(args[0])} list"
    names = {
        bool: "bool",
        int: "int",
        float: "float",
        str: "str",
        Path: "path",
        SecretStr: "secret",
    }
    if annotation in names:
        return names[annotation]
    raise SettingsDocError(f"no table name for the type {annotation!r}")


def _number(value: object) -> str:
    # 10.0 reads as 10, 0.62 as 0.62, 100000 as 100000: what a user would type.
    return format(Decimal(str(value)).normalize(), "f") if isinstance(value, float) else str(value)


def type_text(field: FieldInfo) -> str:
    """The type as a user sets it, with its bounds: ``int, >= 1, <= 256``."""
    text = _type_name(field.annotation)
    if any(item is NoDecode or isinstance(item, NoDecode) for item in field.metadata):
        text += ", comma-separated"
    for item in field.metadata:
        for kind, attribute, sign in _BOUNDS:
            if isinstance(item, kind):
                text += f", {sign} {_number(getattr(item, attribute))}"
    return text


def default_text(name: str, field: FieldInfo) -> str:
    """The default as the page shows it: a value, ``unset``, or the field's words for it."""
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if DOC_DEFAULT in extra:
        return str(extra[DOC_DEFAULT])
    if field.default_factory is list:
        return "unset"
    if field.default_factory is not None:
        # Calling it would print this machine's answer (a path, the environment's store).
        raise SettingsDocError(
            f"{name}: a computed default needs json_schema_extra={{{DOC_DEFAULT!r}: ...}} "
            "saying in words what it is"
        )
    value = field.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path) and value.is_absolute():
        raise SettingsDocError(f"{name}: the default {value} is a path of this machine")
    if isinstance(value, int | float):
        return f"`{_number(value)}`"
    return f"`{value}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_table(settings: type[BaseSettings] = Settings) -> str:
    """One row per setting, in the class's order."""
    prefix = settings.model_config.get("env_prefix", "")
    rows = [
        "| variable | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for name, field in settings.model_fields.items():
        if not field.description:
            raise SettingsDocError(f"{name}: no Field(description=...) to show in the table")
        variables = " or ".join(f"`{env}`" for env in env_names(name, field, prefix))
        rows.append(
            f"| {variables} | {_cell(type_text(field))} | {_cell(default_text(name, field))} "
            f"| {_cell(field.description)} |"
        )
    return "\n".join(rows) + "\n"


def with_table(page: str, table: str) -> str:
    """``page`` with the text between the marker lines replaced by ``table``."""
    head, begin, rest = page.partition(BEGIN + "\n")
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise SettingsDocError(f"the page lacks the marker lines {BEGIN!r} and {END!r}")
    return f"{head}{begin}{table}{end}{tail}"


def main(
    write: Annotated[
        bool, typer.Option("--write", help=f"Rewrite the table in docs/{DOC_PAGE.name}")
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when the page's table is stale")
    ] = False,
) -> None:
    """Print the settings table rendered from the Settings class, or write it into the page."""
    table = render_table()
    if not (write or check):
        typer.echo(table, nl=False)
        return
    page = DOC_PAGE.read_text(encoding="utf-8")
    updated = with_table(page, table)
    if check:
        if updated != page:
            typer.echo(f"{DOC_PAGE.name}: the settings table is stale; run `make docs`", err=True)
            raise typer.Exit(1)
        return
    if updated != page:
        DOC_PAGE.write_text(updated, encoding="utf-8")
    typer.echo(f"{DOC_PAGE.name}: settings table {'updated' if updated != page else 'unchanged'}")


if __name__ == "__main__":
    typer.run(main)
