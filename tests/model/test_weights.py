"""Safe loading: weights come from safetensors; a pickle is refused unless the caller trusts it."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from model.classifier import ClaimClassifier, ModelDirectoryError
from model.network import MEAN_HEAD_FILE, PICKLED_MEAN_HEAD_FILE

TEXTS = ["Moscow denied the reports.", "The purchases had not yet been completed."]


def _pickled_copy(tiny_model_dir: Path, directory: Path) -> Path:
    """The tiny model with its weights as pytorch_model.bin, as older transformers saved them."""
    shutil.copytree(tiny_model_dir, directory)
    weights = load_file(directory / "model.safetensors")
    (directory / "model.safetensors").unlink()
    torch.save(weights, directory / "pytorch_model.bin")
    return directory


class _RunsCode:
    """What a hostile pickle holds: unpickling it runs a command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def test_pickled_weights_are_refused_with_a_clear_error(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    directory = _pickled_copy(tiny_model_dir, tmp_path / "pickled")
    with pytest.raises(ModelDirectoryError) as error:
        ClaimClassifier.from_directory(directory, device="cpu", backend="torch")
    message = str(error.value)
    assert "pickled weights (pytorch_model.bin)" in message
    assert "CLAIMSTANCE_ALLOW_PICKLE=true" in message


def test_pickled_weights_load_when_allowed(tiny_model_dir: Path, tmp_path: Path) -> None:
    directory = _pickled_copy(tiny_model_dir, tmp_path / "pickled")
    trusted = ClaimClassifier.from_directory(
        directory, device="cpu", backend="torch", allow_pickle=True
    )
    reference = ClaimClassifier.from_directory(tiny_model_dir, device="cpu", backend="torch")
    np.testing.assert_allclose(trusted.logits(TEXTS), reference.logits(TEXTS), atol=1e-6)


def test_a_hostile_pickle_never_runs(tiny_model_dir: Path, tmp_path: Path) -> None:
    directory = tmp_path / "hostile"
    shutil.copytree(tiny_model_dir, directory)
    (directory / "model.safetensors").unlink()
    marker = tmp_path / "pwned"
    (directory / "pytorch_model.bin").write_bytes(pickle.dumps(_RunsCode(marker)))
    with pytest.raises(ModelDirectoryError, match="pickled weights"):
        ClaimClassifier.from_directory(directory, device="cpu", backend="torch")
    assert not marker.exists()


def test_the_mean_pooling_head_is_saved_as_safetensors(mean_model_dir: Path) -> None:
    assert (mean_model_dir / MEAN_HEAD_FILE).is_file()
    assert MEAN_HEAD_FILE.endswith(".safetensors")
    assert not (mean_model_dir / PICKLED_MEAN_HEAD_FILE).exists()


def test_an_older_pickled_head_loads_only_when_allowed(mean_model_dir: Path) -> None:
    reference = ClaimClassifier.from_directory(mean_model_dir, device="cpu", backend="torch")
    head = load_file(mean_model_dir / MEAN_HEAD_FILE)
    (mean_model_dir / MEAN_HEAD_FILE).unlink()
    torch.save(head, mean_model_dir / PICKLED_MEAN_HEAD_FILE)
    with pytest.raises(ModelDirectoryError, match=r"pickled weights \(mean_pooling_head.pt\)"):
        ClaimClassifier.from_directory(mean_model_dir, device="cpu", backend="torch")
    trusted = ClaimClassifier.from_directory(
        mean_model_dir, device="cpu", backend="torch", allow_pickle=True
    )
    np.testing.assert_allclose(trusted.logits(TEXTS), reference.logits(TEXTS), atol=1e-6)
