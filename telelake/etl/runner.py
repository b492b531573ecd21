"""Which partitions to build, and building one atomically.

A partition build reads every raw object of one ``context_date``, runs the
pure transform and replaces each table's single Parquet file of that date in
one atomic step (temp + rename locally, one PUT on S3): a reader sees the old
file or the new one, never half of either (DESIGN §3.5). A build touches only
its own date. Dates to build come from the change markers written by ingest,
so the default run never lists the whole lake (DESIGN §3.6).
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from telelake.errors import ConfigError, UsageError
from telelake.etl import schema
from telelake.etl.pseudonyms import Pseudonymizer
from telelake.etl.transform import collect, no_cyclic_gc, to_arrow
from telelake.etl.workers import WorkerError, WorkerPool
from telelake.lake.changes import dirty_dates, finish_build, mark_dirty, start_build
from telelake.lake.layout import (
    RAW_PREFIX,
    STATE_PREFIX,
    date_of_key,
    partition_dir,
    table_key,
)
from telelake.lake.storage import Store

log = logging.getLogger("telelake.etl")

# Below this many dates a run stays in one process: starting a worker
# (importing pyarrow) costs about as much as building a day of a busy group.
PARALLEL_MIN_DATES = 4


@dataclass(frozen=True)
class PartitionResult:
    """What one partition build did."""

    day: date
    raw_objects: int
    rows: dict[str, int]
    duplicates: int
    rejected: int
    reject_reasons: tuple[str, ...] = ()


@dataclass
class EtlSummary:
    partitions: list[PartitionResult] = field(default_factory=list)

    def total(self, table: str) -> int:
        return sum(p.rows.get(table, 0) for p in self.partitions)

    @property
    def raw_objects(self) -> int:
        return sum(p.raw_objects for p in self.partitions)

    @property
    def rejected(self) -> int:
        return sum(p.rejected for p in self.partitions)

    @property
    def duplicates(self) -> int:
        return sum(p.duplicates for p in self.partitions)


def _partition_dates(store: Store, prefix: str) -> set[date]:
    days = {date_of_key(name) for name in store.list_dirs(prefix)}
    return {day for day in days if day is not None}


def existing_dates(raw: Store, enriched: Store) -> list[date]:
    """Every date with raw data or with an enriched partition (to remove stale ones)."""
    days = _partition_dates(raw, RAW_PREFIX)
    for table in schema.TABLES:
        days |= _partition_dates(enriched, table)
    return sorted(days)


def plan(
    raw: Store,
    enriched: Store,
    *,
    day: date | None = None,
    since: date | None = None,
    until: date | None = None,
    everything: bool = False,
) -> list[date]:
    """The dates a run builds: one date, a range, all, or (default) the changed ones."""
    modes = (day is not None, since is not None or until is not None, everything)
    if sum(modes) > 1:
        raise UsageError("choose one of --date, --since/--until, --all")
    if day is not None:
        return [day]
    if since is not None or until is not None:
        if since is not None and until is not None and since > until:
            raise UsageError(f"--since {since} is after --until {until}")
        known = existing_dates(raw, enriched)
        low = since or (known[0] if known else date.min)
        high = until or (known[-1] if known else date.max)
        return [d for d in known if low <= d <= high]
    if everything:
        return existing_dates(raw, enriched)
    return dirty_dates(raw)


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        compression="snappy",
        coerce_timestamps="ms",
        allow_truncated_timestamps=False,
        write_statistics=True,
    )
    return sink.getvalue()


def build_partition(
    raw: Store,
    enriched: Store,
    day: date,
    zone: ZoneInfo,
    pseudonyms: Pseudonymizer | None = None,
) -> PartitionResult:
    """Rebuild every table's partition of ``day`` from the raw objects of ``day``.

    With ``pseudonyms``, user ids and names are replaced before anything is
    written (see etl/pseudonyms.py), so no file ever holds the real ones.
    """
    # The change marker is cleared before listing: an update stored after the
    # listing re-marks the date, so the next run picks it up; and the building
    # marker keeps the date changed if this process dies (see lake/changes.py).
    start_build(raw, day)
    try:
        keys = [k for k in raw.list(partition_dir(RAW_PREFIX, day)) if k.endswith(".json")]
        with no_cyclic_gc():
            tables = collect(zip(keys, raw.read_many(keys), strict=True))
            rejects, duplicates = tables.rejects, tables.duplicates
            arrow = to_arrow(tables, zone)
            # Freed here, not later: the first collection after the collector
            # resumes would otherwise scan every row object once more.
            del tables
        if pseudonyms is not None:
            arrow = pseudonyms.apply(arrow)
        rows: dict[str, int] = {}
        for name, table in arrow.items():
            key = table_key(name, day)
            if table.num_rows:
                enriched.replace(key, _parquet_bytes(table))
            else:
                enriched.delete(key)
            rows[name] = table.num_rows
    except BaseException:
        mark_dirty(raw, day)
        raise
    finish_build(raw, day)
    for reject in rejects:
        log.info("set aside %s: %s", reject["raw_key"], reject["reason"])
    return PartitionResult(
        day=day,
        raw_objects=len(keys),
        rows=rows,
        duplicates=duplicates,
        rejected=len(rejects),
        reject_reasons=tuple(f"{r['raw_key']}: {r['reason']}" for r in rejects),
    )


PSEUDONYMS_KEY = f"{STATE_PREFIX}/pseudonyms.json"


def check_pseudonyms(enriched: Store, pseudonyms: Pseudonymizer | None) -> None:
    """Refuse to mix real ids and pseudonyms, or two keys, in one enriched layer.

    The first build records the setting in the enriched layer; a later build
    with another one would leave some partitions with real ids (or with
    pseudonyms that no longer join). Changing it means rebuilding the layer,
    which is a pure function of the raw layer.
    """
    wanted: dict[str, object] = {"pseudonymized": pseudonyms is not None}
    if pseudonyms is not None:
        wanted["key_id"] = pseudonyms.key_id
    try:
        recorded = orjson.loads(enriched.read(PSEUDONYMS_KEY))
    except FileNotFoundError:
        has_partitions = any(enriched.list_dirs(table) for table in schema.TABLES)
        recorded = {"pseudonymized": False} if has_partitions else None
        if recorded is None or not wanted["pseudonymized"]:
            enriched.replace(PSEUDONYMS_KEY, orjson.dumps(wanted))
            return
    except orjson.JSONDecodeError:
        raise ConfigError(f"{enriched.url}/{PSEUDONYMS_KEY} is not valid JSON") from None
    if recorded == wanted:
        return
    hint = (
        f"to change it, delete {enriched.url} and rebuild it with `telelake etl --all`"
        " (the raw layer is untouched)"
    )
    if recorded.get("pseudonymized") and not wanted["pseudonymized"]:
        raise ConfigError(
            f"the enriched layer at {enriched.url} holds pseudonyms: pass --pseudonymize "
            f"(or TELELAKE_PSEUDONYMIZE=1) with the same key; {hint}"
        )
    if not recorded.get("pseudonymized"):
        raise ConfigError(
            f"the enriched layer at {enriched.url} holds real user ids; {hint} --pseudonymize"
        )
    raise ConfigError(
        f"the enriched layer at {enriched.url} was pseudonymised with another key "
        f"(key id {recorded.get('key_id')}, yours is {wanted.get('key_id')}); {hint}"
    )


def run(
    raw: Store,
    enriched: Store,
    days: list[date],
    zone: ZoneInfo,
    progress: Callable[[PartitionResult], None] | None = None,
    workers: int | None = None,
    pseudonyms: Pseudonymizer | None = None,
) -> EtlSummary:
    """Build ``days``; each build is independent and atomic, so they may run in parallel."""
    summary = EtlSummary()
    if days:
        check_pseudonyms(enriched, pseudonyms)
    for result in _built(raw, enriched, days, zone, workers, pseudonyms):
        summary.partitions.append(result)
        if progress is not None:
            progress(result)
    summary.partitions.sort(key=lambda p: p.day)
    return summary


def _built(
    raw: Store,
    enriched: Store,
    days: list[date],
    zone: ZoneInfo,
    workers: int | None,
    pseudonyms: Pseudonymizer | None,
    *,
    parent_builds: bool = True,
) -> Iterator[PartitionResult]:
    """Results of building ``days``, in the order they finish.

    Building is CPU-bound Python (JSON parsing, row building), so a run of
    many dates spreads them over processes, one per core by default; a daily
    run of one or two dates stays in this process and pays no start-up.
    This process builds too (it has everything imported already), taking dates
    from the same list as the workers while they start (see ``WorkerPool``).
    """
    count = min(workers or os.cpu_count() or 1, len(days))
    if count < 2 or len(days) < PARALLEL_MIN_DATES:
        for day in days:
            yield build_partition(raw, enriched, day, zone, pseudonyms)
        return
    spawned = count - 1 if parent_builds else count
    with WorkerPool(_build_day, (raw, enriched, zone, pseudonyms), days, spawned) as pool:
        while parent_builds:
            mine = pool.take()
            if mine is None:
                break
            yield build_partition(raw, enriched, mine, zone, pseudonyms)
            yield from pool.finished(block=False)
        pool.no_more_starts()
        yield from pool.finished(block=True)
        if pool.left():
            raise WorkerError(f"no ETL worker process could start; {pool.left()} date(s) not built")


def _build_day(
    raw: Store, enriched: Store, zone: ZoneInfo, pseudonyms: Pseudonymizer | None, day: date
) -> PartitionResult:
    """:func:`build_partition` with the date last, as ``WorkerPool`` calls it."""
    return build_partition(raw, enriched, day, zone, pseudonyms)
