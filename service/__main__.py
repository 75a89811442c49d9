"""``python -m service``: serve the API and web page, or compare articles in the terminal.

    python -m service [serve] [--host H] [--port P] [--model-uri URI] [--device D]
    python -m service compare FILE... [--json OUT] [--threshold X] [--model-uri URI] [--device D]
    python -m service hash-key < KEY

``serve`` is the default command. ``compare`` labels the claims of several
articles on one story, groups the claims they share, and prints the groups x
files table that /compare returns (``--json`` writes the response itself).
``hash-key`` prints the line of a CLAIMSTANCE_API_KEYS_FILE for the key read
from stdin. Flags override the ``CLAIMSTANCE_*`` environment, which overrides
the defaults.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from model.labels import LABELS
from service.app import create_app, load_embedder, load_model
from service.auth import ApiKeyFileError, digest
from service.inference import compare_texts
from service.registry import ModelNotFoundError
from service.schemas import MIN_DOCUMENTS, CompareResponse
from service.settings import Settings

COMMANDS = ("serve", "compare", "hash-key")
DEVICES = ["auto", "cpu", "cuda"]
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The terminal table: at most this many characters of a file id head a column.
ID_WIDTH = 14
EMPTY_CELL = "-"
DISAGREEMENT_MARK = "!"


class CompareInputError(Exception):
    """A file the user named cannot be compared; the message says which and why."""


# --- arguments ------------------------------------------------------------------------


def _add_model_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-uri", help="model directory or MLflow URI (CLAIMSTANCE_MODEL_URI)")
    parser.add_argument("--device", choices=DEVICES, help="torch device (CLAIMSTANCE_DEVICE)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Flags of ``serve``, the default command."""
    parser = argparse.ArgumentParser(
        prog="python -m service [serve]",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", help="interface to bind (CLAIMSTANCE_HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (CLAIMSTANCE_PORT)")
    _add_model_flags(parser)
    parser.add_argument("--log-level", default="info", help="logging level (default: info)")
    return parser.parse_args(argv)


def _threshold(value: str) -> float:
    try:
        threshold = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    # "not 0 < x <= 1" also refuses NaN.
    if not 0.0 < threshold <= 1.0:
        raise argparse.ArgumentTypeError(f"must be greater than 0 and at most 1, got {value}")
    return threshold


def parse_compare_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m service compare",
        description="Label the claims of several articles on one story and group the claims "
        "they share: prints a table of claim groups x files, then claims per label per file. "
        "Unlike the API, no document count or length limit applies.",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="UTF-8 text files")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the /compare JSON")
    parser.add_argument(
        "--threshold",
        type=_threshold,
        help="cosine similarity above which claims group (CLAIMSTANCE_SIMILARITY_THRESHOLD)",
    )
    parser.add_argument(
        "--no-segment", action="store_true", help="treat each file as one claim (short statements)"
    )
    _add_model_flags(parser)
    parser.add_argument(
        "--embedder-dir", help="sentence encoder directory (CLAIMSTANCE_EMBEDDER_DIR)"
    )
    parser.add_argument("--log-level", default="warning", help="logging level (default: warning)")
    args = parser.parse_args(argv)
    if len(args.files) < MIN_DOCUMENTS:
        parser.error(f"compare needs at least {MIN_DOCUMENTS} files, got {len(args.files)}")
    return args


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides = {
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "model_uri": args.model_uri,
        "device": args.device,
        "embedder_dir": getattr(args, "embedder_dir", None),
        "similarity_threshold": getattr(args, "threshold", None),
    }
    # Only flags actually given override; the rest come from the environment.
    return Settings(**{key: value for key, value in overrides.items() if value is not None})


# --- serve ----------------------------------------------------------------------------


def run_server(app: FastAPI, settings: Settings, log_level: str = "info") -> None:
    """uvicorn on the settings' host and port, until SIGTERM or Ctrl-C."""
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        # Requests in flight get this long after SIGTERM; then they are cancelled and their
        # work stops at its next budget check (service.budget), so shutdown is bounded.
        timeout_graceful_shutdown=settings.shutdown_grace_s,
    )


def serve(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or Ctrl-C; the exit status (2 for unusable settings)."""
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT)
    try:
        settings = settings_from_args(args)
        app = create_app(settings)
    except (ValidationError, ApiKeyFileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    run_server(app, settings, args.log_level)
    return 0


def hash_key_main() -> int:
    """``python -m service hash-key``: the keys-file line for the key on stdin."""
    key = sys.stdin.readline().strip()
    if not key:
        print(
            "error: no key on stdin: `printf %s KEY | python -m service hash-key`", file=sys.stderr
        )
        return 2
    print(digest(key).hex())
    return 0


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
    documents = read_documents(paths)
    with ExitStack() as scratch:
        loaded = load_model(settings, scratch)
        embedder = load_embedder(settings, loaded.directory)
        return compare_texts(
            loaded,
            embedder,
            documents,
            threshold=settings.similarity_threshold,
            segment=segment,
        )


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def render_comparison(response: CompareResponse, *, width: int = 120) -> str:
    """The groups x documents table, a legend, and claims per label per document.

    A cell is the document's label for the group, ``-`` where the document does
    not carry the claim; ``!`` marks groups whose documents disagree.
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
            row = [
                f"{position:>{number}}",
                DISAGREEMENT_MARK if group.disagreement else " ",
                *(
                    f"{labels.get(id_, EMPTY_CELL):<{w}}"
                    for id_, w in zip(ids, widths, strict=True)
                ),
                _fit(group.representative, max(width - prefix_width, 30)),
            ]
            lines.append("  ".join(row))
        lines += [
            "",
            f"{DISAGREEMENT_MARK} the documents disagree; {EMPTY_CELL} the document does not "
            "carry the claim; claim: the member closest to the group's centre",
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


def compare_main(argv: list[str] | None = None) -> int:
    """``python -m service compare``: the exit status; errors are one line on stderr."""
    args = parse_compare_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT)
    try:
        settings = settings_from_args(args)
        response = compare_files(args.files, settings, segment=not args.no_segment)
        if args.json is not None:
            args.json.write_text(response.model_dump_json(indent=2) + "\n", encoding="utf-8")
    except CompareInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except ValidationError as error:
        print(f"error: invalid settings: {error}", file=sys.stderr)
        return 1
    except (ModelNotFoundError, ValueError, OSError, ImportError) as error:
        # Loading failures: no registered model, a wrong directory or device, an unwritable OUT.
        print(f"error: {error}", file=sys.stderr)
        return 1
    width = shutil.get_terminal_size((120, 24)).columns
    print(render_comparison(response, width=width))
    if args.json is not None:
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    # No command means serve, so `python -m service --host H --port P` works as it always has.
    command = arguments.pop(0) if arguments and arguments[0] in COMMANDS else "serve"
    if command == "compare":
        sys.exit(compare_main(arguments))
    if command == "hash-key":
        sys.exit(hash_key_main())
    status = serve(parse_args(arguments))
    if status:
        sys.exit(status)


if __name__ == "__main__":
    main()
