"""Refused requests: a log line for each, and a growing wait for whoever keeps guessing.

A wrong webhook secret or report password is someone probing, or someone
misconfigured: either way the operator should see it, in a log line that
never holds the value tried. A flood of refusals must not become a flood of
log lines, so :class:`RefusalLog` writes one line per refusal up to a
number per minute, then one line a minute with how many more there were.

:class:`Backoff` makes guessing slow per client (its IP address): a few
mistakes are free (typos), then each failure doubles the wait before the
next attempt is even checked, up to a cap; a success forgets the client.
Behind a reverse proxy every client has the proxy's address, so a guesser
also makes the real users wait (at most the cap); the table of clients is
bounded, so a flood of addresses costs bounded memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RefusalLog:
    """One line per refusal, at most ``per_minute`` a minute, then a count per minute."""

    def __init__(
        self,
        logger: logging.Logger,
        per_minute: int = 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.per_minute = per_minute
        self.clock = clock
        self._lock = threading.Lock()
        self._window = clock()
        self._logged = 0
        self._unlogged = 0

    def refused(self, message: str, *args: object) -> None:
        """Log one refusal (``message % args``), unless this minute had enough already."""
        with self._lock:
            now = self.clock()
            if now - self._window >= 60.0:
                if self._unlogged:
                    self.logger.warning(
                        "%d more refusals in the last minute, not logged one by one",
                        self._unlogged,
                    )
                self._window, self._logged, self._unlogged = now, 0, 0
            if self._logged > self.per_minute:
                self._unlogged += 1
                return
            self._logged += 1
            if self._logged > self.per_minute:
                self._unlogged += 1
                message, args = (
                    "%d refusals within a minute: more are not logged one by one",
                    (self.per_minute + 1,),
                )
        self.logger.warning(message, *args)


class Backoff:
    """Per-client waits after failed attempts: ``free`` failures cost nothing, then
    ``first`` seconds, doubling with each further failure, at most ``cap``."""

    def __init__(
        self,
        *,
        free: int = 3,
        first: float = 1.0,
        cap: float = 300.0,
        forget_after: float = 3600.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.first = first
        self.cap = cap
        self.forget_after = forget_after
        self.max_clients = max_clients
        self.clock = clock
        self._lock = threading.Lock()
        # client -> (failures, time of the last failure, may try again at)
        self._clients: OrderedDict[str, tuple[int, float, float]] = OrderedDict()

    def wait_left(self, client: str) -> float:
        """Seconds ``client`` must still wait before an attempt is checked (0: none)."""
        with self._lock:
            entry = self._clients.get(client)
            if entry is None:
                return 0.0
            now = self.clock()
            if now - entry[1] > self.forget_after:
                del self._clients[client]
                return 0.0
            return max(0.0, entry[2] - now)

    def failed(self, client: str) -> tuple[int, float]:
        """Record a failed attempt: (failures so far, seconds until the next one is checked)."""
        with self._lock:
            now = self.clock()
            failures, last, _ = self._clients.pop(client, (0, now, now))
            if now - last > self.forget_after:
                failures = 0
            failures += 1
            wait = 0.0
            if failures > self.free:
                wait = min(self.cap, self.first * 2 ** min(failures - self.free - 1, 30))
            self._clients[client] = (failures, now, now + wait)
            while len(self._clients) > self.max_clients:
                self._clients.popitem(last=False)  # the client that failed longest ago
            return failures, wait

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)
