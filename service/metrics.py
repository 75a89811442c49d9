"""Prometheus metrics, kept in a registry per app so several apps (tests) never collide."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from model.labels import LABELS, Label

# Seconds; CPU inference on a long article takes seconds, a health probe microseconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# The top label's probability is at least 1/3 with three labels; calibrated models put
# most claims high, so the upper range is cut finer.
CONFIDENCE_BUCKETS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1.0)


def _flag(value: bool) -> str:
    """Prometheus label values are strings; lower case as PromQL users write them."""
    return "true" if value else "false"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "claimstance_http_requests",
            "HTTP requests by method, route template and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "claimstance_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.claims = Counter(
            "claimstance_claims",
            "Claims classified, by predicted label",
            ["label"],
            registry=self.registry,
        )
        # With model_info, a shift in labels or confidence can be tied to a model version.
        self.confidence = Histogram(
            "claimstance_claim_top_probability",
            "Probability of each claim's predicted label, by label",
            ["label"],
            buckets=CONFIDENCE_BUCKETS,
            registry=self.registry,
        )
        self.model_info = Gauge(
            "claimstance_model_info",
            "1 for the model serving now: its registered name, version, run and backend",
            ["name", "version", "run_id", "backend"],
            registry=self.registry,
        )
        self.texts = Counter(
            "claimstance_texts", "Texts received by /classify", registry=self.registry
        )
        self.documents = Counter(
            "claimstance_documents", "Documents received by /compare", registry=self.registry
        )
        self.groups = Counter(
            "claimstance_claim_groups",
            "Claim groups found by /compare, by whether their documents disagree",
            ["disagreement"],
            registry=self.registry,
        )
        self.model_loaded = Gauge(
            "claimstance_model_loaded",
            "1 when a model is loaded and serving",
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "claimstance_requests_in_flight",
            "/classify, /compare and reload requests running now (bounded by max_in_flight)",
            registry=self.registry,
        )
        self.reloads = Counter(
            "claimstance_model_reloads",
            "Model reloads (POST /admin/reload or SIGHUP), by outcome",
            ["outcome"],
            registry=self.registry,
        )
        # Every label appears from the start, so dashboards see 0 rather than no series.
        for outcome in ("success", "failure"):
            self.reloads.labels(outcome=outcome)
        for label in LABELS:
            self.claims.labels(label=label.value)
        for disagreement in (True, False):
            self.groups.labels(disagreement=_flag(disagreement))

    def record_claims(self, labels: Iterable[Label]) -> None:
        for label in labels:
            self.claims.labels(label=label.value).inc()

    def record_confidence(self, scores: Iterable[Mapping[Label, float]]) -> None:
        """The top label's probability of each claim, from its calibrated scores."""
        for claim_scores in scores:
            label = max(claim_scores, key=claim_scores.__getitem__)
            self.confidence.labels(label=label.value).observe(claim_scores[label])

    def serving(self, name: str, version: str | None, run_id: str | None, backend: str) -> None:
        """The model now serving: one model_info series, the previous model's removed."""
        self.model_info.clear()
        self.model_info.labels(
            name=name, version=version or "", run_id=run_id or "", backend=backend
        ).set(1)

    def record_groups(self, disagreements: Iterable[bool]) -> None:
        for disagreement in disagreements:
            self.groups.labels(disagreement=_flag(disagreement)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def flat_routes(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    """The routes, with those of included routers in their place.

    FastAPI keeps an included router as one entry (``original_router`` holds its
    routes); it matches without a path of its own, so a request refused before
    routing was counted as "unmatched". The service's routers have no prefix.
    """
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from flat_routes(inner.routes)
        else:
            yield route


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template.

    Pure ASGI rather than BaseHTTPMiddleware: it adds no task per request and
    sees the status even of responses produced by exception handlers. The
    template (``/classify``), not the raw path, labels the series, so a client
    probing random URLs cannot grow the metric without bound. Routes that do not
    record themselves in the scope (the docs, the static files' mount) are
    matched against ``routes``, so they get their own template too.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Sequence[BaseRoute] = ()) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    def _template(self, scope: Scope, arrived: Scope) -> str:
        path = getattr(scope.get("route"), "path", None)
        if path:
            return path
        # Matched on the scope as it arrived: a mount rewrites root_path on the way in.
        # A request refused before routing (401, 503) is matched here too.
        for route in flat_routes(self.routes):
            match, _ = route.matches(arrived)
            if match is Match.FULL:
                return getattr(route, "path", None) or "unmatched"
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        arrived = dict(scope)
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = self._template(scope, arrived)
            method = scope["method"]
            self.metrics.requests.labels(method=method, route=route, status=str(status)).inc()
            self.metrics.latency.labels(method=method, route=route).observe(
                time.perf_counter() - start
            )
