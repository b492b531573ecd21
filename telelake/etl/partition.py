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
from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from telelake.etl.layers import Layers
from telelake.etl.transform import collect, no_cyclic_gc, to_arrow
from telelake.lake.changes import finish_build, mark_dirty, start_build
from telelake.lake.layout import RAW_PREFIX, partition_dir, table_key

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


def build_partition(layers: Layers, day: date) -> PartitionResult:
    """Rebuild every table's partition of ``day`` from the raw objects of ``day``.

    With the layers' pseudonyms, user ids and names are replaced before
    anything is written (see etl/pseudonyms.py), so no file ever holds the
    real ones.
    """
    started = time.monotonic()
    raw, enriched = layers.raw, layers.enriched
    # The change marker is cleared before listing: an update stored after the
    # listing re-marks the date, so the next run picks it up; and the building
    # marker keeps the date changed if this process dies (see lake/changes.py).
    start_build(raw, day)
    try:
        keys = [k for k in raw.list(partition_dir(RAW_PREFIX, day)) if k.endswith(".json")]
        with no_cyclic_gc():
            tables = collect(zip(keys, raw.read_many(keys), strict=True))
            rejects, duplicates = tables.rejects, tables.duplicates
            arrow = to_arrow(tables, layers.zone)
            # Freed here, not later: the first collection after the collector
            # resumes would otherwise scan every row object once more.
            del tables
        if layers.pseudonyms is not None:
            arrow = layers.pseudonyms.apply(arrow)
        rows: dict[str, int] = {}
        for name, table in arrow.items():
            key = table_key(name, day)
            if table.num_rows:
                enriched.replace(key, parquet_bytes(table))
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
        seconds=time.monotonic() - started,
    )
