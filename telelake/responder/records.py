"""The responder's own records in the raw layer: per-chat settings and what was answered.

One small JSON object per group under ``_telelake/responder/chats/<chat_id>.json``
(the lake's own records, DESIGN §4), so settings survive restarts and
Lambda invocations:

- settings an administrator chose: the digest (``daily``, ``weekly``,
  ``off``) and the join-alert threshold (``None``: the operator's default);
- ``handled``: the commands of the last half hour that were answered (or
  deliberately not), by ``update_id``, so a restart neither drops nor repeats
  one (updates may arrive out of order: a mark would not do);
- ``answered``: when each command was last answered, and which update asked
  (one answer per chat and command per minute; the asking update itself is
  answered again after a crash), ``digest_last`` (the local date of the last digest),
  ``joins`` and ``alert_last`` (the last ten minutes of joins, the last alert),
  and ``sent`` (the group's last sends, for the 20-a-minute limit).

People appear only as keyed tags (:func:`tag`: an HMAC under a key derived
from the bot token, truncated), never as ids or names, and only for minutes;
``/forgetme`` removes theirs at once (:meth:`Records.scrub`). Private chats
share one record holding no more than ``handled`` ids and tags, so no file
is named after a person. One writer at a time is assumed (the responder
thread; on AWS one invocation per chat at a time, a FIFO queue grouped by chat).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from telelake.lake.layout import STATE_PREFIX
from telelake.lake.storage import Store

log = logging.getLogger("telelake.responder")

RESPONDER_PREFIX = f"{STATE_PREFIX}/responder"
CHATS_PREFIX = f"{RESPONDER_PREFIX}/chats"
PRIVATE_KEY = f"{RESPONDER_PREFIX}/private.json"
DIGESTS = ("daily", "weekly", "off")
# How long per-person traces (tags) are kept: the longest window that needs them.
TAG_SECONDS = 600.0
# How long a handled command is remembered: longer than any command is answered after.
HANDLED_SECONDS = 1800.0


def tag(secret: bytes, user_id: int) -> str:
    """A person's short keyed tag: stable for one bot, meaningless without its token."""
    return hmac.new(secret, str(user_id).encode(), hashlib.sha256).hexdigest()[:16]


@dataclass
class ChatRecord:
    """Settings and state of one group (``chat_id``), or of every private chat (``None``)."""

    chat_id: int | None
    digest: str = "off"
    alert_joins: int | None = None
    digest_last: str | None = None
    handled: dict[int, float] = field(default_factory=dict)
    answered: dict[str, tuple[float, int]] = field(default_factory=dict)
    joins: list[tuple[float, str]] = field(default_factory=list)
    alert_last: float | None = None
    sent: list[float] = field(default_factory=list)

    def forget_old(self, now: float) -> bool:
        """Drop what no rule needs any more (answers over a minute old, joins over ten);
        whether anything went."""
        sizes = (len(self.answered), len(self.joins), len(self.sent), len(self.handled))
        self.answered = {k: v for k, v in self.answered.items() if now - v[0] < 120.0}
        self.joins = [(t, who) for t, who in self.joins if now - t < TAG_SECONDS]
        self.sent = [t for t in self.sent if now - t < 120.0]
        self.handled = {u: t for u, t in self.handled.items() if now - t < HANDLED_SECONDS}
        return sizes != (len(self.answered), len(self.joins), len(self.sent), len(self.handled))

    def to_json(self) -> bytes:
        data = asdict(self)
        data["handled"] = sorted([u, t] for u, t in self.handled.items())
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_json(cls, chat_id: int | None, data: Any) -> ChatRecord:
        record = cls(chat_id)
        if not isinstance(data, dict):
            return record
        if data.get("digest") in DIGESTS:
            record.digest = str(data["digest"])
        threshold = data.get("alert_joins")
        if type(threshold) is int and threshold >= 0:
            record.alert_joins = threshold
        if isinstance(data.get("digest_last"), str):
            record.digest_last = str(data["digest_last"])
        handled = data.get("handled")
        if isinstance(handled, list):
            record.handled = {
                int(h[0]): float(h[1])
                for h in handled
                if isinstance(h, list)
                and len(h) == 2
                and type(h[0]) is int
                and isinstance(h[1], int | float)
            }
        answered = data.get("answered")
        if isinstance(answered, dict):
            record.answered = {
                str(k): (float(v[0]), int(v[1]))
                for k, v in answered.items()
                if isinstance(v, list)
                and len(v) == 2
                and isinstance(v[0], int | float)
                and type(v[1]) is int
            }
        joins = data.get("joins")
        if isinstance(joins, list):
            record.joins = [
                (float(j[0]), str(j[1]))
                for j in joins
                if isinstance(j, list) and len(j) == 2 and isinstance(j[0], int | float)
            ]
        if isinstance(data.get("alert_last"), int | float):
            record.alert_last = float(data["alert_last"])
        sent = data.get("sent")
        if isinstance(sent, list):
            record.sent = [float(t) for t in sent if isinstance(t, int | float)]
        return record


def record_key(chat_id: int | None) -> str:
    return PRIVATE_KEY if chat_id is None else f"{CHATS_PREFIX}/{chat_id}.json"


class Records:
    """Read and write chat records; a cache of what this process read, saved on :meth:`save`.

    ``forget_cache`` (the Lambda, at each invocation) makes the next read go to
    the store again, in case another container wrote meanwhile.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[int | None, ChatRecord] = {}
        self._changed: set[int | None] = set()

    def get(self, chat_id: int | None) -> ChatRecord:
        """The record of a group, or the shared one of private chats (``None``)."""
        if chat_id is not None and chat_id > 0:
            chat_id = None
        record = self._cache.get(chat_id)
        if record is None:
            record = self._read(chat_id)
            self._cache[chat_id] = record
        return record

    def _read(self, chat_id: int | None) -> ChatRecord:
        key = record_key(chat_id)
        try:
            return ChatRecord.from_json(chat_id, orjson.loads(self.store.read(key)))
        except FileNotFoundError:
            return ChatRecord(chat_id)
        except orjson.JSONDecodeError:
            log.warning("%s is not valid JSON; starting that chat's record afresh", key)
            return ChatRecord(chat_id)

    def changed(self, record: ChatRecord) -> None:
        self._changed.add(record.chat_id)

    def save(self, now: float) -> None:
        """Write every changed record (atomically, each replacing its object)."""
        for chat_id in sorted(self._changed, key=lambda c: (c is None, c or 0)):
            record = self._cache[chat_id]
            record.forget_old(now)
            self.store.replace(record_key(chat_id), record.to_json())
        self._changed.clear()

    def cached(self) -> list[ChatRecord]:
        return list(self._cache.values())

    def forget_cache(self) -> None:
        self._cache = {cid: r for cid, r in self._cache.items() if cid in self._changed}

    def groups(self) -> list[int]:
        """Every group that has a record."""
        ids = []
        for key in self.store.list(CHATS_PREFIX):
            name = key.rsplit("/", 1)[-1].removesuffix(".json")
            try:
                ids.append(int(name))
            except ValueError:
                continue
        return ids

    def scrub(self, person: str, now: float) -> None:
        """Remove a person's tag from every record, now (``/forgetme``)."""
        for chat_id in [*self.groups(), None]:
            record = self.get(chat_id)
            joins = [(t, who) for t, who in record.joins if who != person]
            answered = {k: t for k, t in record.answered.items() if person not in k}
            if joins != record.joins or answered != record.answered:
                record.joins, record.answered = joins, answered
                self.changed(record)
        self.save(now)
