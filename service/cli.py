"""``python -m service``: serve the API and web page, compare articles in the terminal, hash a key.

The same Typer look as ``python -m training``: flags are typed and checked by Typer,
and every other failure is one ``error: ...`` line on stderr with exit status 2.
``serve`` is the default command, so ``python -m service --port 8000`` serves. Flags
override the ``CLAIMSTANCE_*`` environment, which overrides the defaults
(``service/settings.py``).

Startup stays fast: ``--help`` imports Typer, ``model.device`` and ``model.labels`` only;
the app, the model code and uvicorn are imported by the command that needs them.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn

import typer
from typer.core import TyperGroup

from model.device import DeviceSetting
from model.labels import LABELS

if TYPE_CHECKING:
    from fastapi import FastAPI

    from service.schemas import CompareResponse
    from service.settings import Settings

DEFAULT_COMMAND = "serve"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LogLevel = Literal["critical", "error", "warning", "info", "debug"]

# The terminal table: at most this many characters of a file id head a column.
ID_WIDTH = 14
EMPTY_CELL = "-"
DISAGREEMENT_MARK = "!"

# Settings fields a flag can set, by flag: a bad value is then reported against the flag.
FLAGS = {
    "host": "--host",
    "port": "--port",
    "model_uri": "--model-uri",
    "device": "--device",
    "embedder_dir": "--embedder-dir",
    "similarity_threshold": "--threshold",
}


class CompareInputError(Exception):
    """A file the user named cannot be compared; the message says which and why."""


class _ServeByDefault(TyperGroup):
    """A command line that names no command serves.

    ``python -m service --port 8000`` reads as ``python -m service serve --port 8000``;
    the group's own options (``--help``) and an unknown word (a mistyped command, which
    should say so) are left alone.
    """

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        own_options = {name for param in self.get_params(ctx) for name in param.opts}
        if not args or (args[0].startswith("-") and args[0].split("=")[0] not in own_options):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_ServeByDefault,
    help="Serve the claimstance API and web page (the default command), compare articles "
    "in the terminal, or hash an API key. Flags override the CLAIMSTANCE_* environment, "
    "which overrides the defaults.",
    no_args_is_help=False,
)

ModelUriOption = Annotated[
    str | None,
    typer.Option("--model-uri", help="Model directory or MLflow URI (CLAIMSTANCE_MODEL_URI)"),
]
# The choices are model.device's DeviceSetting itself: one list for every entry point.
DeviceOption = Annotated[
    DeviceSetting | None, typer.Option(help="Torch device (CLAIMSTANCE_DEVICE)")
]


def _fail(message: str) -> NoReturn:
    """The one way a command reports a failure: a line on stderr and exit status 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def settings_from_flags(**flags: Any) -> Settings:
    """Settings from the environment, with the flags that were given on top.

    A flag's bad value is reported against the flag, as Typer reports its own checks;
    a bad environment variable is an ``error:`` line naming it.
    """
    from pydantic import ValidationError

    from service.settings import Settings

    given = {name: value for name, value in flags.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as error:
        problems = error.errors()
        for problem in problems:
            field = str(problem["loc"][0]) if problem["loc"] else ""
            if field in given and field in FLAGS:
                raise typer.BadParameter(problem["msg"], param_hint=f"'{FLAGS[field]}'") from None
        prefix = Settings.model_config.get("env_prefix", "")
        _fail(f"invalid settings: {_describe(problems, prefix)}")


def _describe(problems: Sequence[Any], prefix: str) -> str:
    """A ValidationError's problems on one line, each under its environment variable."""
    parts = []
    for problem in problems:
        field = ".".join(str(part) for part in problem["loc"])
        # A field read through an alias (MLFLOW_TRACKING_URI) is already a variable's name.
        name = field if field.isupper() else f"{prefix}{field.upper()}"
        parts.append(f"{name}: {problem['msg']}" if field else problem["msg"])
    return "; ".join(parts)


# --- serve ----------------------------------------------------------------------------


def run_server(app: FastAPI, settings: Settings, log_level: str = "info") -> None:
    """uvicorn on the settings' host and port, until SIGTERM or Ctrl-C."""
    import uvicorn

    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        # Requests in flight get this long after SIGTERM; then they are cancelled and their
        # work stops at its next budget check (service.budget), so shutdown is bounded.
        timeout_graceful_shutdown=settings.shutdown_grace_s,
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (CLAIMSTANCE_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (CLAIMSTANCE_PORT)")] = None,
    model_uri: ModelUriOption = None,
    device: DeviceOption = None,
    log_level: Annotated[LogLevel, typer.Option(help="Logging level")] = "info",
) -> None:
    """Serve the API and the web page until SIGTERM or Ctrl-C (the default command)."""
    logging.basicConfig(level=log_level.upper(), format=LOG_FORMAT)
    settings = settings_from_flags(host=host, port=port, model_uri=model_uri, device=device)
    from service.app import create_app
    from service.auth import ApiKeyFileError

    try:
        served = create_app(settings)
    except ApiKeyFileError as error:
        _fail(str(error))
    run_server(served, settings, log_level)


# --- compare --------------------------------------------------------------------------


def read_documents(paths: Sequence[Path]) -> list[tuple[str, str]]:
    """``(id, text)`` per file; ids are the file stems, or the paths when stems repeat."""
    names = [path.stem for path in paths]
    if len(set(names)) < len(names):
        names = [str(path) for path in paths]
    if repeated := sorted(name for name, n in Counter(names).items() if n > 1):
        raise CompareInputError(f"the same file is given more than once: {', '.join(repeated)}")
    documents = []
    for name, path in zip(names, paths, strict=True):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise CompareInputError(
                f"cannot read {path}: not UTF-8 text ({error.reason} at byte {error.start})"
            ) from None
        except OSError as error:
            raise CompareInputError(f"cannot read {path}: {error.strerror or error}") from None
        if not text.strip():
            raise CompareInputError(f"{path} is empty or only whitespace")
        documents.append((name, text))
    return documents


def compare_files(
    paths: Sequence[Path], settings: Settings, *, segment: bool = True
) -> CompareResponse:
    """Load the model and encoder ``settings`` name and compare the files, as /compare does."""
    from service.responses import compare_texts
    from service.serving import grouping_in_effect, load_models

    documents = read_documents(paths)
    models = load_models(settings)
    with models.resources:
        if models.embedder is None:
            # /compare cannot run without its encoder: the load's own error says why.
            assert models.embedder_error is not None
            raise models.embedder_error
        return compare_texts(
            models.model,
            models.embedder,
            documents,
            threshold=settings.similarity_threshold,
            segment=segment,
            similarity=grouping_in_effect(settings, models.embedder) or settings.grouping,
        )


def _quiet_progress_bars() -> None:
    """No "Loading weights" bars from transformers: compare's output is its table.

    Nothing is imported for it (a model on ONNX Runtime never loads transformers): a
    library not loaded yet reads the variable when it is, one loaded already is told.
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "huggingface_hub.utils" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    if "transformers.utils.logging" in sys.modules:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def render_comparison(response: CompareResponse, *, width: int = 120, full: bool = False) -> str:
    """The groups x documents table, a legend, and claims per label per document.

    A cell is the document's label for the group, ``-`` where the document does
    not carry the claim; ``!`` marks groups whose documents disagree. Each group's
    claim is cut to ``width``, or printed whole with ``full``.
    """
    ids = [document.id for document in response.documents]
    column = max(len(label.value) for label in LABELS)
    widths = [max(column, len(_fit(id_, ID_WIDTH))) for id_ in ids]
    number = len(str(len(response.groups)))
    disagreements = sum(group.disagreement for group in response.groups)

    lines = [
        f"{len(ids)} documents, {len(response.groups)} claim groups "
        f"({disagreements} with disagreement) at similarity threshold {response.threshold:g}",
        "",
    ]
    if response.groups:
        header = [f"{'#':>{number}}", " "]
        header += [f"{_fit(id_, ID_WIDTH):<{w}}" for id_, w in zip(ids, widths, strict=True)]
        prefix_width = len("  ".join(header)) + 2
        lines.append("  ".join([*header, "claim"]))
        for position, group in enumerate(response.groups, start=1):
            labels = {member.document: member.label.value for member in group.members}
            claim = group.proposition
            if not full:
                claim = _fit(claim, max(width - prefix_width, 30))
            row = [
                f"{position:>{number}}",
                DISAGREEMENT_MARK if group.disagreement else " ",
                *(
                    f"{labels.get(id_, EMPTY_CELL):<{w}}"
                    for id_, w in zip(ids, widths, strict=True)
                ),
                claim,
            ]
            lines.append("  ".join(row))
        lines += [
            "",
            f"{DISAGREEMENT_MARK} the documents disagree; {EMPTY_CELL} the document does not "
            "carry the claim; claim: the group's most central claim, reporting frame removed",
        ]
    else:
        lines.append("No claim is carried by two or more documents at this threshold.")

    names = [label.value for label in LABELS]
    id_width = max([len("document"), *(len(id_) for id_ in ids)])
    lines += ["", "  ".join([f"{'document':<{id_width}}", "claims", *names])]
    for document in response.documents:
        counts = [document.counts.get(label, 0) for label in LABELS]
        cells = [f"{count:>{len(name)}}" for count, name in zip(counts, names, strict=True)]
        lines.append(
            "  ".join([f"{document.id:<{id_width}}", f"{len(document.claims):>6}", *cells])
        )
    return "\n".join(lines)


@app.command()
def compare(
    files: Annotated[
        list[Path], typer.Argument(metavar="FILE", help="UTF-8 text files, two or more")
    ],
    json_out: Annotated[
        Path | None, typer.Option("--json", metavar="OUT", help="Also write the /compare JSON")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Similarity above which claims group (CLAIMSTANCE_SIMILARITY_THRESHOLD); "
            "unset: the story's own"
        ),
    ] = None,
    no_segment: Annotated[
        bool, typer.Option("--no-segment", help="Treat each file as one claim (short statements)")
    ] = False,
    full: Annotated[
        bool,
        typer.Option("--full", help="Print each claim whole instead of cutting it to the terminal"),
    ] = False,
    model_uri: ModelUriOption = None,
    device: DeviceOption = None,
    embedder_dir: Annotated[
        Path | None,
        typer.Option(help="Sentence encoder directory (CLAIMSTANCE_EMBEDDER_DIR)"),
    ] = None,
    log_level: Annotated[LogLevel, typer.Option(help="Logging level")] = "warning",
) -> None:
    """Label the claims of several articles on one story and group the claims they share.

    Prints a table of claim groups x files, then claims per label per file. Unlike the
    API, no document count or length limit applies.
    """
    from model.resolve import ModelNotFoundError
    from service.schemas import MIN_DOCUMENTS

    if len(files) < MIN_DOCUMENTS:
        raise typer.BadParameter(
            f"compare needs at least {MIN_DOCUMENTS} files, got {len(files)}",
            param_hint="'FILE'",
        )
    logging.basicConfig(level=log_level.upper(), format=LOG_FORMAT)
    _quiet_progress_bars()
    settings = settings_from_flags(
        model_uri=model_uri,
        device=device,
        embedder_dir=embedder_dir,
        similarity_threshold=threshold,
    )
    try:
        response = compare_files(files, settings, segment=not no_segment)
        if json_out is not None:
            json_out.write_text(response.model_dump_json(indent=2) + "\n", encoding="utf-8")
    except CompareInputError as error:
        _fail(str(error))
    except (ModelNotFoundError, ValueError, OSError, ImportError) as error:
        # Loading failures: no registered model, a wrong directory or device, an unwritable OUT.
        _fail(str(error))
    width = shutil.get_terminal_size((120, 24)).columns
    typer.echo(render_comparison(response, width=width, full=full))
    if json_out is not None:
        typer.echo(f"\nwrote {json_out}", err=True)


# --- hash-key -------------------------------------------------------------------------


@app.command("hash-key")
def hash_key() -> None:
    """Print the CLAIMSTANCE_API_KEYS_FILE line for the key read from stdin."""
    from service.auth import digest

    key = sys.stdin.readline().strip()
    if not key:
        _fail("no key on stdin: `printf %s KEY | python -m service hash-key`")
    typer.echo(digest(key).hex())
