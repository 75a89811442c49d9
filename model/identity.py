"""Which model is which: the registered names, the alias that serves, the default URI.

Each is said here once. The service's settings, training's config and CLI, and the
registry code read them; the Makefile and the YAML experiments name them too (the
accurate experiment must register under its own name), and a test keeps those in step.
"""

from __future__ import annotations

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
