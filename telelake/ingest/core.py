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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import orjson

from telelake.config import Settings
from telelake.errors import BadUpdateError, BodyTooLargeError
from telelake.lake.changes import mark_dirty
from telelake.lake.layout import STATE_PREFIX, context_date, raw_conflict_key, raw_key
from telelake.lake.storage import Store
from telelake.telegram.update import Update, as_dict, as_int

log = logging.getLogger("telelake.ingest")

# Real updates nest about a dozen levels (a reply inside a pinned message
# inside ...); anything far deeper is an attack on whoever parses it later.
MAX_DEPTH = 64

Outcome = Literal["stored", "duplicate", "conflict", "filtered"]

# Group -> supergroup migrations seen under a chat filter, so a restart still
# keeps the new chat id (see ChatFilter).
CHATS_KEY = f"{STATE_PREFIX}/chats.json"


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


SECRET_REFUSED = "missing or wrong secret token"


def secret_refusal(expected: str | None, given: str | None) -> int | None:
    """The status refusing a request's secret (401 none given, 403 a wrong one), or
    ``None`` when it may pass; shared by the webhook and the ingest Lambda."""
    if secret_matches(expected, given):
        return None
    return 401 if given is None else 403


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


class ChatFilter:
    """The ``--chat-id`` filter, following groups that were upgraded to supergroups.

    When a group becomes a supergroup it gets a new chat id: the old group
    receives a service message with ``migrate_to_chat_id`` and the new one
    starts with ``migrate_from_chat_id``. Either one, from or to a kept chat,
    makes the other id kept too. The learned pairs are stored in the raw
    layer (``_telelake/chats.json``) *before* the update that taught them is
    stored, so a restart (or another ingest process reading the file at
    start) keeps collecting the supergroup.
    """

    def __init__(self, allowed: frozenset[int], store: Store) -> None:
        self.allowed = allowed
        self.store = store
        self._lock = threading.Lock()
        # new chat id -> old chat id, for every migration seen; read on first
        # use, so an unreadable lake fails an update (5xx, retried), not start-up
        self._migrations: dict[int, int] | None = None
        self._kept = allowed

    def _load(self) -> dict[int, int]:
        try:
            data = orjson.loads(self.store.read(CHATS_KEY))
        except FileNotFoundError:
            return {}
        except orjson.JSONDecodeError:
            log.warning("%s is not valid JSON; starting with no learned chat ids", CHATS_KEY)
            return {}
        pairs = as_dict(data).get("migrations")
        out: dict[int, int] = {}
        for pair in pairs if isinstance(pairs, list) else []:
            old, new = as_int(as_dict(pair).get("from")), as_int(as_dict(pair).get("to"))
            if old is not None and new is not None:
                out[new] = old
        return out

    def _closure(self, migrations: dict[int, int]) -> frozenset[int]:
        """Allowed ids plus every id migrated (transitively) to or from one of them."""
        kept = set(self.allowed)
        changed = True
        while changed:
            changed = False
            for new, old in migrations.items():
                if (old in kept) != (new in kept):
                    kept |= {old, new}
                    changed = True
        return frozenset(kept)

    def decides_now(self, update: Update) -> bool:
        """Whether :meth:`keeps` can answer without reading or writing the lake."""
        if not self.allowed:
            return True
        migrations = self._migrations
        if migrations is None:
            return False
        chat_id = update.chat_id
        migration = None if chat_id is None else _migration(update, chat_id)
        return migration is None or migration[1] in migrations

    def keeps(self, update: Update) -> bool:
        if not self.allowed:
            return True
        chat_id = update.chat_id
        if chat_id is None:
            return False
        if self._migrations is None:
            with self._lock:
                if self._migrations is None:
                    loaded = self._load()
                    self._kept = self._closure(loaded)
                    self._migrations = loaded
        migration = _migration(update, chat_id)
        if migration is not None and migration[1] not in self._migrations:
            self._learn(*migration)
        return chat_id in self._kept

    def _learn(self, old: int, new: int) -> None:
        with self._lock:
            known = self._migrations or {}
            if new in known:
                return
            migrations = {**known, new: old}
            body = orjson.dumps(
                {"migrations": [{"from": o, "to": n} for n, o in sorted(migrations.items())]}
            )
            # Durable before the update is stored: on StorageError the update
            # is not acknowledged, and its retry learns again.
            self.store.replace(CHATS_KEY, body)
            self._kept = self._closure(migrations)
            self._migrations = migrations
        log.info("chat %s was upgraded to supergroup %s; following it", old, new)


def _migration(update: Update, chat_id: int) -> tuple[int, int] | None:
    """``(old, new)`` chat ids when the update announces a group -> supergroup move."""
    payload = as_dict(update.payload)
    to_id = as_int(payload.get("migrate_to_chat_id"))
    if to_id is not None and to_id != chat_id:
        return chat_id, to_id
    from_id = as_int(payload.get("migrate_from_chat_id"))
    if from_id is not None and from_id != chat_id:
        return from_id, chat_id
    return None


@dataclass(frozen=True, slots=True)
class Planned:
    """An update that passed every check, and the key it is to be stored under."""

    update: Update
    day: date
    key: str
    body: bytes


class Ingestor:
    """Verifies, filters and stores updates in the raw layer of one lake."""

    def __init__(
        self, settings: Settings, store: Store, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.zone = settings.zone
        self.chats = ChatFilter(settings.chat_ids, store)

    def keeps(self, update: Update) -> bool:
        """Whether the chat filter keeps this update (no filter keeps everything)."""
        return self.chats.keeps(update)

    def accept(self, body: bytes, received_at: float | None = None) -> Receipt:
        """Store ``body`` durably, exactly as received, and say what happened.

        Returns only after the object (and the changed-partition marker) is
        durable; raises :class:`StorageError` otherwise.
        """
        planned = self.plan(body, received_at)
        if isinstance(planned, Receipt):
            return planned
        assert planned is not None  # a blocking plan always decides
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

    def plan(
        self, body: bytes, received_at: float | None = None, *, blocking: bool = True
    ) -> Receipt | Planned | None:
        """Check ``body`` and decide where it goes, without storing it.

        A :class:`Receipt` when nothing is to be stored (filtered out, or a
        re-delivery already stored the day before). With ``blocking=False``
        (an event loop calling) nothing touches the lake: ``None`` when deciding
        needs it (the chat filter's first use or a new migration, an update with
        no date), so the caller falls back to :meth:`accept` in a thread.
        Raises :class:`BadUpdateError` for a body that is not a valid update.
        """
        update = parse_update(body, self.settings.max_body)
        if not blocking and (update.event_time is None or not self.chats.decides_now(update)):
            return None
        if not self.keeps(update):
            log.debug("update %s (%s) filtered out by chat filter", update.update_id, update.kind)
            return Receipt(update.update_id, update.kind, "filtered", None)

        when = self.clock() if received_at is None else received_at
        day = context_date(update.event_time, self.zone, when)
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
