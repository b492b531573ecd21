"""Building one date: every table's partition of that date, each replaced atomically.

A build reads every raw object of one ``context_date``, runs the pure
transform and replaces each table's single Parquet file of that date in one
atomic step (temp + rename locally, one PUT on S3): a reader sees the old
file or the new one, never half of either (DESIGN §3.5). A build touches
only its own date, and the change-marker protocol of
:mod:`telelake.lake.changes` around it means an update stored while it runs
is never missed (§3.6).
"""

from __future__ import annotations

import io
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from functools import cache

import pyarrow as pa
import pyarrow.parquet as pq

from telelake.etl.chunked import Chunk, Part, build_day
from telelake.etl.layers import Layers
from telelake.etl.text.weeks import mark_week
from telelake.etl.workers import WorkerPool
from telelake.lake.changes import finish_build, mark_dirty, start_build
from telelake.lake.layout import table_key
from telelake.lake.tables import TABLES

log = logging.getLogger("telelake.etl")


@dataclass(frozen=True)
class PartitionResult:
    """What one partition build did, and how long it took."""

    day: date
    raw_objects: int
    rows: dict[str, int]
    duplicates: int
    rejected: int
    reject_reasons: tuple[str, ...] = ()
    seconds: float = 0.0


@cache
def _writers() -> ThreadPoolExecutor:
    """Threads writing a date's table files, kept for the next date (starting
    seven threads per date costs more than a small date's build)."""
    return ThreadPoolExecutor(len(TABLES), thread_name_prefix="etl-write")


def parquet_bytes(table: pa.Table) -> bytes:
    """One table as a Parquet file every engine reads (millisecond timestamps)."""
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
    layers: Layers, day: date, helpers: WorkerPool[Chunk, Part] | None = None
) -> PartitionResult:
    """Rebuild every table's partition of ``day`` from the raw objects of ``day``.

    With the layers' pseudonyms, user ids and names are replaced before
    anything is written (see etl/pseudonyms.py), so no file ever holds the
    real ones. ``helpers`` (worker processes) share the parsing of a big
    date (etl/chunked.py); the result is the same bytes either way.
    """
    started = time.monotonic()
    raw, enriched = layers.raw, layers.enriched
    # The change marker is cleared before listing: an update stored after the
    # listing re-marks the date, so the next run picks it up; and the building
    # marker keeps the date changed if this process dies (see lake/changes.py).
    start_build(raw, day)
    try:
        built = build_day(raw, day, layers.zone, helpers)
        arrow, count = built.tables, built.objects
        rejects, duplicates = built.rejects, built.duplicates
        del built
        if layers.pseudonyms is not None:
            arrow = layers.pseudonyms.apply(arrow)
        rows = {name: table.num_rows for name, table in arrow.items()}

        def write(name: str, table: pa.Table) -> None:
            key = table_key(name, day)
            if table.num_rows:
                enriched.replace(key, parquet_bytes(table))
            else:
                enriched.delete(key)

        # All tables at once: on S3 each write is a request's latency, and
        # encoding Parquet runs without the GIL. Each replace is atomic on its
        # own; a failed one fails the build, which leaves the date changed.
        list(_writers().map(write, arrow, arrow.values()))
        # Its week's topics, built from every date of the week at the end of
        # the run (etl/text/weeks.py), are now out of date.
        mark_week(enriched, day)
    except BaseException:
        mark_dirty(raw, day)
        raise
    finish_build(raw, day, enriched=enriched)
    for reject in rejects:
        log.info("set aside %s: %s", reject["raw_key"], reject["reason"])
    return PartitionResult(
        day=day,
        raw_objects=count,
        rows=rows,
        duplicates=duplicates,
        rejected=len(rejects),
        reject_reasons=tuple(f"{r['raw_key']}: {r['reason']}" for r in rejects),
        seconds=time.monotonic() - started,
    )
