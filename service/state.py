"""What the app keeps between requests, typed: ``app.state`` is a ``ServiceState``.

Starlette's ``State`` takes any attribute; this subclass names the ones the service
sets in ``create_app`` and the lifespan, so code that reads them through
``service_state`` is type-checked, while ``app.state.model`` still reads as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.datastructures import State

if TYPE_CHECKING:
    from prometheus_client import Counter

    from model.feedback import FeedbackStore
    from model.story import Embedder, GroupingSetting
    from service.metrics import Metrics
    from service.responses import LoadedModel
    from service.serving import ModelSlot
    from service.settings import Settings


class ServiceState(State):
    """The app's state; ``ModelSlot`` is the only writer of ``model``, ``embedder`` and
    ``grouping``."""

    settings: Settings
    metrics: Metrics
    # The serving classifier and /compare's encoder, or None with the reason in *_error.
    model: LoadedModel | None
    embedder: Embedder | None
    # How /compare groups claims with that encoder (service.serving.grouping_in_effect).
    grouping: GroupingSetting | None
    load_error: str | None
    embedder_error: str | None
    # An encoder passed to create_app is kept across reloads rather than loaded again.
    embedder_given: bool
    models: ModelSlot
    feedback: FeedbackStore
    corrections: Counter


def service_state(app: Starlette) -> ServiceState:
    """``app.state``, typed (``create_app`` made it a ``ServiceState``)."""
    state = app.state
    if not isinstance(state, ServiceState):
        raise TypeError("the app was not built by service.app.create_app")
    return state
