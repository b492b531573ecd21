"""The ingest core: from request bytes to a durable raw object, or a clear refusal.

Every way an update arrives (the webhook, the ingest Lambda, long polling,
an export import) stores it through :meth:`Ingestor.accept` and
acknowledges only when it returns. It raises :class:`BadUpdateError` (answer
4xx, never retried usefully) or :class:`StorageError` (answer 5xx so
Telegram retries). Anything Telegram may validly send, including kinds
invented after this code, is accepted. How a request's answer follows from
that is :mod:`telelake.ingest.receiver`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import orjson

from telelake.config import Settings
from telelake.errors import BadUpdateError, BodyTooLargeError, StorageError
from telelake.ingest.chats import ChatFilter
from telelake.lake.changes import mark_dirty
from telelake.lake.layout import context_date, raw_conflict_key, raw_key
from telelake.lake.manifest import ensure_zone
from telelake.lake.storage import Store, open_store
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


@dataclass(frozen=True, slots=True)
class Planned:
    """An update that passed every check, and the key it is to be stored under."""

    update: Update
    day: date
    key: str
    body: bytes


def _filtered(update: Update) -> Receipt:
    log.debug("update %s (%s) filtered out by chat filter", update.update_id, update.kind)
    return Receipt(update.update_id, update.kind, "filtered", None)


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
    """Verifies, filters and stores updates in the raw layer of one lake.

    The first update stored records the lake's zone (``lake.json``) if nobody
    did yet, and refuses a lake partitioned in another zone; a storage
    failure there fails that update (5xx, retried) and the next one tries again.
    """

    def __init__(
        self, settings: Settings, store: Store, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.zone = settings.zone
        self.chats = ChatFilter(settings.chat_ids, store)
        self._zone_recorded = False

    @classmethod
    def open(cls, settings: Settings) -> Ingestor:
        """The ingestor of the raw layer of ``settings``, its zone checked at once.

        A lake partitioned in another zone is refused here (:class:`ConfigError`);
        a raw layer not writable yet is not: updates get 5xx until it is.
        """
        ingestor = cls(settings, open_store(settings.raw_url))
        try:
            ingestor.record_zone()
        except StorageError as exc:
            log.error("raw layer not writable yet, refusing updates until it is: %s", exc)
        return ingestor

    def record_zone(self) -> None:
        """Record the zone for a new lake, or refuse a lake partitioned in another one."""
        if not self._zone_recorded:
            ensure_zone(self.store, self.settings.timezone)
            self._zone_recorded = True

    def accept(self, body: bytes, received_at: float | None = None) -> Receipt:
        """Store ``body`` durably, exactly as received, and say what happened.

        Returns only after the object (and the changed-partition marker) is
        durable; raises :class:`StorageError` otherwise.
        """
        planned = self.plan(body, received_at)
        if isinstance(planned, Receipt):
            return planned
        update, day, key = planned.update, planned.day, planned.key
        outcome: Outcome = "stored"
        if not self.store.create(key, body):
            outcome = "duplicate"
            conflict = self.conflict_key(planned)
            if conflict is not None:
                key = conflict
                self.store.create(key, body)
                outcome = "conflict"
        # Marked even for a duplicate: the first attempt may have stored the
        # object and died before marking it.
        mark_dirty(self.store, day)
        return Receipt(update.update_id, update.kind, outcome, key)

    def plan(self, body: bytes, received_at: float | None = None) -> Receipt | Planned:
        """Check ``body`` and decide where it goes, reading the lake where needed.

        A :class:`Receipt` when nothing is to be stored (filtered out, or a
        re-delivery already stored the day before), else where to store it.
        Raises :class:`BadUpdateError` for a body that is not a valid update.
        """
        update = parse_update(body, self.settings.max_body)
        if not self.chats.keeps(update):
            return _filtered(update)
        self.record_zone()
        return self._place(update, body, self.clock() if received_at is None else received_at)

    def plan_on_loop(self, body: bytes) -> Receipt | Planned | None:
        """:meth:`plan` for an event loop: never touches the lake.

        ``None`` when deciding needs the lake (the chat filter's first use or a
        new migration, the zone not recorded yet, an update with no date): the
        caller then runs :meth:`accept` in a thread.
        """
        update = parse_update(body, self.settings.max_body)
        if not self.chats.decides_now(update):
            return None
        if not self.chats.keeps(update):
            return _filtered(update)
        if not self._zone_recorded or update.event_time is None:
            return None
        return self._place(update, body, self.clock())

    def _place(self, update: Update, body: bytes, received_at: float) -> Receipt | Planned:
        """Where a kept update goes (or a receipt: it is stored already)."""
        day = context_date(update.event_time, self.zone, received_at)
        if update.event_time is None:
            earlier = self._stored_the_day_before(update, day, body)
            if earlier is not None:
                return earlier
        return Planned(update, day, raw_key(update.update_id, day), body)

    def conflict_key(self, planned: Planned) -> str | None:
        """After a create found ``planned.key`` taken: ``None`` when it holds the same
        bytes (a re-delivery), else the key to keep these different bytes under."""
        if self._stored_bytes(planned.key) == planned.body:
            return None
        update = planned.update
        log.warning("update_id %s arrived twice with different bodies; kept both", update.update_id)
        return raw_conflict_key(update.update_id, planned.day, planned.body)

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
