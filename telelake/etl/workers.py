"""Worker processes that build beside the calling process, which builds too.

A run of many dates is CPU-bound Python, so it uses every core; so is one
big date, cut into chunks (etl/chunked.py). Starting a worker (spawning an
interpreter, importing pyarrow) takes a few hundred milliseconds, as long as
building several dates, so nobody waits for it: the calling process starts
building at once, and each worker takes items (dates, or chunks of a date)
from the same list only once it has started. A run that ends before a
worker is ready stops that worker without giving it anything (a small run
costs no more than building in one process). Each date is still built whole
by exactly one process, with its own markers and atomic replaces (runner.py);
workers only receive items and send back what they built.

Workers are spawned, not forked: the caller may hold threads (the webhook's
pool, a progress bar) and forking those is unsafe.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import pickle
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, Generic, TypeVar

from telelake.errors import WorkerError

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger("telelake.etl")

_READY = "ready"
_OK = "ok"
_ERROR = "error"
_DONE = "done"
_GONE = "gone"


def _serve(conn: Connection, build: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """A worker's life: say it is ready (imports done), then build the items it is sent."""
    # What the imports made lives as long as the worker: no collection of the
    # cyclic garbage collector (one after each item, see lake.segments.paused_gc) needs
    # to look at it again.
    gc.freeze()
    conn.send((_READY, None))
    while True:
        item = conn.recv()
        if item is None:
            return
        try:
            reply: tuple[str, Any] = (_OK, build(*args, item))
        except Exception as exc:  # sent to the caller, who raises it
            reply = (_ERROR, exc)
        try:
            conn.send(reply)
        except Exception as exc:  # a result or error that does not pickle
            conn.send((_ERROR, WorkerError(f"building {item}: {type(exc).__name__}: {exc}")))
        if reply[0] == _ERROR:
            return


class _Worker:
    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.ready = False
        self.cancelled = False


class WorkerPool(Generic[T, R]):
    """``count`` worker processes running ``build(*args, item)`` over a shared list of items.

    The caller takes items from the same list with :meth:`take` and builds
    them itself; :meth:`finished` yields what the workers built (raising the
    first error one of them hit). No item starts, in any process, unless
    ``may_start()`` says so at that moment (a stop flag, a time budget).

    With ``more=True`` the list stays open: workers wait for the items
    :meth:`add` brings (the chunks of one date, then of the next) until the
    pool is left, so one start-up serves every date of a run.
    """

    def __init__(
        self,
        build: Callable[..., R],
        args: tuple[Any, ...],
        items: list[T],
        count: int,
        may_start: Callable[[], bool] = lambda: True,
        *,
        more: bool = False,
    ) -> None:
        self._build = build
        self._args = args
        self._may_start = may_start
        self._pending: deque[T] = deque(items)
        self._lock = threading.Condition()
        self._open = more
        self._results: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._count = count
        self._workers: list[_Worker] = []
        self._threads: list[threading.Thread] = []
        self._running = 0
        # Items workers took whose result the caller has not yet received.
        self._busy = 0

    def __enter__(self) -> WorkerPool[T, R]:
        context = multiprocessing.get_context("spawn")
        for _ in range(self._count):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_serve, args=(theirs, self._build, self._args), daemon=True
            )
            try:
                process.start()
            # No process to be had, or arguments a process cannot be sent (a
            # store that does not pickle): the others build.
            except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
                log.warning("could not start an ETL worker process: %s", exc)
                ours.close()
                theirs.close()
                continue
            theirs.close()
            worker = _Worker(process, ours)
            thread = threading.Thread(target=self._feed, args=(worker,), daemon=True)
            self._workers.append(worker)
            self._threads.append(thread)
            self._running += 1
            thread.start()
        return self

    @property
    def helpers(self) -> int:
        """Worker processes alive or still starting (0: the caller builds alone)."""
        return self._running

    def add(self, items: list[T]) -> None:
        """More items for whoever is free (an open pool: ``more=True``)."""
        with self._lock:
            self._pending.extend(items)
            self._lock.notify_all()

    def take(self) -> T | None:
        """The next item nobody is building yet, or ``None`` when none may start."""
        with self._lock:
            return self._next()

    def _next(self) -> T | None:
        # Called with the lock held.
        if self._pending and self._may_start():
            return self._pending.popleft()
        return None

    def no_more_starts(self) -> None:
        """Stop the workers still starting if no item is left for them."""
        with self._lock:
            if self._open or (self._pending and self._may_start()):
                return
            # Nothing was sent to them: stopping one mid-import touches no file.
            for worker in self._workers:
                if not worker.ready and not worker.cancelled:
                    worker.cancelled = True
                    worker.process.terminate()

    def finished(self, *, block: bool) -> Iterator[R]:
        """What workers built since the last call; with ``block``, until the items
        they took are done (and, unless the pool is open, until they all stopped)."""
        while self._running:
            if block and self._open:
                with self._lock:
                    if not self._busy:
                        return
            try:
                kind, value = self._results.get(block=block)
            except queue.Empty:
                return
            if kind == _DONE:
                self._running -= 1
            elif kind == _GONE:
                log.warning("%s; building its share in the other processes", value)
            else:
                with self._lock:
                    self._busy -= 1
                if kind == _ERROR:
                    self._stop()
                    raise value
                yield value

    def _stop(self) -> None:
        with self._lock:
            self._pending.clear()
            self._open = False
            self._lock.notify_all()

    def _feed(self, worker: _Worker) -> None:
        """One per worker: hand it an item whenever it is free, pass back its result."""
        item: T | None = None
        try:
            worker.conn.recv()  # ready: imports done
            while True:
                with self._lock:
                    if worker.cancelled:
                        return
                    worker.ready = True
                    item = self._next()
                    while item is None and self._open:
                        self._lock.wait()
                        item = self._next()
                    if item is not None:
                        self._busy += 1
                worker.conn.send(item)
                if item is None:
                    return
                kind, value = worker.conn.recv()
                self._results.put((kind, value))
                if kind == _ERROR:
                    return
        except (EOFError, OSError):
            if not worker.cancelled:
                doing = f"building {item}" if item is not None else "starting"
                worker.process.join(timeout=1)
                code = worker.process.exitcode
                message = f"an ETL worker process died while {doing} (exit {code})"
                # Dying before it was given an item loses nothing: others take its share.
                self._results.put(
                    (_GONE, message) if item is None else (_ERROR, WorkerError(message))
                )
        finally:
            self._results.put((_DONE, None))

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        # Items not started stay as they are (dates still changed: the next run
        # builds them); builds under way finish, so no date is left half-done by us.
        self._stop()
        self.no_more_starts()
        for thread in self._threads:
            thread.join()
        for worker in self._workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join()
            worker.conn.close()
