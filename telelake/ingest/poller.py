"""Long polling: getUpdates in, durable raw objects out, the offset advanced last.

The poller is the webhook's twin for bots without a public URL. It feeds the
same :class:`~telelake.ingest.core.Ingestor` and keeps the same promise
(DESIGN §3.1): Telegram forgets an update only when a later getUpdates
passes an ``offset`` above it, and the poller passes that offset only after
every update of the batch is durably stored. Killed at any moment it loses
nothing; restarted, it is handed the unconfirmed updates again and the
deterministic raw keys make them duplicates, not second copies (§3.2).

getUpdates answers one JSON array, so the bytes of a single update are not
available as Telegram serialised them: each update is stored as the compact
JSON of its parsed object (``orjson.dumps``), the same content, losslessly.

Stopping: :meth:`Poller.run` returns after the batch in hand is stored once
``stop`` is set. Interrupting the long-poll wait itself is the caller's
business (see :attr:`Poller.waiting` and ``telelake/service.py``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from telelake.errors import BadUpdateError, TelelakeError
from telelake.ingest.core import Ingestor
from telelake.telegram.botapi import BotApi, backoff_delay
from telelake.telegram.update import as_int

log = logging.getLogger("telelake.poller")


@dataclass
class PollStats:
    """Counts since start, by outcome, for the periodic "N updates stored" line."""

    outcomes: dict[str, int] = field(
        default_factory=lambda: {"stored": 0, "duplicate": 0, "conflict": 0, "filtered": 0}
    )
    skipped: int = 0

    @property
    def received(self) -> int:
        return sum(self.outcomes.values()) + self.skipped


class Poller:
    """Fetches updates with getUpdates and stores each through the ingest core."""

    def __init__(
        self,
        api: BotApi,
        ingestor: Ingestor,
        *,
        allowed_updates: Sequence[str] | None = None,
        timeout: int = 25,
        limit: int = 100,
        report_every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        after_store: Callable[[bytes, str], None] | None = None,
    ) -> None:
        self.api = api
        # Told of each update once it is durable (bytes, outcome): the responder's
        # hand-over, which must neither block nor raise.
        self.after_store = after_store
        self.ingestor = ingestor
        self.allowed_updates = list(allowed_updates) if allowed_updates is not None else None
        self.timeout = timeout
        self.limit = limit
        self.report_every = report_every
        self.clock = clock
        self.stats = PollStats()
        # Next offset to pass: one above the last update durably stored.
        self.offset: int | None = None
        # True only while blocked in getUpdates: the one moment at which the
        # process may be interrupted without a half-handled batch.
        self.waiting = False
        self._last_report = clock()
        self._reported = 0

    def fetch(self) -> list[dict[str, Any]]:
        """One getUpdates call; confirms everything below :attr:`offset`."""
        self.waiting = True
        try:
            return self.api.get_updates(
                offset=self.offset,
                limit=self.limit,
                timeout=self.timeout,
                allowed_updates=self.allowed_updates,
            )
        finally:
            self.waiting = False

    def store(self, updates: list[dict[str, Any]]) -> int:
        """Store a batch in order; advance :attr:`offset` only past what is durable.

        Raises :class:`StorageError` (the offset stays below the failed update,
        so Telegram keeps it and the next fetch returns it again).
        """
        received_at = time.time()
        for update in updates:
            update_id = as_int(update.get("update_id"))
            if update_id is None:
                log.error("getUpdates returned an update without an integer update_id; skipped")
                self.stats.skipped += 1
                continue
            body = orjson.dumps(update)
            try:
                receipt = self.ingestor.accept(body, received_at)
            except BadUpdateError as exc:
                # Valid for Telegram, refused by our limits (size, nesting):
                # skipping it is the only way not to block every later update.
                log.error("update %s skipped: %s", update_id, exc)
                self.stats.skipped += 1
            else:
                self.stats.outcomes[receipt.outcome] += 1
                log.debug("update %s (%s): %s", update_id, receipt.kind, receipt.outcome)
                if self.after_store is not None:
                    self.after_store(body, receipt.outcome)
            if self.offset is None or update_id + 1 > self.offset:
                self.offset = update_id + 1
        return len(updates)

    def poll_once(self) -> int:
        """Fetch one batch and store it; the number of updates handled."""
        return self.store(self.fetch())

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set; transient failures are retried forever.

        A rejected token or a webhook in the way (terminal Bot API errors)
        ends the loop by raising: no amount of waiting fixes them.
        """
        failures = 0
        while not stop.is_set():
            try:
                self.poll_once()
                failures = 0
            except TelelakeError as exc:
                if not exc.retryable:
                    raise
                failures += 1
                delay = backoff_delay(min(failures, 6), 1.0, 60.0, self.api.rng) + 1.0
                log.error("polling failed (%s); trying again in %.0f s", exc, delay)
                if stop.wait(delay):
                    break
            self.report()
        self.report(force=True)

    def confirm(self) -> None:
        """Tell Telegram the stored updates may be forgotten (best effort, no wait).

        Without it the next start re-fetches the last batch: harmless, as
        re-stored updates are duplicates, but slower.
        """
        if self.offset is None:
            return
        try:
            # limit=1, timeout=0: the one update this may return stays unconfirmed.
            self.api.get_updates(offset=self.offset, limit=1, timeout=0,
                                 allowed_updates=self.allowed_updates)  # fmt: skip
        except TelelakeError as exc:
            log.info("could not confirm the last batch (%s); the next start re-fetches it", exc)

    def report(self, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self._last_report < self.report_every:
            return
        total = self.stats.received
        if total == self._reported and not force:
            self._last_report = now
            return
        outcomes = self.stats.outcomes
        log.info(
            "%d updates stored (%d duplicates, %d filtered, %d skipped) since start",
            outcomes["stored"] + outcomes["conflict"],
            outcomes["duplicate"],
            outcomes["filtered"],
            self.stats.skipped,
        )
        self._last_report = now
        self._reported = total
