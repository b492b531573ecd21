"""``telelake import``: a Telegram Desktop export into the raw layer, as updates.

The conversion is pure (``telegram/export.py``); this module writes. It uses
the same pieces as live ingest (``Ingestor.accept``): the deterministic
:func:`raw_key` under :func:`context_date` in the lake's zone, create-only
writes, a changed-date marker after the objects are durable. So importing
the same file again finds every object already there (as an object, or
packed into a segment by ``telelake compact``) and marks nothing; an
export taken later that shows a message differently (a later edit) keeps the
new version beside the old one, named by content, as ingest does with a
reused ``update_id``. Only the dates that received an object are marked for
the next ``telelake etl``. People erased from the lake before (``telelake
forget``, found through the audit records) stay erased: their messages are
not imported and mentions of them are scrubbed by the same rule.

Writes go through a small thread pool: each create is durable (fsync locally,
a PUT on S3) and waits on the disk or network, so a few in flight multiply
the rate. Messages are handled in batches, so memory stays bounded.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import orjson

from telelake.config import Settings
from telelake.errors import UsageError
from telelake.lake.changes import mark_dirty
from telelake.lake.forget import DELETE, Person, erase, erased_among, erasure_records
from telelake.lake.layout import context_date, raw_conflict_key, raw_key
from telelake.lake.manifest import ensure_zone
from telelake.lake.segments import read_day
from telelake.lake.storage import Store
from telelake.telegram.export import ExportChat
from telelake.telegram.export_file import ChatHeader, converted, open_export
from telelake.telegram.update import Update

log = logging.getLogger("telelake.import")

BATCH = 512
WORKERS = 8

Written = Literal["stored", "already", "updated"]


@dataclass
class ImportSummary:
    """What one import did."""

    chat: ExportChat
    header: ChatHeader
    converted: int = 0
    stored: int = 0
    already: int = 0
    updated: int = 0
    erased: int = 0  # messages of people erased before (telelake forget): not imported
    skipped: Counter[str] = field(default_factory=Counter)
    per_date: Counter[date] = field(default_factory=Counter)

    def count(self, day: date, outcome: Written) -> None:
        self.converted += 1
        if outcome == "already":
            self.already += 1
            return
        if outcome == "stored":
            self.stored += 1
        else:
            self.updated += 1
        self.per_date[day] += 1

    @property
    def dates(self) -> list[date]:
        """Dates that received an object (and were marked for the next ETL)."""
        return sorted(self.per_date)


OBJECT = "object"


class _Listed:
    """Keys already in the raw partitions of the last few dates: one listing per
    date instead of a write attempt per message when an export is imported again
    (exports are in date order, so a few dates suffice). Keys packed into a
    segment (``telelake compact``) are known with the SHA-256 of their bytes:
    there is no object to find or to compare with."""

    def __init__(self, raw: Store, keep: int = 8) -> None:
        self.raw = raw
        self.keep = keep
        self.days: OrderedDict[date, tuple[set[str], dict[str, bytes]]] = OrderedDict()

    def find(self, day: date, key: str) -> str | bytes | None:
        """:data:`OBJECT` when an object has ``key``, the digest of the bytes a segment
        holds under it, or ``None``."""
        known = self.days.get(day)
        if known is None:
            part = read_day(self.raw, day, objects=False)
            packed = {
                k: hashlib.sha256(body).digest()
                for lines in part.segments.values()
                for k, body in lines
            }
            known = self.days[day] = ({k for k, _ in part.objects}, packed)
            if len(self.days) > self.keep:
                self.days.popitem(last=False)
        else:
            self.days.move_to_end(day)
        objects, packed = known
        return OBJECT if key in objects else packed.get(key)


def _create(raw: Store, key: str, body: bytes) -> Written:
    """A different version of a message whose first version is packed in a segment."""
    return "updated" if raw.create(key, body) else "already"


def _write(raw: Store, key: str, body: bytes, update_id: int, day: date, listed: bool) -> Written:
    if not listed and raw.create(key, body):
        return "stored"
    try:
        existing = raw.read(key)
    except FileNotFoundError:
        existing = None  # removed meanwhile (an erasure): store it again
    if existing == body:
        return "already"
    if existing is None:
        return "stored" if raw.create(key, body) else "already"
    # The same message exported differently (edited since): keep both, as ingest does.
    return "updated" if raw.create(raw_conflict_key(update_id, day, body), body) else "already"


def _without(data: dict[str, Any], erased: list[Person]) -> dict[str, Any] | None:
    """The update with earlier-erased people scrubbed, or None when it was theirs."""
    kept: Any = data
    for person in erased:
        kept = erase(kept, person)
        if kept is DELETE:
            return None
    return dict(kept)


def _batches(
    items: Iterator[tuple[int, dict[str, Any]] | str], size: int
) -> Iterator[list[tuple[int, dict[str, Any]] | str]]:
    while batch := list(islice(items, size)):
        yield batch


def import_export(
    path: Path,
    settings: Settings,
    raw: Store,
    *,
    chat: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = WORKERS,
) -> ImportSummary:
    """Load the chosen chat of the export at ``path`` into ``raw``.

    ``progress(done, total)`` is called after each batch of messages.
    """
    if not path.is_file():
        raise UsageError(
            f"{path}: no such file (give the result.json of a Telegram Desktop export)"
        )
    header, export_chat, names = open_export(path, chat)
    if settings.chat_ids and export_chat.id not in settings.chat_ids:
        raise UsageError(
            f"chat {export_chat.id} ({export_chat.name!r}) is not among the kept chats "
            f"(--chat-id / TELELAKE_CHAT_IDS)"
        )
    ensure_zone(raw, settings.timezone)
    zone = settings.zone
    summary = ImportSummary(chat=export_chat, header=header)
    # People erased from this lake before (telelake forget) stay erased.
    erased = [
        Person(uid, frozenset(names.names_of(uid)))
        for uid in sorted(erased_among(erasure_records(raw), names.user_ids))
    ]
    updates = converted(path, header, export_chat, names)
    marked: set[date] = set()
    existing = _Listed(raw)
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="import") as pool:
        for batch in _batches(updates, BATCH):
            jobs = []
            for item in batch:
                if isinstance(item, str):
                    summary.skipped[item] += 1
                    continue
                update_id, original = item
                data = _without(original, erased)
                if data is None:
                    summary.erased += 1
                    continue
                update = Update.from_json(data)
                # event_time always exists (date_unixtime), so received_at is unused.
                day = context_date(update.event_time, zone, 0.0)
                body = orjson.dumps(data)
                key = raw_key(update_id, day)
                found = existing.find(day, key)
                if isinstance(found, bytes):
                    # In a segment: the same bytes are already there; other bytes
                    # are kept beside them, named by content, unless packed too.
                    key = raw_conflict_key(update_id, day, body)
                    if hashlib.sha256(body).digest() == found or existing.find(day, key):
                        summary.count(day, "already")
                    else:
                        jobs.append((day, pool.submit(_create, raw, key, body)))
                    continue
                listed = found is not None
                jobs.append((day, pool.submit(_write, raw, key, body, update_id, day, listed)))
            for day, job in jobs:
                summary.count(day, job.result())
            # Markers after the objects are durable, as ingest does.
            for day in summary.per_date.keys() - marked:
                mark_dirty(raw, day)
                marked.add(day)
            done += len(batch)
            if progress is not None:
                progress(done, header.messages)
    for reason, count in summary.skipped.items():
        log.debug("skipped %d exported message(s): %s", count, reason)
    return summary
