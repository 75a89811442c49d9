"""Micro-batching: concurrent ``predict`` calls coalesce into one forward pass.

Each caller queues its texts: ``predict`` waits in the caller's thread,
``submit`` returns the job's future at once, so the service's event loop can await
it without parking a worker thread per request. One inference thread takes the
first waiting job, gathers whatever else arrives within ``max_wait_s`` (up to
``max_batch`` texts), runs one ``predict`` over all of them and hands every
caller its own slice. Under load, 32 one-claim requests cost about one batch of
32 instead of 32 batches of one; a lone request waits at most ``max_wait_s``
longer than it would alone. A job whose future was cancelled before its batch
started (its request went away) is left out of the batch.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from model.card import ModelCard
from model.classifier import Prediction, StanceClassifier, check_texts

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Job:
    texts: Sequence[str]
    result: Future[list[Prediction]] = field(default_factory=Future)


class MicroBatcher:
    """Wraps a classifier; ``predict`` is safe to call from many threads at once."""

    def __init__(
        self, inner: StanceClassifier, *, max_batch: int = 256, max_wait_s: float = 0.002
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        if max_wait_s < 0:
            raise ValueError(f"max_wait_s must not be negative, got {max_wait_s}")
        self.inner = inner
        self.card: ModelCard = inner.card
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.forward_passes = 0
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        # Held while a job or the stop mark is queued, so no job can land behind the stop
        # mark and wait for an answer that never comes (a hot swap closes a batcher in use).
        self._queueing = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(
            target=self._serve, name="claimstance-inference", daemon=True
        )
        self._thread.start()

    @property
    def device(self) -> str:
        return self.inner.device

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return self.submit(texts).result()

    def submit(self, texts: Sequence[str]) -> Future[list[Prediction]]:
        """Queue ``texts`` for the next forward pass; the future holds their predictions.

        Raises at once (not through the future) for a bad text or a stopped batcher.
        Cancelling the future before its batch starts leaves its texts out of the pass.
        """
        # Checked here, not in the shared batch: one bad request must not fail its neighbours.
        check_texts(texts)
        job = _Job(texts)
        if not texts:
            job.result.set_result([])
            return job.result
        with self._queueing:
            if self._closed or not self._thread.is_alive():
                raise RuntimeError("the inference thread has stopped")
            self._jobs.put(job)
        return job.result

    def close(self, timeout: float = 10.0) -> None:
        """Stop the inference thread after the jobs already queued; later calls raise."""
        with self._queueing:
            if not self._closed:
                self._closed = True
                self._jobs.put(None)
        self._thread.join(timeout)

    def _gather(self, first: _Job) -> tuple[list[_Job], bool]:
        """The first job and whatever else arrives in time; True when asked to stop."""
        jobs, count = [first], len(first.texts)
        deadline = time.monotonic() + self.max_wait_s
        while count < self.max_batch:
            try:
                job = self._jobs.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
            count += len(job.texts)
        return jobs, False

    def _serve(self) -> None:
        stopping = False
        while not stopping:
            first = self._jobs.get()
            if first is None:
                return
            jobs, stopping = self._gather(first)
            # From here a job's future can no longer be cancelled; one cancelled already
            # (its caller went away) is dropped, so its result is never set twice.
            jobs = [job for job in jobs if job.result.set_running_or_notify_cancel()]
            if not jobs:
                continue
            texts = [text for job in jobs for text in job.texts]
            try:
                predictions = self.inner.predict(texts)
            except Exception as error:  # handed to every caller, who raises it in its own thread
                for job in jobs:
                    job.result.set_exception(error)
                continue
            self.forward_passes += 1
            position = 0
            for job in jobs:
                job.result.set_result(predictions[position : position + len(job.texts)])
                position += len(job.texts)
