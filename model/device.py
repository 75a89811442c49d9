"""Pick the torch device: CUDA when present, unless a setting forces one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch

DeviceSetting = Literal["auto", "cpu", "cuda"]


def resolve_device(setting: str = "auto") -> torch.device:
    """Return the device for ``setting`` ("auto", "cpu", "cuda" or "cuda:N").

    A forced "cuda" on a machine without one is an error rather than a silent
    fallback: the user asked for the GPU and should know they did not get it.
    """
    # Imported here: the settings import this module, and a service on ONNX needs no torch.
    import torch

    choice = setting.strip().lower()
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cpu":
        return torch.device("cpu")
    if choice.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {setting!r} requested but CUDA is not available here")
        return torch.device(choice)
    raise ValueError(f"unknown device {setting!r}: expected auto, cpu, cuda or cuda:N")
