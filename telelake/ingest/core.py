"""The ingest core: from request bytes to a durable raw object, or a clear refusal.

Adapters (webhook, poller, Lambda) parse their transport and call
:meth:`Ingestor.accept`; they acknowledge only when it returns. It raises
:class:`BadUpdateError` (answer 4xx, never retried usefully) or
:class:`StorageError` (answer 5xx so Telegram retries). Anything Telegram may
validly send, including kinds invented after this code, is accepted.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import orjson

from telelake.config import Settings
from telelake.errors import BadUpdateError, BodyTooLargeError
from telelake.lake.changes import mark_dirty
from telelake.lake.layout import context_date, raw_conflict_key, raw_key
from telelake.lake.storage import Store
from telelake.telegram.update import Update

log = logging.getLogger("telelake.ingest")

# Real updates nest about a dozen levels (a reply inside a pinned message
# inside ...); anything far deeper is an attack on whoever parses it later.
MAX_DEPTH = 64

Outcome = Literal["stored", "duplicate", "conflict", "filtered"]


@dataclass(frozen=True, slots=True)
class Receipt:
    """What happened to one update. ``key`` is set when the update is in the lake."""

    update_id: int
    kind: str
    outcome: Outcome
    key: str | None


def secret_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time check of the ``X-Telegram-Bot-Api-Secret-Token`` header."""
    if expected is None:
        return True
    if given is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogateescape"))


def parse_update(body: bytes, max_body: int) -> Update:
    """Validate a request body as an update; :class:`BadUpdateError` says why not."""
    if len(body) > max_body:
        raise BodyTooLargeError(f"body of {len(body)} bytes is over the {max_body} byte limit")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadUpdateError(f"body is not valid UTF-8 JSON: {exc}") from None
    if _too_deep(data, MAX_DEPTH):
        raise BadUpdateError(f"body nests deeper than {MAX_DEPTH} levels")
    try:
        return Update.from_json(data)
    except ValueError as exc:
        raise BadUpdateError(str(exc)) from None


def _too_deep(data: object, limit: int) -> bool:
    """Whether containers nest deeper than ``limit`` (iterative: no recursion limit)."""
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, dict | list))
    return False


class Ingestor:
    """Verifies, filters and stores updates in the raw layer of one lake."""

    def __init__(
        self, settings: Settings, store: Store, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.zone = settings.zone

    def keeps(self, update: Update) -> bool:
        """Whether the chat filter keeps this update (no filter keeps everything)."""
        allowed = self.settings.chat_ids
        if not allowed:
            return True
        chat_id = update.chat_id
        return chat_id is not None and chat_id in allowed

    def accept(self, body: bytes, received_at: float | None = None) -> Receipt:
        """Store ``body`` durably, exactly as received, and say what happened.

        Returns only after the object (and the changed-partition marker) is
        durable; raises :class:`StorageError` otherwise.
        """
        update = parse_update(body, self.settings.max_body)
        if not self.keeps(update):
            log.debug("update %s (%s) filtered out by chat filter", update.update_id, update.kind)
            return Receipt(update.update_id, update.kind, "filtered", None)

        when = self.clock() if received_at is None else received_at
        day = context_date(update.event_time, self.zone, when)
        if update.event_time is None:
            earlier = self._stored_the_day_before(update, day, body)
            if earlier is not None:
                return earlier
        key = raw_key(update.update_id, day)
        outcome: Outcome = "stored"
        if not self.store.create(key, body):
            outcome = "duplicate"
            if self._stored_bytes(key) != body:
                # Same update_id, different content: keep both, named by content.
                key = raw_conflict_key(update.update_id, day, body)
                self.store.create(key, body)
                outcome = "conflict"
                log.warning(
                    "update_id %s arrived twice with different bodies; kept both", update.update_id
                )
        # Marked even for a duplicate: the first attempt may have stored the
        # object and died before marking it.
        mark_dirty(self.store, day)
        return Receipt(update.update_id, update.kind, outcome, key)

    def _stored_bytes(self, key: str) -> bytes | None:
        try:
            return self.store.read(key)
        except FileNotFoundError:
            # Removed between our create and this read (an erasure running at
            # the same time): the caller stores the body again under its own name.
            return None

    def _stored_the_day_before(self, update: Update, day: date, body: bytes) -> Receipt | None:
        """A re-delivery of a dateless update that first arrived the day before.

        Such updates (callback queries, poll answers, ...) are filed under the
        day they arrive, and Telegram re-delivers for up to 24 hours: without
        this look-back a retry just after midnight would be stored twice.
        """
        previous = day - timedelta(days=1)
        key = raw_key(update.update_id, previous)
        if self._stored_bytes(key) != body:
            return None
        mark_dirty(self.store, previous)
        return Receipt(update.update_id, update.kind, "duplicate", key)
