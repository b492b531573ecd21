"""Packing closed days of the raw layer into one segment per day, losing nothing.

One object per update is the right landing format (create-only keys make
re-delivery harmless) and the wrong archive format: every reader pays per
object. Once a day is closed (older than ``compact_after`` days in the
lake's zone: Telegram keeps an update 24 hours, so an older day gets nothing
new from Telegram but the odd late edit, import or backfill),
:func:`compact_day` packs its objects and any earlier segments into one
segment (the format is in :mod:`telelake.lake.segments`).

**Nothing lost, nothing counted twice.** The steps are: write the new
segment (one PUT on S3, temp + rename locally), read it back and compare
every update's key and SHA-256 with what was meant to go in, and only then
delete the originals (objects and superseded segments, in batches). Between
any two steps the day reads the same (:func:`~telelake.lake.segments.read_day`
counts an update held both in a segment and as an object once, and lists
again when something vanished mid-read), so a SIGKILL anywhere leaves the
same rows, and the next compaction finishes the job. Segments are named by a
hash of their content: compacting a compacted day with no new objects writes
nothing, and objects that arrive later are merged by the next compaction,
whose segment replaces the old one.

**Compaction never marks a date changed, and need not.** A partition is
built from the ``(key, bytes)`` pairs its reader returns; compaction keeps
that set identical at every moment (the segment holds each object's exact
bytes under the key the object had, and originals go only once the segment
is verified), so every enriched file built before, during or after it is
still exactly right, and a rebuild after it is byte-identical. Objects that
arrive during a compaction are not in its listing and are not deleted; ingest
marks their date changed as usual.

**Which days, without listing the lake.** Ingest marks a date changed
(``_telelake/dirty``) and the ETL clears that marker when it builds the date,
so the ETL runner leaves a "to compact" marker for every date it built
(:func:`note_built`, after the build listed the date: any object it saw is
older than the marker). A compaction swaps a date's marker for a "running"
one before listing the date and removes that only at the end, so a killed
compaction keeps its date on the list. Candidates are the closed dates with
any of these markers or a change marker. A lake from before compaction has
no markers for its history: the first compaction (and ``telelake compact
--all``) lists every partition once, then records that it did.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import orjson

from telelake.errors import StorageError
from telelake.lake.changes import dirty_dates
from telelake.lake.layout import RAW_PREFIX, STATE_PREFIX, date_of_key
from telelake.lake.segments import Pair, decode, encode, pack, paused_gc, read_day
from telelake.lake.storage import Store

log = logging.getLogger("telelake.compaction")

DEFAULT_COMPACT_AFTER = 3
COMPACTION_PREFIX = f"{STATE_PREFIX}/compaction"
PENDING_PREFIX = f"{COMPACTION_PREFIX}/pending"
RUNNING_PREFIX = f"{COMPACTION_PREFIX}/running"
SCANNED_KEY = f"{COMPACTION_PREFIX}/scanned.json"


@dataclass(frozen=True)
class DayCompaction:
    """What compacting one date did."""

    day: date
    segment: str | None = None  # the date's segment afterwards (None: still objects only)
    updates: int = 0  # lines in that segment
    packed: int = 0  # objects now in the segment, deleted
    merged: int = 0  # earlier segments folded into it, deleted
    left: int = 0  # objects that stay objects (see lake/segments.py)
    bytes_before: int = 0  # of what was replaced (objects and segments)
    bytes_after: int = 0  # of the segment written (0 when none was)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.packed or self.merged or self.bytes_after)


def compact_day(raw: Store, day: date) -> DayCompaction:
    """Pack ``day``'s objects and segments into one segment, then delete what it replaced."""
    started = time.monotonic()
    part = read_day(raw, day)
    if not part.objects and len(part.segments) <= 1:
        segment = next(iter(part.segments), None)
        lines = len(part.segments[segment]) if segment else 0
        return DayCompaction(day, segment, lines, seconds=time.monotonic() - started)
    with paused_gc():
        merged, renamed = part.merged()
        packed = pack(day, merged)
        del merged
        if not packed.lines:  # objects only, none of which can be a line
            left = len(part.objects)
            return DayCompaction(day, left=left, seconds=time.monotonic() - started)
        key, data = encode(packed.lines, day)
        meant = _digests(packed.lines)
        # What the segment holds, by key: an original goes only if its update is in it.
        line = dict(packed.lines)
        del packed
        packed_objects = [(k, b) for k, b in part.objects if line.get(renamed.get((k, 0), k)) == b]
        objects = [k for k, _ in packed_objects]
        segments = [
            s
            for s, lines in part.segments.items()
            if s != key
            and all(line.get(renamed.get((s, i), k)) == b for i, (k, b) in enumerate(lines))
        ]
        before = sum(len(b) for _, b in packed_objects) + sum(part.sizes[s] for s in segments)
        left = len(part.objects) - len(objects)
        wrote = key not in part.segments
        del part, line, renamed, packed_objects  # from here on, only the segment's digests
    if not wrote and not objects and not segments:
        return DayCompaction(day, key, len(meant), left=left, seconds=time.monotonic() - started)
    if wrote:
        _write_verified(raw, key, data, day, meant)
    raw.delete_many(objects + segments)
    return DayCompaction(
        day,
        key,
        len(meant),
        packed=len(objects),
        merged=len(segments),
        left=left,
        bytes_before=before,
        bytes_after=len(data) if wrote else 0,
        seconds=time.monotonic() - started,
    )


def _digests(lines: list[Pair]) -> dict[str, bytes]:
    return {key: hashlib.sha256(body).digest() for key, body in lines}


def _write_verified(raw: Store, key: str, data: bytes, day: date, meant: dict[str, bytes]) -> None:
    """Write a segment, then read it back: every update's key and SHA-256 as meant, or
    the segment is removed again and :class:`StorageError` says nothing was deleted."""
    raw.replace(key, data)
    data = raw.read(key)  # a failure here leaves a segment that may be fine: kept
    try:
        back = decode(key, data, day)
    except StorageError as exc:
        raw.delete(key)
        raise StorageError(f"{exc}; it was removed and nothing else was deleted") from None
    got = {k: hashlib.sha256(body).digest() for k, body in back}
    if len(back) != len(meant) or got != meant:
        raw.delete(key)
        raise StorageError(
            f"{key} did not read back as written; it was removed and nothing else was deleted"
        )


def replace_segments(raw: Store, day: date, old: list[str], pairs: list[Pair]) -> str | None:
    """Replace ``day``'s segments ``old`` by one holding ``pairs`` (``forget`` rewriting
    what it erased); the new segment's key, or ``None`` when ``pairs`` is empty.

    Keys follow from the new bytes (a rewritten update re-using an id may get
    another ``<sha256 prefix>`` name). The new segment is written and verified
    before the old ones go; a pair that cannot be a line becomes an object.
    """
    packed = pack(day, pairs, rekey=True)
    for key, body in packed.left:
        if not raw.create(key, body) and raw.read(key) != body:
            raise StorageError(f"{key} exists with other bytes; {day} was left as it was")
    if not packed.lines:
        raw.delete_many(old)
        return None
    key, data = encode(packed.lines, day)
    if key not in old:
        _write_verified(raw, key, data, day, _digests(packed.lines))
    raw.delete_many([segment for segment in old if segment != key])
    return key


# --- which dates -----------------------------------------------------------------------------


def _marker(prefix: str, day: date) -> str:
    return f"{prefix}/context_date={day.isoformat()}"


def note_built(raw: Store, day: date) -> None:
    """Mark ``day`` for compaction (the ETL runner calls this after building it)."""
    raw.replace(_marker(PENDING_PREFIX, day), b"")


def marked_dates(raw: Store) -> list[date]:
    """Dates marked for compaction, or whose compaction did not finish, oldest first."""
    days: set[date | None] = set()
    for prefix in (PENDING_PREFIX, RUNNING_PREFIX):
        days |= {date_of_key(key) for key in raw.list(prefix)}
    return sorted(day for day in days if day is not None)


def last_closed(zone: ZoneInfo, compact_after: int, now: float | None = None) -> date:
    """The newest date that counts as closed: ``compact_after`` days before today."""
    moment = datetime.now(zone) if now is None else datetime.fromtimestamp(now, zone)
    return moment.date() - timedelta(days=compact_after)


def partition_dates(raw: Store) -> list[date]:
    days = {date_of_key(name) for name in raw.list_dirs(RAW_PREFIX)}
    return sorted(day for day in days if day is not None)


@dataclass(frozen=True)
class CompactionPlan:
    """The dates a compaction visits, and whether they come from listing every partition."""

    days: list[date]
    full_scan: bool = False
    # Dates not closed yet that a full scan found: marked, so they are compacted later.
    open_days: list[date] = field(default_factory=list)


def plan_compaction(
    raw: Store,
    zone: ZoneInfo,
    compact_after: int = DEFAULT_COMPACT_AFTER,
    *,
    day: date | None = None,
    everything: bool = False,
    now: float | None = None,
) -> CompactionPlan:
    """``day`` alone; or every closed date (``everything``, and the first time on a lake);
    or the closed dates with a compaction or change marker."""
    if day is not None:
        return CompactionPlan([day])
    newest = last_closed(zone, compact_after, now)
    if everything or not raw.exists(SCANNED_KEY):
        every = partition_dates(raw)
        closed = [d for d in every if d <= newest]
        return CompactionPlan(closed, True, [d for d in every if d > newest])
    days = set(marked_dates(raw)) | set(dirty_dates(raw))
    return CompactionPlan(sorted(d for d in days if d <= newest))


# --- the driver ------------------------------------------------------------------------------


class CompactionProgress(Protocol):
    def planned(self, days: Sequence[date]) -> None: ...

    def compacted(self, result: DayCompaction) -> None: ...


@dataclass
class CompactionSummary:
    """What one compaction run did, and which planned dates it left for the next one."""

    days: list[DayCompaction] = field(default_factory=list)
    left: list[date] = field(default_factory=list)
    full_scan: bool = False

    @property
    def compacted(self) -> int:
        return sum(d.changed for d in self.days)

    @property
    def packed(self) -> int:
        return sum(d.packed for d in self.days)

    @property
    def bytes_before(self) -> int:
        return sum(d.bytes_before for d in self.days)

    @property
    def bytes_after(self) -> int:
        return sum(d.bytes_after for d in self.days)

    @property
    def objects_left(self) -> int:
        return sum(d.left for d in self.days)


def compact_marked(raw: Store, day: date) -> DayCompaction:
    """:func:`compact_day` with the marker protocol: the date stays a candidate until
    its compaction finished, and an object stored meanwhile re-marks it."""
    running = _marker(RUNNING_PREFIX, day)
    raw.replace(running, b"")
    raw.delete(_marker(PENDING_PREFIX, day))
    result = compact_day(raw, day)
    raw.delete(running)
    return result


def compact_lake(
    raw: Store,
    zone: ZoneInfo,
    compact_after: int = DEFAULT_COMPACT_AFTER,
    *,
    day: date | None = None,
    everything: bool = False,
    progress: CompactionProgress | None = None,
    may_start: Callable[[], bool] | None = None,
    now: float | None = None,
) -> CompactionSummary:
    """Compact the dates :func:`plan_compaction` names, oldest first.

    ``may_start`` (checked before each date) ends the run early; dates not
    started keep their markers and are listed in :attr:`CompactionSummary.left`.
    """
    plan = plan_compaction(raw, zone, compact_after, day=day, everything=everything, now=now)
    if progress is not None:
        progress.planned(plan.days)
    summary = CompactionSummary(full_scan=plan.full_scan)
    for index, one in enumerate(plan.days):
        if may_start is not None and not may_start():
            summary.left = plan.days[index:]
            break
        _report(compact_marked(raw, one), summary, progress)
    if plan.full_scan and not summary.left and (plan.days or plan.open_days):
        for later in plan.open_days:
            note_built(raw, later)
        record = {"scanned_at": datetime.now(zone).isoformat(timespec="seconds")}
        raw.replace(SCANNED_KEY, orjson.dumps(record))
    return summary


def _report(
    result: DayCompaction, summary: CompactionSummary, progress: CompactionProgress | None
) -> None:
    summary.days.append(result)
    if result.changed:
        log.debug(
            "compacted %s: %d object(s) and %d segment(s) into %s",
            result.day,
            result.packed,
            result.merged,
            result.segment,
        )
    if progress is not None:
        progress.compacted(result)
