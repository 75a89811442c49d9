"""``python -m training bench-hostile``: what each attack of issue 24 costs the real service.

The bench starts ``python -m service`` on a free loopback port with the model under test,
an API key, an admin key and a tracking URI whose password must never show
(``training.bench.server.running_service``), and sends each attack from this process: bodies
over each size limit, text shapes that were once slow to clean or segment, bodies that
stall, a client that leaves mid-request, a /compare of the most articles allowed, requests
without a valid key and probes of /health, /ready, /model and /metrics. A second service,
whose model cannot load from that credentialed store, is probed the same way.

For each attack one row: the HTTP status, the seconds the client waited, the answer's
bytes, the server's RSS before and after and its peak while the attack ran (VmHWM, reset
before each attack), the slowest /health answer meanwhile, and whether the protection held
(``training.bench.hostile_checks``). Nothing is sent anywhere but 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from training.bench.hostile_checks import (
    Check,
    Reply,
    Verdict,
    at_most_bytes,
    errors_are_json,
    errors_capped,
    fact_at_most,
    fact_equals,
    judge,
    never_a_server_error,
    no_leak,
    says,
    status_in,
    within,
    without_header,
)
from training.bench.hostile_send import (
    ANSWER_TIMEOUT_S,
    LOOPBACK,
    QUIET_WINDOW_S,
    Target,
    filled,
    honest_sentences,
    json_body,
    leave_mid_request,
    read_log,
    request,
    shape_text,
    slow_bodies,
    texts_of,
    unknown_fields,
)
from training.bench.server import (
    free_port,
    peak_rss_mb,
    reset_peak_rss,
    rss_mb,
    running_service,
)

# The model the second service fails to load: any registry URI sends it to the store.
UNLOADABLE_URI = "models:/claimstance@champion"
# An unreachable store answers at once with a refusal: MLflow's retries would only wait.
QUIET_MLFLOW = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}

# What a protection promises, in numbers. A refusal is answered at once, briefly and without
# building anything big: the attacks once cost 5-10 s, 57-88 MB of answer and 900 MB of RSS.
QUICK_S = 1.0
SMALL_BYTES = 4_096
REFUSAL_GROWTH_MB = 64.0
# Work that is accepted may run its compute budget plus one step (a window, a line, a pass).
BUDGET_MARGIN_S = 1.0
# The largest request the limits allow needs room for its batches' activations, not for
# the 900 MB the error list once took.
WORK_GROWTH_MB = 512.0
# A stalled body is cut at its deadline plus the time to notice it.
BODY_MARGIN_S = 2.0
# /health is answered on the event loop: a stall means work ran on it.
HEALTH_STALL_S = 1.0
HEALTH_EVERY_S = 0.1
# The CPU is free within a second of the client leaving (issue 24).
CPU_FREE_S = 1.0

# Text shapes that once cost time growing with the square of their length (issue 24,
# tests/model/test_cleaning_cost.py), and others a cleaner or splitter may choke on.
SHAPES: tuple[tuple[str, str], ...] = (
    ("nested-p", "<p>"),
    ("nested-div", "<div>x"),
    ("unclosed-comments", "<!--"),
    ("wrapped-commas", "A,\n"),
    ("tiny-sentences", "a. "),
    ("abbreviations", "U.S. Dr. e.g. "),
    ("dots", "."),
    ("unclosed-credits", "[x AP "),
    ("no-spaces", "a"),
    ("combining-marks", "\u0301"),
)


@dataclass(frozen=True)
class Limits:
    """The limits the service under attack runs with (its settings, as it reads them)."""

    max_texts: int
    max_chars: int
    max_request_chars: int
    max_documents: int
    max_claims: int
    max_story_claims: int
    max_body_bytes: int
    body_timeout_s: float
    compute_budget_s: float
    max_errors: int


def service_limits(**settings: str) -> Limits:
    """The limits ``python -m service`` reads from this environment with ``settings`` on top.

    The one crossing from training/ into service/: the attacks must be sized to the
    limits the service enforces, and ``service.settings.Settings`` is their one source.
    """
    from service.limits import MAX_ERRORS
    from service.settings import Settings

    read = Settings(**settings)  # strings, parsed as the service parses its environment
    return Limits(
        max_texts=read.max_texts,
        max_chars=read.max_chars,
        max_request_chars=read.max_request_chars,
        max_documents=read.max_documents,
        max_claims=read.max_claims,
        max_story_claims=read.max_story_claims,
        max_body_bytes=read.max_body_bytes,
        body_timeout_s=read.body_timeout_s,
        compute_budget_s=read.compute_budget_s,
        max_errors=MAX_ERRORS,
    )


@dataclass(frozen=True)
class Sizes:
    """How hard to push: the defaults are the issue's attacks; tests shrink them."""

    stalled: int = 64  # sockets stalling their bodies (the 64)
    shape_chars: int | None = None  # characters of each hostile shape; None: max_chars
    leave_claims: int | None = None  # claims of the request the client leaves; None: ~max


@dataclass(frozen=True)
class Attack:
    name: str
    send: Callable[[Target], Reply]
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class Row:
    attack: str
    status: int | None
    seconds: float
    reply_bytes: int
    rss_before_mb: float
    rss_after_mb: float
    rss_peak_mb: float
    health_max_ms: float
    verdict: Verdict

    HEADER = (
        f"{'attack':<30} {'status':>6} {'seconds':>8} {'reply B':>9} "
        f"{'RSS before':>10} {'after':>7} {'peak MB':>7} {'/health ms':>10}  held  why"
    )

    def line(self) -> str:
        status = "-" if self.status is None else str(self.status)
        return (
            f"{self.attack:<30} {status:>6} {self.seconds:8.3f} {self.reply_bytes:>9} "
            f"{self.rss_before_mb:10.0f} {self.rss_after_mb:7.0f} {self.rss_peak_mb:7.0f} "
            f"{self.health_max_ms:10.0f}  {self.verdict.label:<4}  {self.verdict.why}"
        )

    def record(self) -> dict[str, Any]:
        def number(value: float) -> float | None:
            return None if math.isnan(value) else round(value, 4)

        return {
            "attack": self.attack,
            "status": self.status,
            "seconds": number(self.seconds),
            "reply_bytes": self.reply_bytes,
            "rss_before_mb": number(self.rss_before_mb),
            "rss_after_mb": number(self.rss_after_mb),
            "rss_peak_mb": number(self.rss_peak_mb),
            "health_max_ms": number(self.health_max_ms),
            "held": self.verdict.held,
            "why": self.verdict.why,
        }


# --- the attacks ---------------------------------------------------------------------------


def catalogue(
    limits: Limits, sizes: Sizes, secrets_: Mapping[str, str], paths: Sequence[str]
) -> list[Attack]:
    """Every attack on the service with a model, each with the checks of its protection."""
    leak = no_leak(secrets_, paths)
    common = (never_a_server_error, errors_are_json, leak)
    health = fact_at_most("health_max_s", HEALTH_STALL_S, "slowest /health while it ran (s)")
    refused = (
        within(QUICK_S),
        at_most_bytes(SMALL_BYTES),
        fact_at_most("rss_growth_mb", REFUSAL_GROWTH_MB, "peak RSS growth (MB)"),
        health,
        *common,
    )
    worked = (
        within(limits.compute_budget_s + BUDGET_MARGIN_S),
        fact_at_most("rss_growth_mb", WORK_GROWTH_MB, "peak RSS growth (MB)"),
        without_header("retry-after"),  # too much work is the request's fault: 413
        health,
        *common,
    )
    too_large = (status_in(413), says("split into"), *refused)
    body_limit = limits.max_body_bytes
    honest = json_body({"text": " ".join(honest_sentences(64))})
    long_text = "a " * (limits.max_chars // 2 + 1)
    many_texts = math.ceil((limits.max_request_chars + 1) / limits.max_chars)
    documents = [
        {"id": f"d{index}", "text": " ".join(honest_sentences(per_doc, index * per_doc))}
        for per_doc in [limits.max_story_claims // limits.max_documents]
        for index in range(limits.max_documents)
    ]
    too_many_documents = [
        {"id": f"d{index}", "text": "A claim."} for index in range(limits.max_documents + 1)
    ]
    leave_claims = sizes.leave_claims or int(limits.max_claims * 0.95)
    leave_texts = texts_of(honest_sentences(leave_claims), limits.max_chars)
    shape_chars = sizes.shape_chars or limits.max_chars
    over = b"a" * body_limit

    attacks = [
        Attack(
            "baseline-64-sentences",
            request("POST", "/classify", honest),
            (status_in(200), *worked),
        ),
        Attack(
            "texts-wrong-typed-1mb",
            request("POST", "/classify", filled(b'{"texts": [', b"1", b"]}", body_limit - 1)),
            too_large,
        ),
        Attack(
            "too-many-texts",
            request(
                "POST", "/classify", json_body({"texts": honest_sentences(limits.max_texts + 1)})
            ),
            too_large,
        ),
        Attack(
            "too-long-text", request("POST", "/classify", json_body({"text": long_text})), too_large
        ),
        Attack(
            "too-many-chars-in-all",
            request(
                "POST",
                "/classify",
                json_body({"texts": [shape_text("ab ", limits.max_chars)] * many_texts}),
            ),
            too_large,
        ),
        Attack(
            "body-over-the-limit",
            request("POST", "/classify", b'{"text": "' + over + b'"}'),
            too_large,
        ),
        Attack(
            "chunked-body-over-the-limit",
            request("POST", "/classify", lambda: iter([b'{"text": "', over, b'"}'])),
            too_large,
        ),
        Attack(
            "documents-1mb",
            request("POST", "/compare", filled(b'{"documents": [', b"{}", b"]}", body_limit - 1)),
            too_large,
        ),
        Attack(
            "too-many-documents",
            request("POST", "/compare", json_body({"documents": too_many_documents})),
            too_large,
        ),
        Attack(
            "unknown-fields-1mb",
            request(
                "POST", "/classify", unknown_fields(b'{"text": "A claim."', b"}", body_limit - 1)
            ),
            (status_in(422), says("unknown fields"), *refused),
        ),
        Attack(
            "invalid-items-error-cap",
            request("POST", "/classify", json_body({"texts": [1] * limits.max_texts})),
            (status_in(422), errors_capped(limits.max_errors), *refused),
        ),
        *(
            Attack(
                f"shape-{name}",
                request("POST", "/classify", json_body({"text": shape_text(shape, shape_chars)})),
                (status_in(200, 413), *worked),
            )
            for name, shape in SHAPES
        ),
        Attack(
            "compare-most-articles",
            request("POST", "/compare", json_body({"documents": documents})),
            (status_in(200), *worked),
        ),
        Attack(
            "slow-bodies",
            slow_bodies(sizes.stalled, honest, limits.body_timeout_s + BODY_MARGIN_S),
            (
                status_in(408),
                fact_equals("cut", sizes.stalled, "stalled requests answered 408"),
                fact_equals("honest_status", 200, "status of an honest request meanwhile"),
                fact_at_most("honest_s", QUICK_S, "seconds of an honest request meanwhile"),
                within(limits.body_timeout_s + BODY_MARGIN_S),
                health,
                *common,
            ),
        ),
        Attack(
            "client-leaves-mid-request",
            leave_mid_request(json_body({"texts": leave_texts})),
            (within(CPU_FREE_S + QUIET_WINDOW_S),),
        ),
        Attack(
            "trailing-slash",
            request("POST", "/classify/", honest),
            (status_in(404), says("without the trailing slash"), *refused),
        ),
        Attack(
            "no-key",
            request("POST", "/classify", honest, authed=False),
            (status_in(401), *refused),
        ),
        Attack(
            "wrong-key",
            request(
                "POST",
                "/classify",
                honest,
                authed=False,
                headers={"x-api-key": secrets.token_urlsafe(24)},
            ),
            (status_in(401), *refused),
        ),
        Attack(
            "no-key-1mb-body",
            request(
                "POST",
                "/classify",
                filled(b'{"texts": [', b"1", b"]}", body_limit - 1),
                authed=False,
            ),
            (status_in(401), *refused),
        ),
        Attack(
            "reload-with-ordinary-key",
            request("POST", "/admin/reload"),
            (status_in(401, 403), *refused),
        ),
        *(
            Attack(
                f"probe-{path.strip('/')}",
                request("GET", path, authed=authed),
                (status_in(200), within(QUICK_S), *common),
            )
            for path, authed in (
                ("/health", False),
                ("/ready", False),
                ("/model", True),
                ("/metrics", True),
            )
        ),
        # Last: by now the log holds every refusal above.
        Attack("service-log", read_log, (log_without(secrets_),)),
    ]
    return attacks


def log_without(secrets_: Mapping[str, str]) -> Check:
    """The service's log shows no secret; paths may stay in it, it is the operator's."""

    def check(reply: Reply) -> str | None:
        found = [name for name, secret in secrets_.items() if secret and secret in reply.text]
        return f"the log shows {', '.join(found)}" if found else None

    return check


def failed_load_catalogue(secrets_: Mapping[str, str], paths: Sequence[str]) -> list[Attack]:
    """Probes of a service whose model failed to load from a store with a password."""
    common = (never_a_server_error, errors_are_json, no_leak(secrets_, paths), within(QUICK_S))
    honest = json_body({"text": "Moscow denied the reports."})
    return [
        Attack(
            "failed-load-probe-health",
            request("GET", "/health", authed=False),
            (status_in(200), *common),
        ),
        Attack(
            "failed-load-probe-ready",
            request("GET", "/ready", authed=False),
            (status_in(503), *common),
        ),
        Attack("failed-load-probe-model", request("GET", "/model"), (status_in(503), *common)),
        Attack(
            "failed-load-classify", request("POST", "/classify", honest), (status_in(503), *common)
        ),
        Attack("failed-load-log", read_log, (log_without(secrets_),)),
    ]


# --- running them --------------------------------------------------------------------------


@dataclass
class _HealthWatch:
    """Polls /health on its own connection while an attack runs; keeps the slowest answer."""

    base_url: str
    worst_s: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _poll(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=ANSWER_TIMEOUT_S) as client:
            # At least one probe, for an attack over before the first one went out.
            while True:
                started = time.perf_counter()
                with contextlib.suppress(httpx.HTTPError):  # a failed probe counts its time
                    client.get("/health")
                self.worst_s = max(self.worst_s, time.perf_counter() - started)
                if self._stop.wait(HEALTH_EVERY_S):
                    return

    def __enter__(self) -> _HealthWatch:
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=ANSWER_TIMEOUT_S)


def run_attacks(target: Target, attacks: Sequence[Attack]) -> Iterator[Row]:
    """Each attack in turn, with the server's memory and /health watched around it."""
    for attack in attacks:
        before = rss_mb(target.pid)
        peak_known = reset_peak_rss(target.pid)
        with _HealthWatch(target.base_url) as health:
            reply = attack.send(target)
        after = rss_mb(target.pid)
        peak = peak_rss_mb(target.pid) if peak_known else float("nan")
        facts = {**reply.facts, "rss_growth_mb": peak - before, "health_max_s": health.worst_s}
        reply = replace(reply, facts=facts)
        yield Row(
            attack.name,
            reply.status,
            reply.seconds,
            len(reply.body),
            before,
            after,
            peak,
            health.worst_s * 1000,
            judge(reply, attack.checks),
        )


def local_paths(*extra: str | Path) -> list[str]:
    """Paths of this machine an answer must not show: the checkout, home, Python, ``extra``."""
    candidates = [os.getcwd(), str(Path.home()), sys.prefix, tempfile.gettempdir(), *extra]
    return sorted({str(path) for path in candidates if len(str(path)) > 1}, key=len)


def run_bench(
    model_uri: str,
    *,
    sizes: Sizes | None = None,
    only: Collection[str] = (),
    settings: Mapping[str, str] | None = None,
) -> Iterator[Row]:
    """Start the service on ``model_uri`` and attack it, then a service that cannot load.

    ``only`` keeps the attacks whose names start with one of its words; ``settings``
    are passed to the service (and sized against) on top of this environment's.
    """
    sizes = sizes or Sizes()
    key, admin_key, password = (secrets.token_urlsafe(24) for _ in range(3))
    known = {"the API key": key, "the admin key": admin_key, "the store's password": password}

    def chosen(attacks: list[Attack]) -> list[Attack]:
        return [a for a in attacks if not only or any(a.name.startswith(o) for o in only)]

    with tempfile.TemporaryDirectory(prefix="claimstance-hostile-") as scratch:
        service_settings = {
            "api_keys": key,
            "admin_keys": admin_key,
            # Never contacted by a service serving a directory; it must never show either.
            "tracking_uri": f"http://bench:{password}@{LOOPBACK}:{free_port()}/",
            "feedback_path": str(Path(scratch) / "feedback.db"),
            **(settings or {}),
        }
        limits = service_limits(model_uri=model_uri, **service_settings)
        paths = local_paths(model_uri, scratch)
        runs = [
            (model_uri, "/ready", catalogue(limits, sizes, known, paths)),
            (UNLOADABLE_URI, "/health", failed_load_catalogue(known, paths)),
        ]
        for index, (uri, until, attacks) in enumerate(runs):
            if not (attacks := chosen(attacks)):
                continue
            log = Path(scratch) / f"service-{index}.log"
            with (
                running_service(
                    uri, until=until, env=QUIET_MLFLOW, log=log, **service_settings
                ) as (port, pid, _),
                httpx.Client(
                    base_url=f"http://{LOOPBACK}:{port}", timeout=ANSWER_TIMEOUT_S
                ) as client,
            ):
                yield from run_attacks(Target(port, pid, key, client, log), attacks)


def failed(rows: Sequence[Row]) -> list[Row]:
    return [row for row in rows if row.verdict.held is False]
