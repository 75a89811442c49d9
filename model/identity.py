"""Which model is which: the registered names, the alias that serves, the default URI.

Each is said here once. The service's settings, training's config and CLI, and the
registry code read them; the Makefile and the YAML experiments name them too (the
accurate experiment must register under its own name), and a test keeps those in step.
"""

from __future__ import annotations

import re

# The registered models: the fast one the service serves by default, and the accurate one
# (all-mpnet-base-v2, training/configs/accurate.yaml) that also teaches the fast one.
FAST_MODEL = "claimstance"
ACCURATE_MODEL = "claimstance-accurate"
# The alias training moves to a version that beats the last, and `promote` moves by hand.
CHAMPION = "champion"


def champion_uri(name: str = FAST_MODEL) -> str:
    """``models:/<name>@champion``: the version of ``name`` that serves now."""
    return f"models:/{name}@{CHAMPION}"


# What the service serves and every training command reads unless told otherwise.
DEFAULT_MODEL_URI = champion_uri(FAST_MODEL)
ACCURATE_MODEL_URI = champion_uri(ACCURATE_MODEL)


# What a folder name may hold: registered names are free text.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def folder_part(text: str) -> str:
    """``text`` safe as one part of a folder name: ``team/model name`` -> ``team_model_name``."""
    return _UNSAFE.sub("_", text).strip("_") or "_"


def model_folder_name(name: str, run_id: str | None, version: str | None = None) -> str:
    """``claimstance-v3-run-<run id>``: a model's folder, named by model, version and run.

    The run id alone keeps it unique (two runs in the same second, or on two machines,
    never share a folder); the version is left out while none is known yet, as when
    training writes the folder before registering it.
    """
    parts = [name, *([f"v{version}"] if version is not None else []), f"run-{run_id or 'none'}"]
    return "-".join(folder_part(part) for part in parts)
