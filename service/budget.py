"""One request's work, bounded: a size refused before any model work, a time limit, a stop.

A request's work runs in a worker thread and calls ``Budget.check`` between
steps: before each text is cut into claims, before each chunk of claims goes
through the model, before each chunk is embedded and before clustering. Past
the budget the next check raises ``OutOfTimeError`` and the thread stops, so an
over-long request frees the CPU within one step instead of running on after
its client has been answered (or the server has been told to stop).

The model sees a request's claims in chunks of ``CHUNK_CLAIMS``. With
micro-batching each chunk queues as its own job, so a small request's claims
wait for at most one chunk of a big request's, never for the whole of it.

A small request (``runs_on_loop``) is not handed to a worker thread at all: it is
cut into claims on the event loop (a sentence takes a few hundred microseconds)
and its forward pass is awaited there (``run_on_loop``,
``BudgetedClassifier.predict_async``), so it costs no thread round trip on top of
the forward pass. Both ways share the budget's checks and their HTTP answers.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import ParamSpec, TypeVar, cast

import anyio.to_thread
import numpy as np
from fastapi import HTTPException, status

from model.alignment import ClaimTokens, join_claims
from model.card import ModelCard
from model.classifier import Prediction, StanceClassifier
from model.microbatch import MicroBatcher
from model.story import Embedder, TokenEmbedder
from service.limits import TooLargeError
from service.settings import Settings

# One forward pass of the int8 model over 64 claims takes about 40 ms on 2 cores: the
# longest a small request waits behind a big one's claims.
CHUNK_CLAIMS = 64
# What a 503 for an overloaded service asks clients to wait, in seconds.
RETRY_AFTER_S = 1
# A request of at most this many texts and characters is cut into claims on the event
# loop (``runs_on_loop``). A sentence takes 0.1-0.5 ms and 300 characters of prose about
# 1 ms; pysbd's cost grows with the square of the sentence ends, and the worst of the
# hostile 300-character texts tried ("a.\n" * 100) took 5.5 ms on 2 busy cores: that
# is the longest a small request holds the loop. Longer ones go to a worker thread.
LOOP_MAX_CHARS = 300
LOOP_MAX_TEXTS = 1

P = ParamSpec("P")
R = TypeVar("R")


class TooMuchWorkError(Exception):
    """The request holds more claims than one request may."""

    def __init__(self, claims: int, limit: int, limit_name: str) -> None:
        super().__init__(
            f"too many claims: the request holds {claims} claims, the limit is "
            f"{limit} per request ({limit_name})"
        )
        self.limit = limit


class OutOfTimeError(Exception):
    """The request's work ran past its budget or was stopped; the message says which."""


class OverBudgetError(OutOfTimeError):
    """The request's own work ran past its compute budget: it is too big, not unlucky."""

    def __init__(self, compute_s: float) -> None:
        super().__init__(
            f"the request's work ran past its compute budget of {compute_s:g} s (compute_budget_s)"
        )
        self.compute_s = compute_s


class Budget:
    """The time one request may take: ``request_timeout_s`` from its arrival, and
    ``compute_budget_s`` from when its work starts, whichever ends first."""

    def __init__(
        self,
        *,
        timeout_s: float,
        compute_s: float,
        arrived: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout_s = timeout_s
        self.compute_s = compute_s
        self._clock = clock
        self._timeout_at = (clock() if arrived is None else arrived) + timeout_s
        self._compute_at = math.inf
        self._stopped: str | None = None

    def start(self) -> None:
        """The work begins: the compute budget counts from now."""
        self._compute_at = self._clock() + self.compute_s

    def stop(self, reason: str) -> None:
        """Make the next ``check`` raise, whatever time is left (cancelled, shutting down)."""
        self._stopped = reason

    def check(self) -> None:
        if self._stopped is not None:
            raise OutOfTimeError(self._stopped)
        now = self._clock()
        if now > self._timeout_at:
            raise OutOfTimeError(
                f"the request was not done within {self.timeout_s:g} s of its arrival "
                "(request_timeout_s): the service is busy; retry, or send less text"
            )
        if now > self._compute_at:
            raise OverBudgetError(self.compute_s)


def _by_length(texts: Sequence[str]) -> list[int]:
    # Chunks of similar lengths pad less, as one call's own sorted batches would.
    return sorted(range(len(texts)), key=lambda index: len(texts[index]))


class BudgetedClassifier:
    """A classifier that refuses more than ``max_claims`` claims before any forward pass,
    and labels the rest a chunk at a time, checking the budget before each chunk."""

    def __init__(
        self, inner: StanceClassifier, budget: Budget, *, max_claims: int, limit_name: str
    ) -> None:
        self.inner = inner
        self.budget = budget
        self.max_claims = max_claims
        self.limit_name = limit_name

    @property
    def card(self) -> ModelCard:
        return self.inner.card

    @property
    def device(self) -> str:
        return self.inner.device

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        predictions: list[Prediction | None] = [None] * len(texts)
        for chunk in self._chunks(texts):
            answers = self.inner.predict([texts[i] for i in chunk])
            for index, prediction in zip(chunk, answers, strict=True):
                predictions[index] = prediction
        return predictions  # type: ignore[return-value]  # every slot is filled above

    async def predict_async(self, texts: Sequence[str]) -> list[Prediction]:
        """``predict`` for a caller on the event loop: the same limits, chunks and checks.

        A micro-batcher's future is awaited where the request runs, so no thread waits
        for the forward pass; another classifier's ``predict`` runs in a worker thread.
        A cancelled request cancels its queued chunk, which then never runs.
        """
        predictions: list[Prediction | None] = [None] * len(texts)
        for chunk in self._chunks(texts):
            chunk_texts = [texts[i] for i in chunk]
            if isinstance(self.inner, MicroBatcher):
                answers = await asyncio.wrap_future(self.inner.submit(chunk_texts))
            else:
                answers = await anyio.to_thread.run_sync(
                    self.inner.predict, chunk_texts, abandon_on_cancel=True
                )
            for index, prediction in zip(chunk, answers, strict=True):
                predictions[index] = prediction
        return predictions  # type: ignore[return-value]  # every slot is filled above

    def _chunks(self, texts: Sequence[str]) -> Iterator[list[int]]:
        """Positions of ``texts``, a chunk at a time, shortest first; refuses more than
        ``max_claims`` before any chunk and checks the budget before each."""
        if len(texts) > self.max_claims:
            raise TooMuchWorkError(len(texts), self.max_claims, self.limit_name)
        order = _by_length(texts)
        for start in range(0, len(order), CHUNK_CLAIMS):
            self.budget.check()
            yield order[start : start + CHUNK_CLAIMS]


class BudgetedEmbedder:
    """An embedder that embeds a chunk at a time, checking the budget before each chunk;
    token states (``embed_tokens``, for the grouping similarities that align tokens) too."""

    def __init__(self, inner: Embedder, budget: Budget) -> None:
        self.inner = inner
        self.budget = budget

    @property
    def has_token_states(self) -> bool:
        # Grouping asks this before choosing embed_tokens: answer for the wrapped encoder,
        # so wrapping it never turns token alignment off.
        return bool(getattr(self.inner, "has_token_states", False))

    def embed_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, ClaimTokens]:
        if not self.has_token_states:
            raise ValueError("this encoder returns no token states")
        embed_tokens = cast(TokenEmbedder, self.inner).embed_tokens  # has_token_states: above
        if not texts:
            # The inner encoder's own empty answer has the right shapes.
            return embed_tokens([])
        parts: list[ClaimTokens] = []

        def chunk_vectors(chunk: list[str]) -> np.ndarray:
            vectors, tokens = embed_tokens(chunk)
            parts.append(tokens)
            return vectors

        rows, order = self._by_chunks(texts, chunk_vectors)
        return rows, join_claims(parts, order)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows, _ = self._by_chunks(texts, self.inner.embed)
        return rows

    def _by_chunks(
        self, texts: Sequence[str], embed: Callable[[list[str]], np.ndarray]
    ) -> tuple[np.ndarray, list[int]]:
        """``embed`` over length-sorted chunks of ``texts``, the budget checked before each;
        the rows back in input order, and the order the chunks ran in."""
        order = _by_length(texts)
        rows: np.ndarray | None = None
        for start in range(0, len(order), CHUNK_CLAIMS):
            self.budget.check()
            chunk = order[start : start + CHUNK_CLAIMS]
            vectors = embed([texts[i] for i in chunk])
            if rows is None:
                rows = np.empty((len(texts), vectors.shape[1]), dtype=vectors.dtype)
            rows[chunk] = vectors
        return (rows if rows is not None else np.empty((0, 0), dtype=np.float32)), order


def busy_error(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        detail=detail,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def run_bounded(budget: Budget, work: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run ``work`` in a worker thread under ``budget``; its limits become HTTP answers.

    If the request is cancelled (its client left, or the server stops after its grace
    period) the thread is abandoned and its budget stopped, so it ends at its next check.
    """

    def job() -> R:
        budget.start()
        budget.check()
        return work(*args, **kwargs)

    with _answered_over_http(budget):
        return await anyio.to_thread.run_sync(job, abandon_on_cancel=True)


async def run_on_loop(
    budget: Budget, work: Callable[P, Awaitable[R]], *args: P.args, **kwargs: P.kwargs
) -> R:
    """Await ``work`` on the event loop under ``budget``, answered as ``run_bounded`` answers.

    For small requests only (``runs_on_loop``): what ``work`` does between its awaits
    holds the loop. A cancelled request stops its budget; its awaits end at once.
    """
    with _answered_over_http(budget):
        budget.start()
        budget.check()
        return await work(*args, **kwargs)


def runs_on_loop(texts: Sequence[str]) -> bool:
    """Whether a /classify request is small enough to be cut into claims on the event loop."""
    return len(texts) <= LOOP_MAX_TEXTS and sum(len(text) for text in texts) <= LOOP_MAX_CHARS


@contextmanager
def _answered_over_http(budget: Budget) -> Iterator[None]:
    """The budget's and the size limits' errors as HTTP answers; the budget stopped
    unless the work finished (cancelled, or failed)."""
    finished = False
    try:
        yield
        finished = True
    except TooMuchWorkError as error:
        raise TooLargeError(str(error), error.limit, "claims") from None
    except OverBudgetError as error:
        # 413, not 503 with Retry-After: the same request would run out again.
        raise TooLargeError(
            str(error),
            error.compute_s,
            "seconds",
            advice="split the text over smaller requests",
        ) from None
    except OutOfTimeError as error:
        raise busy_error(str(error)) from None
    finally:
        if not finished:
            budget.stop("the request was cancelled")


def request_budget(settings: Settings, arrived: float | None = None) -> Budget:
    """A budget from the settings; ``arrived`` is the request's ``time.monotonic()`` arrival."""
    return Budget(
        timeout_s=settings.request_timeout_s, compute_s=settings.compute_budget_s, arrived=arrived
    )
