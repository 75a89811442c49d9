"""Batch scoring: a file of texts in, a file of labelled claims out, a chunk at a time.

Input is JSON Lines, CSV or Parquet with an id and a text column (names settable);
output is a row per claim (``model.table``) as JSON Lines, CSV or Parquet. Only one
chunk of texts and its claims are in memory at once, whatever the file's size.

A re-run with the same output skips the ids already there, so an interrupted job
picks up where it stopped:

- JSON Lines: one file, appended a chunk at a time. On a re-run, the rows of the
  last id in the file are dropped and that text is scored again: a kill in the
  middle of a write can only have cut that one.
- CSV: the same, but a quoted text may span lines, so a re-run parses the file and
  rewrites it (to a temporary name, then renamed) without the last id's rows.
- Parquet: a folder of part files (as Spark writes), one per chunk, each written
  under a temporary name and renamed, so a part is either whole or absent.

A text with no claim (empty, or boilerplate only) adds no row, so a re-run looks at
it again; that costs no model call.

Every output says which model scored it: ``OUT.model.json`` beside a JSON Lines or CSV file,
``_model.json`` in a Parquet folder (readers skip files named with ``_``) and the same
in each part's schema metadata. A re-run with another model is refused before it
touches the output, so one file never mixes two models' labels.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from tqdm.auto import tqdm

from model.labelling import StanceClassifier, label_texts
from model.table import CLAIM_COLUMNS, ID_COLUMN, as_text, claim_table
from training.jsonl import JsonLineError, json_objects

logger = logging.getLogger(__name__)

InputFormat = Literal["jsonl", "csv", "parquet"]
OutputFormat = Literal["jsonl", "csv", "parquet"]
INPUT_SUFFIXES: dict[str, InputFormat] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
OUTPUT_SUFFIXES: dict[str, OutputFormat] = {
    ".jsonl": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
}
PART_NAME = "part-{:05d}.parquet"
# Which model scored an output (see the module docstring).
PROVENANCE_FILE = "_model.json"
PROVENANCE_SUFFIX = ".model.json"
PROVENANCE_METADATA_KEY = b"claimstance.model"
_PART = re.compile(r"^part-(\d{5,})\.parquet$")
DEFAULT_CHUNK_SIZE = 1000


class ScoreError(ValueError):
    """An input or output that cannot be scored; the message says which and why."""


@dataclass(frozen=True)
class ScoreReport:
    texts_read: int
    texts_skipped: int  # already in the output
    texts_scored: int
    claims: int
    seconds: float

    @property
    def texts_per_second(self) -> float:
        return self.texts_scored / self.seconds if self.seconds else 0.0


Chunk = tuple[list[str], list[str]]  # ids, texts


def _format(path: Path, suffixes: dict[str, Any], what: str) -> Any:
    found = suffixes.get(path.suffix.lower())
    if found is None:
        raise ScoreError(
            f"{what} {path}: unknown format {path.suffix or '(no suffix)'}; "
            f"expected one of {', '.join(suffixes)}"
        )
    return found


def _missing_columns(path: Path, available: list[str], wanted: list[str]) -> None:
    missing = [name for name in wanted if name not in available]
    if missing:
        raise ScoreError(
            f"{path} has no column {', '.join(repr(m) for m in missing)}; its columns are "
            f"{', '.join(repr(a) for a in available)} (set --id-column / --text-column)"
        )


def _row_id(value: object, path: Path, row: int) -> str:
    if value is None or (isinstance(value, float) and value != value):
        raise ScoreError(f"{path}: row {row} has no id")
    return str(value)


def _json_records(path: Path, lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        yield from json_objects(lines)
    except JsonLineError as error:
        if error.reason is None:
            raise ScoreError(f"{path}:{error.number} is not a JSON object") from None
        raise ScoreError(f"{path}:{error.number} is not JSON: {error.reason}") from None


def utf8_newlines(path: Path) -> int:
    """The file's newlines, read as bytes a block at a time; raises ScoreError naming the
    line and offset of the first byte that is not UTF-8."""
    newlines = offset = 0
    rest = b""
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            # Cut after the last newline: a newline byte is never inside a UTF-8 sequence,
            # so each piece decodes alone and an error's offset is exact.
            data = rest + block
            cut = data.rfind(b"\n") + 1
            whole, rest = data[:cut], data[cut:]
            _decode_piece(path, whole, offset, newlines)
            newlines += whole.count(b"\n")
            offset += len(whole)
    _decode_piece(path, rest, offset, newlines)
    return newlines


def _decode_piece(path: Path, piece: bytes, offset: int, newlines: int) -> None:
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError as error:
        line = newlines + piece[: error.start].count(b"\n") + 1
        raise ScoreError(
            f"{path} is not UTF-8: byte {piece[error.start]:#04x} at offset "
            f"{offset + error.start} (line {line}) cannot be read; save it as UTF-8"
        ) from None


def _columns(path: Path, kind: InputFormat) -> list[str]:
    """The input's columns: the header, the schema, or the first JSON Lines record's keys."""
    if path.stat().st_size == 0:
        raise ScoreError(f"input {path} is empty: no texts to score")
    try:
        if kind == "csv":
            import pandas as pd

            return list(pd.read_csv(path, nrows=0, encoding="utf-8").columns)
        if kind == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).schema_arrow.names
        with path.open(encoding="utf-8") as handle:
            for _, record in _json_records(path, handle):
                return list(record)
    except UnicodeDecodeError:
        utf8_newlines(path)  # names the line and the byte
        raise
    except (ValueError, OSError) as error:
        # pandas' EmptyDataError and ParserError, pyarrow's ArrowInvalid: not a file of
        # this format. (ScoreError is a ValueError too: it goes on as it is.)
        if isinstance(error, ScoreError):
            raise
        raise ScoreError(f"input {path} cannot be read as {kind}: {error}") from None
    raise ScoreError(f"input {path} has no JSON object: no texts to score")


def check_input(path: Path, id_column: str, text_column: str) -> str | None:
    """Check the input's existence, format and columns (cheap: before a model is loaded).

    Returns the id column, or None when the input has no ``id`` column and none was named:
    its rows are then numbered from 1, in file order, and the numbers are the ids.
    """
    if not path.is_file():
        raise ScoreError(f"input {path} does not exist")
    kind: InputFormat = _format(path, INPUT_SUFFIXES, "input")
    available = _columns(path, kind)
    if id_column == ID_COLUMN and ID_COLUMN not in available:
        _missing_columns(path, available, [text_column])
        return None
    _missing_columns(path, available, [id_column, text_column])
    return id_column


def read_chunks(
    path: Path, id_column: str, text_column: str, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Iterator[Chunk]:
    """(ids, texts) a chunk at a time, in file order; ids become strings (row numbers when
    the input has no id column, see check_input).

    The file's existence, format and columns are checked now, before anything is read.
    """
    found = check_input(path, id_column, text_column)
    kind: InputFormat = _format(path, INPUT_SUFFIXES, "input")
    if kind == "jsonl":
        return _jsonl_chunks(path, found, text_column, chunk_size)
    if kind == "csv":
        return _csv_chunks(path, found, text_column, chunk_size)
    return _parquet_chunks(path, found, text_column, chunk_size)


def _numbers(start: int, count: int) -> list[str]:
    return [str(number) for number in range(start + 1, start + count + 1)]


def _csv_chunks(
    path: Path, id_column: str | None, text_column: str, chunk_size: int
) -> Iterator[Chunk]:
    import pandas as pd

    columns = [id_column, text_column] if id_column else [text_column]

    def chunks() -> Iterator[Chunk]:
        row = 0
        # Strings as written: no guessing of numbers, and "NA" is a text, not a missing value.
        frames = pd.read_csv(
            path,
            usecols=columns,
            dtype=str,
            keep_default_na=False,
            chunksize=chunk_size,
            encoding="utf-8",
        )
        for frame in _parsed(path, frames):
            ids = (
                [_row_id(v, path, row + i) for i, v in enumerate(frame[id_column])]
                if id_column
                else _numbers(row, len(frame))
            )
            row += len(frame)
            yield ids, [as_text(v) for v in frame[text_column]]

    return chunks()


def _parsed(path: Path, frames: Iterable[Any]) -> Iterator[Any]:
    """pandas' chunks, its parse errors (a row with too many fields) as ScoreError."""
    import pandas as pd

    iterator = iter(frames)
    while True:
        try:
            frame = next(iterator)
        except StopIteration:
            return
        except pd.errors.ParserError as error:
            raise ScoreError(f"{path} is not valid CSV: {error}") from None
        yield frame


def _parquet_chunks(
    path: Path, id_column: str | None, text_column: str, chunk_size: int
) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    columns = [id_column, text_column] if id_column else [text_column]
    handle = pq.ParquetFile(path)

    def chunks() -> Iterator[Chunk]:
        row = 0
        for batch in handle.iter_batches(batch_size=chunk_size, columns=columns):
            values = batch.to_pydict()
            ids = (
                [_row_id(v, path, row + i) for i, v in enumerate(values[id_column])]
                if id_column
                else _numbers(row, batch.num_rows)
            )
            row += batch.num_rows
            yield ids, [as_text(v) for v in values[text_column]]

    return chunks()


def _jsonl_chunks(
    path: Path, id_column: str | None, text_column: str, chunk_size: int
) -> Iterator[Chunk]:
    ids: list[str] = []
    texts: list[str] = []
    records = 0
    with path.open(encoding="utf-8") as handle:
        for number, record in _json_records(path, handle):
            wanted = [id_column, text_column] if id_column else [text_column]
            _missing_columns(Path(f"{path}:{number}"), list(record), wanted)
            records += 1
            ids.append(_row_id(record[id_column], path, number) if id_column else str(records))
            texts.append(as_text(record[text_column]))
            if len(ids) == chunk_size:
                yield ids, texts
                ids, texts = [], []
    if ids:
        yield ids, texts


def count_rows(path: Path) -> int | None:
    """The input's row count for the progress bar's total and ETA: Parquet's footer, JSONL's
    lines, CSV's parsed rows. The text formats are read whole, so a byte that is not UTF-8
    is found here (ScoreError), before a model is loaded for them."""
    kind = INPUT_SUFFIXES.get(path.suffix.lower())
    if kind == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    if kind == "jsonl":
        # Checks the encoding on the way; blank lines are counted, a last line without a
        # newline too.
        newlines = utf8_newlines(path)
        with path.open("rb") as handle:
            handle.seek(max(path.stat().st_size - 1, 0))
            unterminated = handle.read(1) not in (b"\n", b"")
        return newlines + unterminated
    if kind == "csv":
        # Rows may span lines (quoted newlines): counted by parsing, one quick pass.
        try:
            with path.open(encoding="utf-8", newline="") as handle:
                return max(sum(1 for _ in csv.reader(handle)) - 1, 0)
        except UnicodeDecodeError:
            utf8_newlines(path)  # names the line and the byte
            raise
    return None


class ClaimWriter(Protocol):
    def resume(self) -> set[str]:
        """Ready the output for appending; the ids it already holds."""
        ...

    def write(self, columns: dict[str, list[Any]]) -> None: ...


class JsonlWriter:
    """Appends each chunk's rows to one JSON Lines file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def resume(self) -> set[str]:
        """Ids already written, after dropping the rows of the last one (it may be cut short)."""
        if not self.path.is_file():
            return set()
        done: set[str] = set()
        last_id: str | None = None
        last_start = 0  # byte offset of the first row of the last id
        offset = 0
        with self.path.open("rb") as handle:
            for line in handle:
                if not line.endswith(b"\n"):
                    break  # a row cut short
                try:
                    row_id = str(json.loads(line)[ID_COLUMN])
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise ScoreError(
                        f"{self.path} is not claimstance output (bad row at byte {offset}); "
                        "choose another output"
                    ) from None
                if row_id != last_id:
                    if last_id is not None:
                        done.add(last_id)
                    last_id, last_start = row_id, offset
                offset += len(line)
        with self.path.open("r+b") as handle:
            handle.truncate(last_start)
        return done

    def write(self, columns: dict[str, list[Any]]) -> None:
        names = list(columns)
        rows = zip(*(columns[name] for name in names), strict=True)
        text = "".join(
            json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False) + "\n"
            for row in rows
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(text)


class CsvWriter:
    """Appends each chunk's rows to one CSV file (a header first, the ``model.table`` columns)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def resume(self) -> set[str]:
        """Ids already written, after dropping the last one's rows and any row cut short.

        A quoted text may span lines, so the file is parsed, and rewritten (to a temporary
        name, then renamed) without the rows that may be incomplete.
        """
        if not self.path.is_file():
            return set()
        header = list(CLAIM_COLUMNS)
        with self.path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        if not rows:
            return set()
        if rows[0] != header:
            raise ScoreError(f"{self.path} is not claimstance output (its header differs)")
        body = rows[1:]
        while body and len(body[-1]) != len(header):
            body.pop()  # cut short by a kill
        if body:
            last = body[-1][0]
            while body and body[-1][0] == last:
                body.pop()
        scratch = self.path.with_name(f".{self.path.name}.tmp")
        with scratch.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([header, *body])
        os.replace(scratch, self.path)
        return {row[0] for row in body}

    def write(self, columns: dict[str, list[Any]]) -> None:
        names = list(columns)
        new_file = not self.path.is_file() or self.path.stat().st_size == 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            if new_file:
                writer.writerow(names)
            writer.writerows(zip(*(columns[name] for name in names), strict=True))


class ParquetWriter:
    """Writes each chunk's rows as the next part file of a folder."""

    def __init__(self, path: Path) -> None:
        if path.exists() and not path.is_dir():
            raise ScoreError(
                f"{path} is a file; Parquet output is a folder of parts: remove it or choose another"
            )
        self.path = path
        self._next = 0
        # Schema metadata of every part written (the model that scored it).
        self.metadata: dict[bytes, bytes] = {}

    def _parts(self) -> list[tuple[int, Path]]:
        if not self.path.is_dir():
            return []
        return sorted(
            (int(match[1]), part)
            for part in self.path.iterdir()
            if (match := _PART.match(part.name)) is not None
        )

    def resume(self) -> set[str]:
        import pyarrow.parquet as pq

        if self.path.is_dir():
            for scratch in self.path.glob(".part-*.tmp"):  # left by a run that was stopped
                scratch.unlink()
        parts = self._parts()
        self._next = parts[-1][0] + 1 if parts else 0
        done: set[str] = set()
        for _, part in parts:
            done.update(
                str(v) for v in pq.read_table(part, columns=[ID_COLUMN])[ID_COLUMN].to_pylist()
            )
        return done

    def write(self, columns: dict[str, list[Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {str: pa.string(), int: pa.int64(), float: pa.float64()}
        schema = pa.schema(
            [(name, types[kind]) for name, kind in CLAIM_COLUMNS.items()],
            metadata=self.metadata or None,
        )
        self.path.mkdir(parents=True, exist_ok=True)
        part = self.path / PART_NAME.format(self._next)
        scratch = part.with_name(f".{part.name}.tmp")
        pq.write_table(pa.table(columns, schema=schema), scratch)
        # Whole or absent: a re-run never reads a part that was cut short.
        os.replace(scratch, part)
        self._next += 1


def model_provenance(model_uri: str, model_dir: Path, source: dict[str, str]) -> dict[str, str]:
    """What an output records of its model: the URI, name, version and run where the
    registry knows them (``source``), the card's base model and data hash, and
    ``identity``: the run id, or for a bare directory a digest of its card (which holds
    the run's scores and calibration, so two trainings differ)."""
    from model.card import CARD_FILE, ModelCard

    card_path = model_dir / CARD_FILE
    card_digest = (
        hashlib.sha256(card_path.read_bytes()).hexdigest()[:16] if card_path.is_file() else ""
    )
    card = ModelCard.load(model_dir)
    run_id = source.get("model_run_id", "")
    return {
        "model_uri": model_uri,
        **source,
        "base_model": card.base_model,
        "data_hash": card.data_hash,
        "identity": f"run:{run_id}" if run_id else f"card:{card_digest}",
    }


def provenance_path(output: Path) -> Path:
    if OUTPUT_SUFFIXES.get(output.suffix.lower()) == "parquet":
        return output / PROVENANCE_FILE
    return output.with_name(output.name + PROVENANCE_SUFFIX)


def _describe_model(record: dict[str, str]) -> str:
    version = f" version {record['model_version']}" if record.get("model_version") else ""
    run = f", run {record['model_run_id']}" if record.get("model_run_id") else ""
    return f"{record.get('model_uri', '?')}{version}{run}"


def check_provenance(output: Path, model: dict[str, str]) -> None:
    """Refuse to add to an output another model started; record this model on a new one."""
    path = provenance_path(output)
    if path.is_file():
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ScoreError(
                f"{path} is not a model record: remove it or choose another output"
            ) from None
        if recorded.get("identity") != model["identity"]:
            raise ScoreError(
                f"{output} was started by {_describe_model(recorded)}, not "
                f"{_describe_model(model)}: choose another output, or remove it to start over"
            )
        return
    if output.exists():
        logger.warning("%s names no model (written before outputs did): adding to it", output)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(json.dumps(model, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(scratch, path)


def claim_writer(path: Path) -> ClaimWriter:
    kind: OutputFormat = _format(path, OUTPUT_SUFFIXES, "output")
    if kind == "jsonl":
        return JsonlWriter(path)
    return CsvWriter(path) if kind == "csv" else ParquetWriter(path)


def score_file(
    classifier: StanceClassifier,
    source: Path,
    output: Path,
    *,
    id_column: str = ID_COLUMN,
    text_column: str = "text",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool = True,
    model: dict[str, str] | None = None,
    total: int | None = None,
) -> ScoreReport:
    """Label every claim of every text in ``source`` not yet in ``output``; append them there.

    ``model`` (``model_provenance``) is recorded with the output, and an output another
    model started is refused before anything is read or changed. ``total`` is the input's
    row count when the caller has it (``count_rows``); else it is counted here.
    """
    if chunk_size < 1:
        raise ScoreError("the chunk size must be at least 1")
    writer = claim_writer(output)
    chunks = read_chunks(source, id_column, text_column, chunk_size)
    if model is not None:
        check_provenance(output, model)
        if isinstance(writer, ParquetWriter):
            writer.metadata = {PROVENANCE_METADATA_KEY: json.dumps(model, sort_keys=True).encode()}
    done = writer.resume()
    if done:
        logger.info("%s already holds %d texts: skipping them", output, len(done))
    started = time.perf_counter()
    read = skipped = scored = claims = 0
    if total is None:
        total = count_rows(source)
    bar = tqdm(total=total, unit="text", desc="scoring", disable=not progress, mininterval=1.0)
    with bar:
        for ids, texts in chunks:
            read += len(ids)
            todo = [i for i, row_id in enumerate(ids) if row_id not in done]
            skipped += len(ids) - len(todo)
            if todo:
                todo_ids = [ids[i] for i in todo]
                table = claim_table(todo_ids, label_texts(classifier, [texts[i] for i in todo]))
                if table[ID_COLUMN]:
                    writer.write(table)
                scored += len(todo)
                claims += len(table[ID_COLUMN])
            bar.update(len(ids))
            bar.set_postfix(claims=claims, skipped=skipped, refresh=False)
    return ScoreReport(read, skipped, scored, claims, time.perf_counter() - started)
