"""Which weight files a model directory may be loaded from: safetensors, not pickles.

A pickle (``pytorch_model.bin``, a ``.pt`` head) can run code when it is loaded, so
a directory from an untrusted place could take over the process that loads it.
safetensors files hold tensors and nothing else. Pickled weights are refused
unless the caller says the directory is trusted (``CLAIMSTANCE_ALLOW_PICKLE``).

No torch here: the check runs before a backend decides to import it.
"""

from __future__ import annotations

from pathlib import Path

SAFE_SUFFIX = ".safetensors"
# What transformers and torch.save write when safetensors is not used.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
ALLOW_PICKLE_HINT = (
    "re-save the weights as safetensors, or, if you trust where the directory came from, "
    "allow pickles (CLAIMSTANCE_ALLOW_PICKLE=true)"
)


class PickledWeightsError(ValueError):
    """A model directory would have to be unpickled to load; the message says what to do."""


def pickled_files(directory: Path) -> list[str]:
    """Names of the pickled weight files at the top of ``directory``, sorted."""
    return sorted(
        path.name
        for path in Path(directory).iterdir()
        if path.is_file() and path.suffix.lower() in PICKLE_SUFFIXES
    )


def has_safetensors(directory: Path, stem: str = "model") -> bool:
    """``stem``.safetensors, or its sharded index, is in ``directory``."""
    path = Path(directory)
    return (path / f"{stem}{SAFE_SUFFIX}").is_file() or (
        path / f"{stem}{SAFE_SUFFIX}.index.json"
    ).is_file()


def refuse_pickle(directory: Path, name: str, *, allow_pickle: bool) -> None:
    """Raise unless ``allow_pickle``: loading ``name`` from ``directory`` would unpickle it."""
    if not allow_pickle:
        raise PickledWeightsError(
            f"{directory} holds pickled weights ({name}), which can run code when loaded: "
            f"{ALLOW_PICKLE_HINT}"
        )


def check_weights(directory: Path, *, allow_pickle: bool = False) -> None:
    """Refuse a directory whose encoder weights exist only as a pickle."""
    if has_safetensors(directory):
        return
    pickles = pickled_files(directory)
    if pickles:
        refuse_pickle(directory, ", ".join(pickles), allow_pickle=allow_pickle)
