"""Group commit with one writer thread: the webhook's event loop never waits per update.

Running the whole ingest core in a thread per request, each waiting twice for
a shared flush, has 40 connections' threads handing the GIL to each other
around every system call: a quarter to a third of the server's CPU went to
switching between them. Here the event loop does the cheap part
(:meth:`Ingestor.plan_on_loop`: parse, validate, filter, name the object) and
queues the update; one writer thread takes everything queued at once and
runs it through a pipeline of rounds, each ending in one flush (``syncfs``):

    round k:  stage the new updates (bytes into unnamed files, invisible)
              publish the updates staged in round k-1 (their bytes are durable:
                  flush k-1 covered them): link each name, create-only, then
                  make sure each of their dates has its change marker
              flush k: the names and markers of round k-1's updates are
                  durable (and the bytes of round k's) -> acknowledge them

so every update still has its bytes durable before any name points at them,
and its name and its date's marker durable before its 2xx (DESIGN §3.1,
§3.6), while one flush serves two batches and the thread hand-overs are per
round, not per update. The marker is checked only after the object's name is
visible, which is the order :mod:`telelake.lake.changes` relies on. A failed
flush fails every update of its round (503, Telegram retries); nothing named
in that round was acknowledged, and a retry finds it and answers only after a
flush of its own (a duplicate is acknowledged like a new update).

Only stores that can stage (:meth:`Store.stager`: a local folder with
``syncfs``) batch this way; for the others :func:`batcher_for` says ``None``
and the caller keeps calling :meth:`Ingestor.accept` in a thread. One writer
thread, not several: two were measured no faster (smaller rounds, more
flushes, more GIL hand-overs), sometimes much slower.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import defaultdict
from datetime import date
from queue import Empty, SimpleQueue

from telelake.errors import StorageError
from telelake.ingest.core import Ingestor, Outcome, Planned, Receipt
from telelake.lake.changes import mark_dirty_staged
from telelake.lake.storage import Staged, Stager

log = logging.getLogger("telelake.ingest")

# A writer with nothing to do for this long ends its thread (a new one starts on demand).
IDLE_EXIT_SECONDS = 2.0

_Result = Receipt | BaseException


class _Job:
    """One update on its way through the pipeline."""

    __slots__ = ("future", "key", "outcome", "planned", "staged")

    def __init__(self, planned: Planned, future: asyncio.Future[Receipt]) -> None:
        self.planned = planned
        self.future = future
        self.key = planned.key
        self.outcome: Outcome = "stored"
        self.staged: Staged | None = None


def batcher_for(ingestor: Ingestor) -> Batcher | None:
    """A batcher for the ingestor's store, or ``None`` where it cannot stage.

    Even with a batcher, call :meth:`Batcher.can_batch` per update: the store
    finds out on first use whether its file system has a shared flush.
    """
    stager = ingestor.store.stager()
    return Batcher(ingestor, stager) if stager is not None else None


class Batcher:
    """Stores planned updates for coroutines, in rounds run by one writer thread."""

    def __init__(self, ingestor: Ingestor, stager: Stager) -> None:
        self.ingestor = ingestor
        self.stager = stager
        self._queue: SimpleQueue[_Job] = SimpleQueue()
        self._lock = threading.Lock()
        self._running = False
        self.rounds = 0

    def can_batch(self) -> bool:
        """Whether updates go through the rounds (else: :meth:`Ingestor.accept`)."""
        return self.stager.can_stage()

    async def store_planned(self, planned: Planned) -> Receipt:
        """Store ``planned`` durably; returns once it (and its marker) is durable.

        Raises :class:`StorageError` when it could not be (answer 5xx).
        """
        future: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        job = _Job(planned, future)
        with self._lock:
            self._queue.put(job)
            if not self._running:
                self._running = True
                threading.Thread(
                    target=self._run, name="telelake-ingest-writer", daemon=True
                ).start()
        return await future

    def _take(self, block: bool) -> list[_Job]:
        """Everything queued; with ``block``, wait for at least one (``[]`` on idle exit)."""
        jobs: list[_Job] = []
        if block:
            try:
                jobs.append(self._queue.get(timeout=IDLE_EXIT_SECONDS))
            except Empty:
                with self._lock:
                    if self._queue.empty():
                        self._running = False
                        return []
        while True:
            try:
                jobs.append(self._queue.get_nowait())
            except Empty:
                return jobs

    def _run(self) -> None:
        staged: list[_Job] = []  # bytes written, made durable by the last flush
        while True:
            new = self._take(block=not staged)
            if not new and not staged:
                return
            try:
                staged = self._round(staged, new)
            except BaseException as exc:  # a bug: still, never leave a waiter hanging
                log.exception("ingest writer failed; %d updates not acknowledged", len(new))
                for job in [*staged, *new]:
                    if job.staged is not None:
                        self.stager.discard(job.staged)
                error = StorageError(f"ingest writer failed: {exc!r}")
                _resolve([(job, error) for job in [*staged, *new]])
                staged = []

    def _round(self, ready: list[_Job], new: list[_Job]) -> list[_Job]:
        """Stage ``new``, publish ``ready``, flush; returns the jobs staged for next time."""
        results: list[tuple[_Job, _Result]] = []
        staging: list[_Job] = []
        for job in new:
            self._stage(job, staging, results)
        published: list[_Job] = []
        for job in ready:
            try:
                self._publish(job, staging, published)
            except StorageError as exc:
                results.append((job, exc))
        # After the names are visible (see telelake.lake.changes): each date's marker.
        days: dict[date, list[_Job]] = defaultdict(list)
        for job in published:
            days[job.planned.day].append(job)
        acknowledged: list[_Job] = []
        for day, jobs in days.items():
            try:
                # Durable with this round's flush, before anyone is acknowledged.
                mark_dirty_staged(self.ingestor.store, self.stager, day)
            except StorageError as exc:
                results.extend((job, exc) for job in jobs)
            else:
                acknowledged.extend(jobs)
        self.rounds += 1
        try:
            self.stager.flush()
        except StorageError as exc:
            log.error("flush failed; %d updates not acknowledged", len(acknowledged) + len(staging))
            results.extend((job, exc) for job in acknowledged)
            for job in staging:
                if job.staged is not None:
                    self.stager.discard(job.staged)
                results.append((job, exc))
            staging = []
        else:
            results.extend((job, _receipt(job)) for job in acknowledged)
        _resolve(results)
        return staging

    def _stage(self, job: _Job, staging: list[_Job], results: list[tuple[_Job, _Result]]) -> None:
        try:
            job.staged = self.stager.stage(job.key, job.planned.body)
        except StorageError as exc:
            results.append((job, exc))
        else:
            staging.append(job)

    def _publish(self, job: _Job, staging: list[_Job], published: list[_Job]) -> None:
        staged, job.staged = job.staged, None
        assert staged is not None
        if self.stager.publish(staged) or job.outcome == "conflict":
            published.append(job)
            return
        job.outcome = "duplicate"
        conflict = self.ingestor.conflict_key(job.planned)
        if conflict is None:
            # Also acknowledged only after this round's flush: the first attempt
            # may have linked it and failed before its own flush.
            published.append(job)
            return
        # Different bytes under the same update_id: keep these beside it; they
        # go through the pipeline again under their own name.
        job.key, job.outcome = conflict, "conflict"
        job.staged = self.stager.stage(conflict, job.planned.body)
        staging.append(job)


def _receipt(job: _Job) -> Receipt:
    update = job.planned.update
    return Receipt(update.update_id, update.kind, job.outcome, job.key)


def _resolve(results: list[tuple[_Job, _Result]]) -> None:
    """Hand results to their event loops: one wake-up per loop, not per update."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, _Result]]] = defaultdict(list)
    for job, result in results:
        by_loop[job.future.get_loop()].append((job, result))
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_settle, items)


def _settle(items: list[tuple[_Job, _Result]]) -> None:
    for job, result in items:
        if job.future.done():
            continue
        if isinstance(result, BaseException):
            job.future.set_exception(result)
        else:
            job.future.set_result(result)
