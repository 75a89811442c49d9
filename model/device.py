"""Pick the torch device: CUDA when present, unless a setting forces one."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    import torch

# The one list of device choices: the service's settings and CLI and the training config
# take this type; "cuda:N" is accepted by resolve_device for code that picks a GPU itself.
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
    raise ValueError(
        f"unknown device {setting!r}: expected {', '.join(get_args(DeviceSetting))} or cuda:N"
    )


def gpu_visible() -> bool:
    """Whether an NVIDIA GPU could be in reach, judged without importing torch."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", "unset").strip() in {"", "-1"}:
        return False
    return Path("/dev/nvidiactl").exists() or any(Path("/dev").glob("nvidia[0-9]*"))


def resolve_device_name(setting: str) -> str:
    """``resolve_device`` as a name, importing torch only where a GPU may be in reach.

    Importing torch costs a second and hundreds of MB, which an ONNX service on a CPU
    machine never needs to pay.
    """
    choice = setting.strip().lower()
    if choice == "cpu" or (choice == "auto" and not gpu_visible()):
        return "cpu"
    if choice == "auto" and importlib.util.find_spec("torch") is None:
        return "cpu"
    return str(resolve_device(choice))
