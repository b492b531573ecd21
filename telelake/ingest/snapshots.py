"""Daily member-count snapshots: ``getChatMemberCount`` once a day per chat, into the raw layer.

Telegram tells a bot nothing when its member count changes (``chat_member``
updates come only to admin bots, and only for changes from then on), so the
count over time needs asking. ``telelake run`` and the ETL Lambda call
:func:`snapshot_lake` before each daily build. Each answer is stored in the
raw layer as one record (``telegram/snapshot.py``), under a key made of the
chat and the day, with a create-only write: the first snapshot of a day
stays, a second call that day (a restart, a retried Lambda) finds it and
asks nothing. The ETL turns the records into ``telegram_chat_stats`` rows,
so the history survives any rebuild of the enriched layer.

Which chats: the groups and channels (negative ids) with any update in the
last :data:`RECENT_DAYS` days of the enriched layer, plus those of the
``--chat-id`` filter. A chat that refuses (the bot was removed) is logged
and skipped; a snapshot never fails the ETL that follows it.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import orjson

from telelake.config import Settings
from telelake.errors import BotApiError, StorageError, TokenRejectedError
from telelake.lake.changes import mark_dirty
from telelake.lake.layout import context_date, partition_dir, raw_key
from telelake.lake.storage import Store, open_store
from telelake.lake.tables import UPDATES
from telelake.telegram.botapi import BotApi
from telelake.telegram.snapshot import snapshot_record, snapshot_update_id

log = logging.getLogger("telelake.snapshots")

RECENT_DAYS = 30


@dataclass
class SnapshotSummary:
    """What one round of snapshots did, chat by chat."""

    day: date
    taken: dict[int, int] = field(default_factory=dict)
    already: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [f"member counts of {self.day}: {len(self.taken)} taken"]
        if self.already:
            parts.append(f"{len(self.already)} already taken today")
        if self.failed:
            parts.append(f"{len(self.failed)} refused")
        return ", ".join(parts)


def recent_chats(enriched: Store, today: date, days: int = RECENT_DAYS) -> set[int]:
    """Groups and channels (negative ids) with an update in the ``days`` days up to ``today``."""
    import pyarrow.parquet as pq

    found: set[int] = set()
    for back in range(days):
        folder = partition_dir(UPDATES, today - timedelta(days=back))
        for key in enriched.list(folder):
            if not key.endswith(".parquet"):
                continue
            try:
                column = pq.read_table(io.BytesIO(enriched.read(key)), columns=["chat_id"])
            except (FileNotFoundError, OSError, ValueError) as exc:
                log.warning("cannot read %s for the chats to count: %s", key, exc)
                continue
            found.update(c for c in column.column(0).to_pylist() if c is not None and c < 0)
    return found


def take_snapshots(
    api: BotApi,
    raw: Store,
    chats: set[int],
    zone: ZoneInfo,
    now: float | None = None,
) -> SnapshotSummary:
    """Ask each of ``chats`` its member count, unless asked already today, and store it."""
    taken_at = int(time.time() if now is None else now)
    day = context_date(taken_at, zone, taken_at)
    summary = SnapshotSummary(day)
    for chat in sorted(chats):
        key = raw_key(snapshot_update_id(chat, day), day)
        if raw.exists(key):
            summary.already.append(chat)
            continue
        try:
            count = api.get_chat_member_count(chat)
        except TokenRejectedError:
            raise
        except BotApiError as exc:
            log.warning("no member count for chat %s today: %s", chat, exc)
            summary.failed[chat] = str(exc)
            continue
        store_snapshot(raw, chat, day, taken_at, count)
        summary.taken[chat] = count
    return summary


def store_snapshot(raw: Store, chat: int, day: date, taken_at: int, count: int) -> None:
    """Keep one answer in the raw layer (create-only) and mark its day for the ETL."""
    key = raw_key(snapshot_update_id(chat, day), day)
    raw.create(key, orjson.dumps(snapshot_record(chat, day, taken_at, count)))
    mark_dirty(raw, day)


def snapshot_lake(
    settings: Settings, api: BotApi | None = None, now: float | None = None
) -> SnapshotSummary | None:
    """Today's snapshots of the lake of ``settings``; ``None`` when there is no bot token.

    Never raises: a snapshot is worth less than the build that follows it, so
    any failure is logged and the caller goes on.
    """
    if api is None and not settings.token:
        log.info("no bot token: no member-count snapshot today")
        return None
    current = time.time() if now is None else now
    try:
        raw, enriched = open_store(settings.raw_url), open_store(settings.enriched_url)
        today = context_date(int(current), settings.zone, current)
        chats = recent_chats(enriched, today) | {c for c in settings.chat_ids if c < 0}
        if not chats:
            return SnapshotSummary(today)
        if api is None:
            with BotApi(settings.require_token(), settings.api_url) as own:
                summary = take_snapshots(own, raw, chats, settings.zone, current)
        else:
            summary = take_snapshots(api, raw, chats, settings.zone, current)
    except (BotApiError, StorageError, OSError) as exc:
        log.error("member-count snapshots skipped: %s", exc)
        return None
    log.info("%s", summary.describe())
    return summary
