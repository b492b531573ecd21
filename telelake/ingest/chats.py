"""The ``--chat-id`` filter, and the group -> supergroup migrations it follows.

A filter that forgot a migration would silently stop collecting a group the
day it became a supergroup; so what it learns is stored in the raw layer
before the update that taught it is acknowledged.
"""

from __future__ import annotations

import logging
import threading

import orjson

from telelake.lake.layout import STATE_PREFIX
from telelake.lake.storage import Store
from telelake.telegram.update import Update, as_dict, as_int

log = logging.getLogger("telelake.ingest")

# Group -> supergroup migrations seen under a chat filter, so a restart still
# keeps the new chat id (see ChatFilter).
CHATS_KEY = f"{STATE_PREFIX}/chats.json"


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
